"""Run inside a PID namespace under leasewrap: make N orphans that all exit at
the same moment, then wait (with a deadline) until every one is gone and no
zombie is left.  Exits 0 on success, 1 if zombies remain, 2 on a timeout.

usage: orphans.py N
"""
import os
import sys
import time

n = int(sys.argv[1])
at = time.time() + 1.0
pids = []
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        # The middle process exits at once: its child is orphaned and
        # adopted by PID 1, which is leasewrap.
        if os.fork() == 0:
            time.sleep(max(0.0, at - time.time()))
            os._exit(0)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)


def others():
    """States of every process but us and PID 1."""
    states = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in (1, os.getpid()):
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            pass
    return states


deadline = time.time() + 60
while time.time() < deadline:
    st = others()
    if not st:
        print("all %d orphans reaped" % n)
        sys.exit(0)
    time.sleep(0.02)
print("left:", others())
sys.exit(1 if "Z" in others() else 2)
