"""Test PKI for leasewrap's HTTPS and cert-login tests, made with the openssl CLI.

    from pki import make_pki
    p = make_pki(directory)      # files land in `directory`; the caller removes it
    p.ca_cert, p.server_cert/p.server_key (127.0.0.1 + localhost),
    p.wrong_cert/p.wrong_key (DNS:wrong.example only, same CA),
    p.client_cert/p.client_key (CN "lw-client", clientAuth),
    p.other_ca_cert, p.other_client_cert/p.other_client_key (CN "lw-client", another CA),
    p.jwt_key/p.jwt_pubkey (RSA 2048, for RS256 JWTs: harness.make_jwt(..., alg="RS256"))

Certificates use EC P-256 keys (fast to make), valid for 30 days.  Standard
library plus the `openssl` command (OpenSSL >= 3.0 for `req -x509 -CA`).
Section numbers (§) refer to /work/shared/vault-api.md (§4.4 cert login).
"""

import os
import shutil
import subprocess

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
DAYS = "30"


# Runs one openssl command in directory; raises with its stderr on failure.
def _openssl(directory, *args):
    proc = subprocess.run([OPENSSL] + list(args), cwd=directory, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("openssl %s failed (%d): %s" % (args[0], proc.returncode,
                                                           proc.stderr.decode(errors="replace")))
    return proc.stdout


# Makes a self-signed CA certificate and key named <name>.crt / <name>.key.
def _make_ca(directory, name, cn):
    _openssl(directory, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key",
             "-out", name + ".crt", "-days", DAYS, "-subj", "/CN=" + cn,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    os.chmod(os.path.join(directory, name + ".key"), 0o600)


# Makes a leaf certificate and key signed by the CA <ca>.crt/<ca>.key, with extra extensions.
def _make_leaf(directory, name, ca, cn, *extensions):
    args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", DAYS,
            "-subj", "/CN=" + cn, "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "keyUsage=critical,digitalSignature"]
    for ext in extensions:
        args += ["-addext", ext]
    _openssl(directory, *args)
    os.chmod(os.path.join(directory, name + ".key"), 0o600)


# Paths of a generated test PKI (see the module docstring).
class PKI:
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        for attr, name in (("ca", "ca"), ("server", "server"), ("wrong", "wrong"),
                           ("client", "client"), ("other_ca", "other-ca"),
                           ("other_client", "other-client")):
            setattr(self, attr + "_cert", os.path.join(self.dir, name + ".crt"))
            setattr(self, attr + "_key", os.path.join(self.dir, name + ".key"))
        self.jwt_key = os.path.join(self.dir, "jwt.key")
        self.jwt_pubkey = os.path.join(self.dir, "jwt.pub")

    # The text of one of the files above (e.g. pem(pki.ca_cert)).
    @staticmethod
    def pem(path):
        with open(path, encoding="ascii") as f:
            return f.read()

    # (cert, key) of the server identity "server" (127.0.0.1/localhost) or "wrong".
    def server_pair(self, which="server"):
        if which == "server":
            return self.server_cert, self.server_key
        if which == "wrong":
            return self.wrong_cert, self.wrong_key
        raise ValueError("server_pair: expected 'server' or 'wrong', got %r" % (which,))


# Generates the whole test PKI in directory (created if missing) and returns a PKI.
def make_pki(directory):
    os.makedirs(directory, exist_ok=True)
    pki = PKI(directory)
    d = pki.dir
    _make_ca(d, "ca", "lw-test-ca")
    _make_leaf(d, "server", "ca", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost",
               "extendedKeyUsage=serverAuth")
    _make_leaf(d, "wrong", "ca", "wrong.example", "subjectAltName=DNS:wrong.example",
               "extendedKeyUsage=serverAuth")
    _make_leaf(d, "client", "ca", "lw-client", "extendedKeyUsage=clientAuth")
    _make_ca(d, "other-ca", "lw-other-ca")
    _make_leaf(d, "other-client", "other-ca", "lw-client", "extendedKeyUsage=clientAuth")
    _openssl(d, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", "jwt.key")
    os.chmod(pki.jwt_key, 0o600)
    _openssl(d, "pkey", "-in", "jwt.key", "-pubout", "-out", "jwt.pub")
    return pki
