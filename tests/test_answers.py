"""Black-box tests of answers real Vault gives that a client can misread
(issue 10): backend failures as 400, a policy 403 on the token's own
endpoints, a login that needs MFA, a deleted KV v2 version, namespaces.
Each names the Vault source of the answer; vault-api.md has the details."""
import json
import os

import lw

PROBE = ["/usr/bin/python3", os.path.join(lw.ROOT, "tests", "pgprobe.py")]
RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]
FAST = ["--kill-timeout", "1s"]

# What the token needs besides the default policy to read and manage ro leases.
RO_LEASES_POLICY = """
path "database/creds/ro" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
"""


starts = lw.probe_starts
failures = lw.probe_failures


def requests(vault, path, status=None):
    return [e for e in vault.journal() if e.get("kind") == "request" and
            e.get("path") == path and (status is None or e.get("status") == status)]


def lease_events(vault, event):
    return [e for e in vault.journal() if e.get("kind") == "lease" and
            e.get("event") == event and (e.get("path") or "").startswith("database/creds/")]


def stop(p):
    if p.poll() is None:
        p.send_signal(15)
    return p.communicate(timeout=lw.TIMEOUT)


# ---- 1. backend failures during renew and revoke are 400 -----------------

def test_renewal_400_backend_failure_is_transient(vault, pg, tmp_path):
    """vault/expiration.go renewEntry wraps a database failure as "failed to
    renew entry: ..." and handleErrorNoReadOnlyForward makes it 400: the
    lease still holds, so no new credentials and no restart."""
    vault.create_db_role("ro", default_ttl=8, max_ttl=300)
    vault.fault(mode="db_error", op="renew", count=2)
    log = str(tmp_path / "probe.log")
    p = lw.start(FAST + RO + ["--"] + PROBE + [log], env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: len(requests(vault, "sys/leases/renew", 200)) >= 1,
                    timeout=60, what="a renewal to succeed after the failures")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    failed = requests(vault, "sys/leases/renew", 400)
    assert len(failed) == 2, failed
    assert len(lease_events(vault, "create")) == 1     # no new credentials
    assert len(starts(log)) == 1                       # no restart
    assert failures(log) == []
    text = lw.log_text(err)
    assert "failed to renew entry" in text and "retrying" in text
    assert "fetching new credentials" not in text
    lw.assert_no_lease_left(vault, pg)
    lw.assert_no_secret(err, vault)


def test_revocation_400_backend_failure_is_retried_at_exit(vault, pg, tmp_path):
    """revokeEntry's "failed to revoke entry: ..." is 400 too, and the lease
    stays in Vault: leasewrap retries until the user is really gone."""
    vault.create_db_role("ro", default_ttl=300, max_ttl=600)
    vault.fault(mode="db_error", op="revoke", count=2)
    r = lw.run(RO + ["--", "/bin/true"], env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    revokes = requests(vault, "sys/leases/revoke")
    assert [e["status"] for e in revokes] == [400, 400, 204], revokes
    (done,) = lease_events(vault, "revoke")
    assert done["reason"] == "api"            # revoked by leasewrap, not expired
    lw.assert_no_lease_left(vault, pg)
    assert "failed to revoke entry" in lw.log_text(r.stderr)


def test_revocation_at_exit_stops_at_a_403(vault, pg, tmp_path):
    """A 403 is definitive (the token may not revoke): one try, the command
    to revoke it by hand, and the command's own exit code."""
    vault.create_db_role("ro", default_ttl=300, max_ttl=600)
    vault.put_policy("norevoke", 'path "database/creds/ro" { capabilities = ["read"] }\n')
    token = vault.create_token(policies=["norevoke"], ttl="120s")
    r = lw.run(RO + ["--", "/bin/true"], env=lw.base_env(vault, pg, VAULT_TOKEN=token))
    assert r.returncode == 0, r.stderr
    assert [e["status"] for e in requests(vault, "sys/leases/revoke")] == [403]
    assert "vault lease revoke" in lw.log_text(r.stderr)
    vault.reset()


# ---- 2. a 403 on the token's own endpoints is a policy answer -------------

def test_token_without_default_policy_runs_to_the_end(vault, pg, tmp_path):
    """A live token made with no_default_policy gets a plain 403 permission
    denied (no "invalid token") on auth/token/lookup-self: leasewrap warns
    once, naming the rule, and the six-second command runs to its end."""
    vault.create_db_role("ro", default_ttl=60, max_ttl=300)
    vault.put_policy("ro-leases", RO_LEASES_POLICY)
    token = vault.create_token(policies=["ro-leases"], ttl="120s",
                               no_default_policy=True)
    status, body = vault.api("GET", "auth/token/lookup-self", token=token)
    assert status == 403 and "invalid token" not in json.dumps(body)
    log = str(tmp_path / "probe.log")
    env = lw.base_env(vault, pg, VAULT_TOKEN=token, PROBE_SECONDS="6")
    r = lw.run(FAST + RO + ["--"] + PROBE + [log], env=env)
    assert r.returncode == 0, r.stderr
    assert len(starts(log)) == 1 and failures(log) == []
    assert len(requests(vault, "auth/token/lookup-self", 403)) == 2  # ours + leasewrap's
    text = lw.log_text(r.stderr)
    warned = [l for l in text.splitlines() if 'path "auth/token/lookup-self"' in l]
    assert len(warned) == 1 and 'capabilities = ["read"]' in warned[0], text
    lw.assert_no_lease_left(vault, pg)


# ---- 5. a login that needs MFA; a deleted or destroyed KV v2 version -------

def test_login_with_an_mfa_requirement_is_a_clear_error(vault, pg, tmp_path):
    """vault/request_handling.go handleLoginRequest answers 200 with an
    auth block holding an mfa_requirement and an empty client_token."""
    vault.enable_auth("approle")
    role_id = vault.approle_role("app", token_policies=["default"])
    secret_id = vault.approle_secret_id("app")
    method = vault.api("POST", "identity/mfa/method/totp",
                       {"issuer": "vault", "method_name": "my-totp"})[1]["data"]["method_id"]
    status, _ = vault.api("POST", "identity/mfa/login-enforcement/ops",
                          {"mfa_method_ids": [method], "auth_method_types": ["approle"]})
    assert status in (200, 204)
    rid = tmp_path / "role_id"
    sid = tmp_path / "secret_id"
    rid.write_text(role_id)
    sid.write_text(secret_id)
    sid.chmod(0o600)
    r = lw.run(["--auth", "approle", "--role-id-file", str(rid), "--secret-id-file", str(sid),
                "-s", "X=secret/data/app#x", "--", "/bin/true"],
               env=lw.base_env(vault, pg))
    assert r.returncode == 77, r.stderr
    line = lw.one_line(r.stderr)
    assert "multi-factor" in line and '"ops"' in line and "totp" in line, line


def test_deleted_kv2_version_says_deleted(vault, pg, tmp_path):
    """vault-plugin-secrets-kv path_data.go pathDataRead: a deleted version
    is a 404 whose envelope holds the metadata with deletion_time."""
    vault.kv_put("app", {"x": "1"})
    vault.api("DELETE", "secret/data/app")
    for path in ("secret/app", "secret/data/app"):
        r = lw.run(["-s", "X=%s#x" % path, "--", "/bin/true"], env=lw.base_env(vault, pg))
        assert r.returncode == 65, r.stderr
        text = lw.log_text(r.stderr)
        assert "deleted at" in text and "check the path" not in text, text


def test_destroyed_kv2_version_says_destroyed(vault, pg, tmp_path):
    vault.kv_put("app", {"x": "1"})
    vault.api("POST", "secret/destroy/app", {"versions": [1]})
    r = lw.run(["-s", "X=secret/app#x", "--", "/bin/true"], env=lw.base_env(vault, pg))
    assert r.returncode == 65, r.stderr
    text = lw.log_text(r.stderr)
    assert "destroyed" in text and "check the path" not in text, text


# ---- 9. namespaces -----------------------------------------------------------

NS = {"X-Vault-Namespace": "admin"}


def ns_setup(vault, pg, default_ttl=60):
    """Namespace admin/ with a database mount and role ro; returns its ID."""
    import harness
    assert vault.api("POST", "sys/namespaces/admin", {})[0] == 200
    for path, body in (
            ("sys/mounts/database", {"type": "database"}),
            ("database/config/pg", {
                "plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
                "connection_url": "postgresql://{{username}}:{{password}}@%s:%d/postgres"
                                  "?sslmode=disable" % (pg.host, pg.port),
                "username": pg.superuser, "password": pg.password}),
            ("database/roles/ro", {"db_name": "pg", "default_ttl": default_ttl, "max_ttl": 300,
                                   "creation_statements": harness.DEFAULT_CREATION_STATEMENTS}),
            ("sys/policies/acl/ro-leases", {"policy": RO_LEASES_POLICY})):
        status, resp = vault.api("POST", path, body, headers=NS)
        assert status in (200, 204), (path, status, resp)
    return vault.api("GET", "sys/namespaces/admin")[1]["data"]["id"]


def leasewrap_requests(vault):
    """The requests leasewrap made (the tests' own carry no User-Agent of ours)."""
    return [e for e in vault.journal() if e.get("kind") == "request" and
            "leasewrap" in e["headers"].get("User-Agent", "")]


def test_namespace_header_on_every_token_request(vault, pg, tmp_path):
    """VAULT_NAMESPACE goes out as X-Vault-Namespace on every request:
    lookup-self, the read, renewals and the revocation at exit."""
    nsid = ns_setup(vault, pg, default_ttl=4)
    status, resp = vault.api("POST", "auth/token/create",
                             {"policies": ["ro-leases"], "ttl": "120s"}, headers=NS)
    token = resp["auth"]["client_token"]
    p = lw.start(FAST + RO + ["--", "sleep", "60"],
                 env=lw.base_env(vault, pg, VAULT_TOKEN=token, VAULT_NAMESPACE="admin"))
    try:
        lw.wait_for(lambda: len(requests(vault, "sys/leases/renew", 200)) >= 1 and
                    requests(vault, "auth/token/lookup-self", 200), timeout=60,
                    what="a lookup and a renewal in the namespace")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    reqs = leasewrap_requests(vault)
    kinds = {e["path"] for e in reqs}
    assert {"auth/token/lookup-self", "database/creds/ro", "sys/leases/renew",
            "sys/leases/revoke"} <= kinds, kinds
    assert all(e["headers"].get("X-Vault-Namespace") == "admin" for e in reqs), reqs
    assert all(e["namespace"] == "admin/" for e in reqs)
    (made,) = lease_events(vault, "create")
    assert made["lease_id"].endswith("." + nsid)
    assert lease_events(vault, "revoke")[0]["reason"] == "api"
    lw.assert_no_lease_left(vault, pg)


def test_namespace_header_on_logins_and_token_renewals(vault, pg, tmp_path):
    """The same for an AppRole login in the namespace, renew-self and the
    revoke-self at exit."""
    ns_setup(vault, pg, default_ttl=60)
    for path, body in (("sys/auth/approle", {"type": "approle"}),
                       ("auth/approle/role/app", {"token_policies": ["ro-leases"],
                                                  "token_ttl": "6s", "token_max_ttl": "120s"})):
        assert vault.api("POST", path, body, headers=NS)[0] in (200, 204)
    role_id = vault.api("GET", "auth/approle/role/app/role-id", headers=NS)[1]["data"]["role_id"]
    secret_id = vault.api("POST", "auth/approle/role/app/secret-id", {},
                          headers=NS)[1]["data"]["secret_id"]
    sid = tmp_path / "sid"
    sid.write_text(secret_id)
    sid.chmod(0o600)
    p = lw.start(FAST + ["--auth", "approle", "--role-id", role_id, "--secret-id-file", str(sid)]
                 + RO + ["--", "sleep", "60"], env=lw.base_env(vault, pg, VAULT_NAMESPACE="admin"))
    try:
        lw.wait_for(lambda: requests(vault, "auth/token/renew-self", 200), timeout=60,
                    what="a token renewal in the namespace")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    reqs = leasewrap_requests(vault)
    kinds = {e["path"] for e in reqs}
    assert {"auth/approle/login", "auth/token/renew-self", "database/creds/ro",
            "sys/leases/revoke", "auth/token/revoke-self"} <= kinds, kinds
    assert all(e["headers"].get("X-Vault-Namespace") == "admin" for e in reqs), reqs
    lw.assert_no_lease_left(vault, pg)


def test_admin_prefix_without_namespace_warns(vault, pg, tmp_path):
    """HCP Vault's layout: the read selects admin/ through its path, but
    token and lease calls go to the root namespace; leasewrap says so."""
    ns_setup(vault, pg)
    token = vault.api("POST", "auth/token/create", {"policies": ["ro-leases"], "ttl": "120s"},
                      headers=NS)[1]["auth"]["client_token"]
    r = lw.run(["-s", "PGUSER=admin/database/creds/ro#username", "--", "/bin/true"],
               env=lw.base_env(vault, pg, VAULT_TOKEN=token))
    assert r.returncode == 0, r.stderr
    text = lw.log_text(r.stderr)
    warned = [l for l in text.splitlines() if "no namespace is set" in l]
    assert len(warned) == 1 and "VAULT_NAMESPACE=admin" in warned[0], text
    # As warned: the revocation went to the root namespace, where the token is not valid.
    assert [e["status"] for e in requests(vault, "sys/leases/revoke")] == [403]
    vault.reset()
    lw.assert_no_lease_left(vault, pg)
    token = vault.api("POST", "auth/token/create", {"policies": ["ro-leases"], "ttl": "120s"},
                      headers=NS)[1]["auth"]["client_token"]    # reset revoked the first
    r = lw.run(["-s", "PGUSER=database/creds/ro#username", "--", "/bin/true"],
               env=lw.base_env(vault, pg, VAULT_TOKEN=token, VAULT_NAMESPACE="admin"))
    assert r.returncode == 0 and "no namespace is set" not in r.stderr, r.stderr
    assert [e["status"] for e in requests(vault, "sys/leases/revoke")][-1] == 204
    lw.assert_no_lease_left(vault, pg)
