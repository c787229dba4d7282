"""The production transport: TLS + HTTP/2 through a real HTTP/2 server
(nghttpx), the trust set as the Vault CLI builds it (VAULT_CACERT alone,
VAULT_CAPATH without hash links), and Retry-After as the floor of a retry.

Section numbers (§) refer to /work/shared/vault-api.md.
"""

import os
import shutil
import signal
import subprocess

import pytest

import harness
import lw

KV = ["-s", "K=secret/data/app#k"]
DB = ["-s", "PGUSER=database/creds/ro#username", "-s", "PGPASSWORD=database/creds/ro#password"]
# A command that ends with 0 when leasewrap forwards SIGTERM.
WAIT_FOR_TERM = ["--", "sh", "-c", 'trap "exit 0" TERM; sleep 60 & wait']


@pytest.fixture
def system_store(pki, tmp_path):
    """A prefix that runs leasewrap in a private mount namespace whose
    /etc/ssl/certs is the system's store plus the test CA (hash link and
    bundle both, as update-ca-certificates writes them): "a public CA"."""
    store = str(tmp_path / "certs")
    shutil.copytree("/etc/ssl/certs", store, symlinks=True)
    shutil.copy(pki.ca_cert, os.path.join(store, "lw-test-ca.pem"))
    subprocess.run(["openssl", "rehash", store], check=True, capture_output=True)
    with open(pki.ca_cert, encoding="ascii") as src, \
            open(os.path.join(store, "ca-certificates.crt"), "a", encoding="ascii") as dst:
        dst.write(src.read())
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/ssl/certs && exec "$@"', store]


def test_system_store_trusts_vault_without_cacert(vault_tls, system_store):
    vault_tls.kv_put("app", {"k": "system-store-ok"})
    r = lw.run(KV + ["--", "env"], env=lw.base_env(vault_tls), prefix=system_store)
    assert r.returncode == 0, r.stderr
    assert "K=system-store-ok" in r.stdout.splitlines()


def test_cacert_is_the_whole_trust_set(vault_tls, pki, system_store):
    """VAULT_CACERT names the only CAs trusted, as in the Vault CLI: a CA
    in the system store (which libcurl's own CA folder would add) does not
    vouch for Vault."""
    vault_tls.kv_put("app", {"k": "must-not-leak"})
    env = lw.base_env(vault_tls, VAULT_CACERT=pki.other_ca_cert)
    r = lw.run(KV + ["--", "env"], env=env, prefix=system_store)
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    assert "VAULT_CACERT" in lw.one_line(r.stderr)
    assert lw.reads(vault_tls, "secret/data/app") == 0


def test_capath_without_hash_links(vault_tls, pki, tmp_path):
    """VAULT_CAPATH as go-rootcerts reads it: every PEM file in the folder
    (and below), no `openssl rehash` needed."""
    vault_tls.kv_put("app", {"k": "capath-ok"})
    folder = tmp_path / "cas" / "nested"
    folder.mkdir(parents=True)
    shutil.copy(pki.other_ca_cert, str(tmp_path / "cas" / "a-other.pem"))
    shutil.copy(pki.ca_cert, str(folder / "vault-ca.crt"))
    assert not [n for n in os.listdir(str(folder)) if n.endswith(".0")]
    r = lw.run(KV + ["--", "env"], env=lw.base_env(vault_tls, VAULT_CAPATH=str(tmp_path / "cas")))
    assert r.returncode == 0, r.stderr
    assert "K=capath-ok" in r.stdout.splitlines()


def test_capath_is_the_whole_trust_set(vault_tls, pki, tmp_path, system_store):
    folder = tmp_path / "other"
    folder.mkdir()
    shutil.copy(pki.other_ca_cert, str(folder / "other.pem"))
    env = lw.base_env(vault_tls, VAULT_CAPATH=str(folder))
    r = lw.run(KV + ["--", "true"], env=env, prefix=system_store)
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    assert lw.reads(vault_tls, "secret/data/app") == 0


def test_capath_with_a_file_that_is_no_certificate(vault_tls, pki, tmp_path):
    folder = tmp_path / "cas"
    folder.mkdir()
    shutil.copy(pki.ca_cert, str(folder / "ca.pem"))
    (folder / "README").write_text("not a certificate\n")
    r = lw.run(KV + ["--", "true"], env=lw.base_env(vault_tls, VAULT_CAPATH=str(folder)))
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    line = lw.one_line(r.stderr, "error")
    assert "README" in line and "VAULT_CAPATH" in line


def test_retry_after_is_the_floor_of_the_next_try(vault):
    """A rate-limit quota with a block interval answers 429 with Retry-After
    (vault/quotas/quotas_rate_limit.go allow); every retry leasewrap makes
    comes at least that many seconds after the 429 (journal times)."""
    vault.kv_put("a", {"k": "one"})
    vault.kv_put("b", {"k": "two"})
    vault._ok(vault.api("PUT", "sys/quotas/config",
                        {"enable_rate_limit_response_headers": True}), "quota config")
    vault._ok(vault.api("PUT", "sys/quotas/rate-limit/rl",
                        {"path": "secret/", "rate": 1, "interval": "1s",
                         "block_interval": "3s"}), "quota")
    r = lw.run(["-s", "A=secret/data/a#k", "-s", "B=secret/data/b#k", "--", "env"],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert {"A=one", "B=two"} <= set(r.stdout.splitlines())
    reqs = [e for e in vault.journal() if e["kind"] == "request"
            and e["path"].startswith("secret/data/")]
    limited = [e for e in reqs if e["status"] == 429 and int(e.get("retry_after") or 0) > 0]
    assert limited, reqs
    for e in limited:
        later = [n for n in reqs if n["path"] == e["path"] and n["seq"] > e["seq"]]
        assert later, "no retry after %r" % e
        assert later[0]["time"] - e["time"] >= int(e["retry_after"]), (e, later[0])


def test_login_token_revoke_is_retried_after_a_429(vault, tmp_path):
    """At exit, a revoke-self refused by a rate-limit quota (429, Retry-After:
    vault/quotas/quotas_rate_limit.go RateLimitQuota.allow) is tried again
    within the revocation window, no sooner than Retry-After, as a lease's
    revocation is: the login token does not outlive leasewrap."""
    vault.kv_put("a", {"k": "one"})
    vault.enable_auth("approle")
    role_id = vault.approle_role("app", token_policies=["default", "kv-read"])
    vault.put_policy("kv-read", 'path "secret/data/a" { capabilities = ["read"] }')
    sid = tmp_path / "sid"
    sid.write_text(vault.approle_secret_id("app"))
    sid.chmod(0o600)
    vault.fault(mode="status", status=429, paths=["auth/token/revoke-self"], count=1,
                retry_after=1, errors=["request path \"auth/token/revoke-self\": rate limit "
                                       "quota exceeded"])
    env = lw.base_env(vault)
    del env["VAULT_TOKEN"]
    r = lw.run(["--auth", "approle", "--role-id", role_id, "--secret-id-file", str(sid),
                "-s", "A=secret/data/a#k", "--", "true"], env=env)
    assert r.returncode == 0, r.stderr
    assert "retrying" in r.stderr, r.stderr
    revokes = [e for e in vault.journal() if e["kind"] == "request"
               and e["path"] == "auth/token/revoke-self"]
    assert [e["status"] for e in revokes] == [429, 204], revokes
    assert revokes[1]["time"] - revokes[0]["time"] >= 1, revokes
    logins = [e for e in vault.journal() if e["kind"] == "request"
              and e["path"] == "auth/approle/login"]
    assert len(logins) == 1, logins
    assert not [t for t in vault.tokens() if t["path"].startswith("auth/approle/login")]


@pytest.fixture
def h2(vault, pki):
    """nghttpx with the test PKI's certificate in front of the emulator."""
    proxy = harness.H2Proxy(vault.addr, pki.server_cert, pki.server_key).start()
    yield proxy
    proxy.stop()


def test_through_an_http2_server(vault, pg, pki, h2):
    """Reads, renewals and revocation over TLS + HTTP/2 through nghttpx, all
    multiplexed on one connection."""
    vault.kv_put("app", {"k": "h2-value"})
    vault.create_db_role("ro", default_ttl=3, max_ttl=60)
    env = lw.base_env(pg=pg, VAULT_ADDR=h2.addr, VAULT_TOKEN=vault.root_token,
                      VAULT_CACERT=pki.ca_cert)
    p = lw.start(KV + DB + WAIT_FOR_TERM, env=env)
    try:
        lw.wait_for(lambda: [e for e in vault.journal() if e["kind"] == "request"
                             and e["path"] == "sys/leases/renew" and e["status"] == 200],
                    what="a renewal through nghttpx")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 0, p.stderr.read()
    lw.assert_no_lease_left(vault, pg)
    seen = h2.requests()
    paths = " ".join(r["request"] for r in seen)
    for path in ("/v1/secret/data/app", "/v1/database/creds/ro", "/v1/sys/leases/renew",
                 "/v1/sys/leases/revoke"):
        assert path in paths, seen
    assert {r["alpn"] for r in seen} == {"h2"}, seen
    assert len({r["port"] for r in seen}) == 1, seen
