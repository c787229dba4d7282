"""Black-box tests: leasewrap against the Vault emulator and a real PostgreSQL."""
import json
import os
import signal
import time

import pytest

import lw

PSQL = "/usr/bin/psql"
RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]


@pytest.fixture
def ro(vault):
    """A database role "ro" with short TTLs."""
    vault.create_db_role("ro", default_ttl=30, max_ttl=120)
    return "database/creds/ro"


def live_leases(vault, prefix="database/creds/"):
    return [l for l in vault.leases() if l["lease_id"].startswith(prefix)]


def dynamic_roles(pg):
    return {r for r in pg.roles() if r.startswith("v-")}


def lease_events(vault, event):
    return [e for e in vault.journal()
            if e.get("kind") == "lease" and e.get("event") == event]


def test_psql_gets_dynamic_user_and_it_is_revoked(vault, pg, ro):
    env = lw.base_env(vault, pg)
    r = lw.run(RO + ["--", PSQL, "-tAc", "select current_user"], env=env)
    assert r.returncode == 0, r.stderr
    user = r.stdout.strip()
    assert user.startswith("v-"), r.stdout
    # One read and one lease for two names on the same path.
    assert lw.reads(vault, ro) == 1
    created = lease_events(vault, "create")
    assert len(created) == 1 and created[0]["username"] == user
    # Revoked at exit: no lease left, the user is gone from PostgreSQL.
    revoked = lease_events(vault, "revoke")
    assert [e["lease_id"] for e in revoked] == [created[0]["lease_id"]]
    assert live_leases(vault) == []
    assert user not in pg.roles()
    lw.assert_no_secret(r.stderr, vault)


def test_no_revoke_leaves_the_lease(vault, pg, ro):
    env = lw.base_env(vault, pg)
    r = lw.run(RO + ["--no-revoke", "--", PSQL, "-tAc", "select current_user"],
               env=env)
    assert r.returncode == 0, r.stderr
    user = r.stdout.strip()
    assert user in pg.roles()
    assert len(live_leases(vault)) == 1
    assert lease_events(vault, "revoke") == []


def test_exit_code_of_child_kept_and_lease_revoked(vault, pg, ro):
    r = lw.run(RO + ["--", "sh", "-c", "exit 42"], env=lw.base_env(vault, pg))
    assert r.returncode == 42
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()


def test_many_paths_are_read_once_each(vault, pg):
    # Ten paths, twenty names: ten reads, ten leases, all revoked.
    # PostgreSQL fails concurrent GRANTs on one database ("tuple concurrently
    # updated"), so these roles create their users without one.
    create = ['CREATE ROLE "{{name}}" WITH LOGIN PASSWORD \'{{password}}\' '
              'VALID UNTIL \'{{expiration}}\';']
    args = []
    for i in range(10):
        vault.create_db_role("r%d" % i, default_ttl=30, max_ttl=60,
                             creation_statements=create)
        args += ["-s", "U%d=database/creds/r%d#username" % (i, i),
                 "-s", "P%d=database/creds/r%d#password" % (i, i)]
    r = lw.run(args + ["--", "env"], env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    env = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    for i in range(10):
        assert env["U%d" % i].startswith("v-")
        assert lw.reads(vault, "database/creds/r%d" % i) == 1
    assert len(lease_events(vault, "create")) == 10
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()


def test_kv2_data_path_and_plain_path(vault):
    vault.kv_put("app", {"api_key": "k-123456789", "port": 8080,
                         "opts": {"a": True}})
    r = lw.run(["-s", "A=secret/data/app#api_key", "-s", "B=secret/app#api_key",
                "-s", "P=secret/app#port", "-s", "O=secret/data/app#opts",
                "--", "env"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "A=k-123456789" in lines and "B=k-123456789" in lines
    assert "P=8080" in lines
    assert 'O={"a":true}' in lines
    # The plain path was found to be KV v2 by asking Vault, as the CLI does.
    assert any(e.get("path") == "sys/internal/ui/mounts/secret/app"
               for e in vault.journal())


def test_kv1(vault):
    vault.kv_put("legacy", {"password": "kv1-pass-xyz", "ttl": "1h"},
                 version=1, mount="kv")
    r = lw.run(["-s", "P=kv/legacy#password", "--", "env"],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert "P=kv1-pass-xyz" in r.stdout.splitlines()


def test_env_refs_are_resolved(vault, pg, ro):
    env = lw.base_env(vault, pg, PGUSER="vault:database/creds/ro#username",
                      PGPASSWORD="vault:database/creds/ro#password")
    r = lw.run(["--", PSQL, "-tAc", "select current_user"], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("v-")
    assert lw.reads(vault, ro) == 1
    assert dynamic_roles(pg) == set()


def test_config_file_secrets(vault, pg, ro, tmp_path):
    cfg = tmp_path / "lw.json"
    cfg.write_text(json.dumps({
        "vault_addr": vault.addr,
        "secret": {"PGUSER": "database/creds/ro#username",
                   "PGPASSWORD": "database/creds/ro#password"},
    }))
    env = lw.base_env(None, pg, VAULT_TOKEN=vault.root_token)
    r = lw.run(["-c", str(cfg), "--", PSQL, "-tAc", "select current_user"],
               env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("v-")


def test_token_from_file_and_home(vault, tmp_path):
    vault.kv_put("t", {"v": "from-file-ok"})
    tok = tmp_path / "tok"
    tok.write_text(vault.root_token + "\n")
    env = lw.base_env(None, VAULT_ADDR=vault.addr)
    r = lw.run(["--token-file", str(tok), "-s", "V=secret/data/t#v", "--",
                "env"], env=env)
    assert r.returncode == 0, r.stderr
    assert "V=from-file-ok" in r.stdout.splitlines()
    (tmp_path / ".vault-token").write_text(vault.root_token)
    env["HOME"] = str(tmp_path)
    r = lw.run(["-s", "V=secret/data/t#v", "--", "env"], env=env)
    assert r.returncode == 0, r.stderr
    assert "V=from-file-ok" in r.stdout.splitlines()


def test_bad_token_is_403(vault):
    env = lw.base_env(vault, VAULT_TOKEN="hvs.not-a-real-token")
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_NOPERM
    assert "token" in lw.one_line(r.stderr)
    assert "hvs.not-a-real-token" not in r.stderr


def test_permission_denied_revokes_what_was_leased(vault, pg, ro):
    vault.create_db_role("rw", default_ttl=30, max_ttl=60)
    vault.put_policy("ro-only", 'path "database/creds/ro" { capabilities = ["read"] }\n'
                     'path "sys/leases/revoke" { capabilities = ["update"] }')
    token = vault.create_token(policies=["ro-only"])
    env = lw.base_env(vault, pg, VAULT_TOKEN=token)
    r = lw.run(RO + ["-s", "X=database/creds/rw#username", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_NOPERM
    text = lw.log_text(r.stderr)
    assert "database/creds/rw" in text and "permission denied" in text
    # The ro lease that did succeed was revoked before leasewrap exited.
    assert len(lease_events(vault, "create")) == 1
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()
    lw.assert_no_secret(r.stderr, vault)


def test_missing_path_is_404(vault):
    r = lw.run(["-s", "A=secret/data/nothing-here#y", "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_DATAERR
    text = lw.log_text(r.stderr)
    assert "secret/data/nothing-here" in text and "404" in text


def test_missing_field_names_the_fields(vault, pg, ro):
    r = lw.run(["-s", "U=database/creds/ro#usernme", "--", "true"],
               env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_DATAERR
    line = lw.one_line(r.stderr)
    assert '"usernme"' in line
    assert "password" in line and "username" in line
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()
    lw.assert_no_secret(r.stderr, vault)


def test_response_not_json(vault):
    vault.fault(mode="invalid_json")
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_DATAERR
    assert "not a JSON object" in lw.log_text(r.stderr)


def test_response_too_large(vault):
    vault.fault(mode="huge", bytes=3 * 1024 * 1024)
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_DATAERR
    assert "larger than" in lw.log_text(r.stderr)


def test_vault_5xx_and_sealed(vault):
    vault.fault(mode="sealed")
    r = lw.run(["--start-timeout", "1s", "-s", "A=secret/data/x#y", "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_UNAVAILABLE
    text = lw.log_text(r.stderr)
    assert "503" in text and "sealed" in text


def test_vault_down_closes_connection(vault):
    vault.fault(mode="down")
    r = lw.run(["--start-timeout", "1s", "-s", "A=secret/data/x#y", "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_UNAVAILABLE
    assert "cannot reach Vault" in lw.log_lines(r.stderr, "warn")[-1]


def test_transient_5xx_is_retried(vault, pg, ro):
    vault.fault(mode="status", status=500, errors=["internal error"],
                paths=[ro], count=2)
    r = lw.run(RO + ["--", PSQL, "-tAc", "select current_user"],
               env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("v-")
    assert lw.reads(vault, ro) == 3
    assert "retrying" in lw.log_text(r.stderr)
    assert dynamic_roles(pg) == set()


def test_failed_revocation_is_retried(vault, pg, ro):
    vault.fault(mode="status", status=503, errors=["Vault is sealed"],
                paths=["sys/leases/revoke"], count=2)
    r = lw.run(RO + ["--", "true"], env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()


def test_4xx_is_not_retried(vault):
    vault.fault(mode="status", status=400, errors=["invalid request"])
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_DATAERR
    assert lw.reads(vault, "secret/data/x") == 1
    assert "invalid request" in lw.log_text(r.stderr)


def test_request_timeout(vault):
    vault.fault(mode="slow", delay=5)
    r = lw.run(["--request-timeout", "500ms", "--start-timeout", "1s",
                "-s", "A=secret/data/x#y", "--", "true"], env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_UNAVAILABLE
    text = lw.log_text(r.stderr).lower()
    assert "timed out" in text or "timeout" in text


def test_command_not_found_after_fetch_revokes(vault, pg, ro):
    r = lw.run(RO + ["--", "no-such-command-xyz"], env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_NOTFOUND
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()


def test_sigterm_during_fetch_revokes_and_never_starts_child(vault, pg, ro, tmp_path):
    marker = tmp_path / "started"
    vault.fault(mode="slow", delay=1.5)
    p = lw.start(RO + ["--log-level", "debug", "--", "sh", "-c",
                       "touch %s" % marker], env=lw.base_env(vault, pg))
    try:
        # leasewrap says so once the read is sent; the emulator holds it 1.5 s.
        line = lw.as_text(p.stderr.readline())
        assert "reading 1 path" in line, line
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    vault.clear_faults()
    assert p.returncode == 128 + signal.SIGTERM
    assert not marker.exists()
    lw.wait_for(lambda: live_leases(vault) == [], what="no live lease")
    assert dynamic_roles(pg) == set()


def test_sigterm_reaches_child_then_revokes(vault, pg, ro, tmp_path):
    ready = tmp_path / "ready"
    p = lw.start(RO + ["--", "sh", "-c",
                       "trap 'exit 9' TERM; echo > %s; while :; do sleep 0.05; done"
                       % ready], env=lw.base_env(vault, pg))
    try:
        lw.wait_file(str(ready))
        assert len(dynamic_roles(pg)) == 1
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 9
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()


def test_no_secret_in_debug_output(vault, pg, ro):
    vault.kv_put("app", {"api_key": "debug-secret-value-1"})
    r = lw.run(RO + ["--log-level", "debug", "-s", "K=secret/app#api_key",
                     "--", "true"], env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    assert "lease" in r.stderr  # it did log
    lw.assert_no_secret(r.stderr, vault)
    assert vault.root_token not in r.stderr


@pytest.mark.skipif(os.environ.get("LW_SANITIZED") == "1",
                    reason="valgrind cannot run a binary built with ASan (make asan)")
def test_valgrind_main_scenario_no_leak_no_error(vault, pg, ro, tmp_path):
    """The main scenario under valgrind: no leak, no invalid access."""
    log = tmp_path / "vg.log"
    env = lw.base_env(vault, pg)
    valgrind = ["valgrind", "--quiet", "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "--show-leak-kinds=definite,indirect", "--error-exitcode=99",
                "--log-file=%s" % log]
    r = lw.run(RO + ["--", PSQL, "-tAc", "select current_user"], env=env,
               prefix=valgrind, timeout=lw.TIMEOUT * 3)
    assert r.returncode == 0, log.read_text() + r.stderr
    assert r.stdout.strip().startswith("v-")
    assert log.read_text().strip() == ""
    assert dynamic_roles(pg) == set()


def test_revocation_denied_names_the_lease_and_the_policy(vault, pg, ro):
    # Vault's default policy does not grant sys/leases/revoke.
    vault.put_policy("creds-only", 'path "database/creds/ro" { capabilities = ["read"] }')
    token = vault.create_token(policies=["creds-only"])
    r = lw.run(RO + ["--", "true"], env=lw.base_env(vault, pg, VAULT_TOKEN=token))
    assert r.returncode == 0, r.stderr
    lease = live_leases(vault)[0]["lease_id"]
    line = [l for l in lw.log_lines(r.stderr) if "could not revoke" in l]
    assert len(line) == 1
    assert lease in line[0] and "sys/leases/revoke" in line[0]
    lw.assert_no_secret(r.stderr, vault)


def test_deadline_is_exported_to_the_command(vault, pg, ro, tmp_path):
    """LEASEWRAP_DEADLINE: when the leased credentials end, as Unix seconds,
    in the environment and in every --env-file."""
    envf = str(tmp_path / "creds.env")
    before = time.time()
    r = lw.run(RO + ["--env-file", envf, "--", "sh", "-c",
                     'echo "$LEASEWRAP_DEADLINE"; grep "^LEASEWRAP_DEADLINE=" "$0"',
                     envf], env=lw.base_env(vault, pg))
    after = time.time()
    assert r.returncode == 0, r.stderr
    env_value, file_line = r.stdout.splitlines()
    d = int(env_value)
    assert int(before) + 30 - 1 <= d <= after + 30     # the role's 30 s TTL
    assert file_line in ("LEASEWRAP_DEADLINE=%d" % d, "LEASEWRAP_DEADLINE='%d'" % d)
    lw.assert_no_lease_left(vault, pg)


def test_no_deadline_without_a_lease(vault):
    vault.kv_put("app", {"api_key": "k-no-lease-1"})
    r = lw.run(["-s", "A=secret/app#api_key", "--", "sh", "-c",
                'echo "${LEASEWRAP_DEADLINE-unset}"'],
               env=lw.base_env(vault, LEASEWRAP_DEADLINE="1"))
    assert r.returncode == 0, r.stderr
    # An inherited value is passed on untouched: leasewrap sets none here.
    assert r.stdout.strip() == "1"
    r = lw.run(["-s", "A=secret/app#api_key", "--", "sh", "-c",
                'echo "${LEASEWRAP_DEADLINE-unset}"'], env=lw.base_env(vault))
    assert r.stdout.strip() == "unset"
