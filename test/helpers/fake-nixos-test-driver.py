# A FAKE of the NixOS test driver, to run nixos-module/tests/failover.nix's test script where no
# VM can run: its machines are scripted, not real. The cluster it pretends to be runs the group
# on one node and moves it to the first survivor when that node crashes. Faults the script must
# refuse: "two-copies", both survivors run the service after the crash; "not-running", tsha status
# names a survivor but the service runs nowhere.
# It checks the script's own logic (what it reads, what it asserts), nothing of tsha.
#   fake-nixos-test-driver.py SCRIPT NODE,NODE[,…] WITNESS(true|false) FAULT(none|two-copies|not-running) STATUS_LOG
import json
import sys

script_file, node_list, witness_mode, fault, status_log = sys.argv[1:6]
names = node_list.split(",")
state = {"holder": names[0], "crashed": set()}
served = []


def node_status(name):
    return {
        "name": name, "state": "offline" if name in state["crashed"] else "online", "standby": False,
        "maintenance": False, "isSelf": False, "isCoordinator": name == names[-1], "votes": 1,
        "meshAddress": "10.90.0.%d:7400" % (names.index(name) + 1), "attributes": {},
        "leaseRemainingMs": 0, "restartGraceRemainingMs": 0, "restartGraceCause": "",
    }


def resource_status(rid, kind):
    return {
        "id": rid, "kind": kind, "agent": "", "group": "frontend", "clone": "", "promotable": False,
        "state": "started", "nodes": [state["holder"]], "targetRole": "started", "managed": True,
        "reason": "", "failCounts": [], "blocked": False,
    }


def cluster_status(self_name):
    s = {
        "clusterName": "vmtest", "clusterId": "vmtest", "nodeSelf": self_name, "coordinator": names[-1],
        "term": 1, "quorum": {"quorate": True, "mode": "witness" if witness_mode == "true" else "majority",
                              "votesHave": 2, "votesNeeded": 2, "votesTotal": 3,
                              "witness": "nas" if witness_mode == "true" else "", "witnessState": "reachable" if witness_mode == "true" else "none",
                              "witnessViews": [{"node": n, "state": "reachable", "lastContactAgeMs": 40, "heard": True, "term": 1, "reportAgeMs": 0 if n == self_name else 60}
                                               for n in names] if witness_mode == "true" else []},
        "lastChangeUnixMs": 0, "lastChangeBy": "", "generatedAtUnixMs": 0, "agentVersion": "0.1.0",
        "maintenanceMode": False, "fencingEnabled": True,
        "nodes": [node_status(n) for n in names],
        "resources": [resource_status("vip", "ip"), resource_status("web", "systemd")],
        "failedActions": [], "fenceHistory": [], "commitIndex": 1, "storage": [], "storageHistory": [],
        "operatorConstraints": [], "stateDirFault": "",
    }
    served.append(s)
    return s


class FakeMachine:
    def __init__(self, name):
        self.name = name

    def _up(self):
        if self.name in state["crashed"]:
            raise Exception(f"{self.name} is crashed")

    def wait_for_unit(self, unit):
        self._up()

    def crash(self):
        state["crashed"].add(self.name)
        state["holder"] = next(n for n in names if n not in state["crashed"])

    def runs_web(self):
        after_crash = bool(state["crashed"])
        if fault == "not-running" and after_crash:
            return False
        return self.name == state["holder"] or (fault == "two-copies" and after_crash and self.name in names and self.name not in state["crashed"])

    def succeed(self, cmd):
        self._up()
        if cmd == "tsha status --output json":
            return json.dumps(cluster_status(self.name))
        if cmd.startswith("wg show tsha0") or cmd.startswith("curl "):
            return ""
        raise Exception(f"unexpected command on {self.name}: {cmd}")

    def execute(self, cmd):
        self._up()
        if cmd.startswith("systemctl is-active --quiet web.service"):
            return (0 if self.runs_web() else 3, "")
        if cmd.startswith("ip -o addr show dev eth1"):
            return (0 if self.name == state["holder"] else 1, "")
        raise Exception(f"unexpected command on {self.name}: {cmd}")


def retry(fn, timeout=900):
    if not fn(True):
        raise Exception("retry: condition never held")


class Subtest:
    def __init__(self, name):
        print("subtest:", name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


machines = {n: FakeMachine(n) for n in names + (["nas"] if witness_mode == "true" else [])}
symbols = {"start_all": lambda: None, "retry": retry, "subtest": Subtest, **machines}
try:
    exec(open(script_file).read(), symbols)
finally:
    with open(status_log, "w") as f:
        json.dump(served, f)
print("script passed")
