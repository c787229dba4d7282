"""`leasewrap check`: a pre-flight check of a configuration for CI and
deploys: logs in, reads every path, confirms every field, revokes what it
leased, prints one line per variable and never a value."""
import json

import lw
from lw import free_port  # noqa: F401 (fixture)

RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]


def test_check_passes_on_a_good_configuration(vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=3600, max_ttl=86400)
    vault.kv_put("app", {"api_key": "check-value-9876"})
    cfg = tmp_path / "lw.json"
    cfg.write_text(json.dumps({"secret": {"API_KEY": "secret/app#api_key"}}))
    r = lw.run(["check", "-c", str(cfg)] + RO, env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    assert any(l.startswith("PGPASSWORD") and "database/creds/ro#password" in l
               and "ok, lease 1h renewable" in l for l in lines)
    assert any(l.startswith("API_KEY") and "ok, no lease" in l for l in lines)
    assert lw.reads(vault, "database/creds/ro") == 1
    lw.assert_no_lease_left(vault, pg)
    lw.assert_no_secret(r.stdout + r.stderr, vault)


def test_check_missing_field(vault, pg):
    vault.create_db_role("ro", default_ttl=60, max_ttl=300)
    r = lw.run(["check", "-s", "U=database/creds/ro#usernam"],
               env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_DATAERR
    assert "MISSING" in r.stdout and '"usernam"' in lw.log_text(r.stderr)
    lw.assert_no_lease_left(vault, pg)
    lw.assert_no_secret(r.stdout + r.stderr, vault)


def test_check_denied_path(vault, pg):
    vault.create_db_role("ro", default_ttl=60, max_ttl=300)
    vault.create_db_role("rw", default_ttl=60, max_ttl=300)
    vault.put_policy("ro", 'path "database/creds/ro" { capabilities = ["read"] }\n'
                     'path "sys/leases/revoke" { capabilities = ["update"] }')
    token = vault.create_token(policies=["ro"])
    r = lw.run(["check"] + RO + ["-s", "W=database/creds/rw#username"],
               env=lw.base_env(vault, pg, VAULT_TOKEN=token))
    assert r.returncode == lw.EXIT_NOPERM
    assert "database/creds/rw" in lw.one_line(r.stderr)
    lw.assert_no_lease_left(vault, pg)


def test_check_unreachable_vault(free_port):
    env = lw.base_env(VAULT_ADDR="http://127.0.0.1:%d" % free_port,
                      VAULT_TOKEN="t")
    r = lw.run(["check", "--start-timeout", "1s", "-s", "A=secret/data/x#y"],
               env=env)
    assert r.returncode == lw.EXIT_UNAVAILABLE
    assert "cannot reach Vault" in lw.log_lines(r.stderr, "warn")[-1]


def test_check_needs_a_secret():
    r = lw.run(["check"])
    assert r.returncode == lw.EXIT_USAGE
    assert "no secret requested" in lw.log_text(r.stderr)
