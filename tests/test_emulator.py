"""The emulator's own tests, driven by python3-hvac (a client nobody here wrote)
plus raw HTTP where hvac has no method.  Section numbers (§) refer to
/work/shared/vault-api.md.  Short TTLs and deadline polling only.
"""

import http.client
import json
import re
import socket
import time
import urllib.parse
import uuid

import hvac
import hvac.exceptions
import psycopg2
import pytest

import harness
from harness import wait_until

ENVELOPE_KEYS = {"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info",
                 "warnings", "auth", "mount_type"}
CAP_WARNING = re.compile(r'^TTL of "(?P<asked>[0-9hms]+)" exceeded the effective max_ttl of '
                         r'"(?P<left>[0-9hms]+)"; TTL value is capped accordingly$')
READ_RO_POLICY = 'path "database/creds/ro" {\n  capabilities = ["read"]\n}\n'


# hvac client with the root token.
@pytest.fixture
def client(vault):
    return hvac.Client(url=vault.addr, token=vault.root_token)


# hvac client for an arbitrary token.
def hvac_for(vault, token):
    return hvac.Client(url=vault.addr, token=token)


# Parses a Go-style duration printed by humanDuration into seconds.
def secs(text):
    total = 0
    for num, unit in re.findall(r"(\d+)([hms])", text):
        total += int(num) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


# Raw request over http.client: (status, headers, body bytes).
def raw(vault, method, path, body=None, token=None, headers=None):
    url = urllib.parse.urlsplit(vault.addr)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        hdrs = dict(headers or {})
        if token:
            hdrs["X-Vault-Token"] = token
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# Creates database creds for role "ro" with hvac and returns the response.
def new_creds(client, role="ro"):
    return client.secrets.database.generate_credentials(role)


# True once the role no longer exists in PostgreSQL.
def user_gone(pg, username):
    return username not in pg.roles()


# ---------------------------------------------------------------------------
# health and protocol


def test_health_get_head_and_codes(vault, client):
    body = client.sys.read_health_status(method="GET")
    assert body["initialized"] is True and body["sealed"] is False and body["standby"] is False
    assert "version" in body and "cluster_id" in body
    resp = client.sys.read_health_status(method="HEAD")
    assert resp.status_code == 200 and resp.content == b""
    status, _, _ = raw(vault, "GET", "/v1/sys/health?activecode=299")
    assert status == 299
    status, _, body = raw(vault, "GET", "/v1/sys/health?activecode=nope")
    assert status == 400 and "errors" in json.loads(body)
    status, _, _ = raw(vault, "POST", "/v1/sys/health", b"{}")
    assert status == 405


def test_envelope_headers_and_keepalive(vault):
    url = urllib.parse.urlsplit(vault.addr)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        hdrs = {"X-Vault-Token": vault.root_token}
        conn.request("GET", "/v1/auth/token/lookup-self", headers=hdrs)
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200
        assert resp.getheader("Cache-Control") == "no-store"
        assert resp.getheader("Content-Type") == "application/json"
        assert set(body) == ENVELOPE_KEYS
        uuid.UUID(body["request_id"])
        assert body["mount_type"] == "token" and body["auth"] is None
        # Same connection: a 204 then a 404, keep-alive intact.
        conn.request("PUT", "/v1/kv/ka", body=json.dumps({"a": "b"}), headers=hdrs)
        resp = conn.getresponse()
        assert resp.status == 204 and resp.read() == b""
        conn.request("GET", "/v1/kv/missing", headers=hdrs)
        resp = conn.getresponse()
        assert resp.status == 404 and json.loads(resp.read()) == {"errors": []}
    finally:
        conn.close()


def test_chunked_and_expect_continue_bodies(vault):
    url = urllib.parse.urlsplit(vault.addr)
    big = json.dumps({"blob": "x" * 200000}).encode()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        hdrs = {"X-Vault-Token": vault.root_token, "Expect": "100-continue",
                "Content-Type": "application/json"}
        conn.request("PUT", "/v1/kv/big", body=big, headers=hdrs)
        resp = conn.getresponse()
        assert resp.status == 204
        resp.read()
        conn.request("PUT", "/v1/kv/chunked", body=iter([b'{"a": ', b'"b"}']),
                     headers={"X-Vault-Token": vault.root_token}, encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 204
        resp.read()
    finally:
        conn.close()
    assert vault.api("GET", "kv/big")[1]["data"]["blob"] == "x" * 200000
    assert vault.api("GET", "kv/chunked")[1]["data"] == {"a": "b"}


def test_bearer_header_accepted(vault):
    status, _, body = raw(vault, "GET", "/v1/auth/token/lookup-self",
                          headers={"Authorization": "Bearer " + vault.root_token})
    assert status == 200 and json.loads(body)["data"]["policies"] == ["root"]


def test_unknown_route_method_and_bad_json(vault):
    status, body = vault.api("GET", "nosuchmount/x")
    assert status == 404 and 'no handler for route "nosuchmount/x"' in body["errors"][0]
    status, _, body = raw(vault, "PATCH", "/v1/kv/x", b"{}", token=vault.root_token)
    assert status == 405 and json.loads(body) == {"errors": []}
    status, _, body = raw(vault, "POST", "/v1/kv/x", b"{not json", token=vault.root_token)
    assert status == 400
    assert json.loads(body)["errors"][0].startswith("failed to parse JSON input: ")
    status, body = vault.api("GET", "sys/nonsense")
    assert status == 404 and "unsupported path" in body["errors"][0]


# ---------------------------------------------------------------------------
# tokens (§3)


def test_token_create_lookup_renew_revoke(vault, client):
    vault.put_policy("reader", READ_RO_POLICY)
    created = client.auth.token.create(policies=["reader"], ttl="60s", explicit_max_ttl="90s")
    auth = created["auth"]
    assert created["mount_type"] == "token" and created["data"] is None
    assert auth["policies"] == ["default", "reader"] and auth["lease_duration"] == 60
    assert auth["renewable"] is True and auth["token_type"] == "service"
    assert auth["client_token"].startswith("hvs.") and auth["accessor"]
    me = hvac_for(vault, auth["client_token"])
    look = me.auth.token.lookup_self()["data"]
    assert look["policies"] == ["default", "reader"] and look["explicit_max_ttl"] == 90
    assert 55 <= look["ttl"] <= 60 and look["accessor"] == auth["accessor"]
    # §3.2: increment beyond explicit_max_ttl -> 200, capped, warning names the remaining time.
    renewed = me.auth.token.renew_self(increment=3600)
    assert 80 <= renewed["auth"]["lease_duration"] <= 90
    (warning,) = renewed["warnings"]
    m = CAP_WARNING.match(warning)
    assert m and m.group("asked") == "1h" and secs(m.group("left")) == \
        renewed["auth"]["lease_duration"]
    assert me.auth.token.renew_self(increment=30)["auth"]["lease_duration"] == 30
    # revoke-self -> 204, then the token is invalid.
    status, _, body = raw(vault, "POST", "/v1/auth/token/revoke-self",
                          token=auth["client_token"])
    assert status == 204 and body == b""
    with pytest.raises(hvac.exceptions.Forbidden) as exc:
        me.auth.token.lookup_self()
    assert "invalid token" in str(exc.value) and "permission denied" in str(exc.value)
    kinds = [(e["event"], e["accessor"]) for e in vault.journal() if e["kind"] == "token"]
    assert ("create", auth["accessor"]) in kinds and ("revoke", auth["accessor"]) in kinds


def test_bad_and_missing_token_403(vault):
    for token in ("hvs.nosuchtoken", ""):
        status, body = vault.api("GET", "auth/token/lookup-self", token=token)
        assert status == 403
        (msg,) = body["errors"]
        assert "permission denied" in msg and "invalid token" in msg
    with pytest.raises(hvac.exceptions.Forbidden):
        hvac_for(vault, "hvs.bogus").secrets.database.generate_credentials("ro")


def test_renew_self_not_renewable(vault):
    tok = vault.create_token(policies=["default"], ttl="60s", renewable=False)
    status, body = vault.api("POST", "auth/token/renew-self", {"increment": 10}, token=tok)
    assert status == 400 and body == {"errors": ["lease is not renewable"]}
    status, body = vault.api("POST", "auth/token/renew-self", {})
    assert status == 400 and body == {"errors": ["lease is not renewable"]}


def test_token_expires_at_ttl(vault):
    tok = vault.create_token(policies=["default"], ttl="3s")
    assert vault.api("GET", "auth/token/lookup-self", token=tok)[0] == 200
    wait_until(lambda: vault.api("GET", "auth/token/lookup-self", token=tok)[0] == 403,
               timeout=15, message="token expiry")
    wait_until(lambda: any(e["kind"] == "token" and e["event"] == "expire"
                           for e in vault.journal()), timeout=5, message="expire event")


def test_child_token_revoked_with_parent(vault):
    vault.put_policy("maker", 'path "auth/token/create" { capabilities = ["update"] }')
    parent = vault.create_token(policies=["maker"], ttl="60s")
    child = vault.create_token(policies=["default"], ttl="60s", token=parent)
    assert vault.api("GET", "auth/token/lookup-self", token=child)[0] == 200
    status, body = vault.api("POST", "auth/token/create", {"policies": ["root"]}, token=parent)
    assert status == 400
    vault.api("POST", "auth/token/revoke-self", token=parent)
    assert vault.api("GET", "auth/token/lookup-self", token=child)[0] == 403


# ---------------------------------------------------------------------------
# policies


def test_policy_enforcement(vault, db_role):
    db_role("ro")
    db_role("rw")
    client = hvac.Client(url=vault.addr, token=vault.root_token)
    client.sys.create_or_update_policy("reader", READ_RO_POLICY)
    assert "reader" in client.sys.list_policies()["data"]["policies"]
    tok = vault.create_token(policies=["reader"], ttl="60s")
    me = hvac_for(vault, tok)
    creds = me.secrets.database.generate_credentials("ro")
    assert creds["data"]["username"].startswith("v-token-ro-")
    with pytest.raises(hvac.exceptions.Forbidden) as exc:
        me.secrets.database.generate_credentials("rw")
    assert "permission denied" in str(exc.value) and "invalid token" not in str(exc.value)
    status, body = vault.api("GET", "database/creds/rw", token=tok)
    assert status == 403 and body == {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
    # The default policy: self lookup and lease renewal, nothing else.
    assert vault.api("GET", "auth/token/lookup-self", token=tok)[0] == 200
    assert vault.api("PUT", "sys/leases/renew", {"lease_id": creds["lease_id"]},
                     token=tok)[0] == 200
    assert vault.api("GET", "sys/mounts", token=tok)[0] == 403
    assert vault.api("GET", "nosuchmount/x", token=tok)[0] == 403


def test_policy_globs_plus_and_deny(vault):
    vault.put_policy("globs", """
# comment
path "secret/data/app/*" { capabilities = ["read", "create", "update"] }
path "secret/data/+/shared" { capabilities = ["read"] }
path "secret/data/app/private" { capabilities = ["deny"] }
""")
    vault.kv_put("app/one", {"v": "1"})
    vault.kv_put("team/shared", {"v": "2"})
    vault.kv_put("app/private", {"v": "3"})
    tok = vault.create_token(policies=["globs"], ttl="60s")
    assert vault.api("GET", "secret/data/app/one", token=tok)[0] == 200
    assert vault.api("GET", "secret/data/team/shared", token=tok)[0] == 200
    assert vault.api("GET", "secret/data/team/other", token=tok)[0] == 403
    assert vault.api("GET", "secret/data/app/private", token=tok)[0] == 403
    assert vault.api("POST", "secret/data/app/two", {"data": {"x": "y"}}, token=tok)[0] == 200
    status, body = vault.api("PUT", "sys/policies/acl/broken", {"policy": 'path "x" { capabilities = ["fly"] }'})
    assert status == 400 and "failed to parse policy" in body["errors"][0]


def test_policy_json_form_and_legacy_path(vault):
    client = hvac.Client(url=vault.addr, token=vault.root_token)
    client.sys.create_or_update_policy("jsonpol", {"path": {"kv/*": {"capabilities": ["read"]}}})
    assert "kv/*" in client.sys.read_policy("jsonpol")["data"]["rules"]
    vault.kv_put("thing", {"a": "b"}, version=1)
    tok = vault.create_token(policies=["jsonpol"], ttl="60s")
    assert vault.api("GET", "kv/thing", token=tok)[0] == 200
    assert vault.api("PUT", "kv/thing", {"a": "c"}, token=tok)[0] == 403


# ---------------------------------------------------------------------------
# KV (§7)


def test_kv_v1(vault, client):
    kv1 = client.secrets.kv.v1
    kv1.create_or_update_secret("app/cfg", {"user": "alice", "pass": "s3cret"}, mount_point="kv")
    kv1.create_or_update_secret("app/ttl", {"x": "1", "ttl": "1h"}, mount_point="kv")
    got = kv1.read_secret("app/cfg", mount_point="kv")
    assert got["data"] == {"user": "alice", "pass": "s3cret"}
    assert got["lease_id"] == "" and got["renewable"] is False
    assert got["lease_duration"] == 2764800 and got["mount_type"] == "kv"
    assert kv1.read_secret("app/ttl", mount_point="kv")["lease_duration"] == 3600
    assert kv1.list_secrets("app", mount_point="kv")["data"]["keys"] == ["cfg", "ttl"]
    assert kv1.list_secrets("", mount_point="kv")["data"]["keys"] == ["app/"]
    status, body = vault.api("GET", "kv/app/missing")
    assert status == 404 and body == {"errors": []}
    kv1.delete_secret("app/cfg", mount_point="kv")
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv1.read_secret("app/cfg", mount_point="kv")
    status, body = vault.api("LIST", "kv/nothing-here")
    assert status == 404 and body == {"errors": []}


def test_kv_v2(vault, client):
    kv2 = client.secrets.kv.v2
    w1 = kv2.create_or_update_secret("app/db", secret={"password": "one"})
    assert w1["data"]["version"] == 1 and w1["data"]["deletion_time"] == ""
    w2 = kv2.create_or_update_secret("app/db", secret={"password": "two"}, cas=1)
    assert w2["data"]["version"] == 2
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        kv2.create_or_update_secret("app/db", secret={"password": "x"}, cas=1)
    assert "check-and-set parameter did not match the current version" in str(exc.value)
    latest = kv2.read_secret_version("app/db")
    assert latest["data"]["data"] == {"password": "two"}
    assert latest["data"]["metadata"]["version"] == 2
    assert latest["lease_duration"] == 0 and latest["lease_id"] == ""
    assert kv2.read_secret_version("app/db", version=1)["data"]["data"] == {"password": "one"}
    meta = kv2.read_secret_metadata("app/db")["data"]
    assert meta["current_version"] == 2 and set(meta["versions"]) == {"1", "2"}
    assert kv2.list_secrets("app")["data"]["keys"] == ["db"]
    # §7.2: deleted version -> 404 with a full envelope and no "errors" key.
    kv2.delete_latest_version_of_secret("app/db")
    status, body = vault.api("GET", "secret/data/app/db")
    assert status == 404 and "errors" not in body and set(body) == ENVELOPE_KEYS
    assert body["data"]["data"] is None and body["data"]["metadata"]["deletion_time"] != ""
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv2.read_secret_version("app/db")
    kv2.undelete_secret_versions("app/db", versions=[2])
    assert kv2.read_secret_version("app/db")["data"]["data"] == {"password": "two"}
    kv2.destroy_secret_versions("app/db", versions=[1])
    status, body = vault.api("GET", "secret/data/app/db?version=1")
    assert status == 404 and body["data"]["metadata"]["destroyed"] is True
    kv2.delete_secret_versions("app/db", versions=[2])
    assert vault.api("GET", "secret/data/app/db")[0] == 404
    kv2.delete_metadata_and_all_versions("app/db")
    status, body = vault.api("GET", "secret/data/app/db")
    assert status == 404 and body == {"errors": []}
    status, body = vault.api("GET", "secret/app/db")
    assert status == 404 and "Invalid path for a versioned K/V secrets engine" in body["errors"][0]


def test_ui_mounts_kv_versions(vault):
    status, body = vault.api("GET", "sys/internal/ui/mounts/secret/app/db")
    assert status == 200
    assert body["data"]["path"] == "secret/" and body["data"]["type"] == "kv"
    assert body["data"]["options"]["version"] == "2"
    status, body = vault.api("GET", "sys/internal/ui/mounts/kv/app")
    assert body["data"]["options"]["version"] == "1" and body["data"]["path"] == "kv/"
    status, body = vault.api("GET", "sys/internal/ui/mounts/nowhere/x")
    assert status == 403
    assert body["errors"] == ['preflight capability check returned 403, please ensure client\'s '
                              'policies grant access to path "nowhere/x/"']
    vault.put_policy("kvread", 'path "secret/data/app/*" { capabilities = ["read"] }')
    tok = vault.create_token(policies=["kvread"], ttl="60s")
    assert vault.api("GET", "sys/internal/ui/mounts/secret/app/db", token=tok)[0] == 200
    assert vault.api("GET", "sys/internal/ui/mounts/kv/app", token=tok)[0] == 403


def test_sys_mounts_enable_disable(vault, client):
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    assert {"secret/", "kv/", "database/", "sys/"} <= set(mounts)
    assert mounts["secret/"]["options"]["version"] == "2"
    client.sys.enable_secrets_engine("kv", path="kv2", options={"version": "2"})
    client.sys.enable_secrets_engine("kv", path="kv1")
    assert vault.api("GET", "sys/internal/ui/mounts/kv2/x")[1]["data"]["options"]["version"] == "2"
    assert vault.api("GET", "sys/internal/ui/mounts/kv1/x")[1]["data"]["options"]["version"] == "1"
    client.secrets.kv.v2.create_or_update_secret("a", {"b": "c"}, mount_point="kv2")
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.enable_secrets_engine("kv", path="kv2")
    assert "path is already in use" in str(exc.value)
    client.sys.disable_secrets_engine("kv2")
    status, body = vault.api("GET", "kv2/data/a")
    assert status == 404 and "no handler for route" in body["errors"][0]


# ---------------------------------------------------------------------------
# database engine (§5)


def test_database_creds_create_real_user(vault, client, pg, db_role):
    db_role("ro", default_ttl="1m", max_ttl="5m")
    role = client.secrets.database.read_role("ro")["data"]
    assert role["default_ttl"] == 60 and role["max_ttl"] == 300 and role["db_name"] == "pg"
    cfg = client.secrets.database.read_connection("pg")["data"]
    assert pg.password not in json.dumps(cfg)
    before = time.time()
    creds = new_creds(client)
    assert set(creds) == ENVELOPE_KEYS
    assert re.fullmatch(r"database/creds/ro/[A-Za-z0-9]{24}", creds["lease_id"])
    assert creds["renewable"] is True and creds["lease_duration"] == 60
    assert creds["mount_type"] == "database"
    user, password = creds["data"]["username"], creds["data"]["password"]
    assert re.fullmatch(r"v-root-ro-[A-Za-z0-9]{20}-\d{10}", user)
    assert re.fullmatch(r"[A-Za-z0-9-]{20}", password)
    assert user in pg.roles()
    assert pg.can_login(user, password)
    assert not pg.can_login(user, password + "x")
    (valid_until,) = pg.query("SELECT extract(epoch FROM rolvaliduntil) FROM pg_roles "
                              "WHERE rolname = %s", (user,))[0]
    assert before + 60 <= float(valid_until) <= time.time() + 66
    (lease,) = vault.leases()
    assert lease["lease_id"] == creds["lease_id"] and lease["username"] == user
    assert lease["max_expire_time"] - lease["issue_time"] == pytest.approx(300)


def test_database_creds_errors(vault, client, pg, db_role):
    db_role("ro")
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.secrets.database.generate_credentials("nope")
    assert "unknown role: nope" in str(exc.value)
    vault.configure_postgres(pg, name="limited", allowed_roles="only-this")
    vault.create_db_role("other", 60, 300, db_name="limited")
    status, body = vault.api("GET", "database/creds/other")
    assert status == 500 and body["errors"] == ['"other" is not an allowed role']
    # psql failure -> Vault-style 500 with a sanitized message (no password in it).
    vault.create_db_role("broken", 60, 300, creation_statements=(
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}'; SELEC '{{password}}';"))
    status, body = vault.api("GET", "database/creds/broken")
    assert status == 500 and "syntax error" in body["errors"][0]
    assert "PASSWORD '" not in body["errors"][0] or "[redacted]" in body["errors"][0]
    assert not any(v in body["errors"][0] for v in vault.secrets())
    # Wrong superuser password: verify_connection fails, the password is not echoed.
    status, body = vault.api("POST", "database/config/bad", {
        "plugin_name": "postgresql-database-plugin",
        "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres" % pg.port,
        "username": pg.superuser, "password": "Wrong-Secret-123", "allowed_roles": "*"})
    assert status == 400 and "error creating database object" in body["errors"][0]
    assert "Wrong-Secret-123" not in body["errors"][0]


def test_database_config_over_unix_socket(vault, pg):
    vault.configure_postgres(pg, name="sock", via="socket")
    vault.create_db_role("viasock", 60, 120, db_name="sock")
    status, body = vault.api("GET", "database/creds/viasock")
    assert status == 200 and body["data"]["username"] in pg.roles()


def test_lease_renew_capped_with_warning(vault, client, pg, db_role):
    db_role("ro", default_ttl=60, max_ttl=120)
    creds = new_creds(client)
    lease_id = creds["lease_id"]
    renewed = client.sys.renew_lease(lease_id, increment=3600)
    assert set(renewed) == ENVELOPE_KEYS and renewed["data"] is None
    assert renewed["lease_id"] == lease_id and renewed["renewable"] is True
    assert 110 <= renewed["lease_duration"] <= 120
    (warning,) = renewed["warnings"]
    m = CAP_WARNING.match(warning)
    assert m and m.group("asked") == "1h" and secs(m.group("left")) == renewed["lease_duration"]
    again = client.sys.renew_lease(lease_id, increment=30)
    assert again["lease_duration"] == 30 and again["warnings"] is None
    assert client.sys.renew_lease(lease_id)["lease_duration"] == 60
    (valid_until,) = pg.query("SELECT extract(epoch FROM rolvaliduntil) FROM pg_roles "
                              "WHERE rolname = %s", (creds["data"]["username"],))[0]
    assert float(valid_until) == pytest.approx(time.time() + 65, abs=5)
    # URL-suffix and legacy forms of renew.
    assert vault.api("PUT", "sys/leases/renew/" + lease_id, {"increment": 10})[1][
        "lease_duration"] == 10
    assert vault.api("PUT", "sys/renew", {"lease_id": lease_id, "increment": "15s"})[1][
        "lease_duration"] == 15
    renews = [e for e in vault.journal() if e["kind"] == "lease" and e["event"] == "renew"]
    assert len(renews) == 5 and renews[0]["ttl"] == renewed["lease_duration"]


def test_lease_renew_lookup_revoke_errors(vault, client, db_role):
    db_role("ro")
    status, body = vault.api("PUT", "sys/leases/renew", {})
    assert status == 400 and body == {"errors": ["lease_id must be specified"]}
    status, body = vault.api("PUT", "sys/leases/renew", {"lease_id": "database/creds/ro/nope"})
    assert status == 400 and body == {"errors": ["lease not found"]}
    status, body = vault.api("PUT", "sys/leases/lookup", {"lease_id": "database/creds/ro/nope"})
    assert status == 400 and body == {"errors": ["invalid lease"]}
    status, body = vault.api("PUT", "sys/leases/revoke", {"lease_id": "database/creds/ro/nope"})
    assert status == 204 and body is None
    creds = new_creds(client)
    look = client.sys.read_lease(creds["lease_id"])["data"]
    assert look["id"] == creds["lease_id"] and look["renewable"] is True
    assert 55 <= look["ttl"] <= 60 and look["issue_time"] and look["last_renewal"] is None
    client.sys.revoke_lease(creds["lease_id"])
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.renew_lease(creds["lease_id"])
    assert exc.value.errors == ["lease not found"]
    creds2 = new_creds(client)
    status, body = vault.api("PUT", "sys/leases/revoke", {"lease_id": creds2["lease_id"],
                                                           "sync": False})
    assert status == 202


def test_non_renewable_role_extension(vault, client, db_role):
    db_role("once", default_ttl=60, max_ttl=120, vaultemu_renewable=False)
    creds = new_creds(client, "once")
    assert creds["renewable"] is False
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.renew_lease(creds["lease_id"])
    assert exc.value.errors == ["lease is not renewable"]


def test_lease_expires_at_ttl_and_user_dropped(vault, client, pg, db_role):
    db_role("short", default_ttl=2, max_ttl=4)
    creds = new_creds(client, "short")
    user = creds["data"]["username"]
    assert creds["lease_duration"] == 2 and user in pg.roles()
    wait_until(lambda: user_gone(pg, user), timeout=20, message="expired user dropped")
    events = [e for e in vault.journal() if e["kind"] == "lease" and e["event"] == "expire"]
    assert [e["lease_id"] for e in events] == [creds["lease_id"]]
    assert events[0]["username"] == user and events[0]["path"] == "database/creds/short"
    # Revoked promptly after the TTL (typically ~50 ms; generous bound for a loaded machine).
    assert 0 <= events[0]["time"] - events[0]["expire_time"] < 2.0
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.renew_lease(creds["lease_id"])
    assert exc.value.errors == ["lease not found"]
    assert vault.leases() == []


def test_renewal_capped_at_max_then_expires(vault, client, pg, db_role):
    db_role("short", default_ttl=2, max_ttl=4)
    creds = new_creds(client, "short")
    issued = time.time()
    renewed = client.sys.renew_lease(creds["lease_id"], increment=60)
    assert renewed["lease_duration"] <= 4 and renewed["warnings"]
    assert CAP_WARNING.match(renewed["warnings"][0]).group("asked") == "1m"
    (lease,) = vault.leases()
    assert lease["expire_time"] <= lease["max_expire_time"] + 1
    wait_until(lambda: user_gone(pg, creds["data"]["username"]), timeout=20,
               message="user dropped at max TTL")
    assert time.time() - issued >= 3


def test_revoke_drops_user_with_open_connection(vault, client, pg, db_role):
    db_role("ro")
    creds = new_creds(client)
    user, password = creds["data"]["username"], creds["data"]["password"]
    conn = pg.connect(user, password)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == user
        client.sys.revoke_lease(creds["lease_id"])
        assert user_gone(pg, user)
        with pytest.raises(psycopg2.Error):
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
    finally:
        conn.close()
    (ev,) = [e for e in vault.journal() if e["kind"] == "lease" and e["event"] == "revoke"]
    assert ev["terminated_backends"] >= 1 and "note" in ev


def test_token_revocation_revokes_its_leases(vault, pg, db_role):
    db_role("ro")
    vault.put_policy("reader", READ_RO_POLICY)
    tok = vault.create_token(policies=["reader"], ttl="60s")
    other = vault.create_token(policies=["reader"], ttl="60s")
    mine = hvac_for(vault, tok).secrets.database.generate_credentials("ro")
    theirs = hvac_for(vault, other).secrets.database.generate_credentials("ro")
    hvac_for(vault, tok).auth.token.revoke_self()
    wait_until(lambda: user_gone(pg, mine["data"]["username"]), timeout=10,
               message="lease of revoked token dropped")
    assert theirs["data"]["username"] in pg.roles()
    assert [le["lease_id"] for le in vault.leases()] == [theirs["lease_id"]]
    # Operator revocation through the control API.
    assert vault.revoke_token(other) == 1
    wait_until(lambda: user_gone(pg, theirs["data"]["username"]), timeout=10,
               message="lease of operator-revoked token dropped")
    assert vault.api("GET", "auth/token/lookup-self", token=other)[0] == 403


def test_token_expiry_revokes_its_leases(vault, pg, db_role):
    db_role("ro")
    vault.put_policy("reader", READ_RO_POLICY)
    tok = vault.create_token(policies=["reader"], ttl="3s")
    creds = hvac_for(vault, tok).secrets.database.generate_credentials("ro")
    assert creds["lease_duration"] == 60
    wait_until(lambda: user_gone(pg, creds["data"]["username"]), timeout=20,
               message="lease revoked with its expired token")
    journal = vault.journal()
    assert any(e["kind"] == "token" and e["event"] == "expire" for e in journal)
    assert any(e["kind"] == "lease" and e["event"] == "revoke" and e["reason"] == "token_expire"
               for e in journal)


def test_lost_leases(vault, client, pg, db_role):
    db_role("ro")
    creds = new_creds(client)
    assert vault.lose_leases("database/") == [creds["lease_id"]]
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.renew_lease(creds["lease_id"])
    assert exc.value.errors == ["lease not found"]
    assert user_gone(pg, creds["data"]["username"])
    assert any(e["kind"] == "lease" and e["event"] == "lost" for e in vault.journal())


def test_revoke_prefix_and_list_leases(vault, client, pg, db_role):
    db_role("ro")
    a, b = new_creds(client), new_creds(client)
    keys = client.sys.list_leases("database/creds/ro/")["data"]["keys"]
    assert sorted(keys) == sorted([a["lease_id"].rsplit("/", 1)[1], b["lease_id"].rsplit("/", 1)[1]])
    client.sys.revoke_prefix("database/creds/ro/")
    assert vault.leases() == []
    assert user_gone(pg, a["data"]["username"]) and user_gone(pg, b["data"]["username"])


# ---------------------------------------------------------------------------
# journal and secrets registry


def test_journal_records_requests_and_lease_events(vault, client, db_role):
    db_role("ro")
    start = vault.journal()[-1]["seq"]
    creds = new_creds(client)
    client.sys.renew_lease(creds["lease_id"], increment=10)
    client.sys.revoke_lease(creds["lease_id"])
    vault.api("GET", "kv/x?foo=bar")
    events = vault.journal(since=start)
    assert all(e["seq"] > start for e in events)
    reqs = [e for e in events if e["kind"] == "request"]
    assert [(e["method"], e["path"], e["status"]) for e in reqs] == [
        ("GET", "database/creds/ro", 200), ("PUT", "sys/leases/renew", 200),
        ("PUT", "sys/leases/revoke", 204), ("GET", "kv/x", 404)]
    assert reqs[-1]["query"] == "foo=bar"
    root_accessor = client.auth.token.lookup_self()["data"]["accessor"]
    assert {e["token_accessor"] for e in reqs} == {root_accessor}
    leases = [(e["event"], e["lease_id"], e["ttl"]) for e in events if e["kind"] == "lease"]
    assert leases[0] == ("create", creds["lease_id"], 60)
    assert leases[1] == ("renew", creds["lease_id"], 10)
    assert leases[2][:2] == ("revoke", creds["lease_id"])
    assert all(isinstance(e["time"], float) for e in events)


def test_secrets_registry(vault, client, db_role):
    db_role("ro")
    creds = new_creds(client)
    tok = vault.create_token(policies=["default"], ttl="60s")
    vault.kv_put("app", {"apikey": "k-123456"})
    client.secrets.kv.v2.read_secret_version("app")
    values = vault.secrets()
    for v in (creds["data"]["username"], creds["data"]["password"], tok, vault.root_token,
              "k-123456"):
        assert v in values


# ---------------------------------------------------------------------------
# faults


def test_fault_status_count_paths_and_retry_after(vault, client):
    vault.fault(mode="status", status=503, errors=["Vault is sealed"], paths=["sys/health"],
                count=2, retry_after=2)
    for _ in range(2):
        status, headers, body = raw(vault, "GET", "/v1/sys/health")
        assert status == 503 and json.loads(body) == {"errors": ["Vault is sealed"]}
        assert headers["retry-after"] == "2"
    assert raw(vault, "GET", "/v1/sys/health")[0] == 200
    # Path prefix: only matching paths are hit, others are untouched.
    vault.fault(mode="status", status=429, errors=["rate limit quota exceeded"],
                paths=["auth/token/"])
    with pytest.raises(hvac.exceptions.RateLimitExceeded):
        client.auth.token.lookup_self()
    assert raw(vault, "GET", "/v1/sys/health")[0] == 200
    assert vault.api("GET", "kv/x")[0] == 404
    vault.clear_faults()
    assert client.auth.token.lookup_self()["data"]["policies"] == ["root"]
    statuses = [e["status"] for e in vault.journal() if e["kind"] == "request"
                and e.get("fault") == "status"]
    assert statuses == [503, 503, 429]


def test_fault_down_closes_without_response(vault):
    vault.fault(mode="down", count=1)
    url = urllib.parse.urlsplit(vault.addr)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("GET", "/v1/sys/health")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError,
                            http.client.BadStatusLine)):
            conn.getresponse()
    finally:
        conn.close()
    assert vault.journal()[-1]["status"] is None
    assert raw(vault, "GET", "/v1/sys/health")[0] == 200


def test_fault_slow(vault):
    vault.fault(mode="slow", delay=1.0, paths=["sys/health"], count=1)
    t0 = time.monotonic()
    assert raw(vault, "GET", "/v1/sys/health")[0] == 200
    assert time.monotonic() - t0 >= 1.0
    assert vault.api("GET", "kv/x")[0] == 404


def test_fault_sealed(vault, client):
    vault.fault(mode="sealed")
    status, _, body = raw(vault, "GET", "/v1/sys/health")
    body = json.loads(body)
    assert status == 503 and body["sealed"] is True and "cluster_id" not in body
    assert raw(vault, "GET", "/v1/sys/health?sealedcode=299")[0] == 299
    with pytest.raises(hvac.exceptions.VaultDown) as exc:
        client.secrets.database.generate_credentials("ro")
    assert exc.value.errors == ["Vault is sealed"]
    assert vault.leases() == []          # control API is never faulted
    vault.clear_faults()
    assert raw(vault, "GET", "/v1/sys/health")[0] == 200


def test_fault_invalid_json_and_huge(vault):
    vault.fault(mode="invalid_json", count=1)
    status, headers, body = raw(vault, "GET", "/v1/sys/health")
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)
    vault.fault(mode="huge", bytes=3 * 1024 * 1024, count=1)
    status, headers, body = raw(vault, "GET", "/v1/sys/health")
    assert status == 200 and len(body) == 3 * 1024 * 1024
    assert int(headers["content-length"]) == len(body)
    assert set(json.loads(body)) == ENVELOPE_KEYS
    vault.fault(mode="huge", bytes=100, count=1)
    assert len(raw(vault, "GET", "/v1/sys/health")[2]) == 100


# ---------------------------------------------------------------------------
# process behaviour


def test_sigterm_exits_zero_without_revoking(pg):
    emu = harness.VaultEmulator().start()
    creds = None
    try:
        emu.configure_postgres(pg)
        emu.create_db_role("ro", 60, 300)
        status, creds = emu.api("GET", "database/creds/ro")
        assert status == 200
        t0 = time.monotonic()
        emu.stop()
        assert emu.proc.returncode == 0 and time.monotonic() - t0 < 5
        assert creds["data"]["username"] in pg.roles()
    finally:
        emu.stop()
        if creds:
            pg.drop_roles([creds["data"]["username"]])


def test_ready_file_and_port_zero(vault):
    url = urllib.parse.urlsplit(vault.addr)
    assert url.scheme == "http" and url.hostname == "127.0.0.1" and url.port > 0
    with socket.create_connection((url.hostname, url.port), timeout=5):
        pass
