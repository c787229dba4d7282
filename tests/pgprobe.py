"""A command for leasewrap tests: connects to PostgreSQL with PGUSER and
PGPASSWORD from its environment (or from --env-file FILE, re-read on SIGHUP)
every 200 ms and appends one JSON line per attempt to the log file.

usage: pgprobe.py LOG [ENVFILE]

With PROBE_SECONDS=N in its environment it stops by itself after N seconds
and exits with PROBE_EXIT (default 0), like a cron job.  With
PROBE_IGNORE_TERM=1 it logs SIGTERM ("term") and keeps going: only SIGKILL
stops it.
"""
import json
import os
import signal
import sys
import time

# Catch the reload signal before anything slow (importing psycopg2): a
# signal that comes first would otherwise end the probe.
_early = []
signal.signal(signal.SIGHUP, lambda sig, frame: _early.append(sig))

import psycopg2  # noqa: E402

log_path = sys.argv[1]
env_file = sys.argv[2] if len(sys.argv) > 2 else None
creds = {"PGUSER": os.environ.get("PGUSER"),
         "PGPASSWORD": os.environ.get("PGPASSWORD")}
stop = False


def record(**kw):
    kw.update(t=time.time(), pid=os.getpid())
    with open(log_path, "a") as f:
        f.write(json.dumps(kw) + "\n")


def read_env_file():
    with open(env_file) as f:
        text = f.read()
    lines = text.splitlines()
    got = dict(l.split("=", 1) for l in lines if "=" in l)
    # A torn file would miss a line or its final newline.
    complete = text.endswith("\n") and {"PGUSER", "PGPASSWORD"} <= set(got)
    return got, complete, oct(os.stat(env_file).st_mode & 0o777)


def on_hup(sig, frame):
    got, complete, mode = read_env_file()
    creds.update({k: got[k] for k in ("PGUSER", "PGPASSWORD") if k in got})
    record(event="hup", complete=complete, mode=mode, user=creds["PGUSER"])


def on_term(sig, frame):
    global stop
    if os.environ.get("PROBE_IGNORE_TERM") == "1":
        record(event="term")
        return
    stop = True


signal.signal(signal.SIGTERM, on_term)
if env_file:
    signal.signal(signal.SIGHUP, on_hup)
    if _early:
        on_hup(signal.SIGHUP, None)
else:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
record(event="start", user=creds["PGUSER"])
until = time.time() + float(os.environ.get("PROBE_SECONDS", "inf"))
while not stop and time.time() < until:
    try:
        conn = psycopg2.connect(host=os.environ["PGHOST"],
                                port=os.environ["PGPORT"], dbname="postgres",
                                user=creds["PGUSER"],
                                password=creds["PGPASSWORD"], connect_timeout=5)
        with conn.cursor() as cur:
            cur.execute("select current_user")
            user = cur.fetchone()[0]
        conn.close()
        record(event="query", ok=True, user=user)
    except Exception as e:  # noqa: BLE001 - every failure is the finding
        record(event="query", ok=False, user=creds["PGUSER"],
               error=str(e).strip().splitlines()[0] if str(e) else repr(e))
    time.sleep(0.2)
record(event="exit")
sys.exit(int(os.environ.get("PROBE_EXIT", "0")) if not stop else 0)
