"""Black-box tests of how leasewrap reaches Vault (issue 10 items 3, 5, 6, 8; issue 15
item 2): HA standbys' 307 redirects, https:// to plain HTTP, addresses ending in /v1, Vault
Agent on a unix socket with --auth none, VAULT_CLIENT_TIMEOUT, VAULT_PROXY_ADDR, and the
plain-http guard on the real host.  Each behaviour is the Go client's (api/client.go)."""
import os
import shutil
import signal
import tempfile

import pytest

import lw
from conftest import _emulator
from lw import free_port  # noqa: F401 (a fixture)

RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]
# A command that outlives a few renewals of a 2 s lease; the test stops it.
LONG = ["--", "sh", "-c", "echo started; exec sleep 60"]


@pytest.fixture
def ha_vault(pg, request):
    """An emulator with a standby node that redirects to it (vaultemu --standby-listen)."""
    yield from _emulator(pg, request, extra_args=["--standby-listen", "127.0.0.1:0"])


@pytest.fixture
def short_dir():
    """A folder with a short path: a unix socket's path is at most 107 bytes."""
    d = tempfile.mkdtemp(prefix="lw-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def mark(vault):
    """The journal's last sequence number: what the test set up comes before it."""
    ev = vault.journal()
    return ev[-1]["seq"] if ev else 0


def vault_requests(vault, kind="request", since=0):
    """(method, path) of every Vault API request of one kind the emulator journaled."""
    return [(e["method"], e["path"]) for e in vault.journal(since) if e.get("kind") == kind]


def run_until_renewed(env, vault, args=RO):
    """Start leasewrap, wait until it renewed a lease twice, SIGTERM it; (code, stderr)."""
    p = lw.start(args + LONG, env=env)
    try:
        lw.wait_for(lambda: sum(1 for e in vault.journal() if e.get("kind") == "request"
                                and e.get("path") == "sys/leases/renew"
                                and e.get("status") == 200) >= 2,
                    timeout=lw.TIMEOUT, what="two renewals")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    return p.returncode, err


# ---- item 3: redirects ------------------------------------------------------

def test_every_request_through_a_standby(ha_vault, pg):
    """Reads, renewals, the token lookup and revocations each get a 307 from the
    standby and are sent again, same method, body and token, to the active node."""
    vault = ha_vault
    assert vault.standby_addr and vault.standby_addr != vault.addr
    vault.create_db_role("ro", default_ttl=2, max_ttl=60)
    token = vault.create_token(policies=["root"], ttl="1h")
    env = lw.base_env(vault, pg, VAULT_ADDR=vault.standby_addr, VAULT_TOKEN=token)
    since = mark(vault)
    code, err = run_until_renewed(env, vault)
    assert code == 128 + signal.SIGTERM or code == 143, err
    lw.assert_no_lease_left(vault, pg)
    standby = vault_requests(vault, "standby", since)
    active = vault_requests(vault, since=since)
    # Every request the active node answered came through the standby first.
    assert sorted(standby) == sorted(active), (standby, active)
    kinds = {p for _, p in standby}
    assert {"database/creds/ro", "sys/leases/renew", "sys/leases/revoke",
            "auth/token/lookup-self"} <= kinds, kinds
    assert all(e["has_token"] for e in vault.journal() if e["kind"] == "standby")
    # The renewals and revocations kept their PUT and JSON body through the redirect.
    assert [e for e in vault.journal() if e.get("kind") == "request"
            and e["path"] in ("sys/leases/renew", "sys/leases/revoke")
            and e["status"] >= 400] == []
    assert "redirect" not in lw.log_text(err, "warn")


def test_login_and_its_token_through_a_standby(ha_vault, pg, tmp_path):
    """An AppRole login (a PUT with a JSON body and no token) through the standby's 307:
    the body is sent again, the login token is then used, and revoked at exit."""
    vault = ha_vault
    vault.create_db_role("ro", default_ttl=30, max_ttl=120)
    vault.enable_auth("approle")
    role_id = vault.approle_role("web", token_policies=["root"], token_ttl="1m")
    sid = tmp_path / "sid"
    sid.write_text(vault.approle_secret_id("web") + "\n")
    sid.chmod(0o600)
    env = lw.base_env(None, pg, VAULT_ADDR=vault.standby_addr)
    since = mark(vault)
    r = lw.run(["--auth", "approle", "--role-id", role_id, "--secret-id-file", str(sid)] +
               RO + ["--", "sh", "-c", 'test -n "$PGPASSWORD"'], env=env)
    assert r.returncode == 0, r.stderr
    standby = vault_requests(vault, "standby", since)
    assert ("PUT", "auth/approle/login") in standby, standby
    assert ("PUT", "auth/token/revoke-self") in standby, standby
    assert sorted(standby) == sorted(vault_requests(vault, since=since))
    lw.assert_no_lease_left(vault, pg)
    lw.wait_for(lambda: [t for t in vault.tokens()
                         if (t.get("path") or "").startswith("auth/approle/login")] == [],
                what="the login token revoked")


def test_a_second_redirect_is_refused(pg, request, free_port):
    """A standby whose "active" address is itself: one redirect is followed, the second
    is refused at once with exit 78 (the Go client follows one)."""
    gen = _emulator(pg, request, extra_args=[
        "--standby-listen", "127.0.0.1:%d" % free_port,
        "--standby-leader", "http://127.0.0.1:%d" % free_port])
    vault = next(gen)
    try:
        env = lw.base_env(vault, pg, VAULT_ADDR=vault.standby_addr)
        since = mark(vault)
        r = lw.run(RO + ["--", "true"], env=env)
        assert r.returncode == lw.EXIT_CONFIG, r.stderr
        line = lw.one_line(r.stderr)
        assert "redirected a second time" in line and "api_addr" in line
        assert len(vault_requests(vault, "standby")) == 2
        assert vault_requests(vault, since=since) == []
    finally:
        gen.close()


def test_redirects_disabled(ha_vault, pg):
    """VAULT_DISABLE_REDIRECTS=true: the 307 is not followed; one line, exit 78."""
    env = lw.base_env(ha_vault, pg, VAULT_ADDR=ha_vault.standby_addr,
                      VAULT_DISABLE_REDIRECTS="true")
    since = mark(ha_vault)
    r = lw.run(RO + ["--", "true"], env=env)
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    assert "redirects are off (VAULT_DISABLE_REDIRECTS)" in lw.one_line(r.stderr)
    assert len(vault_requests(ha_vault, "standby")) == 1
    assert vault_requests(ha_vault, since=since) == []
    bad = lw.run(RO + ["--", "true"], env=dict(env, VAULT_DISABLE_REDIRECTS="maybe"))
    assert bad.returncode == lw.EXIT_CONFIG
    assert "VAULT_DISABLE_REDIRECTS" in lw.one_line(bad.stderr)


def test_https_to_http_redirect_is_refused(pg, pki, request):
    """An https:// standby redirecting to http:// is a downgrade: refused, exit 78."""
    gen = _emulator(pg, request, tls=pki, extra_args=[
        "--standby-listen", "127.0.0.1:0", "--standby-leader", "http://127.0.0.1:1"])
    vault = next(gen)
    try:
        assert vault.standby_addr.startswith("https://")
        env = lw.base_env(vault, pg, VAULT_ADDR=vault.standby_addr,
                          VAULT_CACERT=vault.ca_cert)
        r = lw.run(RO + ["--", "true"], env=env)
        assert r.returncode == lw.EXIT_CONFIG, r.stderr
        assert "protocol downgrade is refused" in lw.one_line(r.stderr)
    finally:
        gen.close()


def test_standby_without_an_active_node(pg, request):
    """The emulator's standby with no active node answers 503 "no active Vault instance
    found" (respondStandby); leasewrap retries it as unavailable, then exits 69."""
    gen = _emulator(pg, request, extra_args=[
        "--standby-listen", "127.0.0.1:0", "--standby-leader", ""])
    vault = next(gen)
    try:
        env = lw.base_env(vault, pg, VAULT_ADDR=vault.standby_addr)
        r = lw.run(RO + ["--start-timeout", "2s", "--", "true"], env=env)
        assert r.returncode == lw.EXIT_UNAVAILABLE, r.stderr
        assert "no active Vault instance found" in lw.log_text(r.stderr, "error")
    finally:
        gen.close()


# ---- item 5: addresses that cannot work ----------------------------------------

def test_https_to_a_plain_http_server(vault, pg):
    """https:// to a plain-HTTP port is a configuration error: exit 78 at once with
    the hint, not a minute of "cannot reach Vault" (the deadline is generous)."""
    env = lw.base_env(vault, pg, VAULT_ADDR=vault.addr.replace("http://", "https://"))
    r = lw.run(RO + ["--", "true"], env=env, timeout=30)
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    line = lw.one_line(r.stderr)
    assert "the server answered plain HTTP; use http://" in line
    assert "retrying" not in lw.log_text(r.stderr)


@pytest.mark.parametrize("suffix", ["/v1", "/v1/"])
def test_vault_addr_ending_in_v1(vault, pg, suffix):
    """The Go client would request /v1/v1/...: say so, exit 78, send nothing."""
    env = lw.base_env(vault, pg, VAULT_ADDR=vault.addr + suffix)
    since = mark(vault)
    r = lw.run(RO + ["--", "true"], env=env)
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    assert "ends in /v1; drop it" in lw.one_line(r.stderr)
    assert vault_requests(vault, since=since) == []


# ---- item 6: Vault Agent on a unix socket, --auth none ------------------------------

def test_agent_on_a_unix_socket_with_auth_none(pg, request, short_dir):
    """VAULT_AGENT_ADDR=unix://... wins over a VAULT_ADDR that points nowhere; with
    --auth none no token is sent, the Agent's auto-auth token is used for the read,
    every renewal and the revocation, and leasewrap never looks a token up."""
    sock = os.path.join(short_dir, "agent.sock")
    gen = _emulator(pg, request, extra_args=["--agent-socket", sock])
    vault = next(gen)
    try:
        vault.create_db_role("ro", default_ttl=2, max_ttl=60)
        vault.agent_token(vault.create_token(policies=["root"], ttl="1h"))
        env = lw.base_env(None, pg, VAULT_ADDR="http://127.0.0.1:1",
                          VAULT_AGENT_ADDR="unix://" + sock)
        since = mark(vault)
        code, err = run_until_renewed(env, vault, RO + ["--auth", "none"])
        assert code == 143, err
        lw.assert_no_lease_left(vault, pg)
        agent = [e for e in vault.journal(since) if e.get("kind") == "agent"]
        paths = {e["path"] for e in agent}
        assert {"database/creds/ro", "sys/leases/renew", "sys/leases/revoke"} <= paths
        assert all(e["auto_auth"] for e in agent), agent
        assert not [p for p in paths if p.startswith("auth/token/")], paths
        assert sorted((e["method"], e["path"]) for e in agent) == \
            sorted(vault_requests(vault, since=since))
    finally:
        gen.close()


def test_auth_none_sends_no_token(vault, pg):
    """--auth none ignores VAULT_TOKEN: Vault itself then refuses the read (403)."""
    since = mark(vault)
    r = lw.run(RO + ["--auth", "none", "--", "true"], env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_NOPERM, r.stderr
    sent = [e for e in vault.journal(since) if e.get("kind") == "request"]
    assert sent and all(e["token_accessor"] is None for e in sent), sent


# ---- item 8: the Vault CLI's other variables ---------------------------------

def test_vault_client_timeout(vault, pg):
    """VAULT_CLIENT_TIMEOUT=1 bounds each request to a second (default 30 s): a read
    held for 20 s times out and is retried, and the retry succeeds."""
    vault.create_db_role("ro", default_ttl=60, max_ttl=120)
    vault.fault(mode="slow", delay=20, paths=["database/creds/ro"], count=1)
    env = lw.base_env(vault, pg, VAULT_CLIENT_TIMEOUT="1")
    r = lw.run(RO + ["--", "true"], env=env)
    assert r.returncode == 0, r.stderr
    assert "timed out" in lw.log_text(r.stderr, "warn").lower()
    bad = lw.run(RO + ["--", "true"], env=dict(env, VAULT_CLIENT_TIMEOUT="soon"))
    assert bad.returncode == lw.EXIT_CONFIG
    assert "VAULT_CLIENT_TIMEOUT" in lw.one_line(bad.stderr)


@pytest.mark.parametrize("var", ["VAULT_PROXY_ADDR", "VAULT_HTTP_PROXY"])
def test_vault_proxy_addr(vault, pg, var):
    """Every request goes through the proxy, whatever NO_PROXY says (the Go client sets
    http.ProxyURL): the emulator serves absolute-URI requests, so it is the proxy here
    for a Vault host name that does not resolve."""
    vault.create_db_role("ro", default_ttl=60, max_ttl=120)
    env = lw.base_env(vault, pg, VAULT_ADDR="http://vault.invalid:8200",
                      NO_PROXY="vault.invalid", no_proxy="vault.invalid", **{var: vault.addr})
    since = mark(vault)
    r = lw.run(RO + ["--insecure-http", "--", "sh", "-c", 'test -n "$PGPASSWORD"'], env=env)
    assert r.returncode == 0, r.stderr
    assert ("GET", "database/creds/ro") in vault_requests(vault, since=since)
    lw.assert_no_lease_left(vault, pg)


# ---- issue 15 item 2: the plain-http guard decides on the real host -------------------

@pytest.mark.parametrize("addr", ["http://127.0.0.1@vault.example.com:8200",
                                  "http://[::1]@vault.example.com",
                                  "http://localhost:hunter22@vault.example.com"])
def test_userinfo_in_vault_addr_is_refused(addr):
    """The host is what follows "@": refused, and the text before it never printed."""
    r = lw.run(RO + ["--", "true"], env=lw.base_env(VAULT_ADDR=addr, VAULT_TOKEN="hvs.sekrit"))
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    line = lw.one_line(r.stderr)
    assert "user name or password" in line
    assert "hunter22" not in r.stderr and "@vault" not in r.stderr and "hvs.sekrit" not in r.stderr


@pytest.mark.parametrize("addr", ["http://127.0.0.1.nip.example:8200",
                                  "http://127.attacker.example"])
def test_host_that_starts_with_127_is_not_loopback(addr):
    r = lw.run(RO + ["--", "true"], env=lw.base_env(VAULT_ADDR=addr, VAULT_TOKEN="hvs.sekrit"))
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    assert "--insecure-http" in lw.one_line(r.stderr)
