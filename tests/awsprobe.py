"""A command for leasewrap tests: checks the AWS key in its environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) against the
emulator's stand-in for STS GetCallerIdentity (POST /_emu/aws/caller-identity)
at once and then every 200 ms, and appends one JSON line per check to the log
file: {"event": "check", "ok": ..., "error": ..., "key": a digest}.  It writes
no key, only a digest of the access key ID to tell keys apart.

usage: awsprobe.py LOG EMULATOR_ADDR
"""
import hashlib
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

log_path, addr = sys.argv[1], sys.argv[2]
stop = False
body = json.dumps({"access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
                   "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
                   "security_token": os.environ.get("AWS_SESSION_TOKEN")}).encode()
key = hashlib.sha256((os.environ.get("AWS_ACCESS_KEY_ID") or "").encode()).hexdigest()[:12]


def record(**kw):
    kw.update(t=time.time(), pid=os.getpid(), key=key)
    with open(log_path, "a") as f:
        f.write(json.dumps(kw) + "\n")


def on_term(sig, frame):
    global stop
    stop = True


def check():
    req = urllib.request.Request(addr + "/_emu/aws/caller-identity", data=body,
                                 method="POST",
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            resp.read()
            return True, None
    except urllib.error.HTTPError as err:
        with err:
            return False, json.loads(err.read()).get("error", "").split(":")[0]


signal.signal(signal.SIGTERM, on_term)
record(event="start", deadline=os.environ.get("LEASEWRAP_DEADLINE"))
while not stop:
    ok, error = check()
    record(event="check", ok=ok, error=error)
    time.sleep(0.2)
record(event="exit")
