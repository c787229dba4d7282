"""Prometheus metrics: --metrics-addr serves GET /metrics, --metrics-file is
replaced by rename; promtool accepts both and the alert rules in
examples/prometheus/.  A scrape during a rotation shows the credential's
deadline falling and the restart counter rising."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import urllib.error
import urllib.request

import pytest

import lw
from lw import free_port  # noqa: F401 (fixture)

RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]
RULES = os.path.join(lw.ROOT, "examples", "prometheus")
SAMPLE = re.compile(r"^([a-z_:][a-z0-9_:]*)(\{[^}]*\})? (\S+)$")


def promtool():
    """promtool from $PROMTOOL, PATH or .deps/ (make check fetches it there
    with packaging/ensure-promtool); a missing one fails, never skips."""
    for cand in (os.environ.get("PROMTOOL"), shutil.which("promtool"),
                 os.path.join(lw.ROOT, ".deps", "promtool")):
        if cand and os.access(cand, os.X_OK):
            return cand
    pytest.fail("no promtool: run `make check`, or `sh packaging/ensure-promtool "
                ".deps` first")


def parse(text):
    """{(name, labels-text): value} of every sample; fails on a bad line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def value(samples, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for (n, l), v in samples.items():
        got = ",".join(sorted(l.strip("{}").split(","))) if l else ""
        if n == name and got == want:
            return v
    return None


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def check_metrics(text):
    r = subprocess.run([promtool(), "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def try_scrape(port):
    try:
        return scrape(port)
    except (urllib.error.URLError, ConnectionError):
        return None


def test_scrape_during_rotation(vault, pg, free_port):
    # 10 s leases that cannot be renewed past 10 s: one restart per lease.
    vault.create_db_role("ro", default_ttl=10, max_ttl=10)
    p = lw.start(["--metrics-addr", "127.0.0.1:%d" % free_port,
                  "--kill-timeout", "1s"] + RO + ["--", "sleep", "1000"],
                 env=lw.base_env(vault, pg))
    try:
        path = {"path": "database/creds/ro"}

        def when(pred):
            def poll():
                t = try_scrape(free_port)
                return t if t is not None and pred(parse(t)) else None
            return poll

        first = parse(lw.wait_for(when(lambda s: value(s, "leasewrap_child_running") == 1),
                                  what="a scrape with the command running"))
        d1 = value(first, "leasewrap_credential_deadline_seconds", **path)
        ts1 = value(first, "leasewrap_credential_deadline_timestamp_seconds",
                    **path)
        assert d1 is not None and 0 < d1 <= 10, first
        assert value(first, "leasewrap_leases_held") == 1
        assert value(first, "leasewrap_child_starts_total", reason="initial") == 1
        assert value(first, "leasewrap_child_starts_total", reason="rotation") == 0
        assert value(first, "leasewrap_secret_fetches_total", result="ok", **path) == 1
        assert value(first, "leasewrap_secret_fetches_total", result="error", **path) == 0
        # The same lease, later: its deadline has fallen.
        second = parse(lw.wait_for(
            when(lambda s: value(s, "leasewrap_credential_deadline_seconds", **path) < d1 - 0.5),
            what="the deadline to fall"))
        assert value(second, "leasewrap_credential_deadline_timestamp_seconds",
                     **path) == ts1
        assert value(second, "leasewrap_child_starts_total", reason="rotation") == 0
        # After the rotation: the restart counter rose, a new deadline.
        third_text = lw.wait_for(
            when(lambda s: value(s, "leasewrap_child_starts_total", reason="rotation") >= 1
                 and value(s, "leasewrap_child_running") == 1),
            what="a restart for new credentials")
        third = parse(third_text)
        assert value(third, "leasewrap_credential_deadline_timestamp_seconds",
                     **path) > ts1
        assert value(third, "leasewrap_secret_fetches_total", result="ok", **path) >= 2
        assert value(third, "leasewrap_vault_requests_total", code="200") >= 2
        assert value(third, "leasewrap_vault_request_duration_seconds_count") == \
            sum(v for (n, _), v in third.items() if n == "leasewrap_vault_requests_total")
        check_metrics(third_text)
        lw.assert_no_secret(third_text, vault)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 128 + signal.SIGTERM, err
    lw.assert_no_lease_left(vault, pg)
    # The server went away with leasewrap.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", free_port), timeout=2).close()


def run_until_gate(args, f, gate, env, code):
    """Runs leasewrap with --metrics-file f around a command that waits for
    the file gate, then exits with code: the metrics file as it was while
    the command ran, leasewrap's stderr and its exit status."""
    p = lw.start(["--metrics-file", str(f)] + args +
                 ["--", "sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.05; done; exit %d'
                  % code, str(gate)], env=env)
    try:
        running = lw.wait_for(
            lambda: f.exists() and value(parse(f.read_text()),
                                         "leasewrap_child_running") == 1 and f.read_text(),
            what="the file with the command running")
        gate.write_text("")
        _, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    return running, err, p.returncode


def test_metrics_file_is_replaced_atomically_and_kept_at_exit(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=60, max_ttl=120)
    out = tmp_path / "prom"
    out.mkdir()
    f = out / "leasewrap.prom"
    running, err, code = run_until_gate(RO, f, tmp_path / "gate",
                                        lw.base_env(vault, pg), 3)
    assert value(parse(running), "leasewrap_leases_held") == 1
    assert code == 3, err
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert os.listdir(out) == ["leasewrap.prom"]          # no temporary left
    text = f.read_text()
    s = parse(text)
    path = {"path": "database/creds/ro"}
    assert value(s, "leasewrap_child_running") == 0
    assert value(s, "leasewrap_leases_held") == 0
    assert value(s, "leasewrap_lease_revocations_total", result="ok") == 1
    assert value(s, "leasewrap_secret_fetches_total", result="ok", **path) == 1
    assert value(s, "leasewrap_child_starts_total", reason="initial") == 1
    # A revoked lease has no deadline any more.
    assert value(s, "leasewrap_credential_deadline_seconds", **path) is None
    check_metrics(text)
    lw.assert_no_secret(text, vault)
    lw.assert_no_lease_left(vault, pg)


def test_certificates_are_not_leases_held_but_their_revocations_count(vault, tmp_path):
    """leasewrap_leases_held counts Vault leases; a certificate kept for
    --revoke-certs has none, but its revocation is counted."""
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    f = tmp_path / "leasewrap.prom"
    running, err, code = run_until_gate(
        ["--revoke-certs", "-s", "C=pki/issue/web?common_name=a.test#serial_number"],
        f, tmp_path / "gate", lw.base_env(vault), 0)
    assert value(parse(running), "leasewrap_leases_held") == 0
    assert code == 0, err
    s = parse(f.read_text())
    assert value(s, "leasewrap_leases_held") == 0
    assert value(s, "leasewrap_lease_revocations_total", result="ok") == 1
    assert vault.pki_serials()["revoked"] != []


def test_metrics_file_that_cannot_be_written_later_is_one_warning(vault, pg, tmp_path):
    """The folder goes away while the command runs: leasewrap warns once,
    keeps supervising, revokes and exits with the command's code."""
    vault.create_db_role("ro", default_ttl=60, max_ttl=120)
    d = tmp_path / "prom"
    d.mkdir()
    r = lw.run(["--log-level", "warn", "--metrics-file", str(d / "m.prom")] + RO +
               ["--", "sh", "-c", 'rm -rf "$0"; exit 5', str(d)],
               env=lw.base_env(vault, pg))
    assert r.returncode == 5, r.stderr
    line = lw.one_line(r.stderr)
    assert "metrics" in line and "cannot write" in line and "m.prom" in line, line
    assert not d.exists()
    lw.assert_no_lease_left(vault, pg)


def test_fetch_errors_and_logins_are_counted(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=60, max_ttl=120)
    vault.put_policy("app", 'path "database/creds/ro" { capabilities = ["read"] }\n'
                     'path "sys/leases/*" { capabilities = ["update"] }\n')
    vault.enable_auth("approle")
    role_id = vault.approle_role("web", token_policies=["app"])
    sid = tmp_path / "sid"
    sid.write_text(vault.approle_secret_id("web") + "\n")
    sid.chmod(0o600)
    f = tmp_path / "m.prom"
    env = lw.base_env(vault, pg)
    env.pop("VAULT_TOKEN")
    r = lw.run(["--metrics-file", str(f), "--auth", "approle", "--role-id", role_id,
                "--secret-id-file", str(sid), "-s", "X=database/creds/rw#password",
                "--", "true"], env=env)
    assert r.returncode == lw.EXIT_NOPERM, r.stderr
    s = parse(f.read_text())
    assert value(s, "leasewrap_logins_total", method="approle", result="ok") == 1
    assert value(s, "leasewrap_logins_total", method="approle", result="error") == 0
    assert value(s, "leasewrap_secret_fetches_total", path="database/creds/rw",
                 result="error") == 1
    assert value(s, "leasewrap_vault_requests_total", code="403") >= 1
    assert value(s, "leasewrap_child_starts_total", reason="initial") == 0


def test_metrics_http_answers_only_get_metrics(free_port):
    p = lw.start(["--metrics-addr", "127.0.0.1:%d" % free_port, "--", "sleep", "1000"])
    try:
        lw.wait_for(lambda: try_scrape(free_port), what="the metrics server")
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape(free_port, "/nope")
        assert e.value.code == 404
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % free_port,
                                     data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 405 and e.value.headers["Allow"] == "GET, HEAD"
        # The command does not inherit the listening socket.
        kid = lw.wait_for(lambda: lw.child_of(p.pid), what="the command")
        fds = os.listdir("/proc/%s/fd" % kid)
        socks = [fd for fd in fds
                 if os.readlink("/proc/%s/fd/%s" % (kid, fd)).startswith("socket:")]
        assert socks == [], socks
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 128 + signal.SIGTERM


def test_metrics_addr_in_use_is_a_config_error(free_port):
    with socket.socket() as s:
        s.bind(("127.0.0.1", free_port))
        s.listen(1)
        r = lw.run(["--log-level", "warn", "--metrics-addr",
                    "127.0.0.1:%d" % free_port, "--", "true"])
    assert r.returncode == lw.EXIT_CONFIG
    line = lw.one_line(r.stderr)
    assert "--metrics-addr" in line and "in use" in line and "another" in line


@pytest.mark.parametrize("addr", ["127.0.0.1", "127.0.0.1:", "no.such.host.invalid:9"])
def test_bad_metrics_addr(addr):
    r = lw.run(["--log-level", "warn", "--metrics-addr", addr, "--", "true"])
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    line = lw.one_line(r.stderr)
    assert lw.ERROR_LINE.match(line) and "--metrics-addr" in line, line


def test_metrics_file_in_a_missing_folder(tmp_path):
    r = lw.run(["--log-level", "warn", "--metrics-file",
                str(tmp_path / "nope" / "m.prom"), "--", "true"])
    assert r.returncode == lw.EXIT_CONFIG
    line = lw.one_line(r.stderr)
    assert "--metrics-file" in line and "No such file" in line


def test_alert_rules_pass_promtool():
    tool = promtool()
    r = subprocess.run([tool, "check", "rules", "leasewrap-alerts.yml"], cwd=RULES,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 rules found" in r.stdout
    r = subprocess.run([tool, "test", "rules", "leasewrap-alerts.test.yml"], cwd=RULES,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_alert_rules_use_only_exported_metrics():
    """A rule on a metric leasewrap does not export would never fire."""
    with open(os.path.join(RULES, "leasewrap-alerts.yml")) as f:
        used = set(re.findall(r"\bleasewrap_[a-z_]+", f.read()))
    with open(os.path.join(lw.ROOT, "src", "metrics.c")) as f:
        exported = set(re.findall(r'"(leasewrap_[a-z_]+)"', f.read()))
    assert used and used <= exported, used - exported
