"""Helpers for the black-box tests: run the real leasewrap binary."""
import os
import re
import signal
import subprocess
import socket
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("LEASEWRAP", os.path.join(ROOT, "leasewrap"))

# leasewrap's own exit codes (src/exitcodes.h, leasewrap(1)).
EXIT_USAGE = 64
EXIT_DATAERR = 65
EXIT_UNAVAILABLE = 69
EXIT_SOFTWARE = 70
EXIT_OSERR = 71
EXIT_ROTATED = 75
EXIT_NOPERM = 77
EXIT_CONFIG = 78
EXIT_EXPIRED = 79
EXIT_NOEXEC = 126
EXIT_NOTFOUND = 127

# A text-format error line: "<time> leasewrap: error: <event>: <message>".
ERROR_LINE = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z leasewrap: error: [a-z0-9_.]+: ")

# Generous: a loaded 2-core machine under ASan or valgrind is slow.
TIMEOUT = float(os.environ.get("LW_TEST_TIMEOUT", "60"))


def base_env(vault=None, pg=None, **extra):
    """A minimal, predictable environment for leasewrap."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("LW_TEST_HOME", "/nonexistent"),
        "LANG": "C",
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if vault is not None:
        env["VAULT_ADDR"] = vault.addr
        env["VAULT_TOKEN"] = vault.root_token
    if pg is not None:
        env["PGHOST"] = pg.host
        env["PGPORT"] = str(pg.port)
        env["PGDATABASE"] = "postgres"
        env["PGCONNECT_TIMEOUT"] = "10"
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def run(args, env=None, timeout=TIMEOUT, input=None, **kw):
    """Run leasewrap with args to completion; returns CompletedProcess (text)."""
    cmd = [BINARY] + list(args)
    return subprocess.run(cmd, env=env if env is not None else base_env(),
                          capture_output=True, text=True, timeout=timeout,
                          input=input, **kw)


def start(args, env=None, **kw):
    """Start leasewrap in the background; the caller waits or signals it by PID."""
    return subprocess.Popen([BINARY] + list(args),
                            env=env if env is not None else base_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def wait_for(pred, timeout=TIMEOUT, what="condition", interval=0.02):
    """Poll pred() until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def wait_file(path, timeout=TIMEOUT):
    """Wait until path exists and is non-empty; return its text."""
    def ready():
        try:
            with open(path) as f:
                t = f.read()
            return t if t.endswith("\n") else None
        except FileNotFoundError:
            return None
    return wait_for(ready, timeout, "file " + path)


def kill_quietly(proc):
    """Make sure a process this test started is gone.  SIGTERM first, so that
    leasewrap stops its command and revokes; SIGKILL if that takes too long
    (then a command it left may keep the pipes open: do not wait for it)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    try:
        proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pass


def assert_no_secret(text, vault):
    """Fail if any value the emulator handed out appears in text."""
    for v in vault.secrets():
        if isinstance(v, str) and len(v) >= 6:
            assert v not in text, "a secret value appears in leasewrap's output"


def reads(vault, path):
    """How many times the emulator saw GET /v1/<path>."""
    return sum(1 for e in vault.journal()
               if e.get("kind") == "request" and e.get("method") == "GET"
               and e.get("path") == path)


@pytest.fixture
def free_port():
    """A loopback TCP port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_no_lease_left(vault, pg):
    """Every database lease revoked (polled) and no dynamic user left."""
    wait_for(lambda: [l for l in vault.leases()
                      if l["lease_id"].startswith("database/")] == [],
             what="every lease revoked")
    assert {r for r in pg.roles() if r.startswith("v-")} == set()
