"""A hostile or broken Vault (issue 15): numbers no Vault sends, control
characters and huge fields in what it says, and slow clients on /metrics.
The emulator's "patch" fault overwrites fields of its real answers."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import lw
from lw import free_port  # noqa: F401 (fixture)

RO = ["-s", "PGUSER=database/creds/ro#username"]
# Vault's durations are int(time.Duration.Seconds()): at most (2^63 - 1) ns.
TTL_MAX = 9223372036
# What a terminal acts on, and what splits a line.
HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\r\nFAKE: line\u2028end"


@pytest.fixture
def ro(vault):
    vault.create_db_role("ro", default_ttl=60, max_ttl=300)
    return "database/creds/ro"


def assert_clean_lines(text):
    """Every line of leasewrap's stderr is printable: no control character
    but the newline, nothing a terminal would act on, JSON lines parse."""
    for line in text.splitlines():
        bad = [c for c in line if ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0
               or c in "\u2028\u2029"]
        assert not bad, "control characters %r in %r" % (bad, line)
        if line.startswith("{"):
            json.loads(line)


@pytest.mark.parametrize("duration", [1e300, 1.8446744073709552e19, -5])
def test_impossible_lease_duration_is_clamped(vault, pg, ro, duration, tmp_path):
    """A lease_duration beyond what Vault can send (or below 0) is clamped
    to Vault's own range: the command runs with a deadline in that range,
    the lease is revoked, and nothing converts it out of range (make asan
    stops on that with float-cast-overflow)."""
    vault.fault(mode="patch", set={"lease_duration": duration},
                paths=["database/creds/ro"], count=1)
    before = time.time()
    r = lw.run(RO + ["--", "sh", "-c", 'echo "$LEASEWRAP_DEADLINE"'],
               env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    deadline = int(r.stdout.strip() or "0")
    if duration > 0:
        assert before + TTL_MAX - 5 <= deadline <= time.time() + TTL_MAX, r.stdout
    else:
        assert deadline == 0, r.stdout     # no lease end known
    lw.assert_no_lease_left(vault, pg)


def test_impossible_token_ttl_is_clamped(vault):
    """The token's ttl and creation_ttl from lookup-self, 1e300: the run
    goes on, and the TTL it logs is Vault's largest."""
    vault.kv_put("app", {"k": "value-1234567"})
    token = vault.create_token(ttl=600)
    vault.fault(mode="patch", set={"data.ttl": 1e300, "data.creation_ttl": 1e300},
                paths=["auth/token/lookup-self"])
    p = lw.start(["--log-format", "json", "-s", "K=secret/data/app#k", "--", "sleep", "1000"],
                 env=lw.base_env(vault, VAULT_TOKEN=token))
    try:
        line = p.stderr.readline()
        while line and json.loads(line)["event"] != "token":
            line = p.stderr.readline()
        assert line, "no token line"
        ttl = json.loads(line)["ttl"]
        assert TTL_MAX - 5 <= ttl <= TTL_MAX, line
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=lw.TIMEOUT) == 128 + signal.SIGTERM
    finally:
        lw.kill_quietly(p)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_control_characters_from_vault_are_escaped(vault, fmt):
    """An error text with terminal escapes, CR/LF and U+2028 is printed
    escaped: one line, nothing a terminal acts on, and still readable."""
    vault.fault(mode="status", status=400, errors=[HOSTILE],
                paths=["secret/data/app"])
    r = lw.run(["--log-format", fmt, "-s", "K=secret/data/app#k", "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode != 0
    assert_clean_lines(r.stderr)
    lines = [l for l in r.stderr.splitlines() if "owned" in l]
    assert lines, r.stderr
    assert "FAKE: line" in lines[0]
    if fmt == "text":
        assert "\\x1b]0;owned\\x07" in lines[0], lines[0]


def test_lease_id_with_control_characters_is_escaped(vault, pg, ro):
    """A lease ID with control characters, in every field and message."""
    for fmt in ("text", "json"):
        vault.fault(mode="patch", set={"lease_id": "database/creds/ro/" + HOSTILE},
                    paths=["database/creds/ro"], count=1)
        r = lw.run(["--log-format", fmt] + RO + ["--", "true"], env=lw.base_env(vault, pg))
        assert r.returncode == 0, r.stderr
        assert_clean_lines(r.stderr)
        assert "owned" in r.stderr


def test_revoke_hint_is_one_shell_word(vault, pg, ro, tmp_path):
    """The `vault lease revoke` hint, pasted into a shell, names the lease
    and runs nothing else, whatever the lease ID holds."""
    lease = "database/creds/ro/x'; touch PWNED; echo $(touch PWNED2) `id` \"a b\""
    vault.fault(mode="patch", set={"lease_id": lease}, paths=["database/creds/ro"], count=1)
    vault.fault(mode="status", status=403, errors=["permission denied"],
                paths=["sys/leases/revoke"])
    r = lw.run(["--log-format", "json"] + RO + ["--", "true"], env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    msgs = [json.loads(l)["msg"] for l in r.stderr.splitlines()
            if l.startswith("{") and "vault lease revoke " in l]
    assert len(msgs) == 1, r.stderr
    hint = msgs[0].split("vault lease revoke ", 1)[1]
    out = subprocess.run(["sh", "-c", "printf '%s\\n' " + hint], cwd=tmp_path,
                         capture_output=True, text=True, timeout=10)
    assert out.stdout == lease + "\n", (hint, out)
    assert os.listdir(tmp_path) == []
    vault.clear_faults()


def test_200k_lease_id_keeps_lines_bounded_and_valid(vault, pg, ro):
    """A 200 KB lease ID: every JSON line still parses and holds the
    fields, every line stays short, text lines too."""
    lease = "database/creds/ro/" + "L" * 200000
    for fmt in ("json", "text"):
        vault.fault(mode="patch", set={"lease_id": lease}, paths=["database/creds/ro"],
                    count=1)
        r = lw.run(["--log-format", fmt] + RO + ["--", "true"], env=lw.base_env(vault, pg))
        assert r.returncode == 0, r.stderr
        lines = r.stderr.splitlines()
        assert lines
        for line in lines:
            assert len(line) < 4096, line[:200]
            if fmt == "json":
                o = json.loads(line)
                assert "msg" in o and "event" in o
                if "lease_id" in o:
                    assert o["lease_id"].startswith("database/creds/ro/LLL")
                    assert o["lease_id"].endswith("...")
        assert any("lease_id" in l for l in lines)


def test_long_path_series_stay_distinct(vault, tmp_path):
    """Two KV paths of 400 characters that differ only at the end, one
    readable and one missing: four distinct fetch series, valid page."""
    a = "secret/data/" + "p" * 400 + "a"
    b = "secret/data/" + "p" * 400 + "b"
    vault.kv_put("p" * 400 + "a", {"k": "value-1234567"})
    mf = tmp_path / "lw.prom"
    r = lw.run(["--metrics-file", str(mf), "-s", "A=%s#k" % a, "-s", "B=%s#k" % b,
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode != 0          # b is missing
    page = mf.read_text()
    fetches = [l for l in page.splitlines()
               if l.startswith("leasewrap_secret_fetches_total{")]
    assert len(set(l.rsplit(" ", 1)[0] for l in fetches)) == len(fetches)
    ok = [l for l in fetches if 'result="ok"' in l and not l.endswith(" 0")]
    err = [l for l in fetches if 'result="error"' in l and not l.endswith(" 0")]
    assert ok and err, page
    assert all(len(l) < 400 for l in fetches), fetches


# ---- /metrics under slow clients ----------------------------------------

def slow_client(port, source, body):
    """A connection from source that sends a request's headers, then (body)
    a body or (not body) more headers, one byte at a time, never ending."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    if body:
        s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
    else:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return s


def closed_by_peer(s):
    """True once the server has closed or reset the connection."""
    try:
        s.setblocking(False)
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def trickle(socks, stop):
    """One byte on every open slow connection every 0.5 s until stop."""
    while not stop.wait(0.5):
        for s in list(socks):
            try:
                s.send(b"a")
            except OSError:
                socks.remove(s)


def test_scrape_succeeds_while_slow_clients_hang_on(vault, free_port):
    """16 clients trickling request bodies (each from its own address) and
    8 trickling headers from one address do not keep a scrape out."""
    vault.kv_put("app", {"k": "value-1234567"})
    p = lw.start(["--metrics-addr", "127.0.0.1:%d" % free_port,
                  "-s", "K=secret/data/app#k", "--", "sleep", "1000"],
                 env=lw.base_env(vault))
    socks, stop = [], threading.Event()
    t = threading.Thread(target=trickle, args=(socks, stop), daemon=True)
    try:
        def up():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/" % free_port,
                                            timeout=5) as r:
                    return r.status == 200
            except (urllib.error.URLError, ConnectionError, OSError):
                return False
        lw.wait_for(up, what="/metrics to serve")
        for i in range(16):
            socks.append(slow_client(free_port, "127.0.0.%d" % (i + 2), True))
        for i in range(8):
            try:
                socks.append(slow_client(free_port, "127.0.0.99", False))
            except OSError:
                pass      # refused beyond the per-client limit: fine
        t.start()

        def scrape():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % free_port,
                                            timeout=5) as r:
                    return r.read().decode() if r.status == 200 else None
            except (urllib.error.URLError, ConnectionError, OSError):
                return None
        page = lw.wait_for(scrape, timeout=30, what="a scrape among slow clients")
        assert "leasewrap_build_info" in page
        assert p.poll() is None
        # The header tricklers still trickle; the request deadline (10 s in
        # src/metrics.c) cuts them however often they send a byte.
        slow = [s for s in socks if s.getsockname()[0] == "127.0.0.99"]
        assert slow
        lw.wait_for(lambda: all(closed_by_peer(s) for s in slow), timeout=60,
                    what="the slow header senders to be cut")
    finally:
        stop.set()
        for s in socks:
            s.close()
        lw.kill_quietly(p)
