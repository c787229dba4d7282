"""Black-box tests of the lease lifecycle: renewal, rotation before expiry,
Vault failures while running, the token's own expiry, signal mode, KV refresh
and the command's own restarts.  Short TTLs, deadline polling, no sleeps."""
import os
import signal
import stat

import pytest

import harness
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



def test_signal_mode_unwritable_env_file_keeps_the_old_credentials(vault, pg, tmp_path):
    """Signal mode: while the env file cannot be rewritten the command keeps
    the old credentials, is not signalled and the old lease is not revoked;
    once the folder is back, the new file is written, then signalled."""
    # 12 s leases capped at 12 s: the renewal at ~7 s shows the cap and the
    # replacement is read at once, ~3.5 s before the last call (12 - 1.5 s).
    vault.create_db_role("ro", default_ttl=12, max_ttl=12)
    log = str(tmp_path / "probe.log")
    out_dir, gone = str(tmp_path / "out"), str(tmp_path / "out.gone")
    os.mkdir(out_dir, 0o700)
    envf = os.path.join(out_dir, "creds.env")
    p = lw.start(FAST + RO + ["--on-change", "signal:SIGHUP", "--env-file", envf,
                              "--revoke-grace", "1s", "--"] + PROBE + [log, envf],
                 env=lw.base_env(vault, pg))
    hups = lambda: [e for e in probe_log(log) if e["event"] == "hup"]  # noqa: E731
    try:
        lw.wait_for(lambda: len(starts(log)) == 1, what="the command's start")
        first = events(vault, "lease", "create")[0]["lease_id"]
        os.rename(out_dir, gone)
        lw.wait_for(lambda: "cannot be written" in lw.log_text(p.stderr_so_far()),
                    what="the failed write reported")
        assert len(events(vault, "lease", "create")) == 2
        assert hups() == []
        assert not [e for e in events(vault, "lease", "revoke")
                    if e["lease_id"] == first]
        os.rename(gone, out_dir)
        lw.wait_for(hups, what="the signal once the file is written")
        assert hups()[0]["complete"]
        assert hups()[0]["user"] != starts(log)[0]["user"]
        out, err = stop(p)
    finally:
        if os.path.exists(gone):
            os.rename(gone, out_dir)
        lw.kill_quietly(p)
    assert failures(log) == []
    assert len(starts(log)) == 1
    lw.assert_no_lease_left(vault, pg)


def test_signal_mode_env_file_never_writable_ends_before_the_credentials(vault, pg, tmp_path):
    """Signal mode: an env file that stays unwritable never gets a signal
    sent; at the old credentials' last call leasewrap stops the command and
    exits 79 with one error line."""
    vault.create_db_role("ro", default_ttl=6, max_ttl=6)
    log = str(tmp_path / "probe.log")
    out_dir = str(tmp_path / "out")
    os.mkdir(out_dir, 0o700)
    envf = os.path.join(out_dir, "creds.env")
    p = lw.start(FAST + RO + ["--on-change", "signal:SIGHUP", "--env-file", envf,
                              "--"] + PROBE + [log, envf], env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: len(starts(log)) == 1, what="the command's start")
        os.rename(out_dir, str(tmp_path / "out.gone"))
        p.wait(timeout=lw.TIMEOUT)
        err = p.stderr_so_far()
    finally:
        lw.kill_quietly(p)
    assert p.returncode == lw.EXIT_EXPIRED, err
    assert "could not be replaced" in lw.log_text(err)
    assert [e for e in probe_log(log) if e["event"] == "hup"] == []
    assert failures(log) == []
    lw.assert_no_lease_left(vault, pg)


def test_last_call_while_draining_keeps_the_exit_code(vault, pg, tmp_path):
    """The command exits 3 leaving a process that ignores SIGTERM; while it
    drains (--kill-timeout 5s) its credentials reach their last call with no
    replacement (reads fail).  leasewrap keeps the command's code and
    revokes only after the leftover is gone."""
    vault.create_db_role("ro", default_ttl=4, max_ttl=4)
    go, pidf = tmp_path / "go", tmp_path / "leftover.pid"
    script = ('(trap "" TERM; exec sleep 60) & echo $! > %s; '
              'while [ ! -e %s ]; do sleep 0.05; done; exit 3' % (pidf, go))
    p = lw.start(["--kill-timeout", "5s"] + RO + ["--", "sh", "-c", script],
                 env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: pidf.exists() and pidf.read_text().strip(),
                    what="the leftover's start")
        vault.fault(mode="status", status=503, errors=["Vault is sealed"],
                    paths=["database/creds/"])
        go.write_text("")
        p.wait(timeout=lw.TIMEOUT)
        err = p.stderr_so_far()
    finally:
        vault.clear_faults()
        lw.kill_quietly(p)
        if pidf.exists() and harness.pid_alive(int(pidf.read_text())):
            os.kill(int(pidf.read_text()), signal.SIGKILL)
    assert p.returncode == 3, err
    lines = lw.log_text(err).splitlines()
    kill = [i for i, l in enumerate(lines) if "did not exit in time" in l]
    revoke = [i for i, l in enumerate(lines) if "lease.revoke" in l]
    assert kill and revoke and kill[0] < revoke[0], err
    lw.assert_no_lease_left(vault, pg)


def test_on_change_exit_says_so_at_the_default_level(vault, pg, tmp_path):
    """--on-change exit: exit 75 with one warning line at the default level."""
    vault.create_db_role("ro", default_ttl=2, max_ttl=4)
    log = str(tmp_path / "probe.log")
    r = lw.run(FAST + RO + ["--log-level", "warn", "--on-change", "exit",
                            "--"] + PROBE + [log], env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_ROTATED, r.stderr
    assert "exit 75" in lw.one_line(r.stderr)
    lw.assert_no_lease_left(vault, pg)


def test_signal_mode_without_a_file_is_refused():
    """--on-change signal:SIG with nothing the command can re-read: usage
    error at start, one line naming --env-file, nothing read from Vault."""
    r = lw.run(["--on-change", "signal:SIGHUP", "-s",
                "PGUSER=database/creds/ro#username", "--", "true"],
               env=lw.base_env(VAULT_ADDR="http://127.0.0.1:1", VAULT_TOKEN="t"))
    assert r.returncode == lw.EXIT_USAGE
    assert "--env-file" in lw.one_line(r.stderr)


def test_restart_stop_kills_within_its_budget(vault, pg, tmp_path):
    """12 s leases, the default --kill-timeout (10 s), a command that ignores
    SIGTERM: the rotation's stop sends SIGKILL within the budget it was
    planned with (a quarter of the lease, lease_stop_time), before the old
    credentials end, so the command never runs on dead credentials."""
    vault.create_db_role("ro", default_ttl=12, max_ttl=12)
    log = str(tmp_path / "probe.log")
    p = lw.start(["--log-format", "text"] + RO + ["--"] + PROBE + [log],
                 env=lw.base_env(vault, pg, PROBE_IGNORE_TERM="1"))
    try:
        lw.wait_for(lambda: len(starts(log)) >= 2, timeout=90,
                    what="one restart rotation")
        err = p.stderr_so_far()
    finally:
        lw.kill_quietly(p)
    lines = lw.log_text(err).splitlines()
    term = [l for l in lines if "child.stop" in l and "new credentials" in l][0]
    kill = [l for l in lines if "did not exit in time" in l][0]
    budget = 12 / 4                      # lease_stop_time: min(10 s, 12 s / 4)
    waited = _log_time(kill) - _log_time(term)
    # The timer fires at the budget; the slack is the loop's latency only.
    assert budget - 0.05 <= waited <= budget + 0.5, (term, kill)
    first = events(vault, "lease", "create")[0]
    print("SIGKILL %.3f s after SIGTERM, %.3f s before the old lease's end"
          % (waited, first["time"] + 12 - _log_time(kill)))
    assert _log_time(kill) < first["time"] + 12, (kill, first)
    ss = starts(log)
    old = [e for e in probe_log(log) if e.get("pid") == ss[0]["pid"]]
    assert [e for e in old if e["event"] == "term"]   # it did ignore SIGTERM
    assert failures(log) == []


def _log_time(line):
    """Seconds since the epoch of a text-format line's timestamp."""
    import datetime
    stamp = line.split(" ", 1)[0].rstrip("Z")
    return datetime.datetime.fromisoformat(stamp + "+00:00").timestamp()


def test_signal_mode_honours_revoke_grace(vault, pg, tmp_path):
    """Signal mode, --revoke-grace 8s, 20 s leases capped at 40 s: each
    rotation comes early enough (lead >= grace + 1 s) that the replaced
    lease is revoked by leasewrap 8 s after the handover, and none expires
    on its own."""
    vault.create_db_role("ro", default_ttl=20, max_ttl=40)
    log = str(tmp_path / "probe.log")
    envf = str(tmp_path / "creds.env")
    p = lw.start(["--log-format", "text", "--kill-timeout", "1s"] + RO +
                 ["--on-change", "signal:SIGHUP", "--env-file", envf,
                  "--revoke-grace", "8s", "--"] + PROBE + [log, envf],
                 env=lw.base_env(vault, pg))
    revoked = lambda lid: [e for e in events(vault, "lease", "revoke")  # noqa: E731
                           if e["lease_id"] == lid]
    try:
        lw.wait_for(lambda: len(events(vault, "lease", "create")) >= 3 and
                    revoked(events(vault, "lease", "create")[1]["lease_id"]),
                    timeout=150, what="two replaced leases revoked")
        err = p.stderr_so_far()
        created = events(vault, "lease", "create")
        assert p.poll() is None
    finally:
        lw.kill_quietly(p)
    signals = [_log_time(l) for l in lw.log_text(err).splitlines()
               if "child.signal" in l]
    assert len(signals) >= 2, err
    expired = {e["lease_id"] for e in events(vault, "lease", "expire")}
    for i in (0, 1):
        lid = created[i]["lease_id"]
        assert lid not in expired, (i, lid)
        gone = revoked(lid)[0]["time"]
        print("lease %d revoked %.3f s after its replacement was handed over"
              % (i, gone - signals[i]))
        assert gone - signals[i] >= 7, (i, gone, signals[i])
    assert failures(log) == []
    assert "before --revoke-grace" not in lw.log_text(err)


def test_signal_mode_says_once_when_the_grace_cannot_fit(vault, pg, tmp_path):
    """6 s leases capped at 6 s cannot outlive --revoke-grace 8s: one warning
    at the first rotation naming both numbers, however many rotations."""
    vault.create_db_role("ro", default_ttl=6, max_ttl=6)
    log = str(tmp_path / "probe.log")
    envf = str(tmp_path / "creds.env")
    p = lw.start(FAST + RO + ["--on-change", "signal:SIGHUP", "--env-file", envf,
                              "--revoke-grace", "8s", "--"] + PROBE + [log, envf],
                 env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: len([e for e in probe_log(log) if e["event"] == "hup"]) >= 2,
                    timeout=60, what="two rotations")
        err = p.stderr_so_far()
    finally:
        lw.kill_quietly(p)
    warned = [l for l in lw.log_lines(err, "warn") if "before --revoke-grace" in l]
    assert len(warned) == 1, err
    assert "(8.0 s)" in warned[0] and "6 s as issued" in warned[0]
