"""Black-box tests of the lease lifecycle: renewal, rotation before expiry,
Vault failures while running, the token's own expiry, signal mode, KV refresh
and the command's own restarts.  Short TTLs, deadline polling, no sleeps."""
import os
import signal
import stat

import pytest

import lw

PROBE = [lw.PYTHON if hasattr(lw, "PYTHON") else "/usr/bin/python3",
         os.path.join(lw.ROOT, "tests", "pgprobe.py")]
RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]
FAST = ["--kill-timeout", "1s"]


probe_log = lw.probe_log
starts = lw.probe_starts
failures = lw.probe_failures


def successes(path):
    return [e for e in probe_log(path) if e["event"] == "query" and e["ok"]]


def events(vault, kind, event=None, path_prefix="database/creds/"):
    return [e for e in vault.journal() if e.get("kind") == kind and
            (event is None or e.get("event") == event) and
            (e.get("lease_id") or e.get("path") or "").startswith(path_prefix)]


def renew_requests(vault, status=None):
    return [e for e in vault.journal() if e.get("kind") == "request" and
            e.get("path") == "sys/leases/renew" and
            (status is None or e.get("status") == status)]


def assert_rode_it_out(vault, pg, log):
    """The command started once, on one lease, never failed to connect, and
    every lease was revoked at the end."""
    assert len(starts(log)) == 1
    assert len(events(vault, "lease", "create")) == 1
    assert failures(log) == []
    lw.assert_no_lease_left(vault, pg)


def stop(p):
    """SIGTERM leasewrap (which forwards it) and collect its output."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=lw.TIMEOUT)
    return out, err


def test_rotation_keeps_the_command_connected(vault, pg, tmp_path):
    """Three max-TTL periods: never an auth failure, one restart per period."""
    vault.create_db_role("ro", default_ttl=2, max_ttl=6)
    log = str(tmp_path / "probe.log")
    p = lw.start(FAST + RO + ["--"] + PROBE + [log], env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: len(starts(log)) >= 4, timeout=90,
                    what="three rotations")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    assert failures(log) == [], failures(log)
    ss = starts(log)
    users = [s["user"] for s in ss]
    assert len(set(users)) == len(users)           # new user at each start
    created = events(vault, "lease", "create")
    assert len(created) == len(ss)                  # one lease per start
    # Not too early: a lease is replaced once, shortly before its 6 s max
    # TTL (less the rotation lead of at most 2.5 s here, less up to 1 s as
    # Vault's whole-second TTLs round the learned max TTL down).
    for a, b in zip(ss, ss[1:]):
        assert b["t"] - a["t"] > 6 - 2.5 - 1, (a, b)
    # Not too late: Vault never had to expire a lease the command used.
    assert events(vault, "lease", "expire") == []
    assert len(renew_requests(vault, 200)) >= 2 * (len(ss) - 1)
    text = lw.log_text(err)
    assert "renewed for" in text and "max TTL" in text
    lw.assert_no_lease_left(vault, pg)
    lw.assert_no_secret(err, vault)


def test_renewal_failures_retry_without_restart(vault, pg, tmp_path):
    # 8 s leases: renewed at ~4.3 s, ~2 s before the last call, time enough
    # for the retries' backoff (0.125 s, then 0.25 s, doubling).
    vault.create_db_role("ro", default_ttl=8, max_ttl=300)
    vault.fault(mode="status", status=500, errors=["internal error"],
                paths=["sys/leases/renew"], count=2)
    log = str(tmp_path / "probe.log")
    p = lw.start(FAST + RO + ["--"] + PROBE + [log], env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: len(renew_requests(vault, 200)) >= 2, timeout=60,
                    what="renewals to succeed after the failures")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    assert len(renew_requests(vault, 500)) == 2
    text = lw.log_text(err)
    assert "renewal failed" in text and "retrying" in text
    assert_rode_it_out(vault, pg, log)


def test_vault_down_longer_than_a_renewal_interval(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=8, max_ttl=300)
    log = str(tmp_path / "probe.log")
    p = lw.start(FAST + RO + ["--"] + PROBE + [log], env=lw.base_env(vault, pg))
    err_lines = []
    try:
        lw.wait_for(lambda: len(renew_requests(vault, 200)) >= 1, timeout=60,
                    what="a first renewal")
        vault.fault(mode="down")
        # Down across at least one scheduled renewal (every ~5.5 s).
        for _ in range(3):
            line = lw.as_text(p.stderr.readline())
            while line and "renewal failed" not in line:
                line = lw.as_text(p.stderr.readline())
            err_lines.append(line)
        vault.clear_faults()
        n = len(renew_requests(vault, 200))
        lw.wait_for(lambda: len(renew_requests(vault, 200)) > n, timeout=60,
                    what="renewal after Vault is back")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    assert all("renewal failed" in l for l in err_lines)
    assert_rode_it_out(vault, pg, log)


def test_lost_leases_mean_new_credentials_and_one_rotation(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=4, max_ttl=300)
    log = str(tmp_path / "probe.log")
    p = lw.start(FAST + RO + ["--"] + PROBE + [log], env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: successes(log), what="the probe to connect")
        vault.lose_leases("database/")
        lw.wait_for(lambda: len(starts(log)) >= 2, timeout=60,
                    what="a rotation after the lease was lost")
        first_new = len(probe_log(log))
        lw.wait_for(lambda: [e for e in probe_log(log)[first_new:]
                             if e["event"] == "query" and e["ok"]],
                    what="the new credentials to work")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    assert "lease not found" in lw.log_text(err)
    assert len(starts(log)) == 2
    assert len(events(vault, "lease", "create")) == 2
    lw.assert_no_lease_left(vault, pg)


def test_token_dying_first_stops_the_command_in_time(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=30, max_ttl=120)
    token = vault.create_token(ttl="2s", explicit_max_ttl="7s")
    log = str(tmp_path / "probe.log")
    env = lw.base_env(vault, pg, VAULT_TOKEN=token)
    p = lw.start(FAST + RO + ["--"] + PROBE + [log], env=env)
    try:
        out, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == lw.EXIT_EXPIRED, err
    assert "could not be replaced" in lw.log_text(err)
    # The command stopped while the token (and so the user) still lived.
    assert successes(log) and failures(log) == []
    token_ends = [e for e in vault.journal() if e.get("kind") == "token" and
                  e.get("event") in ("expire", "revoke")]
    last_query = max(e["t"] for e in successes(log))
    assert all(e["time"] > last_query for e in token_ends)
    lw.assert_no_lease_left(vault, pg)


def test_signal_mode_rewrites_the_file_and_keeps_the_command(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=3, max_ttl=10)
    log = str(tmp_path / "probe.log")
    envf = str(tmp_path / "creds.env")
    p = lw.start(FAST + RO + ["--on-change", "signal:SIGHUP", "--env-file",
                              envf, "--revoke-grace", "1s", "--rotate-before", "4s",
                              "--"] + PROBE + [log, envf], env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: len([e for e in probe_log(log)
                                 if e["event"] == "hup"]) >= 2, timeout=60,
                    what="two credential changes")
        created = events(vault, "lease", "create")
        # The second lease: the first one's max TTL shows only in a capped
        # renewal, less than 3 s before its end, so it may expire before the
        # 1 s grace is over on a loaded machine.  The second is replaced 4 s
        # (--rotate-before) ahead of its end: revoked well before it.
        lw.wait_for(lambda: any(e["lease_id"] == created[1]["lease_id"] for e
                                in events(vault, "lease", "revoke")),
                    what="the second lease revoked after the grace")
        assert not [e for e in events(vault, "lease", "expire")
                    if e["lease_id"] == created[1]["lease_id"]]
        assert p.poll() is None          # revoked while the command runs on
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    hups = [e for e in probe_log(log) if e["event"] == "hup"]
    assert all(h["complete"] for h in hups)
    assert all(h["mode"] == "0o600" for h in hups)
    assert len(starts(log)) == 1               # signalled, never restarted
    assert len({h["user"] for h in hups}) == len(hups)
    assert failures(log) == []
    assert not os.path.exists(envf)            # removed with the leases
    assert [f for f in os.listdir(tmp_path) if f.startswith("creds.env")] == []
    lw.assert_no_lease_left(vault, pg)


def test_kv2_change_restarts_once_and_no_change_never(vault, tmp_path):
    vault.kv_put("app", {"api_key": "first-value-123"})
    log = tmp_path / "starts"
    script = 'echo "$API_KEY" >> %s; while :; do sleep 0.05; done' % log
    p = lw.start(["--refresh-interval", "1s", "--kill-timeout", "1s",
                  "-s", "API_KEY=secret/data/app#api_key", "--",
                  "sh", "-c", script], env=lw.base_env(vault))
    reads = lambda: lw.reads(vault, "secret/data/app")  # noqa: E731
    try:
        lw.wait_for(lambda: reads() >= 4, timeout=60, what="three refreshes")
        assert log.read_text().splitlines() == ["first-value-123"]
        vault.kv_put("app", {"api_key": "second-value-456"})
        lw.wait_for(lambda: len(log.read_text().splitlines()) >= 2,
                    what="a restart with the new value")
        n = reads()
        lw.wait_for(lambda: reads() >= n + 3, timeout=60,
                    what="three more refreshes")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    assert log.read_text().splitlines() == ["first-value-123",
                                            "second-value-456"]


def test_on_change_exit(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=2, max_ttl=4)
    log = str(tmp_path / "probe.log")
    r = lw.run(FAST + RO + ["--on-change", "exit", "--"] + PROBE + [log],
               env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_ROTATED, r.stderr
    assert_rode_it_out(vault, pg, log)


def test_restart_on_failure_reuses_credentials(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=30, max_ttl=60)
    marker = tmp_path / "ran"
    script = ('echo "$PGUSER" >> %s; [ $(wc -l < %s) -ge 2 ] && exit 0; exit 3'
              % (marker, marker))
    r = lw.run(RO + ["--restart", "on-failure", "--", "sh", "-c", script],
               env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    users = marker.read_text().split()
    assert len(users) == 2 and users[0] == users[1]
    assert len(events(vault, "lease", "create")) == 1
    assert "starting it again" in lw.log_text(r.stderr)
    lw.assert_no_lease_left(vault, pg)


def test_restart_gives_up_after_max_restarts(vault, pg):
    vault.create_db_role("ro", default_ttl=30, max_ttl=60)
    r = lw.run(RO + ["--restart", "always", "--max-restarts", "1", "--",
                     "sh", "-c", "exit 4"], env=lw.base_env(vault, pg))
    assert r.returncode == 4
    assert "giving up" in lw.log_text(r.stderr)
    lw.assert_no_lease_left(vault, pg)


@pytest.mark.parametrize("args,needle", [
    (["--on-change", "reload"], "signal:SIGHUP"),
    (["--on-change", "signal:SIGNOPE"], "signal:SIGHUP"),
    (["--kill-signal", "BOGUS"], "signal"),
    (["--rotate-before", "150%"], "20%"),
    (["--restart", "sometimes"], "on-failure"),
    (["--max-restarts", "-1"], "number"),
    (["--on-expire", "panic"], "warn"),
    (["--kill-timeout", "soon"], "duration"),
])
def test_lifecycle_option_errors(args, needle):
    r = lw.run(args + ["--", "true"])
    assert r.returncode == lw.EXIT_USAGE
    assert needle in lw.one_line(r.stderr)
