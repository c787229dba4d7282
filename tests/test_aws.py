"""Black-box tests: AWS-like credentials, leases that cannot be renewed
(leasewrap(1), "NON-RENEWABLE LEASES"), --settle-delay, and --revoke-certs
for PKI certificates.  The emulator's AWS engine follows hashicorp/vault
builtin/logical/aws (STS credentials: a lease with renewable false); its
caller-identity route stands in for AWS, refusing a key it does not know
(yet: the eventual-consistency knob), an expired session, a deleted key."""
import os
import time

import awsprobe
import lw

PROBE = ["/usr/bin/python3", os.path.join(lw.ROOT, "tests", "awsprobe.py")]


def sts(path):
    return ["-s", "AWS_ACCESS_KEY_ID=%s#access_key" % path,
            "-s", "AWS_SECRET_ACCESS_KEY=%s#secret_key" % path,
            "-s", "AWS_SESSION_TOKEN=%s#security_token" % path]


def requests(vault, method, path):
    return [e for e in vault.journal() if e.get("kind") == "request"
            and e.get("method") == method and e.get("path") == path]


def checks(log):
    return [e for e in lw.probe_log(log) if e["event"] == "check"]


# Each key the probe was handed: at a start, or read again on SIGHUP.
def handed(log):
    return [e for e in lw.probe_log(log) if e["event"] in ("start", "reload")]


def keys(log):
    return {e["key"] for e in handed(log)}


# How many checks the probe made with the last key it was handed.
def last_key_checks(log):
    got = handed(log)
    return sum(1 for e in checks(log) if got and e["key"] == got[-1]["key"])


# Runs leasewrap around the probe until it saw n keys (then calls then(),
# if given), then stops it (SIGTERM); with env_file the probe takes its key
# from that file.
def run_probe(vault, args, path, log, n, env_file=None, then=None):
    probe = PROBE + [log, vault.addr] + ([str(env_file)] if env_file else [])
    p = lw.start(args + sts(path) + ["--"] + probe, env=lw.base_env(vault))
    try:
        lw.wait_for(lambda: len(keys(log)) >= n, timeout=90,
                    what="%d keys, one per start or SIGHUP" % n)
        lw.wait_for(lambda: last_key_checks(log) >= 2, timeout=30,
                    what="the last key checked twice")
        if then is not None:
            then()
        p.terminate()
        out, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 0, err
    return err


def test_sts_leases_rotate_before_their_end_without_renewals(vault, tmp_path):
    """An 8 s STS lease: never renewed (it cannot be), replaced before it
    ends and the command restarted on the new key, which works at once;
    every lease is sent to sys/leases/revoke (a no-op for STS in Vault:
    secret_access_keys.go secretAccessKeysRevoke) before its end."""
    vault.create_aws_role("deploy")
    log = str(tmp_path / "probe.log")
    run_probe(vault, ["--kill-timeout", "1s"], "aws/sts/deploy?ttl=8s", log, 3)
    assert requests(vault, "PUT", "sys/leases/renew") == []
    issued = [e for e in vault.journal() if e.get("kind") == "aws"
              and e.get("event") == "issue"]
    assert len(issued) >= 3 and all(not e["renewable"] for e in issued)
    # One PUT per key (the path has a parameter: a write), none read.
    assert len(requests(vault, "PUT", "aws/sts/deploy")) == len(issued)
    assert requests(vault, "GET", "aws/sts/deploy") == []
    # The command never checked a key that had ended (ExpiredToken).
    got = checks(log)
    assert got and all(e["ok"] for e in got), [e for e in got if not e["ok"]]
    # Each lease was revoked through the API before its end, none expired.
    leases = {e["lease_id"]: e for e in vault.journal() if e.get("kind") == "lease"
              and e.get("event") in ("revoke", "expire")}
    for e in issued:
        ev = leases.get(e["lease_id"])
        assert ev is not None and ev["event"] == "revoke", (e, ev)
        assert ev["time"] < ev["expire_time"], (e, ev)
    # Each start came before the previous key's end.
    starts = lw.probe_starts(log)
    for prev, nxt in zip(starts, starts[1:]):
        assert nxt["t"] < int(prev["deadline"]) + 1, (prev, nxt)


def test_a_new_lease_is_counted_from_its_fetch_not_its_handover(vault, tmp_path):
    """A rotation's stop (here the whole --kill-timeout: the command ignores
    SIGTERM) comes between fetching the new lease and handing it over.  Its
    end is counted from the fetch, so LEASEWRAP_DEADLINE is never later than
    Vault's end of the lease the command was given (counted from the
    handover, it was later by the stop, and each next rotation that late)."""
    vault.create_aws_role("deploy")
    log = tmp_path / "deadlines"
    script = 'trap "" TERM; echo "$LEASEWRAP_DEADLINE" >> %s; exec sleep 100' % log
    p = lw.start(["--kill-timeout", "2s"] + sts("aws/sts/deploy?ttl=12s") +
                 ["--", "sh", "-c", script], env=lw.base_env(vault))
    try:
        lw.wait_for(lambda: log.exists() and len(log.read_text().split()) >= 3,
                    timeout=90, what="two replacements")
        p.terminate()
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    issued = [e for e in vault.journal() if e.get("kind") == "aws"
              and e.get("event") == "issue"]
    deadlines = [int(d) for d in log.read_text().split()]
    assert len(issued) >= len(deadlines) >= 3
    # The n-th start had the n-th key; the journal's time is just after its issue.
    for d, e in zip(deadlines, issued):
        assert d <= e["time"] + e["ttl"], (d, e["time"] + e["ttl"])


def test_check_reports_a_lease_that_cannot_be_renewed(vault):
    vault.create_aws_role("deploy")
    r = lw.run(["check"] + sts("aws/sts/deploy?ttl=15m"), env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert "ok, lease 15m, not renewable" in r.stdout, r.stdout
    assert requests(vault, "PUT", "sys/leases/renew") == []


def test_settle_delay_hands_over_only_keys_that_work(vault, tmp_path):
    """With new keys refused for 2 s (IAM eventual consistency), a 3 s
    --settle-delay before the first start and each rotation means the
    command's very first check of each key already passes."""
    vault.create_aws_role("deploy")
    vault.aws_consistency(2)
    log = str(tmp_path / "probe.log")
    err = run_probe(vault, ["--kill-timeout", "1s", "--settle-delay", "3s"],
                    "aws/sts/deploy?ttl=12s", log, 2)
    got = checks(log)
    assert got and all(e["ok"] for e in got), [e for e in got if not e["ok"]]
    assert [l for l in lw.log_lines(err, "warn") if "settle" in l] == []
    assert requests(vault, "PUT", "sys/leases/renew") == []


# When the emulator issued each AWS key, by the probe's digest of it.
def issue_times(vault):
    return {awsprobe.digest(e["access_key"]): e["time"] for e in vault.journal()
            if e.get("kind") == "aws" and e.get("event") == "issue"}


def test_settle_delay_in_signal_mode(vault, tmp_path):
    """Signal mode: the env file is rewritten and SIGHUP sent only once the
    new key is --settle-delay old, so a command that reads the file again on
    SIGHUP never has a key AWS refuses (2 s of eventual consistency, 3 s of
    settle delay), across two rotations."""
    vault.create_aws_role("deploy")
    vault.aws_consistency(2)
    log = str(tmp_path / "probe.log")
    envf = tmp_path / "aws.env"
    err = run_probe(vault, ["--kill-timeout", "1s", "--settle-delay", "3s",
                            "--env-file", str(envf), "--env-file-format", "json",
                            "--on-change", "signal:SIGHUP"],
                    "aws/sts/deploy?ttl=12s", log, 3, env_file=envf)
    got = checks(log)
    assert got and all(e["ok"] for e in got), [e for e in got if not e["ok"]]
    starts = lw.probe_starts(log)
    reloads = [e for e in handed(log) if e["event"] == "reload"]
    assert len(starts) == 1 and len(reloads) >= 2, handed(log)
    issued = issue_times(vault)
    # Each key handed over was at least the settle delay old by then (the
    # start's record comes after the exec, a reload's "signalled" on SIGHUP).
    for e in handed(log):
        at = e["signalled"] if e["event"] == "reload" else e["t"]
        assert at - issued[e["key"]] >= 3 - 0.05, (e, issued[e["key"]])
    assert [l for l in lw.log_lines(err, "warn") if "settle" in l] == []
    assert requests(vault, "PUT", "sys/leases/renew") == []


def test_without_settle_delay_new_keys_are_refused(vault, tmp_path):
    """The same run without --settle-delay: the command gets each key at
    once and AWS refuses it for its first 2 s (this test shows the one
    above can fail)."""
    vault.create_aws_role("deploy")
    vault.aws_consistency(2)
    log = str(tmp_path / "probe.log")
    run_probe(vault, ["--kill-timeout", "1s"], "aws/sts/deploy?ttl=12s", log, 1)
    refused = [e for e in checks(log) if not e["ok"]]
    assert refused and all(e["error"] == "InvalidClientTokenId" for e in refused)


def test_settle_delay_of_one_path_leaves_the_others_be(vault, tmp_path):
    """--settle-delay aws/...=3s: the AWS key waits out its 3 s (AWS refuses
    it for 2 s) and is never refused, while a KV secret with no delay of its
    own is handed over as soon as it is read: a change to it restarts the
    command at once, not 3 s later."""
    vault.create_aws_role("deploy")
    vault.aws_consistency(2)
    vault.kv_put("app", {"v": "one"})
    aws = "aws/sts/deploy?ttl=30s"
    log = str(tmp_path / "probe.log")
    changed = []

    def change():
        changed.append(time.time())
        vault.kv_put("app", {"v": "two"})
        lw.wait_for(lambda: len(lw.probe_starts(log)) >= 2 and
                    last_key_checks(log) >= 2, timeout=30,
                    what="a restart on the new KV value, its key checked")

    err = run_probe(vault, ["--kill-timeout", "1s", "--refresh-interval",
                            "secret/data/app=1s", "--settle-delay", aws + "=3s",
                            "-s", "APP_V=secret/data/app#v"],
                    aws, log, 1, then=change)
    got = checks(log)
    assert got and all(e["ok"] for e in got), [e for e in got if not e["ok"]]
    # The first start waited for the AWS key's own 3 s.
    issued = issue_times(vault)
    first = lw.probe_starts(log)[0]
    assert first["t"] - issued[first["key"]] >= 3 - 0.05, (first, issued)
    # The read that found the new value, then the restart it caused.
    read = [e["time"] for e in requests(vault, "GET", "secret/data/app")
            if e["time"] > changed[0]][0]
    restart = [e for e in lw.probe_starts(log) if e["t"] > read][0]
    assert restart["key"] == first["key"], (first, restart)
    assert restart["t"] - read < 3, (read, restart)
    assert "waiting 3.0 s (--settle-delay)" in lw.log_text(err), err


def test_a_lease_too_short_for_the_settle_delay_is_said_once(vault, tmp_path):
    vault.create_aws_role("deploy")
    log = str(tmp_path / "probe.log")
    err = run_probe(vault, ["--kill-timeout", "1s", "--settle-delay", "3s"],
                    "aws/sts/deploy?ttl=6s", log, 2)
    warn = [l for l in lw.log_lines(err, "warn") if "--settle-delay" in l]
    assert len(warn) == 1, lw.log_text(err, "warn")
    # A 6 s lease: 3 s settle + 1.5 s stop budget + 1 s = 5.5 s wanted, 3 s given.
    assert "a 6 s lease is too short for --settle-delay 3.0 s" in warn[0], warn
    assert "5.5 s" in warn[0] and "1.5 s stop budget" in warn[0], warn


def test_bad_settle_delay_is_refused(vault):
    r = lw.run(["--settle-delay", "soon", "--", "true"], env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_USAGE, r.stderr
    assert "--settle-delay" in r.stderr and "duration" in r.stderr


ISSUE = "pki/issue/web?common_name=app.test&ttl=%s"


def test_revoke_certs_revokes_every_issued_certificate(vault, tmp_path):
    """--revoke-certs: each certificate replaced is revoked once the new one
    is in use, the last one at exit (PUT pki/revoke, serial_number)."""
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    cert = tmp_path / "tls.crt"
    # Replaced 4 s before its end: Vault leaves a certificate within 2 s of
    # it off the CRL (crl_util.go revokeCert), and the revocation waits for
    # the new command.
    p = lw.start(["--revoke-certs", "--kill-timeout", "1s", "--rotate-before", "4s",
                  "--file", "%s=%s#certificate" % (cert, ISSUE % "8s"),
                  "--", "sleep", "60"], env=lw.base_env(vault))
    try:
        lw.wait_for(lambda: len(vault.pki_serials()["issued"]) >= 2, timeout=60,
                    what="a second certificate")
        first = vault.pki_serials()["issued"][0]
        lw.wait_for(lambda: first in vault.pki_serials()["revoked"], timeout=30,
                    what="the replaced certificate revoked")
        p.terminate()
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    s = vault.pki_serials()
    assert sorted(s["issued"]) == s["revoked"]
    assert len(requests(vault, "PUT", "pki/revoke")) == len(s["issued"])


def test_certificates_are_not_revoked_by_default(vault, tmp_path):
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    r = lw.run(["-s", "C=%s#serial_number" % (ISSUE % "1h"), "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    s = vault.pki_serials()
    assert len(s["issued"]) == 1 and s["revoked"] == []
    assert requests(vault, "PUT", "pki/revoke") == []
    r = lw.run(["--revoke-certs", "-s", "C=%s#serial_number" % (ISSUE % "1h"),
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    s = vault.pki_serials()
    assert len(s["issued"]) == 2 and s["revoked"] == sorted(s["issued"][1:])


def test_a_certificate_vault_does_not_know_is_reported_once(vault, tmp_path):
    """A 400 from pki/revoke (an unknown serial) is final: one error line
    with the command to run, no retries for the exit window."""
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    vault.fault(mode="status", status=400, paths=["pki/revoke"],
                errors=["certificate with serial 01:02 not found."])
    t0 = time.time()
    r = lw.run(["--revoke-certs", "-s", "C=%s#serial_number" % (ISSUE % "1h"),
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert time.time() - t0 < 20
    assert len(requests(vault, "PUT", "pki/revoke")) == 1
    line = lw.one_line(r.stderr, "error")
    assert "could not revoke certificate" in line, line
    assert "vault write pki/revoke serial_number=" in line, line


def test_an_expired_certificate_is_reported_not_revoked(vault, tmp_path):
    """Vault answers a revocation of a certificate that ends within 2 s
    with a 200, no revocation_time and a warning (crl_util.go revokeCert):
    logged as not revoked, with the warning, and not retried."""
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    r = lw.run(["--revoke-certs", "-s", "C=%s#serial_number" % (ISSUE % "1s"),
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    s = vault.pki_serials()     # a 1 s certificate may be replaced meanwhile
    assert len(requests(vault, "PUT", "pki/revoke")) == len(s["issued"])
    assert s["revoked"] == []
    text = lw.log_text(r.stderr)
    assert "not revoked: certificate with serial" in text, text
    assert "already expired; refusing to add to CRL" in text, text
    assert "revoked certificate" not in text, text


def test_config_file_keys(vault, tmp_path):
    """settle_delay and revoke_certs in the config file, as the flags."""
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    cfg = tmp_path / "lw.json"
    cfg.write_text('{"settle_delay": "1s", "revoke_certs": true}')
    r = lw.run(["-c", str(cfg), "-s", "C=%s#serial_number" % (ISSUE % "1h"),
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert "waiting 1.0 s (--settle-delay)" in lw.log_text(r.stderr), r.stderr
    s = vault.pki_serials()
    assert len(s["issued"]) == 1 and s["revoked"] == s["issued"]
