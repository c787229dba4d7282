"""The emulator's own tests, driven by python3-hvac (a client nobody here wrote)
plus raw HTTP where hvac has no method.  Section numbers (§) refer to
/work/shared/vault-api.md.  Short TTLs and deadline polling only.
"""

import datetime
import hashlib
import http.client
import json
import re
import socket
import ssl
import subprocess
import time
import urllib.parse
import uuid

import hvac
import hvac.exceptions
import psycopg2
import pytest
import requests

import harness
import lw
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
    # A full envelope with the text in warnings, no "errors" (KV backend.go pathInvalid).
    assert status == 404 and "errors" not in body and body["data"] is None
    assert "Invalid path for a versioned K/V secrets engine" in body["warnings"][0]


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
    # The journal entry follows psql's exit, a moment after the DROP ROLE commits.
    events = wait_until(lambda: [e for e in vault.journal()
                                 if e["kind"] == "lease" and e["event"] == "expire"],
                        timeout=10, message="expire event")
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


def test_revoke_drops_user_but_leaves_its_session(vault, client, pg, db_role):
    """Vault's PostgreSQL plugin runs only the revocation statements (§5.3,
    plugins/database/postgresql/postgresql.go): no NOLOGIN, no
    pg_terminate_backend.  On PostgreSQL 15 DROP ROLE succeeds with the
    user's session open, and that session keeps working."""
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
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()
    with pytest.raises(psycopg2.Error):
        pg.connect(user, password).close()
    (ev,) = [e for e in vault.journal() if e["kind"] == "lease" and e["event"] == "revoke"]
    assert ev["open_sessions"] >= 1 and "left running" in ev["note"]


def test_revocation_statements_can_end_sessions(vault, client, pg, db_role):
    """The statements docs/guide.md recommends (and `harness.py up` uses) end
    the dropped user's sessions."""
    db_role("ro", revocation_statements=harness.TERMINATING_REVOCATION_STATEMENTS)
    creds = new_creds(client)
    user, password = creds["data"]["username"], creds["data"]["password"]
    conn = pg.connect(user, password)
    try:
        client.sys.revoke_lease(creds["lease_id"])
        assert user_gone(pg, user)
        with pytest.raises(psycopg2.Error):
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
    finally:
        conn.close()


def test_backend_failures_are_400(vault, client, pg, db_role):
    """vault/expiration.go renewEntry / revokeEntry wrap the plugin's error;
    handleErrorNoReadOnlyForward makes it ErrInvalidRequest: 400 (§6)."""
    db_role("ro")
    creds = new_creds(client)
    vault.fault(mode="db_error", op="renew", count=1)
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.renew_lease(creds["lease_id"], increment=60)
    assert "failed to renew entry: resp: (*logical.Response)(nil) err: " in str(exc.value)
    assert client.sys.renew_lease(creds["lease_id"], increment=60)["lease_duration"] == 60
    vault.fault(mode="db_error", op="revoke", count=1)
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.revoke_lease(creds["lease_id"])
    assert "failed to revoke entry: resp: (*logical.Response)(nil) err: " in str(exc.value)
    assert [le["lease_id"] for le in vault.leases()] == [creds["lease_id"]]  # it stays
    assert not user_gone(pg, creds["data"]["username"])
    client.sys.revoke_lease(creds["lease_id"])
    assert user_gone(pg, creds["data"]["username"])


def test_token_without_default_policy_gets_plain_403(vault, client):
    """No default policy: the token's own endpoints answer 403 permission
    denied without "invalid token" (vault/request_handling.go checkToken
    appends ErrPermissionDenied; vault/policy_store.go defaultPolicy is
    what grants them)."""
    vault.put_policy("reader", READ_RO_POLICY)
    tok = client.auth.token.create(policies=["reader"], ttl="60s",
                                   no_default_policy=True)["auth"]
    assert tok["policies"] == ["reader"]
    for method, path in (("GET", "auth/token/lookup-self"), ("POST", "auth/token/renew-self")):
        status, body = vault.api(method, path, token=tok["client_token"])
        assert status == 403 and "permission denied" in body["errors"][0]
        assert "invalid token" not in body["errors"][0]
    status, body = vault.api("GET", "auth/token/lookup-self", token="hvs.nosuchtoken")
    assert status == 403 and "invalid token" in body["errors"][0]


def test_login_mfa_requirement(vault, client):
    """Login MFA (vault/request_handling.go handleLoginRequest): 200, a
    warning, and an auth block with mfa_requirement and no token."""
    client.sys.enable_auth_method("approle")
    client.write("auth/approle/role/app", token_policies="default")
    role_id = client.read("auth/approle/role/app/role-id")["data"]["role_id"]
    secret_id = client.write("auth/approle/role/app/secret-id")["data"]["secret_id"]
    mid = client.write("identity/mfa/method/totp", issuer="vault",
                       method_name="my-totp")["data"]["method_id"]
    client.write("identity/mfa/login-enforcement/ops", mfa_method_ids=[mid],
                 auth_method_types=["approle"])
    resp = hvac.Client(url=vault.addr).auth.approle.login(role_id, secret_id, use_token=False)
    assert resp["auth"]["client_token"] == ""
    req = resp["auth"]["mfa_requirement"]
    assert req["mfa_request_id"] and req["mfa_constraints"]["ops"]["any"][0]["id"] == mid
    assert "subject to MFA validation" in resp["warnings"][0]


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
    journal = wait_until(lambda: [e for e in vault.journal() if e["kind"] == "lease" and
                                  e["event"] == "revoke" and e["reason"] == "token_expire"]
                         and vault.journal(), timeout=10, message="lease revoke event")
    assert any(e["kind"] == "token" and e["event"] == "expire" for e in journal)


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


# ---------------------------------------------------------------------------
# auth methods and logins (§3.4, §4)

HVS_TOKEN = re.compile(r"hvs\.[A-Za-z0-9]{24}")
AUTH_KEYS = {"client_token", "accessor", "policies", "token_policies", "metadata",
             "lease_duration", "renewable", "entity_id", "token_type", "orphan",
             "mfa_requirement", "num_uses"}
ERR_WRAPPING = "wrapping token is not valid or does not exist"
ERR_CERT = "invalid certificate or no client certificate supplied"


# Checks the §4 login envelope and the §3.4 auth block; returns the auth block.
def check_login(body, policies, ttl, metadata=None):
    assert set(body) == ENVELOPE_KEYS
    assert body["lease_id"] == "" and body["renewable"] is False and body["lease_duration"] == 0
    assert body["data"] is None and body["wrap_info"] is None
    auth = body["auth"]
    assert set(auth) == AUTH_KEYS
    assert HVS_TOKEN.fullmatch(auth["client_token"]), auth["client_token"]
    assert auth["accessor"] and auth["accessor"] != auth["client_token"]
    assert auth["policies"] == policies and auth["token_policies"] == policies
    assert auth["lease_duration"] == ttl and auth["renewable"] is True
    assert auth["token_type"] == "service" and auth["orphan"] is True
    if metadata is not None:
        assert auth["metadata"] == metadata
    return auth


# POSTs auth/<mount>/login without a token: (status, parsed body).
def login(vault, mount, body, **kw):
    return vault.api("POST", "auth/%s/login" % mount, body, token="", **kw)


# lookup-self data of a token.
def lookup(vault, token):
    status, body = vault.api("GET", "auth/token/lookup-self", token=token)
    assert status == 200, body
    return body["data"]


def test_auth_mounts_enable_list_disable(vault, client):
    client.sys.enable_auth_method("approle")
    client.sys.enable_auth_method("kubernetes", path="k8s/prod")
    methods = client.sys.list_auth_methods()["data"]
    assert {"token/", "approle/", "k8s/prod/"} <= set(methods)
    assert methods["approle/"]["type"] == "approle"
    assert methods["k8s/prod/"]["type"] == "kubernetes"
    assert methods["approle/"]["accessor"].startswith("auth_approle_")
    assert "approle/" not in client.sys.list_mounted_secrets_engines()["data"]
    assert "approle/" in vault.api("GET", "sys/internal/ui/mounts")[1]["data"]["auth"]
    status, body = vault.api("POST", "sys/auth/approle", {"type": "approle"})
    assert (status, body) == (400, {"errors": ["path is already in use at auth/approle/"]})
    status, body = vault.api("POST", "sys/auth/ldap", {"type": "ldap"})
    assert (status, body) == (400, {"errors": ["plugin not found in the catalog: ldap"]})
    # A mount at a nested path: login there, display name prefixed by the mount path (§4).
    jwt = harness.k8s_jwt("prod", "web")
    vault.k8s_role("web", ["web"], ["prod"], mount="k8s/prod")
    status, body = login(vault, "k8s/prod", {"role": "web", "jwt": jwt})
    assert (status, body) == (500, {"errors": ["could not load backend configuration"]})
    vault.k8s_configure(mount="k8s/prod")
    status, body = login(vault, "k8s/prod", {"role": "web", "jwt": jwt})
    assert status == 200
    assert lookup(vault, body["auth"]["client_token"])["display_name"] == "k8s-prod-prod-web"
    # Tokens from a mount die with it.
    role_id = vault.approle_role("svc", bind_secret_id=False)
    tok = login(vault, "approle", {"role_id": role_id})[1]["auth"]["client_token"]
    client.sys.disable_auth_method("approle")
    assert vault.api("GET", "auth/token/lookup-self", token=tok)[0] == 403
    assert login(vault, "approle", {"role_id": role_id})[0] != 200
    assert "approle/" not in client.sys.list_auth_methods()["data"]
    status, body = vault.api("DELETE", "sys/auth/token")
    assert status == 400


def test_approle_login_with_secret_id(vault, client, db_role):
    db_role("ro")
    vault.put_policy("reader", READ_RO_POLICY)
    client.sys.enable_auth_method("approle")
    client.auth.approle.create_or_update_approle("svc", token_policies=["reader"],
                                                 token_ttl="60s", token_max_ttl="120s")
    role = client.auth.approle.read_role("svc")["data"]
    assert role["token_ttl"] == 60 and role["token_max_ttl"] == 120
    assert role["bind_secret_id"] is True and role["token_policies"] == ["reader"]
    role_id = client.auth.approle.read_role_id("svc")["data"]["role_id"]
    uuid.UUID(role_id)
    gen = client.auth.approle.generate_secret_id("svc", metadata={"app": "lw"})
    assert set(gen["data"]) == {"secret_id", "secret_id_accessor", "secret_id_ttl",
                                "secret_id_num_uses"}
    assert gen["data"]["secret_id_ttl"] == 0 and gen["data"]["secret_id_num_uses"] == 0
    me = hvac.Client(url=vault.addr)
    resp = me.auth.approle.login(role_id, gen["data"]["secret_id"])
    auth = check_login(resp, ["default", "reader"], 60, {"role_name": "svc", "app": "lw"})
    assert resp["mount_type"] == "approle" and me.token == auth["client_token"]
    look = me.auth.token.lookup_self()["data"]
    assert look["display_name"] == "approle" and look["path"] == "auth/approle/login"
    assert look["orphan"] is True and look["creation_ttl"] == 60 and 55 <= look["ttl"] <= 60
    assert look["meta"] == {"role_name": "svc", "app": "lw"}
    # Logins need no token and ignore one, even an invalid one (§4).
    status, body = vault.api("POST", "auth/approle/login",
                             {"role_id": role_id, "secret_id": gen["data"]["secret_id"]},
                             token="hvs.bogus")
    assert status == 200 and body["auth"]["client_token"] != auth["client_token"]
    # The login token is an ordinary token: its policy, its display name in DB usernames.
    creds = me.secrets.database.generate_credentials("ro")
    assert creds["data"]["username"].startswith("v-approle-ro-")
    with pytest.raises(hvac.exceptions.Forbidden):
        me.secrets.database.generate_credentials("rw")
    (tok,) = [t for t in vault.tokens() if t["accessor"] == auth["accessor"]]
    assert tok["path"] == "auth/approle/login" and tok["max_ttl"] == 120 and tok["orphan"]


def test_approle_login_errors_and_role_id_only(vault):
    vault.enable_auth("approle")
    role_id = vault.approle_role("svc")
    secret_id = vault.approle_secret_id("svc")
    for body, msg in [({}, "missing role_id"),
                      ({"role_id": "nope", "secret_id": secret_id}, "invalid role or secret ID"),
                      ({"role_id": role_id}, "missing secret_id"),
                      ({"role_id": role_id, "secret_id": "nope"}, "invalid role or secret ID")]:
        assert login(vault, "approle", body) == (400, {"errors": [msg]})
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        hvac.Client(url=vault.addr).auth.approle.login(role_id, "wrong")
    assert exc.value.errors == ["invalid role or secret ID"]
    # bind_secret_id=false: role_id alone; a custom role_id replaces the generated one.
    open_id = vault.approle_role("open", bind_secret_id=False, token_no_default_policy=True,
                                 token_policies="reader,extra")
    status, body = login(vault, "approle", {"role_id": open_id})
    check_login(body, ["extra", "reader"], 2764800, {"role_name": "open"})
    assert vault.api("POST", "auth/approle/role/open/role-id", {"role_id": "fixed-id"})[0] == 204
    assert login(vault, "approle", {"role_id": "fixed-id"})[0] == 200
    assert login(vault, "approle", {"role_id": open_id}) == \
        (400, {"errors": ["invalid role or secret ID"]})
    status, body = vault.api("POST", "auth/approle/role/nope/secret-id")
    assert (status, body) == (400, {"errors": ['role "nope" does not exist']})
    status, body = vault.api("POST", "auth/approle/role/bad", {"token_ttl": 90,
                                                                "token_max_ttl": 60})
    assert status == 400 and "token_ttl" in body["errors"][0]
    assert vault.api("GET", "auth/approle/login")[0] == 405


def test_approle_secret_id_num_uses_ttl_and_destroy(vault, client):
    vault.enable_auth("approle")
    role_id = vault.approle_role("svc", secret_id_num_uses=2)
    secret_id = vault.approle_secret_id("svc")
    for _ in range(2):
        assert login(vault, "approle", {"role_id": role_id, "secret_id": secret_id})[0] == 200
    assert login(vault, "approle", {"role_id": role_id, "secret_id": secret_id}) == \
        (400, {"errors": ["invalid role or secret ID"]})
    # Per-request num_uses override, and destroy through hvac.
    one = vault.approle_secret_id("svc", num_uses=1)
    assert login(vault, "approle", {"role_id": role_id, "secret_id": one})[0] == 200
    assert login(vault, "approle", {"role_id": role_id, "secret_id": one})[0] == 400
    gone = vault.approle_secret_id("svc")
    assert client.auth.approle.read_secret_id("svc", gone)["data"]["secret_id_num_uses"] == 2
    client.auth.approle.destroy_secret_id("svc", gone)
    assert login(vault, "approle", {"role_id": role_id, "secret_id": gone})[0] == 400
    # secret_id_ttl: valid at once, invalid once the TTL has passed.
    short_id = vault.approle_role("short", secret_id_ttl="3s")
    issued = time.monotonic()
    short = vault.approle_secret_id("short")
    status, _ = login(vault, "approle", {"role_id": short_id, "secret_id": short})
    assert status == 200 or time.monotonic() - issued >= 3
    wait_until(lambda: login(vault, "approle", {"role_id": short_id, "secret_id": short})[0]
               == 400, timeout=20, message="secret ID expiry")
    assert time.monotonic() - issued >= 2.9


def test_wrapped_secret_id_unwrap_forms(vault, client):
    vault.enable_auth("approle")
    role_id = vault.approle_role("svc")
    before = time.time()
    resp = client.adapter.post("/v1/auth/approle/role/svc/secret-id", wrap_ttl="60s")
    assert set(resp) == ENVELOPE_KEYS and resp["request_id"] == ""
    assert resp["data"] is None and resp["auth"] is None and resp["lease_id"] == ""
    info = resp["wrap_info"]
    assert info["ttl"] == 60 and info["creation_path"] == "auth/approle/role/svc/secret-id"
    assert HVS_TOKEN.fullmatch(info["token"]) and info["accessor"]
    created = datetime.datetime.fromisoformat(info["creation_time"].replace("Z", "+00:00"))
    assert before - 1 <= created.timestamp() <= time.time() + 1
    # Lookup (no token needed) does not consume the wrapping token.
    for _ in range(2):
        status, body = vault.api("POST", "sys/wrapping/lookup", {"token": info["token"]},
                                 token="")
        assert status == 200 and body["data"] == {
            "creation_path": "auth/approle/role/svc/secret-id",
            "creation_time": info["creation_time"], "creation_ttl": 60}
    # Form (a): the wrapping token as X-Vault-Token, no token in the body.
    unwrapped = hvac.Client(url=vault.addr, token=info["token"]).sys.unwrap()
    data = unwrapped["data"]
    assert data["secret_id_accessor"] == info["wrapped_accessor"]
    assert unwrapped["wrap_info"] is None and set(unwrapped) == ENVELOPE_KEYS
    assert login(vault, "approle", {"role_id": role_id, "secret_id": data["secret_id"]})[0] == 200
    # Single use: a second unwrap and a lookup both fail with Vault's text.
    assert vault.api("POST", "sys/wrapping/unwrap", token=info["token"]) == \
        (400, {"errors": [ERR_WRAPPING]})
    assert vault.api("POST", "sys/wrapping/lookup", {"token": info["token"]}, token="") == \
        (400, {"errors": [ERR_WRAPPING]})
    # Form (b): another token (root via hvac, then a default-policy token) unwraps by body.
    wrapped = vault.approle_secret_id("svc", wrap_ttl=60)
    assert client.sys.unwrap(wrapped)["data"]["secret_id"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.unwrap(wrapped)
    assert exc.value.errors == [ERR_WRAPPING]
    plain = vault.create_token(policies=["default"], ttl="60s")
    wrapped = vault.approle_secret_id("svc", wrap_ttl="1m")
    status, body = vault.api("POST", "sys/wrapping/unwrap", {"token": wrapped}, token=plain)
    assert status == 200 and body["data"]["secret_id"]
    # Both locations at once: the token is spent and nothing comes back (§4.5).
    wrapped = vault.approle_secret_id("svc", wrap_ttl=60)
    assert vault.api("POST", "sys/wrapping/unwrap", {"token": wrapped}, token=wrapped)[0] == 400
    assert vault.api("POST", "sys/wrapping/unwrap", token=wrapped)[0] == 400
    events = [e for e in vault.journal() if e["kind"] == "wrap"]
    assert [e["event"] for e in events].count("create") == 4
    assert all("token" not in e for e in events)


def test_wrapping_any_response_ttl_and_header_errors(vault):
    vault.kv_put("app", {"pw": "s3cret"})
    status, body = vault.api("GET", "secret/data/app", wrap_ttl=2)
    assert status == 200 and body["data"] is None and body["mount_type"] == ""
    info = body["wrap_info"]
    assert info["creation_path"] == "secret/data/app" and info["ttl"] == 2
    assert "wrapped_accessor" not in info
    assert [w["accessor"] for w in vault.wrappings()] == [info["accessor"]]
    wait_until(lambda: vault.api("POST", "sys/wrapping/lookup", {"token": info["token"]},
                                 token="")[0] == 400, timeout=15, message="wrap TTL")
    assert vault.api("POST", "sys/wrapping/unwrap", token=info["token"]) == \
        (400, {"errors": [ERR_WRAPPING]})
    wait_until(lambda: any(e["kind"] == "wrap" and e["event"] == "expire"
                           for e in vault.journal()), timeout=10, message="wrap expire event")
    assert vault.wrappings() == []
    # A wrapped login: wrapped_accessor is the new token's accessor.
    vault.enable_auth("approle")
    role_id = vault.approle_role("open", bind_secret_id=False, token_ttl="5m")
    status, body = login(vault, "approle", {"role_id": role_id}, wrap_ttl="1m")
    assert status == 200 and body["auth"] is None
    info = body["wrap_info"]
    assert info["ttl"] == 60 and info["creation_path"] == "auth/approle/login"
    status, inner = vault.api("POST", "sys/wrapping/unwrap", token=info["token"])
    auth = check_login(inner, ["default"], 300, {"role_name": "open"})
    assert auth["accessor"] == info["wrapped_accessor"]
    # sys/wrapping/wrap, and header errors (§1.2).
    token = vault.wrap({"k": "v"}, ttl=30)
    assert vault.api("POST", "sys/wrapping/unwrap", {"token": token})[1]["data"] == {"k": "v"}
    assert vault.api("GET", "secret/data/app", wrap_ttl=-5) == \
        (400, {"errors": ["requested wrap ttl cannot be negative"]})
    status, body = vault.api("GET", "secret/data/app", wrap_ttl="soon")
    assert status == 400
    assert body["errors"][0].startswith("error parsing X-Vault-Wrap-TTL header")
    # No body (204) means nothing to wrap; wrap TTL 0 means no wrapping.
    assert vault.api("PUT", "kv/x", {"a": "b"}, wrap_ttl=60) == (204, None)
    assert vault.api("GET", "kv/x", wrap_ttl=0)[1]["data"] == {"a": "b"}


def test_kubernetes_login(vault, client):
    vault.put_policy("reader", READ_RO_POLICY)
    client.sys.enable_auth_method("kubernetes")
    client.auth.kubernetes.configure("https://kubernetes.default.svc")
    client.auth.kubernetes.create_role("app", ["app-sa"], ["prod"], ttl="60s", max_ttl="120s",
                                       policies=["reader"])
    uid = str(uuid.uuid4())
    jwt = harness.k8s_jwt("prod", "app-sa", uid=uid)
    me = hvac.Client(url=vault.addr)
    resp = me.auth.kubernetes.login("app", jwt)
    check_login(resp, ["default", "reader"], 60, {
        "role": "app", "service_account_name": "app-sa", "service_account_namespace": "prod",
        "service_account_secret_name": "app-sa-token-x1", "service_account_uid": uid})
    assert me.auth.token.lookup_self()["data"]["display_name"] == "kubernetes-prod-app-sa"
    # Errors (§4.2): 400 for a malformed request, 403 for a JWT that does not qualify.
    denied = (403, {"errors": ["permission denied"]})
    cases = [
        ({"role": "app", "jwt": harness.k8s_jwt("prod", "app-sa", exp=time.time() - 60)},
         denied),
        ({"role": "app", "jwt": harness.k8s_jwt("prod", "other-sa")}, denied),
        ({"role": "app", "jwt": harness.k8s_jwt("dev", "app-sa")}, denied),
        ({"role": "app", "jwt": "not.a.jwt"}, denied),
        ({"role": "app", "jwt": "abc"}, denied),
        ({"jwt": jwt}, (400, {"errors": ["missing role"]})),
        ({"role": "app"}, (400, {"errors": ["missing jwt"]})),
        ({"role": "nope", "jwt": jwt}, (400, {"errors": ['invalid role name "nope"']})),
    ]
    for body, want in cases:
        assert login(vault, "kubernetes", body) == want, body
    with pytest.raises(hvac.exceptions.Forbidden):
        me.auth.kubernetes.login("app", harness.k8s_jwt("prod", "app-sa", exp=time.time() - 1))
    # "*" bindings; projected (bound) token format; a token without exp (legacy secret token).
    vault.k8s_role("any", ["*"], ["*"], token_ttl=30)
    for token in (harness.k8s_jwt("ns1", "sa1", projected=True), harness.k8s_jwt(ttl=None)):
        status, body = login(vault, "kubernetes", {"role": "any", "jwt": token})
        assert status == 200 and body["auth"]["lease_duration"] == 30
    # The journal records a SHA-256 of each JWT, never the JWT: a re-read JWT shows up.
    logins = vault.logins()
    assert logins[0]["jwt_sha256"] == hashlib.sha256(jwt.encode()).hexdigest()
    assert logins[0]["status"] == 200 and logins[0]["method"] == "kubernetes"
    assert logins[0]["mount"] == "kubernetes" and logins[0]["role"] == "app"
    assert [e["status"] for e in logins[1:6]] == [403] * 5
    assert len({e["jwt_sha256"] for e in logins if e["jwt_sha256"]}) >= 7
    journal = json.dumps(vault.journal())
    assert jwt not in journal and jwt.split(".")[1] not in journal


def test_kubernetes_signed_tokens_and_role_validation(vault):
    vault.enable_auth("kubernetes")
    vault.k8s_configure(vaultemu_hs256_key="k8s-secret")
    vault.k8s_role("app", ["app-sa"], ["prod"], audience="vault")
    good = harness.k8s_jwt("prod", "app-sa", alg="HS256", key="k8s-secret",
                           extra={"aud": ["vault"]})
    assert login(vault, "kubernetes", {"role": "app", "jwt": good})[0] == 200
    for bad in (harness.k8s_jwt("prod", "app-sa", alg="HS256", key="wrong",
                                extra={"aud": ["vault"]}),
                harness.k8s_jwt("prod", "app-sa", extra={"aud": ["vault"]}),
                harness.k8s_jwt("prod", "app-sa", alg="HS256", key="k8s-secret")):
        assert login(vault, "kubernetes", {"role": "app", "jwt": bad})[0] == 403
    status, body = vault.api("POST", "auth/kubernetes/role/x",
                             {"bound_service_account_names": ["a"]})
    assert (status, body) == (400, {"errors": [
        '"bound_service_account_namespaces" can not be empty']})
    assert vault.api("GET", "auth/kubernetes/role/app")[1]["data"][
        "bound_service_account_names"] == ["app-sa"]


def test_jwt_login(vault, client):
    vault.put_policy("reader", READ_RO_POLICY)
    client.sys.enable_auth_method("jwt")
    vault.jwt_configure(vaultemu_hs256_key="k3y", bound_issuer="https://issuer.test")
    vault.jwt_role("ci", bound_audiences=["leasewrap"], token_policies=["reader"],
                   token_ttl="60s", token_max_ttl="120s")
    now = int(time.time())
    claims = {"iss": "https://issuer.test", "sub": "job-42", "aud": "leasewrap", "exp": now + 300,
              "iat": now}
    jwt = harness.make_jwt(claims, "HS256", "k3y")
    me = hvac.Client(url=vault.addr)
    resp = me.auth.jwt.jwt_login("ci", jwt)
    check_login(resp, ["default", "reader"], 60, {"role": "ci"})
    assert me.auth.token.lookup_self()["data"]["display_name"] == "jwt-job-42"
    vault.jwt_role("pinned", bound_audiences=["leasewrap"], bound_subject="job-1")
    vault.api("POST", "auth/jwt/role/web", {"user_claim": "sub"})   # role_type defaults to oidc

    # Signs claims with the configured key after applying changes.
    def signed(**changes):
        return harness.make_jwt(dict(claims, **changes), "HS256", "k3y")

    claims_err = "error validating claims: "
    cases = [
        ({"role": "ci", "jwt": signed(exp=now - 3600)},
         "error validating token: token is expired"),
        ({"role": "ci", "jwt": harness.make_jwt(claims, "HS256", "other-key")},
         "error validating token: "),
        ({"role": "ci", "jwt": harness.make_jwt(claims)}, "error validating token: "),
        ({"role": "ci", "jwt": signed(aud="someone-else")}, claims_err),
        ({"role": "ci", "jwt": signed(iss="https://evil.test")}, claims_err),
        ({"role": "pinned", "jwt": jwt}, claims_err),
        ({"jwt": jwt}, "missing role"),
        ({"role": "nope", "jwt": jwt}, 'role "nope" could not be found'),
        ({"role": "ci"}, "missing token"),
        ({"role": "web", "jwt": jwt}, "role with oidc role_type is not allowed"),
    ]
    for body, msg in cases:
        status, resp = login(vault, "jwt", body)
        assert status == 400 and len(resp["errors"]) == 1, (body, resp)
        assert resp["errors"][0].startswith(msg), (body, resp)
        if not msg.endswith(": "):
            assert resp["errors"][0] == msg
    assert "aud" in login(vault, "jwt", cases[3][0])[1]["errors"][0]
    # Within the default expiration leeway (150 s + 60 s clock skew) a token still logs in.
    assert login(vault, "jwt", {"role": "ci", "jwt": signed(exp=now - 30)})[0] == 200
    # default_role lets the role be omitted.
    vault.jwt_configure(vaultemu_hs256_key="k3y", bound_issuer="https://issuer.test",
                        default_role="ci")
    status, body = login(vault, "jwt", {"jwt": jwt})
    assert status == 200 and body["auth"]["metadata"] == {"role": "ci"}
    assert [e["status"] for e in vault.logins() if e["method"] == "jwt"][-1] == 200


def test_jwt_rs256_pubkeys_and_unverified_mount(vault, pki):
    vault.enable_auth("jwt")
    vault.jwt_configure(jwt_validation_pubkeys=[pki.pem(pki.jwt_pubkey)])
    vault.jwt_role("ci", bound_audiences=["lw"], user_claim="email",
                   claim_mappings={"team": "team"})
    claims = {"sub": "x", "email": "ci@example.test", "team": "db", "aud": ["lw"],
              "exp": int(time.time()) + 120}
    token = harness.make_jwt(claims, "RS256", pki.jwt_key)
    status, body = login(vault, "jwt", {"role": "ci", "jwt": token})
    assert status == 200 and body["auth"]["metadata"] == {"role": "ci", "team": "db"}
    assert lookup(vault, body["auth"]["client_token"])["display_name"] == "jwt-ci@example.test"
    head, _, sig = token.split(".")
    forged = ".".join([head, harness.b64url(json.dumps(dict(claims, team="admin")).encode()),
                       sig])
    for bad in (forged, harness.make_jwt(claims, "HS256", "k"), harness.make_jwt(claims)):
        status, body = login(vault, "jwt", {"role": "ci", "jwt": bad})
        assert status == 400 and body["errors"][0].startswith("error validating token: ")
    status, body = vault.api("POST", "auth/jwt/config", {"jwt_validation_pubkeys": ["junk"]})
    assert status == 400
    # Without keys configured any signature is accepted (emulator); the audience rule still holds.
    vault.enable_auth("jwt", path="jwt-open")
    vault.jwt_configure(mount="jwt-open", bound_issuer="")
    vault.jwt_role("any", mount="jwt-open")
    assert login(vault, "jwt-open", {"role": "any", "jwt": harness.make_jwt(
        {"sub": "s", "exp": int(time.time()) + 60})})[0] == 200
    assert login(vault, "jwt-open", {"role": "any", "jwt": harness.make_jwt(
        {"sub": "s", "aud": "x"})}) == (400, {"errors": [
            "audience claim found in JWT but no audiences bound to the role"]})


def test_login_token_ttl_max_ttl_and_renewal(vault, pg, db_role):
    db_role("ro")
    vault.put_policy("reader", READ_RO_POLICY)
    vault.enable_auth("approle")
    role_id = vault.approle_role("capped", bind_secret_id=False, token_policies="reader",
                                 token_ttl=60, token_max_ttl=90)
    auth = check_login(login(vault, "approle", {"role_id": role_id})[1], ["default", "reader"],
                       60)
    me = hvac_for(vault, auth["client_token"])
    # §3.2: renew-self beyond token_max_ttl -> 200, capped, warning names the remaining time.
    renewed = me.auth.token.renew_self(increment=3600)
    assert 80 <= renewed["auth"]["lease_duration"] <= 90
    (warning,) = renewed["warnings"]
    m = CAP_WARNING.match(warning)
    assert m and m.group("asked") == "1h" and \
        secs(m.group("left")) == renewed["auth"]["lease_duration"]
    assert me.auth.token.renew_self(increment=30)["auth"]["lease_duration"] == 30
    assert me.auth.token.renew_self()["auth"]["lease_duration"] == 60
    assert me.auth.token.lookup_self()["data"]["explicit_max_ttl"] == 0
    # A short token: renewals capped at token_max_ttl, then it expires with its lease.
    short_id = vault.approle_role("short", bind_secret_id=False, token_policies="reader",
                                  token_ttl=3, token_max_ttl=6)
    started = time.monotonic()
    auth = login(vault, "approle", {"role_id": short_id})[1]["auth"]
    assert auth["lease_duration"] == 3
    short = hvac_for(vault, auth["client_token"])
    creds = short.secrets.database.generate_credentials("ro")
    renewed = short.auth.token.renew_self(increment=60)
    assert renewed["auth"]["lease_duration"] <= 6 and renewed["warnings"]
    wait_until(lambda: vault.api("GET", "auth/token/lookup-self",
                                 token=auth["client_token"])[0] == 403,
               timeout=30, message="login token expiry at max TTL")
    assert time.monotonic() - started >= 4.5
    wait_until(lambda: user_gone(pg, creds["data"]["username"]), timeout=20,
               message="lease revoked with the expired login token")
    wait_until(lambda: any(e["kind"] == "lease" and e["event"] == "revoke" and
                           e["reason"] == "token_expire" for e in vault.journal()),
               timeout=10, message="lease revoke event")
    assert any(e["kind"] == "token" and e["event"] == "expire" and
               e["accessor"] == auth["accessor"] for e in vault.journal())


def test_login_token_revoked_by_operator(vault, pg, db_role):
    db_role("ro")
    vault.put_policy("reader", READ_RO_POLICY)
    vault.enable_auth("approle")
    role_id = vault.approle_role("svc", bind_secret_id=False, token_policies="reader")
    auth = login(vault, "approle", {"role_id": role_id})[1]["auth"]
    creds = hvac_for(vault, auth["client_token"]).secrets.database.generate_credentials("ro")
    assert vault.revoke_token(accessor=auth["accessor"]) == 1
    wait_until(lambda: user_gone(pg, creds["data"]["username"]), timeout=10,
               message="lease of the revoked login token dropped")
    assert vault.api("GET", "auth/token/lookup-self", token=auth["client_token"])[0] == 403


def test_logins_journal_has_no_secrets(vault):
    vault.enable_auth("approle")
    role_id = vault.approle_role("svc")
    secret_id = vault.approle_secret_id("svc")
    start = vault.journal()[-1]["seq"]
    ok = login(vault, "approle", {"role_id": role_id, "secret_id": secret_id})[1]
    login(vault, "approle", {"role_id": role_id, "secret_id": "bad-" + secret_id})
    login(vault, "approle", {"role_id": "unknown"})
    events = vault.logins(since=start)
    assert [(e["kind"], e["mount"], e["method"], e["role"], e["status"]) for e in events] == [
        ("login", "approle", "approle", "svc", 200), ("login", "approle", "approle", "svc", 400),
        ("login", "approle", "approle", None, 400)]
    assert events[0]["accessor"] == ok["auth"]["accessor"] and events[0]["jwt_sha256"] is None
    assert events[1]["error"] == "invalid role or secret ID"
    journal = json.dumps(vault.journal())
    for value in (role_id, secret_id, ok["auth"]["client_token"]):
        assert value not in journal
    assert secret_id in vault.secrets() and ok["auth"]["client_token"] in vault.secrets()


# ---------------------------------------------------------------------------
# HTTPS and cert login (§4.4, §9.1)


# Opens a TLS connection to the emulator with ctx; returns the negotiated version.
def tls_handshake(vault, ctx, server_hostname="127.0.0.1"):
    url = urllib.parse.urlsplit(vault.addr)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        with ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
            return tls.version()


def test_https_server_verified_by_test_ca(vault_tls, pki):
    vault = vault_tls
    url = urllib.parse.urlsplit(vault.addr)
    assert url.scheme == "https" and url.hostname == "127.0.0.1" and url.port > 0
    assert tls_handshake(vault, ssl.create_default_context(cafile=pki.ca_cert)) in \
        ("TLSv1.2", "TLSv1.3")
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_handshake(vault, ssl.create_default_context())
    old = ssl.create_default_context(cafile=pki.ca_cert)
    old.minimum_version = ssl.TLSVersion.TLSv1_2
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    assert tls_handshake(vault, old) == "TLSv1.2"
    assert hvac.Client(url=vault.addr, verify=pki.ca_cert).sys.read_health_status(
        method="GET")["initialized"] is True
    with pytest.raises(requests.exceptions.SSLError):
        hvac.Client(url=vault.addr, verify=True).sys.read_health_status(method="GET")
    # The harness helpers speak HTTPS: the usual database flow works.
    vault.create_db_role("ro", 60, 300)
    status, creds = vault.api("GET", "database/creds/ro")
    assert status == 200 and creds["lease_duration"] == 60


def test_https_wrong_server_name(pki):
    emu = harness.VaultEmulator(tls=pki).start(tls_cert="wrong")
    try:
        with pytest.raises(ssl.SSLCertVerificationError) as exc:
            tls_handshake(emu, ssl.create_default_context(cafile=pki.ca_cert))
        assert "127.0.0.1" in str(exc.value)
        ctx = ssl.create_default_context(cafile=pki.ca_cert)
        assert tls_handshake(emu, ctx, server_hostname="wrong.example")
        assert emu.api("GET", "sys/health")[0] == 200
    finally:
        emu.stop()


def test_cert_login_over_https(vault_tls, pki):
    vault = vault_tls
    vault.put_policy("reader", READ_RO_POLICY)
    vault.enable_auth("cert")
    vault.cert_role("web", pki.ca_cert, token_policies="reader", token_ttl=60,
                    token_max_ttl=120, allowed_common_names=["lw-*"])
    me = hvac.Client(url=vault.addr, verify=pki.ca_cert, cert=(pki.client_cert, pki.client_key))
    resp = me.auth.cert.login()
    auth = check_login(resp, ["default", "reader"], 60)
    assert auth["metadata"]["cert_name"] == "web"
    assert auth["metadata"]["common_name"] == "lw-client"
    assert me.auth.token.lookup_self()["data"]["display_name"] == "cert-web"
    assert me.auth.cert.login(name="web")["auth"]["metadata"]["cert_name"] == "web"
    mine = vault.client_ssl_context(client=True)
    # No client certificate: 400 with Vault's text.
    assert vault.api("POST", "auth/cert/login", {}, token="") == (400, {"errors": [ERR_CERT]})
    # A certificate from a CA nobody trusts: Vault's listener only requests client
    # certificates (tls.RequestClientCert), so the handshake succeeds, other requests
    # work, and cert auth itself refuses the login.
    theirs = vault.client_ssl_context(client=(pki.other_client_cert, pki.other_client_key))
    assert vault.api("POST", "auth/cert/login", {}, token="", context=theirs) == \
        (400, {"errors": [ERR_CERT]})
    assert vault.api("GET", "sys/health", context=theirs)[0] == 200
    # Roles: another CA (trusted from now on), a CN allow-list that excludes lw-client.
    vault.cert_role("other", pki.other_ca_cert, token_ttl=30)
    vault.cert_role("strict", pki.ca_cert, allowed_common_names=["someone-else"])
    for name in ("other", "strict", "nope"):
        assert vault.api("POST", "auth/cert/login", {"name": name}, token="", context=mine) == \
            (400, {"errors": [ERR_CERT]}), name
    status, body = vault.api("POST", "auth/cert/login", {}, token="", context=theirs)
    assert status == 200 and body["auth"]["metadata"]["cert_name"] == "other"
    assert body["auth"]["lease_duration"] == 30
    logins = vault.logins()
    assert [(e["method"], e["role"], e["status"]) for e in logins] == [
        ("cert", "web", 200), ("cert", "web", 200), ("cert", None, 400), ("cert", None, 400),
        ("cert", "other", 400), ("cert", "strict", 400), ("cert", "nope", 400),
        ("cert", "other", 200)]


def _root_http(vault, method, path, body=None):
    return vault.http(method, "/v1/" + path, body, {"X-Vault-Token": vault.root_token})


def test_rate_limit_quota_answers_429_headers_only_when_enabled(vault):
    # vault/quotas/quotas_rate_limit.go allow + http/util.go rateLimitQuotaWrapping.
    vault.kv_put("q", {"k": "v"})
    assert vault.api("PUT", "sys/quotas/rate-limit/rl",
                     {"path": "secret/", "rate": 2, "interval": "30s"})[0] == 204
    # Headers off (the default): the 429 has no Retry-After.
    assert [_root_http(vault, "GET", "secret/data/q")[0] for _ in range(3)] == [200, 200, 429]
    status, headers, body = _root_http(vault, "GET", "secret/data/q")
    assert status == 429 and "Retry-After" not in headers
    assert json.loads(body)["errors"] == ['request path "secret/data/q": rate limit quota exceeded']
    # Other mounts and the exempt sys/health are not limited.
    assert _root_http(vault, "GET", "kv/none")[0] == 404
    assert vault.api("PUT", "sys/quotas/config",
                     {"enable_rate_limit_response_headers": True})[0] == 204
    status, headers, _ = _root_http(vault, "GET", "secret/data/q")
    assert status == 429
    # Retry-After = X-Ratelimit-Reset: whole seconds to the end of the 30 s window.
    assert headers["Retry-After"] == headers["X-Ratelimit-Reset"]
    assert 0 <= int(headers["Retry-After"]) < 30
    assert headers["X-Ratelimit-Limit"] == "2" and headers["X-Ratelimit-Remaining"] == "0"
    (ev,) = [e for e in vault.journal() if e["kind"] == "request" and e["status"] == 429
             and e.get("retry_after") is not None]
    assert ev["retry_after"] == headers["Retry-After"]
    assert vault.api("DELETE", "sys/quotas/rate-limit/rl")[0] == 204
    status, headers, _ = _root_http(vault, "GET", "secret/data/q")
    assert status == 200 and "X-Ratelimit-Limit" not in headers


def test_rate_limit_block_interval_sets_retry_after(vault):
    vault.api("PUT", "sys/quotas/config", {"enable_rate_limit_response_headers": True})
    vault.api("PUT", "sys/quotas/rate-limit/b",
              {"rate": 1, "interval": "1s", "block_interval": "20s", "path": "secret/"})
    statuses = []
    for _ in range(2):
        status, headers, _ = _root_http(vault, "GET", "secret/data/none")
        statuses.append(status)
    assert statuses == [404, 429]
    # Go's int(time.Until(blockedAt + block).Seconds()): just under 20, truncated.
    assert headers["Retry-After"] == "19"
    assert _root_http(vault, "GET", "secret/data/none")[0] == 429


def test_listener_backlog_is_somaxconn(vault):
    # Go's net.Listen uses /proc/sys/net/core/somaxconn (net/sock_linux.go maxListenerBacklog);
    # ss shows a listening socket's backlog as its Send-Q.
    port = urllib.parse.urlsplit(vault.addr).port
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True, text=True,
                         check=True).stdout.split()
    with open("/proc/sys/net/core/somaxconn") as f:
        assert out[2] == f.read().strip()

def ns_database(vault, pg, ns="admin", role="ro", default_ttl=60):
    """A namespace with a database mount, connection and role in it."""
    client = hvac.Client(url=vault.addr, token=vault.root_token)
    client.sys.create_namespace(ns)
    nsc = hvac.Client(url=vault.addr, token=vault.root_token, namespace=ns)
    nsc.sys.enable_secrets_engine("database")
    url = ("postgresql://{{username}}:{{password}}@%s:%d/postgres?sslmode=disable"
           % (pg.host, pg.port))
    nsc.write("database/config/pg", plugin_name="postgresql-database-plugin",
              connection_url=url, username=pg.superuser, password=pg.password,
              allowed_roles="*")
    nsc.write("database/roles/" + role, db_name="pg", default_ttl=default_ttl, max_ttl=300,
              creation_statements=harness.DEFAULT_CREATION_STATEMENTS)
    return nsc


def test_namespaces_header_and_path_prefix(vault, client, pg):
    """Vault Enterprise namespaces (VD:api-docs/index.mdx "Namespaces"): the
    X-Vault-Namespace header and a path prefix both select one; leases made
    there end ".<namespace ID>" (vault/expiration.go Register) and cannot be
    renewed from another namespace (expiration.go Renew)."""
    nsc = ns_database(vault, pg)
    nsid = client.read("sys/namespaces/admin")["data"]["id"]
    assert re.fullmatch(r"[A-Za-z0-9]{5}", nsid)
    by_header = nsc.read("database/creds/ro")
    by_prefix = client.read("admin/database/creds/ro")
    for creds in (by_header, by_prefix):
        assert creds["lease_id"].startswith("database/creds/ro/")
        assert creds["lease_id"].endswith("." + nsid)
    status, body = vault.api("GET", "database/creds/ro")   # the root namespace's own mount
    assert status == 400 and body["errors"] == ["unknown role: ro"]
    assert nsc.sys.renew_lease(by_header["lease_id"], increment=30)["lease_duration"] == 30
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.renew_lease(by_header["lease_id"], increment=30)
    assert "cannot renew a lease across namespaces" in str(exc.value)
    nsc.sys.revoke_lease(by_header["lease_id"])
    assert user_gone(pg, by_header["data"]["username"])
    # Tokens made in the namespace carry its ID; they do not work in the root one.
    tok = nsc.auth.token.create(ttl="60s")["auth"]["client_token"]
    assert tok.endswith("." + nsid)
    status, body = vault.api("GET", "auth/token/lookup-self", token=tok)
    assert status == 403 and "invalid token" not in body["errors"][0]
    status, body = vault.api("GET", "auth/token/lookup-self", token=tok,
                             headers={"X-Vault-Namespace": "admin"})
    assert status == 200 and body["data"]["namespace_path"] == "admin/"
    # The journal keeps every header; the token only as a digest.
    reqs = [e for e in vault.journal() if e["kind"] == "request"]
    with_ns = [e for e in reqs if e["headers"].get("X-Vault-Namespace") == "admin"]
    assert with_ns and all(e["namespace"] == "admin/" for e in with_ns)
    assert all(tok not in json.dumps(e) for e in reqs)
    assert [e for e in reqs if e["path"] == "admin/database/creds/ro"][0]["namespace"] == "admin/"


def test_batch_tokens(vault, client, pg, db_role):
    """Batch tokens (§3.3, §6.1): not renewable, revoke-self refused, their
    leases clamped to the token's end (vault/expiration.go Register)."""
    db_role("ro", default_ttl=300)
    vault.put_policy("reader", READ_RO_POLICY)
    auth = client.auth.token.create(policies=["reader"], ttl="20s", type="batch")["auth"]
    assert auth["client_token"].startswith("hvb.") and auth["renewable"] is False
    assert auth["token_type"] == "batch"
    bc = hvac_for(vault, auth["client_token"])
    creds = bc.secrets.database.generate_credentials("ro")
    assert 0 < creds["lease_duration"] <= 20
    for path in ("auth/token/renew-self", "auth/token/revoke-self"):
        status, body = vault.api("POST", path, token=auth["client_token"])
        assert status == 400 and "batch tokens cannot be" in body["errors"][0]
    renewed = client.sys.renew_lease(creds["lease_id"], increment=300)
    assert renewed["lease_duration"] <= 20
    client.sys.revoke_lease(creds["lease_id"])


# PKI engine (builtin/logical/pki path_issue_sign.go pathIssueSignCert): issue/ROLE is a
# write answering a real certificate and key with no lease, expiration = NotAfter.
def test_pki_issue_answers_a_real_certificate_without_a_lease(vault, client):
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    c = client
    before = int(time.time())
    r = c.secrets.pki.generate_certificate(name="web", common_name="app.test",
                                           extra_params={"ttl": "90s"})
    assert r["lease_id"] == "" and r["lease_duration"] == 0 and not r["renewable"]
    d = r["data"]
    assert set(d) >= {"certificate", "issuing_ca", "ca_chain", "private_key",
                      "private_key_type", "serial_number", "expiration"}
    cert = x509.load_pem_x509_certificate(d["certificate"].encode())
    ca = x509.load_pem_x509_certificate(d["issuing_ca"].encode())
    key = serialization.load_pem_private_key(d["private_key"].encode(), None)
    assert cert.subject.rfc4514_string() == "CN=app.test"
    assert cert.issuer == ca.subject and d["ca_chain"] == [d["issuing_ca"]]
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                           ec.ECDSA(cert.signature_hash_algorithm))
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert d["private_key_type"] == "ec"
    assert d["expiration"] == int(cert.not_valid_after.replace(
        tzinfo=datetime.timezone.utc).timestamp())
    assert before + 85 <= d["expiration"] <= int(time.time()) + 91
    assert d["serial_number"] == ":".join("%02x" % b for b in
                                          cert.serial_number.to_bytes(20, "big"))
    # A TTL past the role's max_ttl is capped; a read of issue/ is 405; no CN is 400.
    d2 = c.secrets.pki.generate_certificate(name="web", common_name="b.test",
                                            extra_params={"ttl": "9h"})["data"]
    assert d2["expiration"] <= int(time.time()) + 2 * 3600 + 1
    assert vault.api("GET", "pki/issue/web")[0] == 405
    status, body = vault.api("PUT", "pki/issue/web", {})
    assert status == 400 and "common_name" in body["errors"][0]
    assert vault.api("PUT", "pki/issue/nope", {"common_name": "x"})[0] == 400


# Database static roles (builtin/logical/database path_creds_create.go
# pathStaticCredsRead, rotation.go): a fixed user, its password rotated with ALTER
# ROLE at creation and every rotation_period; static-creds answers no lease.
def test_static_role_rotates_the_password_of_a_fixed_user(vault, pg, client):
    pg.query('DROP ROLE IF EXISTS "lw_static_emu"')
    pg.query('CREATE ROLE "lw_static_emu" LOGIN PASSWORD \'before-rotation\'')
    try:
        client.secrets.database.create_static_role(
            name="app", db_name="pg", username="lw_static_emu",
            rotation_statements=[], rotation_period=5)
        assert not pg.can_login("lw_static_emu", "before-rotation")
        r = client.secrets.database.get_static_credentials(name="app")
        assert r["lease_id"] == "" and r["lease_duration"] == 0
        d = r["data"]
        assert set(d) >= {"username", "password", "ttl", "last_vault_rotation",
                          "rotation_period"}
        assert d["username"] == "lw_static_emu" and d["rotation_period"] == 5
        assert 0 <= d["ttl"] <= 5
        assert pg.can_login("lw_static_emu", d["password"])
        first = d["password"]
        lw.wait_for(lambda: client.secrets.database.get_static_credentials(
            name="app")["data"]["password"] != first, timeout=30, what="a rotation")
        d2 = client.secrets.database.get_static_credentials(name="app")["data"]
        assert not pg.can_login("lw_static_emu", first)
        assert pg.can_login("lw_static_emu", d2["password"])
        assert d2["last_vault_rotation"] != d["last_vault_rotation"]
        assert vault.api("GET", "database/static-creds/nope")[0] == 400
    finally:
        vault.api("DELETE", "database/static-roles/app")
        pg.query('DROP ROLE IF EXISTS "lw_static_emu"')


# The AWS engine (hashicorp/vault builtin/logical/aws path_user.go pathCredsRead,
# secret_access_keys.go): STS credentials are a lease that cannot be renewed, whose
# revocation changes nothing on AWS's side; an IAM user's key is a renewable lease
# deleted at revocation.  The caller-identity route stands in for AWS.
def test_aws_sts_credentials_are_a_non_renewable_lease(vault, client):
    vault.create_aws_role("deploy", default_sts_ttl="20m", max_sts_ttl="1h")
    vault.create_aws_role("fed", credential_type="federation_token")
    r = client.secrets.aws.generate_credentials("deploy", ttl="90s", endpoint="sts")
    assert r["renewable"] is False and r["lease_duration"] == 90
    assert r["lease_id"].startswith("aws/sts/deploy/")
    d = r["data"]
    assert set(d) >= {"access_key", "secret_key", "security_token", "arn"}
    assert d["access_key"].startswith("ASIA") and len(d["secret_key"]) == 40
    # The same path read (GET with the query as data), a role default, a cap.
    r2 = client.secrets.aws.generate_credentials("deploy", ttl="30s", endpoint="creds")
    assert r2["lease_duration"] == 30 and r2["renewable"] is False
    assert client.secrets.aws.generate_credentials("deploy", endpoint="sts")[
        "lease_duration"] == 1200
    assert client.secrets.aws.generate_credentials("deploy", ttl="9h", endpoint="sts")[
        "lease_duration"] == 3600
    assert client.secrets.aws.generate_credentials("fed", endpoint="sts")[
        "lease_duration"] == 3600
    # vault/expiration.go Renew refuses a lease that is not renewable.
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.sys.renew_lease(r["lease_id"])
    assert exc.value.errors == ["lease is not renewable"]
    # The key works; revoking the lease is a no-op for STS (secretAccessKeysRevoke):
    # the key goes on working until its own end.
    assert vault.aws_caller_identity(d["access_key"], d["secret_key"],
                                     d["security_token"])[0] == 200
    assert vault.aws_caller_identity(d["access_key"], "wrong", d["security_token"])[0] == 403
    client.sys.revoke_lease(r["lease_id"])
    assert vault.aws_caller_identity(d["access_key"], d["secret_key"],
                                     d["security_token"])[0] == 200
    with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
        client.secrets.aws.generate_credentials("nope", endpoint="sts")
    assert exc.value.errors == ['Role "nope" not found']
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.aws.create_or_update_role("bad", credential_type="iam_user",
                                                 default_sts_ttl="1m")


def test_aws_sts_key_expires_and_new_keys_wait_for_consistency(vault, client):
    vault.create_aws_role("deploy")
    d = client.secrets.aws.generate_credentials("deploy", ttl="2s", endpoint="sts")["data"]
    check = lambda k: vault.aws_caller_identity(  # noqa: E731
        k["access_key"], k["secret_key"], k["security_token"])
    assert check(d)[0] == 200
    wait_until(lambda: check(d)[0] == 403, timeout=10, message="the STS key to expire")
    assert "ExpiredToken" in check(d)[1]["error"]
    vault.aws_consistency(1.5)
    t0 = time.time()
    d2 = client.secrets.aws.generate_credentials("deploy", ttl="60s", endpoint="sts")["data"]
    status, body = check(d2)
    if time.time() - t0 < 1.4:
        assert status == 403 and "InvalidClientTokenId" in body["error"]
    wait_until(lambda: check(d2)[0] == 200, timeout=10, message="the new key to settle")
    assert time.time() - t0 >= 1.4
    events = [e for e in vault.journal() if e.get("kind") == "aws"
              and e.get("event") == "caller_identity"]
    assert events and all(e["access_key"] != d2["secret_key"] for e in events)


def test_aws_iam_user_key_is_renewable_and_deleted_at_revoke(vault, client):
    vault.create_aws_role("app", credential_type="iam_user")
    client.secrets.aws.configure_lease("30s", "60s")
    r = client.secrets.aws.generate_credentials("app")
    assert r["renewable"] is True and r["lease_duration"] == 30
    d = r["data"]
    assert d["access_key"].startswith("AKIA") and d["security_token"] is None
    assert client.sys.renew_lease(r["lease_id"], increment=30)["lease_duration"] == 30
    assert vault.aws_caller_identity(d["access_key"], d["secret_key"])[0] == 200
    client.sys.revoke_lease(r["lease_id"])
    assert vault.aws_caller_identity(d["access_key"], d["secret_key"])[0] == 403


# PKI revoke (builtin/logical/pki path_revoke.go pathRevokeWrite, crl_util.go revokeCert).
def test_pki_revoke_by_serial(vault, client):
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    d = client.secrets.pki.generate_certificate(name="web", common_name="a.test")["data"]
    before = time.time()
    r = client.secrets.pki.revoke_certificate(d["serial_number"])
    body = r.json() if hasattr(r, "json") else r
    data = body["data"]
    assert abs(data["revocation_time"] - before) < 5
    assert data["revocation_time_rfc3339"].endswith("Z")
    assert vault.pki_serials()["revoked"] == [d["serial_number"]]
    assert data["state"] == "revoked"
    # Again: the first revocation time.
    again = vault.api("PUT", "pki/revoke", {"serial_number": d["serial_number"]})[1]
    assert again["data"]["revocation_time"] == data["revocation_time"]
    assert again["data"]["state"] == "revoked"
    status, body = vault.api("PUT", "pki/revoke", {"serial_number": "01:02"})
    assert status == 400 and body["errors"] == ["certificate with serial 01:02 not found."]
    status, body = vault.api("PUT", "pki/revoke", {})
    assert status == 400 and "must be provided" in body["errors"][0]
    status, body = vault.api("PUT", "pki/revoke", {"serial_number": d["serial_number"],
                                                   "certificate": d["certificate"]})
    assert status == 400 and body["errors"] == [
        "Must provide either the certificate or the serial to revoke; not both."]


# crl_util.go revokeCert: a certificate that has expired (or does within 2 s) is not
# put on the CRL: 200 with a warning and no data; it stays unrevoked.
def test_pki_revoke_of_an_expired_certificate_is_a_warning(vault, client):
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    d = client.secrets.pki.generate_certificate(name="web", common_name="a.test",
                                                extra_params={"ttl": "1s"})["data"]
    status, body = vault.api("PUT", "pki/revoke", {"serial_number": d["serial_number"]})
    assert status == 200 and body["data"] is None
    assert body["warnings"] == ["certificate with serial %s already expired; refusing to "
                                "add to CRL" % d["serial_number"]]
    assert vault.pki_serials()["revoked"] == []
