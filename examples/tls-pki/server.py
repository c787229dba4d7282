#!/usr/bin/env python3
"""A small HTTPS server that reads its certificate and key from files and
loads them again on SIGHUP, for leasewrap's --file outputs of a
pki/issue/ROLE certificate with --on-change signal:HUP (README.md).

usage: server.py CERT_FILE KEY_FILE [--listen ADDR] [--port PORT]

Python 3 standard library only.  It answers every GET with one line naming
the certificate it serves, and prints one line per certificate it loads
(its SHA-256 fingerprint; never the key).
"""
import signal
import sys

# First thing, before anything slow: catch SIGHUP.  A SIGHUP that comes
# before a handler exists takes its default action, which ends the program.
# One that comes while the server starts is kept and acted on once it runs.
_server = []
_early = []


def _on_hup(sig, frame):
    if _server:
        _server[0].reload()
    else:
        _early.append(sig)


signal.signal(signal.SIGHUP, _on_hup)
signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(0))

import argparse  # noqa: E402
import hashlib  # noqa: E402
import http.server  # noqa: E402
import ssl  # noqa: E402


def say(text):
    print("server.py: " + text, flush=True)


def fingerprint(cert_file):
    """The SHA-256 fingerprint of the first certificate in a PEM file."""
    with open(cert_file, encoding="ascii") as f:
        pem = f.read()
    end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    der = ssl.PEM_cert_to_DER_cert(pem[:end] + "\n")
    return hashlib.sha256(der).hexdigest()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, cert_file, key_file):
        self.cert_file, self.key_file = cert_file, key_file
        # Fails at start if the files are missing or do not match.
        self.context, self.fingerprint = self.load()
        super().__init__(address, Handler)

    def load(self):
        """A new TLS context on the files as they are now, and the
        certificate's fingerprint."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        fp = fingerprint(self.cert_file)
        say("loaded certificate sha256:%s" % fp)
        return ctx, fp

    def reload(self):
        """On SIGHUP: the new files serve every connection accepted from now
        on; connections already open keep the old certificate.  If the files
        do not load (a key that does not match), keep the old context."""
        try:
            self.context, self.fingerprint = self.load()
        except (OSError, ValueError, ssl.SSLError) as e:
            say("reload failed, still serving sha256:%s: %s" % (self.fingerprint, e))

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake happens in the connection's thread (Handler.setup),
        # so that a slow client does not hold up the others.
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        say("connection from %s failed: %s" % (client_address[0], sys.exc_info()[1]))


class Handler(http.server.BaseHTTPRequestHandler):
    timeout = 10

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def do_GET(self):
        body = ("hello over TLS, certificate sha256:%s\n"
                % self.server.fingerprint).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    p = argparse.ArgumentParser(description="An HTTPS server that reloads its "
                                "certificate on SIGHUP.")
    p.add_argument("cert_file")
    p.add_argument("key_file")
    p.add_argument("--listen", default="0.0.0.0", help="address (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=8443, help="port (default 8443)")
    args = p.parse_args()
    try:
        server = Server((args.listen, args.port), args.cert_file, args.key_file)
    except (OSError, ValueError, ssl.SSLError) as e:
        sys.exit("server.py: cannot start: %s" % e)
    _server.append(server)
    if _early:
        server.reload()
    say("serving https://%s:%d/" % (args.listen, args.port))
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
