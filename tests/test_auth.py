"""Black-box tests of logging in (AppRole, Kubernetes, JWT, cert), the login
token's whole life, and TLS, against the emulator and a real PostgreSQL."""
import json
import os
import signal
import time

import pytest

import harness
import lw

PSQL = "/usr/bin/psql"
RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]
WHOAMI = ["--", PSQL, "-tAc", "select current_user"]
APP_POLICY = '''
path "database/creds/ro" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
'''


@pytest.fixture
def app(vault):
    """A database role and the policy a login gets."""
    vault.create_db_role("ro", default_ttl=30, max_ttl=120)
    vault.put_policy("app", APP_POLICY)
    return vault


def secret_file(tmp_path, name, text, mode=0o600):
    p = tmp_path / name
    p.write_text(text + "\n")
    p.chmod(mode)
    return str(p)


def login_tokens_alive(vault, path_prefix):
    return [t for t in vault.tokens() if (t.get("path") or "").startswith(path_prefix)]


def assert_clean(vault, pg, login_path):
    lw.assert_no_lease_left(vault, pg)
    lw.wait_for(lambda: login_tokens_alive(vault, login_path) == [],
                what="the login token revoked")


def env_without_token(vault, pg, **extra):
    env = lw.base_env(vault, pg, **extra)
    env.pop("VAULT_TOKEN")
    return env


def test_approle_login_reads_and_revokes_everything(app, pg, tmp_path):
    app.enable_auth("approle")
    role_id = app.approle_role("web", token_policies=["app"], token_ttl="1m",
                               token_max_ttl="5m")
    sid = secret_file(tmp_path, "sid", app.approle_secret_id("web"))
    r = lw.run(["--auth", "approle", "--role-id", role_id, "--secret-id-file",
                sid] + RO + WHOAMI, env=env_without_token(app, pg))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("v-approle-")
    assert_clean(app, pg, "auth/approle/login")
    lw.assert_no_secret(r.stderr, app)


def test_approle_wrapped_secret_id_once_only(app, pg, tmp_path):
    app.enable_auth("approle")
    role_id = app.approle_role("web", token_policies=["app"])
    wrapped = secret_file(tmp_path, "wrapped",
                          app.approle_secret_id("web", wrap_ttl="60s"))
    args = ["--auth", "approle", "--role-id", role_id, "--secret-id-file",
            wrapped, "--secret-id-wrapped"] + RO + WHOAMI
    r = lw.run(args, env=env_without_token(app, pg))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("v-")
    # A second use means someone else may have unwrapped it first.
    r = lw.run(args, env=env_without_token(app, pg))
    assert r.returncode == lw.EXIT_NOPERM
    assert "intercepted" in lw.one_line(r.stderr)
    assert_clean(app, pg, "auth/approle/login")


def test_approle_bad_secret_id_shows_vaults_message(app, pg, tmp_path):
    app.enable_auth("approle")
    role_id = app.approle_role("web", token_policies=["app"])
    sid = secret_file(tmp_path, "sid", "not-the-secret-id")
    r = lw.run(["--auth", "approle", "--role-id", role_id, "--secret-id-file",
                sid] + RO + WHOAMI, env=env_without_token(app, pg))
    assert r.returncode == lw.EXIT_NOPERM
    line = lw.one_line(r.stderr)
    assert "invalid role or secret ID" in line and "not-the-secret-id" not in r.stderr


def test_secret_id_file_readable_by_others_warns(app, pg, tmp_path):
    app.enable_auth("approle")
    role_id = app.approle_role("web", token_policies=["app"])
    sid = secret_file(tmp_path, "sid", app.approle_secret_id("web"), 0o644)
    r = lw.run(["--auth", "approle", "--role-id", role_id, "--secret-id-file",
                sid] + RO + ["--", "true"], env=env_without_token(app, pg))
    assert r.returncode == 0, r.stderr
    assert "chmod 600" in lw.log_text(r.stderr) and sid in lw.log_text(r.stderr)


def test_kubernetes_login_rereads_the_jwt(app, pg, tmp_path):
    app.enable_auth("kubernetes")
    app.k8s_configure()
    app.k8s_role("app", ["app-sa"], ["default"], token_policies=["app"],
                 token_ttl="1m")
    jwt = secret_file(tmp_path, "token",
                      harness.k8s_jwt("default", "app-sa"))
    r = lw.run(["--auth", "kubernetes", "--auth-role", "app", "--jwt-file",
                jwt] + RO + WHOAMI, env=env_without_token(app, pg))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("v-kubernet")
    assert_clean(app, pg, "auth/kubernetes/login")
    # An expired service-account token is refused with Vault's 403.
    secret_file(tmp_path, "token", harness.k8s_jwt("default", "app-sa",
                                                    exp=int(time.time()) - 60))
    r = lw.run(["--auth", "kubernetes", "--auth-role", "app", "--jwt-file",
                jwt] + RO + WHOAMI, env=env_without_token(app, pg))
    assert r.returncode == lw.EXIT_NOPERM
    line = lw.one_line(r.stderr)
    assert "403" in line and "permission denied" in line
    lw.assert_no_secret(r.stderr, app)


def test_kubernetes_wrong_role_is_vaults_400(app, pg, tmp_path):
    app.enable_auth("kubernetes")
    app.k8s_configure()
    jwt = secret_file(tmp_path, "token", harness.k8s_jwt("default", "app-sa"))
    r = lw.run(["--auth", "kubernetes", "--auth-role", "nope", "--jwt-file",
                jwt] + RO + WHOAMI, env=env_without_token(app, pg))
    assert r.returncode == lw.EXIT_NOPERM
    assert 'invalid role name "nope"' in lw.log_text(r.stderr)


def test_jwt_login_and_expired_jwt(app, pg, tmp_path):
    app.enable_auth("jwt")
    app.jwt_configure(bound_issuer="https://ci.example")
    app.jwt_role("ci", bound_audiences=["vault"], token_policies=["app"])
    claims = {"sub": "pipeline-7", "aud": "vault", "iss": "https://ci.example",
              "exp": int(time.time()) + 600, "iat": int(time.time())}
    jwt = secret_file(tmp_path, "jwt", harness.make_jwt(claims))
    args = ["--auth", "jwt", "--auth-role", "ci", "--jwt-file", jwt] + RO + WHOAMI
    r = lw.run(args, env=env_without_token(app, pg))
    assert r.returncode == 0, r.stderr
    assert_clean(app, pg, "auth/jwt/login")
    claims["exp"] = int(time.time()) - 3600
    secret_file(tmp_path, "jwt", harness.make_jwt(claims))
    r = lw.run(args, env=env_without_token(app, pg))
    assert r.returncode == lw.EXIT_NOPERM
    assert "expired" in lw.log_text(r.stderr)


def test_cert_login_over_verified_tls(vault_tls, pg, pki):
    v = vault_tls
    v.create_db_role("ro", default_ttl=30, max_ttl=120)
    v.put_policy("app", APP_POLICY)
    v.enable_auth("cert")
    v.cert_role("app", pki.ca_cert, token_policies=["app"])
    env = env_without_token(v, pg, VAULT_CACERT=pki.ca_cert,
                            VAULT_CLIENT_CERT=pki.client_cert,
                            VAULT_CLIENT_KEY=pki.client_key)
    r = lw.run(["--auth", "cert", "--auth-role", "app"] + RO + WHOAMI, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("v-cert")
    assert_clean(v, pg, "auth/cert/login")


def test_tls_verification_failure_then_cacert_then_skip(vault_tls, pg, pki):
    v = vault_tls
    v.kv_put("app", {"k": "tls-ok-value"})
    args = ["-s", "K=secret/data/app#k", "--", "env"]
    r = lw.run(args, env=lw.base_env(v))
    assert r.returncode == lw.EXIT_CONFIG
    assert "VAULT_CACERT" in lw.one_line(r.stderr)
    # Nothing reached the server: the handshake failed before any request.
    assert lw.reads(v, "secret/data/app") == 0
    r = lw.run(args, env=lw.base_env(v, VAULT_CACERT=pki.ca_cert))
    assert r.returncode == 0, r.stderr
    assert "K=tls-ok-value" in r.stdout.splitlines()
    r = lw.run(args, env=lw.base_env(v, VAULT_SKIP_VERIFY="1"))
    assert r.returncode == 0, r.stderr
    assert "NOT VERIFYING" in lw.log_text(r.stderr)


def test_certificate_for_another_name(pg, pki, request):
    v = harness.VaultEmulator().start(tls=pki, tls_cert="wrong")
    request.addfinalizer(v.stop)
    # Run first: what leasewrap printed, scanned as for the `vault` fixture.
    request.addfinalizer(lambda: lw.scan(v.secrets(), request.node.nodeid))
    v.kv_put("app", {"k": "name-ok"})
    args = ["-s", "K=secret/data/app#k", "--", "env"]
    env = lw.base_env(v, VAULT_CACERT=pki.ca_cert)
    r = lw.run(args, env=env)
    assert r.returncode == lw.EXIT_CONFIG
    assert "VAULT_TLS_SERVER_NAME" in lw.log_text(r.stderr)
    env["VAULT_TLS_SERVER_NAME"] = "wrong.example"
    r = lw.run(args, env=env)
    assert r.returncode == 0, r.stderr
    assert "K=name-ok" in r.stdout.splitlines()


def approle_login(app, tmp_path, **role):
    """The options of an AppRole login to role "web" with these token settings."""
    app.enable_auth("approle")
    role_id = app.approle_role("web", token_policies=["app"], **role)
    sid = secret_file(tmp_path, "sid", app.approle_secret_id("web"))
    return ["--auth", "approle", "--role-id", role_id, "--secret-id-file", sid]


def test_login_token_renewed_then_relogin_no_auth_failure(app, pg, tmp_path):
    """A login token with a 2 s TTL and 6 s max TTL, over more than two max
    TTLs: renewed, then new logins; credentials leased under an old token
    are replaced before it dies, so the command never sees an
    authentication failure."""
    login = approle_login(app, tmp_path, token_ttl="2s", token_max_ttl="6s")
    log = str(tmp_path / "probe.log")
    p = lw.start(login + ["--kill-timeout", "1s"] + RO +
                 ["--", "/usr/bin/python3",
                  os.path.join(lw.ROOT, "tests", "pgprobe.py"), log],
                 env=env_without_token(app, pg))

    def events():
        try:
            return [json.loads(l) for l in open(log) if l.endswith("\n")]
        except FileNotFoundError:
            return []
    try:
        lw.wait_for(lambda: len({e["user"] for e in events()
                                 if e["event"] == "query" and e["ok"]}) >= 3,
                    timeout=90, what="credentials under a third token")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    queries = [e for e in events() if e["event"] == "query"]
    assert queries and all(e["ok"] for e in queries), \
        [e for e in queries if not e["ok"]][:3]
    assert len([e for e in app.logins() if e.get("status") == 200]) >= 3
    assert "token renewed" in lw.log_text(err)
    assert_clean(app, pg, "auth/approle/login")
    lw.assert_no_secret(err, app)


def test_user_token_is_never_revoked(app, pg):
    token = app.create_token(policies=["app"], ttl="1h")
    r = lw.run(RO + ["--", "true"], env=lw.base_env(app, pg, VAULT_TOKEN=token))
    assert r.returncode == 0, r.stderr
    status, body = app.api("GET", "auth/token/lookup-self", token=token)
    assert status == 200


def test_short_login_token_scales_the_margins(app, pg, tmp_path):
    """A renewable 3 s login token capped at 6 s, 20 s database leases and
    the default --kill-timeout: the stop budget scales with the token's
    life (min(10 s, 3 s / 4) + min(0.5 s, 3 s / 8)), so leasewrap neither
    gives up at start nor renews the token in a loop, and a command that
    connects every 0.2 s for 16 s never fails to connect."""
    app.create_db_role("ro", default_ttl=20, max_ttl=60)
    login = approle_login(app, tmp_path, token_ttl="3s", token_max_ttl="6s")
    log = str(tmp_path / "probe.log")
    p = lw.start(login + RO + ["--", "/usr/bin/python3",
                               os.path.join(lw.ROOT, "tests", "pgprobe.py"), log],
                 env=env_without_token(app, pg))

    def queries():
        try:
            return [e for e in (json.loads(l) for l in open(log) if l.endswith("\n"))
                    if e["event"] == "query"]
        except FileNotFoundError:
            return []
    try:
        lw.wait_for(lambda: p.poll() is not None or len(queries()) > 1 and
                    queries()[-1]["t"] - queries()[0]["t"] >= 16,
                    timeout=90, what="16 s of queries")
        assert p.poll() is None, lw.log_text(p.stderr_so_far())
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert queries() and all(e["ok"] for e in queries()), \
        [e for e in queries() if not e["ok"]][:3]
    renewals = [e for e in app.journal() if e.get("kind") == "request" and
                e.get("path") == "auth/token/renew-self"]
    # Renewed at most every (3 s - stop) * 2/3 = 1.25 s, not in a loop.
    print("%d token renewals, %d logins in %.1f s" % (
        len(renewals), len(app.logins()), queries()[-1]["t"] - queries()[0]["t"]))
    assert 0 < len(renewals) <= 16 / 1.25 * 2, len(renewals)
    assert_clean(app, pg, "auth/approle/login")
