#!/bin/bash
# pcmk-scale.sh: the scale case of `npm run bench:failover -- --resources N --vs-pacemaker` on the
# Pacemaker + Corosync cluster of ../shared/bench (pcmk-cluster.sh, which this script only calls).
# Run after `pcmk-cluster.sh setup 3node`, with the same BASE:
#
#   pcmk-scale.sh systemd-up NODE...           a `systemd --user` in each node as its system manager
#   pcmk-scale.sh add N GROUPS SIZE CLASS      the resources section becomes r001..rN (CLASS systemd:
#                                              unit rNNN.service running `sleep infinity`; or dummy:
#                                              ocf:pacemaker:Dummy), the first GROUPS*SIZE in groups g01..
#   pcmk-scale.sh wait-started N TIMEOUT_S     until every rNNN is Started on exactly one node, settled
#   pcmk-scale.sh placement [OBSERVER]         "rNNN NODE" for every started rNNN, from crm_mon -X
#   pcmk-scale.sh measure [POLL_S]             kill -9 the node holding the most rNNN (pcmk-cluster.sh
#                                              kill-node, as failover-measure kill does), then poll
#                                              crm_mon -X on a survivor every POLL_S (default 0.1) until
#                                              the last of them is Started on a survivor; prints one
#                                              `result …` line with ms_first, ms_last (from just before
#                                              the kill to the start of the poll that saw it, as
#                                              failover-measure counts), the poll gaps, kill_ms (the
#                                              kill-node call itself) and systemd_active (how many of
#                                              them the survivors' systemd then says are active)
#   pcmk-scale.sh systemd-down NODE...         after `pcmk-cluster.sh teardown`: ends what is left of
#                                              each node's systemd by PID and removes its cgroups
#
# Why systemd-class resources: tsha's scale case runs 100 systemd units, each a `sleep infinity`,
# started, stopped and monitored over D-Bus. Pacemaker's systemd class does the same through its
# own systemd client (pacemaker-execd → the system bus → org.freedesktop.systemd1), so both sides
# pay for a real unit start and a D-Bus monitor, not for forking the Dummy shell agent (100
# Dummy monitors every 10 s would cost Pacemaker CPU that tsha never pays). The pcmk nodes have no
# systemd, so each gets one here: `systemd --user` (RECIPES §1a) started inside the node's mount,
# UTS and network namespaces, in a cgroup of its own (RECIPES §0: tshbench-pcmk-<id>-<node>), its
# user bus at /run/tshbench-sd/bus and /run/dbus/system_bus_socket a symlink to it in the node's
# private /run, so Pacemaker's system-bus client reaches it. pcmk-cluster.sh's kill-node and
# teardown kill every process of the node's mount namespace, so a killed node loses its units
# too, as a powered-off tsha node does.
#
# Env: BASE (as pcmk-cluster.sh), PCMK (pcmk-cluster.sh; default ../shared/bench beside the repo),
# TSHBENCH_ID (names this run's cgroups; default the basename of BASE).
set -u
BASE=${BASE:?BASE: the pcmk-cluster.sh work dir}
HERE=$(dirname "$(readlink -f "$0")")
PCMK=${PCMK:-$HERE/../../../shared/bench/pcmk-cluster.sh}
NS=$BASE/ns
SD=$BASE/tshbench-sd
ID=${TSHBENCH_ID:-$(basename "$BASE")}
SYSTEMD_BIN=$(for p in /lib/systemd/systemd /usr/lib/systemd/systemd; do [ -x $p ] && echo $p && break; done)
x() { "$PCMK" x "$@"; }
log() { echo "[$(date +%T.%3N)] $*" >&2; }
die() { echo "pcmk-scale.sh: $*" >&2; exit 1; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# ---- a systemd per node -----------------------------------------------------------------------

cg_roots() {
  if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo /sys/fs/cgroup; return; fi
  for r in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do [ -e $r/cgroup.procs ] && echo $r; done
}
cg_line() { case $1 in /sys/fs/cgroup|*/unified) echo "^0::/$2\$" ;; */systemd) echo "^[0-9]+:name=systemd:/$2\$" ;; esac; }
cg_name() { echo "tshbench-pcmk-$ID-$1"; }

systemd_up() {
  local n d cg r i st
  [ -n "$SYSTEMD_BIN" ] || die "no systemd binary"
  for n in "$@"; do
    d=$SD/$n; cg=$(cg_name $n)
    mkdir -p $d/config/systemd/user
    for r in $(cg_roots); do mkdir -p $r/$cg; done
    x $n sh -ec 'mkdir -p /run/tshbench-sd /run/systemd/system /run/dbus; chmod 700 /run/tshbench-sd
                 ln -sfn /run/tshbench-sd/bus /run/dbus/system_bus_socket' || die "cannot prepare /run of $n"
    # RECIPES §0: the shell moves itself into the cgroup and checks it did, then execs into systemd
    # (setsid, sh, nsenter and env all exec: $! is systemd's PID).
    local enter="" check="" r
    for r in $(cg_roots); do
      enter="$enter echo \$\$ > $r/$cg/cgroup.procs;"
      check="$check grep -qE '$(cg_line $r $cg)' /proc/self/cgroup || { echo 'not in cgroup $r/$cg' >&2; exit 98; };"
    done
    setsid sh -c "set -e; $enter $check exec nsenter --mount=$NS/$n.mnt --uts=$NS/$n.uts --net=/run/netns/pcmk-$n -- \
      env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=$d XDG_RUNTIME_DIR=/run/tshbench-sd XDG_CONFIG_HOME=$d/config \
      SYSTEMD_LOG_TARGET=console $SYSTEMD_BIN --user" > $d/systemd.log 2>&1 < /dev/null &
    echo $! > $d/systemd.pid
    for i in $(seq 150); do
      st=$(x $n busctl --address=unix:path=/run/dbus/system_bus_socket get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager SystemState 2>/dev/null)
      case $st in *running*|*degraded*) break ;; esac
      kill -0 $(cat $d/systemd.pid) 2>/dev/null || die "systemd of $n exited: $(tail -5 $d/systemd.log)"
      sleep 0.1
    done
    case $st in *running*|*degraded*) log "systemd --user of $n ready (pid $(cat $d/systemd.pid), $st)" ;; *) die "systemd of $n not ready: $(tail -5 $d/systemd.log)" ;; esac
  done
}

systemd_down() {
  local n d cg r pid i p left
  for n in "$@"; do
    d=$SD/$n; cg=$(cg_name $n)
    pid=$(cat $d/systemd.pid 2>/dev/null)
    # only processes this script started: systemd (by its PID) and whatever is in its own cgroup
    [ -n "$pid" ] && kill -TERM $pid 2>/dev/null
    for i in $(seq 50); do
      left=""; for r in $(cg_roots); do [ -d $r/$cg ] && left="$left$(find $r/$cg -name cgroup.procs -exec cat {} + 2>/dev/null)"; done
      [ -z "$left" ] && break
      [ $i -gt 20 ] && for p in $left; do kill -KILL $p 2>/dev/null; done
      sleep 0.1
    done
    for r in $(cg_roots); do [ -d $r/$cg ] && find $r/$cg -depth -type d -exec rmdir {} \; 2>/dev/null; done
    for r in $(cg_roots); do [ -d $r/$cg ] && die "cgroup $r/$cg left (processes: $left)"; done
    rm -f $d/systemd.pid
  done
  return 0
}

# ---- resources ----------------------------------------------------------------------------------

rid() { printf 'r%03d' $1; }
gid() { printf 'g%02d' $1; }

primitive() { # id class
  case $2 in
    systemd) printf '<primitive id="%s" class="systemd" type="%s">' $1 $1 ;;
    dummy) printf '<primitive id="%s" class="ocf" provider="pacemaker" type="Dummy">' $1 ;;
    *) die "unknown class $2 (systemd or dummy)" ;;
  esac
  printf '<operations><op id="%s-monitor-10s" name="monitor" interval="10s" timeout="20s"/></operations></primitive>' $1
}

add() {
  local N=$1 G=$2 S=$3 C=$4 i g n xml="<resources>"
  [ $((G * S)) -le $N ] || die "$G groups of $S need $((G * S)) resources, have $N"
  if [ $C = systemd ]; then
    for n in $(ls $SD); do
      for i in $(seq $N); do printf '[Unit]\nDescription=tshbench resource\n[Service]\nExecStart=/bin/sleep infinity\n' > $SD/$n/config/systemd/user/$(rid $i).service; done
      x $n busctl --address=unix:path=/run/dbus/system_bus_socket call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Reload >/dev/null || die "daemon-reload on $n failed"
    done
  fi
  i=1
  for g in $(seq $G); do
    xml="$xml<group id=\"$(gid $g)\">"
    for n in $(seq $S); do xml="$xml$(primitive $(rid $i) $C)"; i=$((i + 1)); done
    xml="$xml</group>"
  done
  for i in $(seq $i $N); do xml="$xml$(primitive $(rid $i) $C)"; done
  xml="$xml</resources>"
  # One transaction: the resources section becomes exactly these (pcmk-cluster.sh's `dummy` goes).
  x n1 cibadmin --replace --scope resources --xml-text "$xml" || die "cibadmin --replace failed"
}

# "rid node" for every rNNN that crm_mon shows Started (and not failed) on a node
parse_started() {
  awk '
    /<resource id="r[0-9]+"/ {
      match($0, /id="[^"]*"/); rid = substr($0, RSTART + 4, RLENGTH - 5)
      ok = ($0 ~ /role="Started"/ && $0 ~ /failed="false"/)
      if ($0 ~ /\/>[ \t]*$/) rid = ""
      next
    }
    /<node name="/ && rid != "" { if (ok) { match($0, /name="[^"]*"/); print rid, substr($0, RSTART + 6, RLENGTH - 7) } }
    /<\/resource>/ { rid = "" }'
}

placement() { x ${1:-n1} crm_mon -1 -X 2>/dev/null | parse_started; }

wait_started() {
  local N=$1 T=$2 t0=$EPOCHREALTIME k once
  while :; do
    once=$(placement n1 | awk '{c[$1]++} END {for (r in c) if (c[r] == 1) k++; print k + 0}')
    [ "$once" -ge $N ] && break
    [ $(awk -v a=$t0 -v b=$EPOCHREALTIME -v t=$T 'BEGIN { print (b - a > t) }') = 1 ] && die "only $once of $N started after $T s"
    sleep 0.5
  done
  log "$N resources started, each on one node, after $(ms_since $t0) ms; waiting for the cluster to settle"
  x n1 crm_resource --wait --timeout=${T}s >/dev/null 2>&1 || die "cluster did not settle in $T s"
  log "settled after $(ms_since $t0) ms"
}

measure() {
  local POLL=${1:-0.1} cur obs dc X lost nlost t0 tp first="" last="" k polls=0 gaps="" prev="" cnt
  X=$(x n1 crm_mon -1 -X 2>/dev/null)
  dc=$(echo "$X" | sed -n 's/.*<current_dc present="true".* name="\([^"]*\)".*/\1/p' | head -1)
  cnt=$(echo "$X" | parse_started | awk '{c[$2]++} END {for (n in c) print c[n], n}' | sort -k1,1nr -k2,2 | tr '\n' ' ')
  cur=$(echo "$cnt" | awk '{print $2}')
  [ -n "$cur" ] || die "no resource started"
  lost=$(echo "$X" | parse_started | awk -v n=$cur '$2 == n {print $1}' | tr '\n' ' ')
  nlost=$(echo $lost | wc -w)
  for obs in n1 n2 n3; do [ $obs != $cur ] && break; done
  log "placement (count node): $cnt; killing $cur ($nlost resources; DC $dc), observer $obs"
  t0=$EPOCHREALTIME
  "$PCMK" kill-node $cur
  kill_ms=$(ms_since $t0)
  while :; do
    tp=$EPOCHREALTIME
    [ -n "$prev" ] && gaps="$gaps $(awk -v a=$prev -v b=$tp 'BEGIN { printf "%.1f", (b - a) * 1000 }')"
    prev=$tp; polls=$((polls + 1))
    k=$(x $obs crm_mon -1 -X 2>/dev/null | parse_started | awk -v lost=" $lost " -v cur=$cur '$2 != cur && index(lost, " " $1 " ") {s[$1] = 1} END {print length(s)}')
    [ -z "$first" ] && [ "$k" -gt 0 ] && first=$(awk -v a=$t0 -v b=$tp 'BEGIN { printf "%.1f", (b - a) * 1000 }')
    if [ "$k" -ge $nlost ]; then last=$(awk -v a=$t0 -v b=$tp 'BEGIN { printf "%.1f", (b - a) * 1000 }'); break; fi
    [ $(awk -v a=$t0 -v b=$EPOCHREALTIME 'BEGIN { print (b - a > 300) }') = 1 ] && { log "timeout: $k of $nlost moved"; break; }
    sleep $(awk -v p=$POLL -v a=$tp -v b=$EPOCHREALTIME 'BEGIN { w = p - (b - a); printf "%.3f", (w > 0 ? w : 0) }')
  done
  # cross-check with systemd itself (systemd class): how many of the lost units the survivors' managers say are active
  local verified=none u
  if [ -d $SD ]; then
    verified=0
    for n in n1 n2 n3; do
      [ $n = $cur ] && continue
      for u in $(x $n env XDG_RUNTIME_DIR=/run/tshbench-sd systemctl --user list-units --state=active --no-legend --plain 'r*.service' 2>/dev/null | awk '{print $1}'); do
        case " $lost " in *" ${u%.service} "*) verified=$((verified + 1)) ;; esac
      done
    done
  fi
  echo "$gaps" | tr ' ' '\n' | grep . | sort -n | awk -v cur=$cur -v dc=$dc -v lost=$nlost -v moved=$k -v first="${first:-none}" -v last="${last:-none}" -v polls=$polls -v counts="$cnt" -v kill_ms=$kill_ms -v verified=$verified '
    { g[NR] = $1 } END { printf "result from=%s dc=%s holder_was_dc=%s lost=%d moved=%d ms_first=%s ms_last=%s polls=%d median_gap_ms=%s max_gap_ms=%s kill_ms=%s systemd_active=%s placement=%s\n", cur, dc, (cur == dc ? "yes" : "no"), lost, moved, first, last, polls, (NR ? g[int((NR + 1) / 2)] : 0), (NR ? g[NR] : 0), kill_ms, verified, counts }' | sed 's/ *$//; s/placement=\(.*\)/placement="\1"/'
}

cmd=${1:-}; shift || true
case "$cmd" in
  systemd-up) systemd_up "$@" ;;
  systemd-down) systemd_down "$@" ;;
  add) add "$@" ;;
  wait-started) wait_started "$@" ;;
  placement) placement "$@" ;;
  measure) measure "$@" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
