"""Black-box tests: write parameters, PATH?KEY=VALUE&KEY=VALUE#FIELD
(leasewrap(1), "WRITE REQUESTS"): a PUT of the parameters as a JSON object
of strings to PATH, one request for every use of the same string; a KV v2
"?version=N" stays a read of that version."""
import json
import signal

import lw

PYTHON = "/usr/bin/python3"
ISSUE = "pki/issue/web?common_name=app.test&ttl=1h&alt_names=a.test%2Cb.test"
DUMP = ("import json, os, sys; json.dump(dict(os.environ), "
        "open(sys.argv[1], 'w'))")


def requests(vault, method, path):
    return [e for e in vault.journal() if e.get("kind") == "request"
            and e.get("method") == method and e.get("path") == path]


def test_certificate_and_key_come_from_one_issue(vault, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    r = lw.run(["--file", "%s=%s#certificate" % (cert, ISSUE),
                "--file", "%s=%s#private_key" % (key, ISSUE),
                "-s", "SERIAL=%s#serial_number" % ISSUE, "--keep-files",
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    # One PUT to the path without its query; no GET of it.
    assert len(requests(vault, "PUT", "pki/issue/web")) == 1
    assert requests(vault, "GET", "pki/issue/web") == []
    c = x509.load_pem_x509_certificate(cert.read_bytes())
    k = serialization.load_pem_private_key(key.read_bytes(), None)
    assert k.public_key().public_numbers() == c.public_key().public_numbers()
    assert c.subject.rfc4514_string() == "CN=app.test"
    sans = c.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    # The percent-decoded parameter reached Vault as one string.
    assert sans.value.get_values_for_type(x509.DNSName) == [
        "app.test", "a.test", "b.test"]
    issued = [e for e in vault.journal() if e.get("kind") == "pki"]
    assert len(issued) == 1 and issued[0]["common_name"] == "app.test"
    assert key.read_text().split("\n")[1] not in r.stderr


def test_kv2_version_parameter_stays_a_read(vault, tmp_path):
    vault.kv_put("app", {"k": "one-111"})
    vault.kv_put("app", {"k": "two-222"})
    out = tmp_path / "env"
    r = lw.run(["-s", "OLD=secret/data/app?version=1#k",
                "-s", "NEW=secret/data/app#k", "--", PYTHON, "-c", DUMP,
                str(out)], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    env = json.loads(out.read_text())
    assert env["OLD"] == "one-111" and env["NEW"] == "two-222"
    assert [e for e in vault.journal() if e.get("kind") == "request"
            and e.get("method") == "PUT"] == []


def test_different_parameters_are_different_requests(vault, tmp_path):
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    out = tmp_path / "env"
    r = lw.run(["-s", "A=pki/issue/web?common_name=a.test#serial_number",
                "-s", "B=pki/issue/web?common_name=b.test#serial_number",
                "-s", "A2=pki/issue/web?common_name=a.test#expiration",
                "--", PYTHON, "-c", DUMP, str(out)], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    env = json.loads(out.read_text())
    assert env["A"] != env["B"]
    assert len(requests(vault, "PUT", "pki/issue/web")) == 2


def test_bad_parameters_are_refused_in_one_line(vault):
    cases = [("X=pki/issue/web?common_name#certificate", "not KEY=VALUE"),
             ("X=pki/issue/web?a=1&a=2#certificate", "given twice"),
             ("X=pki/issue/web?a=%zz#certificate", "%-escape"),
             ("X=pki/issue/web?a=1&&b=2#certificate", "parameter 2")]
    for spec, want in cases:
        r = lw.run(["-s", spec, "--", "true"], env=lw.base_env(vault))
        assert r.returncode == 64, (spec, r.stderr)
        assert want in lw.one_line(r.stderr, level="error"), spec
    assert requests(vault, "PUT", "pki/issue/web") == []


def test_a_write_vault_refuses_is_one_line_and_exit_65(vault):
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    r = lw.run(["-s", "X=pki/issue/nope?common_name=a.test#certificate",
                "--", "true"], env=lw.base_env(vault))
    line = lw.one_line(r.stderr, level="error")
    assert (r.returncode, "unknown role: nope" in line) == (65, True), r.stderr


def test_a_certificate_is_issued_anew_before_it_expires(vault, tmp_path):
    """12 s certificates: each replaced (a new issue, a restart with both new
    files) before the one in use expires; LEASEWRAP_DEADLINE is its
    expiration; nothing revoked at exit, the files removed."""
    from cryptography import x509
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    issue = "pki/issue/web?common_name=app.test&ttl=12s"
    cert, key, log = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "starts"
    script = ('echo "$(date +%%s) $LEASEWRAP_DEADLINE $(cat %s | sha256sum)" '
              '>> %s; exec sleep 1000' % (cert, log))
    p = lw.start(["--kill-timeout", "1s",
                  "--file", "%s=%s#certificate" % (cert, issue),
                  "--file", "%s=%s#private_key" % (key, issue),
                  "--", "sh", "-c", script], env=lw.base_env(vault))
    issues = lambda: [e for e in vault.journal() if e.get("kind") == "pki"]  # noqa: E731
    try:
        lw.wait_for(lambda: len(issues()) >= 3 and log.exists() and
                    len(log.read_text().splitlines()) >= 3, timeout=90,
                    what="two replacements")
        c = x509.load_pem_x509_certificate(cert.read_bytes())
        assert c.subject.rfc4514_string() == "CN=app.test"
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    got = issues()
    starts = [line.split() for line in log.read_text().splitlines()]
    for prev, nxt in zip(got, got[1:]):
        # Issued before the one in use ended, and not long before.
        assert nxt["time"] < prev["expiration"], (prev, nxt)
        assert prev["expiration"] - nxt["time"] < 12 * 0.5
    # Each start had the deadline of the certificate it was given.
    assert [int(s[1]) for s in starts] == [e["expiration"] for e in got][:len(starts)]
    assert len({s[2] for s in starts}) == len(starts)
    assert [e for e in vault.journal() if e.get("kind") == "request"
            and "revoke" in (e.get("path") or "")] == []
    assert not cert.exists() and not key.exists()


def test_check_reports_a_certificate(vault):
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    r = lw.run(["check", "-s", "C=pki/issue/web?common_name=a.test&ttl=2h#certificate"],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert "ok, certificate, expires in 2h" in r.stdout or \
        "ok, certificate, expires in 1h59m" in r.stdout, r.stdout


def test_a_write_vault_does_not_know_is_not_looked_up_as_kv2(vault):
    """A 404 to a write is final: the KV v2 mount lookup is for reads."""
    r = lw.run(["-s", "X=nomount/issue/web?common_name=a.test#certificate",
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 65, r.stderr
    lw.one_line(r.stderr, level="error")
    assert [e for e in vault.journal() if e.get("kind") == "request"
            and "sys/internal/ui/mounts" in (e.get("path") or "")] == []


def test_a_certificate_is_not_bound_to_a_short_login_token(vault, tmp_path):
    """A certificate without a lease outlives the token that issued it
    (Vault revokes a token's leases, and a certificate has none): its
    deadline is its expiration, not the 20 s login token's end."""
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    vault.put_policy("issuer", 'path "pki/issue/*" { capabilities = ["update"] }')
    vault.enable_auth("approle")
    role_id = vault.approle_role("web", token_policies=["issuer"],
                                 token_ttl="20s", token_max_ttl="20s")
    sid = tmp_path / "sid"
    sid.write_text(vault.approle_secret_id("web"))
    sid.chmod(0o600)
    issue = "pki/issue/web?common_name=app.test&ttl=1h"
    out = tmp_path / "deadline"
    env = lw.base_env(vault)
    env.pop("VAULT_TOKEN", None)
    r = lw.run(["--auth", "approle", "--role-id", role_id, "--secret-id-file",
                str(sid), "-s", "S=%s#serial_number" % issue, "--",
                "sh", "-c", 'echo "$LEASEWRAP_DEADLINE" > %s' % out], env=env)
    assert r.returncode == 0, r.stderr
    issued = [e for e in vault.journal() if e.get("kind") == "pki"]
    assert len(issued) == 1
    assert int(out.read_text()) == issued[0]["expiration"]
