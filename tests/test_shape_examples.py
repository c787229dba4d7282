"""examples/tls-pki and examples/database-url work as written (issue 13):
each test applies the README's `vault write` role and its policy to the Vault
emulator, then runs the README's leasewrap command line, with short TTLs, a
temporary folder and the test's PostgreSQL in place of the real ones."""
import calendar
import os
import re
import secrets
import shlex
import socket
import ssl
import time

import lw
from lw import free_port  # noqa: F401 (fixture)

EX = os.path.join(lw.ROOT, "examples")
PYTHON = "/usr/bin/python3"


# --------------------------------------------------------------------------
# helpers

def readme(name):
    with open(os.path.join(EX, name, "README.md"), encoding="utf-8") as f:
        return f.read()


def blocks(text, lang):
    """The fenced code blocks of a language, continuation lines joined."""
    found = re.findall(r"^ *```%s\n(.*?)^ *```" % lang, text, re.M | re.S)
    return [re.sub(r"\\\n\s*", " ", b) for b in found]


def command(text, first):
    """The argv of the one line of the sh blocks that starts with first."""
    lines = [l.strip() for b in blocks(text, "sh") for l in b.splitlines()
             if l.strip().startswith(first)]
    assert len(lines) == 1, (first, lines)
    return shlex.split(lines[0])


def vault_write(vault, argv):
    """`vault write PATH KEY=VALUE...` as the CLI sends it: a PUT of the
    pairs as a JSON object of strings (command/write.go, parseArgsData)."""
    assert argv[:2] == ["vault", "write"], argv
    data = dict(a.split("=", 1) for a in argv[3:])
    vault._ok(vault.api("PUT", argv[2], data), " ".join(argv[:3]))


def policy_token(vault, text, name):
    """A token whose only policy (besides default) is the README's HCL block
    commented `# name`."""
    hcl = [b for b in blocks(text, "hcl") if b.startswith("# %s\n" % name)]
    assert len(hcl) == 1, name
    assert command(text, "vault policy write")[3] == name
    vault.put_policy(name, hcl[0])
    return vault.create_token(policies=[name])


def substitute(argv, subst):
    out = []
    for a in argv:
        for old, new in subst.items():
            a = a.replace(old, new)
        out.append(a)
    return out


# --------------------------------------------------------------------------
# tls-pki

def peer(port, ca_file, name):
    """(certificate, reply) of one HTTPS GET that verified the server against
    ca_file and name, or None if nothing listens yet.  A failed verification
    raises."""
    ctx = ssl.create_default_context(cafile=ca_file)
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    except ConnectionRefusedError:
        return None
    with ctx.wrap_socket(sock, server_hostname=name) as tls:
        der = tls.getpeercert(binary_form=True)
        tls.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % name.encode())
        reply = b""
        while True:
            chunk = tls.recv(4096)
            if not chunk:
                break
            reply += chunk
    from cryptography import x509
    cert = x509.load_der_x509_certificate(der)
    return cert, reply.decode()


def test_tls_pki_server_follows_rotations(vault, tmp_path, free_port):
    from cryptography import x509
    text = readme("tls-pki")
    vault_write(vault, command(text, "vault write pki/roles/web"))
    token = policy_token(vault, text, "web-tls")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    argv = substitute(command(text, "leasewrap "), {
        "/run/web/": str(run) + "/", "ttl=24h": "ttl=6s"})
    assert argv[argv.index("--") + 1] == "python3"
    argv[argv.index("--") + 1] = PYTHON
    argv[argv.index("--port") + 1:argv.index("--port") + 2] = [
        str(free_port), "--listen", "127.0.0.1"]
    ca_file = str(run / "ca.crt")
    name = "web.internal"
    issues = lambda: [e for e in vault.journal() if e.get("kind") == "pki"]  # noqa: E731

    p = lw.start(argv[1:], env=lw.base_env(vault, VAULT_TOKEN=token), cwd=lw.ROOT)
    served = []         # (serial, time) of each certificate served, in order
    try:
        def three_certificates():
            if not os.path.exists(ca_file):
                return False
            got = peer(free_port, ca_file, name)
            if got is not None:
                cert, body = got
                now = time.time()
                assert calendar.timegm(cert.not_valid_after.utctimetuple()) > now
                assert cert.subject.rfc4514_string() == "CN=" + name
                assert body.startswith("HTTP/1.0 200 "), body
                if not served or served[-1][0] != cert.serial_number:
                    served.append((cert.serial_number, now))
            assert p.poll() is None, lw.log_text(p.stderr_so_far())
            return len(served) >= 3
        lw.wait_for(three_certificates, timeout=lw.TIMEOUT * 2, interval=0.1,
                    what="three certificates served")
        with open(ca_file, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        p.terminate()
        out, _ = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 0, lw.log_text(p.stderr.read())

    # Each certificate served was a new one, issued in that order, and each
    # issue was one request for all three files.
    serials = [s for s, _ in served]
    assert len(set(serials)) == len(serials), serials
    issued = [int(e["serial_number"].replace(":", ""), 16) for e in issues()]
    assert serials == issued[:len(serials)], (serials, issued)
    assert len(issued) <= len(serials) + 1
    status, body = vault.api("GET", "pki/cert/ca")
    assert ca.subject == x509.load_pem_x509_certificate(
        body["data"]["certificate"].encode()).subject
    # The server loaded every issued certificate, once, with its key.
    loads = re.findall(r"^server\.py: loaded certificate sha256:(\w+)$", out, re.M)
    assert len(loads) == len(issued), out
    assert "failed" not in out, out
    # Not revoked at exit; the files are gone.
    assert [e for e in vault.journal() if e.get("kind") == "request"
            and "revoke" in (e.get("path") or "")] == []
    assert os.listdir(str(run)) == []

    # `leasewrap check` with the same options: one issue, each file reported.
    r = lw.run(["check"] + argv[1:], env=lw.base_env(vault, VAULT_TOKEN=token), cwd=lw.ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok, certificate, expires in ") == 3, r.stdout
    assert len(issues()) == len(issued) + 1


# --------------------------------------------------------------------------
# database-url

def test_database_url_app_connects_as_the_dynamic_user(vault, pg, tmp_path):
    text = readme("database-url")
    database = "lw_url_" + secrets.token_hex(4)
    pg.query('CREATE DATABASE "%s"' % database)
    try:
        subst = {"db.internal:5432": "%s:%d" % (pg.host, pg.port), "appdb": database,
                 "sslmode=require": "sslmode=disable"}
        config = substitute(command(text, "vault write database/config/appdb"), subst)
        config = substitute(config, {"username=vault": "username=" + pg.superuser,
                                     "password=$VAULT_PG_PASSWORD": "password=" + pg.password})
        vault_write(vault, config)
        vault_write(vault, substitute(command(text, "vault write database/roles/app"), subst))
        token = policy_token(vault, text, "app-db")
        env = lw.base_env(vault, VAULT_TOKEN=token, PATH="/usr/bin:/bin")
        lines = [shlex.split(l) for b in blocks(text, "sh") for l in b.splitlines()
                 if l.startswith("leasewrap -T ")]
        assert len(lines) == 2, lines
        for argv in lines:
            argv = substitute(argv, subst)
            argv = substitute(argv, {"python3 examples/": PYTHON + " examples/"})
            i = argv.index("--") + 1
            if argv[i] == "python3":
                argv[i] = PYTHON
            reads = lw.reads(vault, "database/creds/app")
            r = lw.run(argv[1:], env=env, cwd=lw.ROOT)
            assert r.returncode == 0, r.stdout + r.stderr
            m = re.fullmatch(r"app\.py: connected to (\S+) as (v-\S+)\n", r.stdout)
            assert m and m.group(1) == database, r.stdout
            user = m.group(2)
            # The user of the one read, and no other: its lease is revoked and
            # the user dropped once leasewrap has exited.
            assert lw.reads(vault, "database/creds/app") == reads + 1
            created = [e["username"] for e in vault.journal() if e.get("kind") == "lease"
                       and e.get("event") == "create"]
            assert created[-1] == user
            assert user not in pg.roles()
            lw.assert_no_lease_left(vault, pg)
    finally:
        pg.query('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % database)


def test_guide_shape_sections_point_at_the_examples():
    with open(os.path.join(lw.ROOT, "docs", "guide.md"), encoding="utf-8") as f:
        guide = f.read()
    for title, folder in (("### One DATABASE_URL", "database-url"),
                          ("### TLS certificates from the PKI engine", "tls-pki")):
        section = guide[guide.index(title):]
        section = section[:section.index("\n#", 5)]
        assert "examples/%s/" % folder in section, title
        assert os.path.isfile(os.path.join(EX, folder, "README.md"))
