"""A command for leasewrap tests: checks the AWS key in its environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) against the
emulator's stand-in for STS GetCallerIdentity (POST /_emu/aws/caller-identity)
at once and then every 200 ms, and appends one JSON line per check to the log
file: {"event": "check", "ok": ..., "error": ..., "key": a digest}.  It writes
no key, only a digest of the access key ID to tell keys apart.

Given ENV_FILE (an --env-file in the json format), it takes the key from that
file instead, and reads it again on SIGHUP (signal mode): {"event": "reload",
"signalled": when the signal came, "key": ...}.

usage: awsprobe.py LOG EMULATOR_ADDR [ENV_FILE]
"""
import hashlib
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request


def digest(access_key):
    """Tells keys apart without writing one (tests/test_aws.py maps it back)."""
    return hashlib.sha256((access_key or "").encode()).hexdigest()[:12]


def load(env_file):
    """The request body for the key in use, and its digest."""
    if env_file is None:
        env = os.environ
    else:
        with open(env_file) as f:
            env = json.load(f)
    return (json.dumps({"access_key": env.get("AWS_ACCESS_KEY_ID"),
                        "secret_key": env.get("AWS_SECRET_ACCESS_KEY"),
                        "security_token": env.get("AWS_SESSION_TOKEN")}).encode(),
            digest(env.get("AWS_ACCESS_KEY_ID")))


def check(addr, body):
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


def main(log_path, addr, env_file=None):
    state = {"stop": False, "hup": None}     # hup: when a SIGHUP came, until read
    body, key = load(env_file)

    def record(**kw):
        kw.update(t=time.time(), pid=os.getpid(), key=key)
        with open(log_path, "a") as f:
            f.write(json.dumps(kw) + "\n")

    signal.signal(signal.SIGTERM, lambda sig, frame: state.update(stop=True))
    signal.signal(signal.SIGHUP, lambda sig, frame: state.update(hup=time.time()))
    record(event="start", deadline=os.environ.get("LEASEWRAP_DEADLINE"))
    while not state["stop"]:
        if state["hup"] is not None and env_file is not None:
            signalled, state["hup"] = state["hup"], None
            body, key = load(env_file)
            record(event="reload", signalled=signalled)
        ok, error = check(addr, body)
        record(event="check", ok=ok, error=error)
        time.sleep(0.2)
    record(event="exit")


if __name__ == "__main__":
    main(*sys.argv[1:4])
