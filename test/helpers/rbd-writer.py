#!/usr/bin/python3
# A stateful workload that checks itself, for the RBD failover tests: it opens an RBD image with
# librbd (python3-rbd; run it with Debian's /usr/bin/python3), takes the image's exclusive lock in
# exclusive mode (no cooperative hand-over to another client), finds the first free slot, and
# appends numbered records, one every few ms. Each record Ceph acknowledged (the write returned,
# with the librbd cache off so a return means the OSDs have it) is appended to an ack log, fsync'd.
# A write Ceph refuses ends the writer: the error goes to the ack log as a "refused" line.
#
# Record (64 bytes): b"TSHAREC1" | writer id (24 bytes, NUL-padded) | seq (u64) | slot (u64) |
# padding | crc32 of the first 60 bytes (u32). A slot of zeros is free.
#
# usage: rbd-writer.py --pool P --image I --id WRITER --acks FILE [--conf F] [--user U]
#        [--keyring K] [--every-ms N] [--count N]
import time

STARTED = time.time()  # before librados is loaded: the open time counts from the process start

import argparse, os, signal, struct, sys, zlib

import rados, rbd

REC = 64
MAGIC = b"TSHAREC1"


def record(writer, seq, slot):
    body = MAGIC + writer.encode()[:24].ljust(24, b"\0") + struct.pack("<QQ", seq, slot)
    body = body.ljust(60, b"\0")
    return body + struct.pack("<I", zlib.crc32(body))


def first_free(img, size):
    chunk = 1 << 20
    for off in range(0, size, chunk):
        data = img.read(off, min(chunk, size - off))
        for i in range(0, len(data), REC):
            if data[i:i + 8] != MAGIC:
                return (off + i) // REC
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pool", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--acks", required=True)
    ap.add_argument("--conf")
    ap.add_argument("--user")
    ap.add_argument("--keyring")
    ap.add_argument("--every-ms", type=float, default=5)
    ap.add_argument("--count", type=int, default=0)
    a = ap.parse_args()
    acks = open(a.acks, "a", buffering=1)

    def log(line):
        acks.write(line + "\n")
        acks.flush()
        os.fsync(acks.fileno())

    kw = {"conffile": a.conf or ""}
    if a.user:
        kw["rados_id"] = a.user
    if a.keyring:
        kw["conf"] = {"keyring": a.keyring}
    cluster = rados.Rados(**kw)
    cluster.conf_set("rbd_cache", "false")
    cluster.conf_set("admin_socket", "")  # a returned write is one the OSDs acknowledged
    cluster.connect(timeout=10)
    ioctx = cluster.open_ioctx(a.pool)
    img = rbd.Image(ioctx, a.image)
    img.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
    size = img.size()
    slot = first_free(img, size)
    log("open %s start_slot=%s addr=%s started=%.6f t=%.6f" % (a.id, slot, cluster.get_addrs(), STARTED, time.time()))
    print("writer %s: lock held, first free slot %s" % (a.id, slot), flush=True)
    # SIGTERM (the unit's stop) ends the loop between writes; the image is then closed, which
    # releases the lock cleanly: a clean stop leaves no lock to break
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    seq = 0
    try:
        while not stopping and slot is not None and slot * REC < size and (a.count == 0 or seq < a.count):
            seq += 1
            img.write(record(a.id, seq, slot), slot * REC)
            log("ack %s %d %d %.6f" % (a.id, seq, slot, time.time()))
            slot += 1
            time.sleep(a.every_ms / 1000)
    except rbd.Error as e:
        log("refused %s %d %d errno=%s %s" % (a.id, seq, slot, getattr(e, "errno", "?"), type(e).__name__))
        print("writer %s: write refused: %s %r" % (a.id, type(e).__name__, e), flush=True)
        os._exit(3)
    img.close()
    ioctx.close()
    cluster.shutdown()
    log("done %s %d" % (a.id, seq))


if __name__ == "__main__":
    main()
