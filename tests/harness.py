#!/usr/bin/python3
"""Test harness: a throw-away PostgreSQL 15 cluster and the Vault emulator.

Importable (PostgresCluster, VaultEmulator, wait_until, make_jwt, k8s_jwt) and a small CLI:

    /usr/bin/python3 tests/harness.py up   --state-dir DIR   # start both, detached
    /usr/bin/python3 tests/harness.py down --state-dir DIR   # stop both, remove files

Standard library only, except PostgresCluster.query()/connect(), which import
psycopg2 lazily.  Every wait polls with a deadline; nothing sleeps and hopes.

HTTPS: VaultEmulator(tls=pki) or start(tls=pki), where pki is a pki.PKI
(tests/pki.py); the address becomes https://127.0.0.1:PORT and api() trusts
the test CA.  JWTs for kubernetes/jwt logins: make_jwt(), k8s_jwt().
"""

import argparse
import atexit
import base64
import hashlib
import hmac
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "vaultemu.py")
PG_BIN = "/usr/lib/postgresql/15/bin"
PG_SUPERUSER = "lwsuper"
PG_SYSTEM_USER = "postgres"

DEFAULT_CREATION_STATEMENTS = (
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; "
    "GRANT CONNECT ON DATABASE postgres TO \"{{name}}\";"
)

# Revocation statements that also end the dropped user's sessions: Vault's
# plugin runs only what the role says (plugins/database/postgresql/postgresql.go,
# vault-api.md §5.3), and DROP ROLE alone leaves open sessions running.
TERMINATING_REVOCATION_STATEMENTS = (
    "REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM \"{{name}}\"; "
    "REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM \"{{name}}\"; "
    "REVOKE ALL ON SCHEMA public FROM \"{{name}}\"; "
    "REVOKE CONNECT ON DATABASE postgres FROM \"{{name}}\"; "
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}'; "
    "DROP ROLE IF EXISTS \"{{name}}\";"
)

_LIVE = set()   # started objects, stopped at interpreter exit if still running


# Polls fn() until it returns a truthy value or the deadline passes; returns that value.
def wait_until(fn, timeout=10.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


# Encodes bytes as unpadded base64url (JWT segments).
def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# A compact JWT of claims: alg "none" (empty signature), "HS256" (key = str/bytes secret) or
# "RS256" (key = path of a PEM RSA private key, e.g. pki.jwt_key; signed by the openssl CLI).
def make_jwt(claims, alg="none", key=None, header=None):
    head = {"alg": alg, "typ": "JWT"}
    head.update(header or {})
    signing_input = (b64url(json.dumps(head, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    data = signing_input.encode("ascii")
    if alg == "none":
        sig = b""
    elif alg == "HS256":
        secret = key.encode("utf-8") if isinstance(key, str) else key
        sig = hmac.new(secret, data, hashlib.sha256).digest()
    elif alg == "RS256":
        proc = subprocess.run([shutil.which("openssl") or "openssl", "dgst", "-sha256", "-sign",
                               key], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60, check=True)
        sig = proc.stdout
    else:
        raise ValueError("make_jwt: unsupported alg %r" % (alg,))
    return signing_input + "." + b64url(sig)


# A Kubernetes service-account JWT (§4.2): legacy claims (kubernetes.io/serviceaccount/...)
# or, with projected=True, the nested "kubernetes.io" claim of bound tokens.  ttl=None
# leaves out exp (legacy tokens have none); exp= sets it absolutely.
def k8s_jwt(namespace="default", service_account="default", ttl=600, exp=None, uid=None,
            projected=False, alg="none", key=None, extra=None):
    now = int(time.time())
    uid = uid or str(uuid.uuid4())
    claims = {"iss": "kubernetes/serviceaccount",
              "sub": "system:serviceaccount:%s:%s" % (namespace, service_account)}
    if projected:
        claims.update({"iss": "https://kubernetes.default.svc.cluster.local",
                       "aud": ["https://kubernetes.default.svc.cluster.local"], "iat": now,
                       "nbf": now, "kubernetes.io": {
                           "namespace": namespace,
                           "serviceaccount": {"name": service_account, "uid": uid}}})
    else:
        claims.update({"kubernetes.io/serviceaccount/namespace": namespace,
                       "kubernetes.io/serviceaccount/secret.name": service_account + "-token-x1",
                       "kubernetes.io/serviceaccount/service-account.name": service_account,
                       "kubernetes.io/serviceaccount/service-account.uid": uid})
    if exp is not None:
        claims["exp"] = int(exp)
    elif ttl is not None:
        claims["exp"] = now + int(ttl)
    claims.update(extra or {})
    return make_jwt(claims, alg=alg, key=key)


# Returns a TCP port on 127.0.0.1 that was free a moment ago.
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# True if pid names a live (non-zombie) process.
def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except OSError:
        return False


# The command line of pid as a string ("" if gone).
def pid_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


# Process start time (clock ticks since boot) to tell a PID from a reused one.
def pid_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


# Waits until pid is gone (or a zombie), up to timeout seconds; True if it went.
def wait_pid_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


# Subprocess keyword arguments that run a command as the postgres user when we are root.
def _pg_user_kwargs():
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(PG_SYSTEM_USER)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


# Gives a path to the postgres user when running as root.
def _chown_to_pg(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


# Minimal environment for PostgreSQL server programs.
def _pg_env(home):
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "HOME": home,
            "TZ": "UTC"}


# A private PostgreSQL 15 cluster in a temporary folder, on 127.0.0.1 and a Unix socket.
class PostgresCluster:
    def __init__(self, bindir=PG_BIN):
        self.bindir = bindir
        self.host = "127.0.0.1"
        self.port = None
        self.superuser = PG_SUPERUSER
        self.password = None
        self.tmpdir = None
        self.datadir = None
        self.socket_dir = None
        self.pid = None
        self.watchdog = None

    # Runs a PostgreSQL program as the postgres user; output goes to a log file.
    def _run(self, args, timeout=120):
        logpath = os.path.join(self.tmpdir, "pgctl.log")
        with open(logpath, "ab") as log:
            _chown_to_pg(logpath)
            proc = subprocess.run([os.path.join(self.bindir, args[0])] + args[1:],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  cwd=self.tmpdir, env=_pg_env(self.tmpdir), timeout=timeout,
                                  **_pg_user_kwargs())
        return proc.returncode

    # Last lines of the server and pg_ctl logs (for error messages).
    def log_tail(self, lines=30):
        out = []
        for name in ("pgctl.log", "postgres.log"):
            path = os.path.join(self.tmpdir or "", name)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    out.extend(f.read().splitlines()[-lines:])
            except OSError:
                pass
        return "\n".join(out)

    # initdb + pg_ctl start on a free port; cleans up everything if any step fails.
    def start(self, watchdog=False):
        self.tmpdir = tempfile.mkdtemp(prefix="lw-pg-")
        _LIVE.add(self)
        try:
            os.chmod(self.tmpdir, 0o755)
            _chown_to_pg(self.tmpdir)
            self.datadir = os.path.join(self.tmpdir, "data")
            self.socket_dir = self.tmpdir
            self.password = secrets.token_urlsafe(18)
            pwfile = os.path.join(self.tmpdir, "pwfile")
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(self.password + "\n")
            _chown_to_pg(pwfile)
            rc = self._run(["initdb", "-D", self.datadir, "-U", self.superuser,
                            "--auth-local=trust", "--auth-host=scram-sha-256",
                            "--pwfile=" + pwfile, "-E", "UTF8", "--locale=C", "--no-sync",
                            "--no-instructions"])
            os.unlink(pwfile)
            if rc != 0:
                raise RuntimeError("initdb failed (%d):\n%s" % (rc, self.log_tail()))
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write("\n# leasewrap test harness\n"
                        "listen_addresses = '127.0.0.1'\n"
                        "unix_socket_directories = '%s'\n"
                        "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                        "shared_buffers = 16MB\nmax_connections = 100\n"
                        "dynamic_shared_memory_type = posix\n"
                        "log_min_messages = warning\nlog_line_prefix = '%%m [%%p] %%u '\n"
                        % self.socket_dir)
            logfile = os.path.join(self.tmpdir, "postgres.log")
            for _attempt in range(5):
                self.port = free_port()
                rc = self._run(["pg_ctl", "-D", self.datadir, "-l", logfile, "-w", "-t", "60",
                                "-o", "-p %d" % self.port, "start"])
                if rc == 0:
                    break
                if "could not bind" not in self.log_tail(100) and \
                        "already in use" not in self.log_tail(100):
                    raise RuntimeError("pg_ctl start failed (%d):\n%s" % (rc, self.log_tail()))
            else:
                raise RuntimeError("pg_ctl start failed 5 times:\n%s" % self.log_tail())
            self.pid = self._read_postmaster_pid()
            if watchdog:
                self._start_watchdog()
            return self
        except BaseException:
            self.stop()
            raise

    # PID of the running postmaster from postmaster.pid, or None.
    def _read_postmaster_pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError, TypeError):
            return None

    # Starts a detached process that stops this cluster if our process dies without cleanup.
    def _start_watchdog(self):
        me = os.getpid()
        self.watchdog = subprocess.Popen(
            [PYTHON, os.path.abspath(__file__), "_watchdog", "--watch-pid", str(me),
             "--watch-start", str(pid_starttime(me)), "--pg-tmpdir", self.tmpdir,
             "--pg-pid", str(self.pid or 0)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)

    # Stops the server (fast, then immediate, then SIGKILL) and removes the temp folder.
    def stop(self):
        try:
            if self.datadir and os.path.isdir(self.datadir):
                pid = self._read_postmaster_pid() or self.pid
                if pid and pid_alive(pid):
                    if self._run(["pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "-t", "30",
                                  "stop"]) != 0:
                        self._run(["pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "-t",
                                   "30", "stop"])
                    if not wait_pid_gone(pid, 10) and "postgres" in pid_cmdline(pid):
                        os.kill(pid, signal.SIGKILL)
                        wait_pid_gone(pid, 10)
        finally:
            if self.watchdog is not None:
                if self.watchdog.poll() is None:
                    self.watchdog.terminate()
                try:
                    self.watchdog.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.watchdog.kill()
                    self.watchdog.wait()
                self.watchdog = None
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
            _LIVE.discard(self)
            self.pid = None

    # A libpq DSN for psycopg2 (superuser over TCP by default).
    def dsn(self, user=None, password=None, dbname="postgres"):
        return "host=%s port=%d dbname=%s user=%s password=%s connect_timeout=10" % (
            self.host, self.port, dbname, user or self.superuser,
            self.password if password is None else password)

    # Opens a psycopg2 connection (autocommit) as the given user over TCP.
    def connect(self, user=None, password=None, dbname="postgres"):
        import psycopg2
        conn = psycopg2.connect(host=self.host, port=self.port, dbname=dbname,
                                user=user or self.superuser,
                                password=self.password if password is None else password,
                                connect_timeout=10)
        conn.autocommit = True
        return conn

    # Runs one SQL statement as the superuser; returns the rows (or [] if none).
    def query(self, sql, params=None):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    # The set of role names in pg_roles.
    def roles(self):
        return {r[0] for r in self.query("SELECT rolname FROM pg_catalog.pg_roles")}

    # True if user can log in with password over TCP right now.
    def can_login(self, user, password):
        import psycopg2
        try:
            self.connect(user, password).close()
            return True
        except psycopg2.OperationalError:
            return False

    # Drops roles that still exist (terminating their sessions first); for test cleanup.
    def drop_roles(self, names):
        existing = self.roles()
        for name in names:
            if name not in existing:
                continue
            self.query("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                       "WHERE usename = %s", (name,))
            ident = '"%s"' % name.replace('"', '""')
            self.query("DROP OWNED BY %s" % ident)
            self.query("DROP ROLE IF EXISTS %s" % ident)


# The Vault emulator (tests/vaultemu.py) as a subprocess, plus API helpers.
# tls: a pki.PKI (or anything with server_pair(), ca_cert, client_cert, client_key) to serve HTTPS.
# The last lines of a log file, "" if there is none yet.
def _file_tail(path, lines):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])
    except (OSError, TypeError):
        return ""


# SIGTERM to a process we started (by its Popen), SIGKILL after 10 s; reaped.
def _terminate(proc):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class VaultEmulator:
    def __init__(self, tls=None):
        self.tls = tls
        self.ca_cert = None          # PEM file clients must trust (HTTPS only)
        self.ssl_context = None      # what api()/http() use (HTTPS only)
        self.addr = None
        self.standby_addr = None     # with --standby-listen: the standby node's address
        self.root_token = None
        self.proc = None
        self.tmpdir = None
        self.owns_tmpdir = False
        self.log_path = None
        self._log = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # Launches the emulator and waits (deadline) for its ready file; returns self.
    # tls (or the constructor's): serve HTTPS with tls.server_pair(tls_cert) -- "server"
    # (127.0.0.1/localhost) or "wrong" (DNS:wrong.example; then api() skips only the hostname
    # check) or a (cert, key) tuple -- trusting tls.ca_cert for client certs if client_ca.
    def start(self, root_token=None, state_dir=None, detach=False, exit_with_parent=True,
              timeout=15.0, extra_args=(), tls=None, tls_cert="server", client_ca=True):
        self.root_token = root_token or "hvs.root" + secrets.token_hex(10)
        if tls is not None:
            self.tls = tls
        if state_dir:
            self.tmpdir = state_dir
        else:
            self.tmpdir = tempfile.mkdtemp(prefix="lw-emu-")
            self.owns_tmpdir = True
        _LIVE.add(self)
        try:
            ready = os.path.join(self.tmpdir, "vaultemu.ready")
            if os.path.exists(ready):
                os.unlink(ready)
            self.log_path = os.path.join(self.tmpdir, "vaultemu.log")
            self._log = open(self.log_path, "ab")
            cmd = [PYTHON, EMULATOR, "--listen", "127.0.0.1:0", "--ready-file", ready,
                   "--journal-file", os.path.join(self.tmpdir, "journal.jsonl")]
            if exit_with_parent:
                cmd.extend(["--exit-with-parent", "--parent-pid", str(os.getpid())])
                if self.owns_tmpdir:
                    cmd.extend(["--owned-dir", self.tmpdir])
            if self.tls is not None:
                cmd.extend(self._tls_args(tls_cert, client_ca))
            cmd.extend(extra_args)
            env = dict(os.environ, VAULTEMU_ROOT_TOKEN=self.root_token, PYTHONDONTWRITEBYTECODE="1")
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, env=env, close_fds=True,
                                         start_new_session=detach)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with open(ready, encoding="utf-8") as f:
                        addr = f.read().strip()
                    if addr:
                        self.addr = addr
                        if os.path.exists(ready + ".standby"):
                            with open(ready + ".standby", encoding="utf-8") as f:
                                self.standby_addr = f.read().strip()
                        break
                except FileNotFoundError:
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError("vaultemu exited with %s:\n%s"
                                       % (self.proc.returncode, self.log_tail()))
                if time.monotonic() >= deadline:
                    raise RuntimeError("vaultemu not ready after %.0fs:\n%s"
                                       % (timeout, self.log_tail()))
                time.sleep(0.01)
            return self
        except BaseException:
            self.stop()
            raise

    # Command-line TLS flags; sets ssl_context/ca_cert and an HTTPS-capable opener.
    def _tls_args(self, tls_cert, client_ca):
        cert, key = tls_cert if isinstance(tls_cert, tuple) else self.tls.server_pair(tls_cert)
        args = ["--tls-cert", cert, "--tls-key", key]
        if client_ca:
            args.extend(["--tls-client-ca", self.tls.ca_cert])
        self.ca_cert = self.tls.ca_cert
        self.ssl_context = ssl.create_default_context(cafile=self.ca_cert)
        self.ssl_context.check_hostname = tls_cert == "server"
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ssl_context))
        return args

    # An SSLContext trusting the test CA, presenting a client certificate if given
    # (client=True: the PKI's lw-client pair; or a (cert, key) tuple).
    def client_ssl_context(self, client=None):
        ctx = ssl.create_default_context(cafile=self.ca_cert)
        if client is True:
            client = (self.tls.client_cert, self.tls.client_key)
        if client:
            ctx.load_cert_chain(client[0], client[1])
        return ctx

    # Last lines of the emulator's stdout/stderr.
    def log_tail(self, lines=40):
        return _file_tail(self.log_path, lines)

    # SIGTERM to our own child, wait with a deadline, then SIGKILL; removes temp files.
    def stop(self):
        try:
            _terminate(self.proc)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            if self.owns_tmpdir and self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
            _LIVE.discard(self)

    # Raw HTTP: returns (status, headers, body bytes); network errors propagate.
    # context: an SSLContext for this call only (e.g. client_ssl_context(True) for cert login).
    def http(self, method, url_path, body=None, headers=None, timeout=30, context=None):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.addr + url_path, data=data, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        opener = self._opener
        if context is not None:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                 urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, dict(err.headers), err.read()

    # Vault API call: (status, parsed JSON or None); token None = root, "" = no token.
    # wrap_ttl sends X-Vault-Wrap-TTL (§4.5); context as for http().
    def api(self, method, path, body=None, token=None, headers=None, timeout=30, wrap_ttl=None,
            context=None):
        tok = self.root_token if token is None else token
        hdrs = dict(headers or {})
        if tok:
            hdrs["X-Vault-Token"] = tok
        if wrap_ttl is not None:
            hdrs["X-Vault-Wrap-TTL"] = str(wrap_ttl)
        status, _, raw = self.http(method, "/v1/" + path.lstrip("/"), body, hdrs, timeout,
                                   context=context)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    # Calls the /_emu/ control API and returns its JSON (raises on non-200).
    def _emu(self, method, route, body=None):
        status, _, raw = self.http(method, "/_emu/" + route, body)
        if status != 200:
            raise RuntimeError("/_emu/%s: %s %s" % (route, status, raw[:300]))
        return json.loads(raw)

    # Sets the --agent-socket Agent's auto-auth token (None: it has none).
    def agent_token(self, token):
        return self._emu("POST", "agent", {"token": token})

    # Journal events with seq > since.
    def journal(self, since=0):
        return self._emu("GET", "journal?since=%d" % since)["events"]

    # Live leases as the emulator sees them.
    def leases(self):
        return self._emu("GET", "leases")["leases"]

    # Live tokens (accessor, policies, expiry, path, max_ttl ...).
    def tokens(self):
        return self._emu("GET", "tokens")["tokens"]

    # Login attempts (journal kind "login": mount, method, role, jwt_sha256, status, ...).
    def logins(self, since=0):
        return self._emu("GET", "logins?since=%d" % since)["logins"]

    # Live wrapping tokens (accessor, creation_path, ttl, expire_time; never the token).
    def wrappings(self):
        return self._emu("GET", "wrappings")["wrappings"]

    # Every secret value handed out so far, and every token, login JWT and secret ID
    # presented to it.
    def secrets(self):
        return self._emu("GET", "secrets")["values"]

    # Installs a fault (see vaultemu /_emu/fault); returns its id.
    def fault(self, **kw):
        return self._emu("POST", "fault", kw)["id"]

    # Removes all faults.
    def clear_faults(self):
        self._emu("DELETE", "fault")

    # Makes the emulator forget leases under prefix (users still dropped); returns their IDs.
    def lose_leases(self, prefix):
        return self._emu("POST", "leases/lose", {"prefix": prefix})["lost"]

    # Revokes a token (or accessor) as an operator would; returns the number revoked.
    def revoke_token(self, token=None, accessor=None):
        body = {"token": token} if token else {"accessor": accessor}
        return self._emu("POST", "tokens/revoke", body)["revoked"]

    # Revokes all leases and non-root tokens and clears faults.
    def reset(self):
        self._emu("POST", "reset")

    # Creates a token via auth/token/create and returns its whole auth block.
    def create_token_auth(self, policies=None, ttl=None, explicit_max_ttl=None, renewable=True,
                          token=None, **extra):
        body = dict(extra)
        if policies is not None:
            body["policies"] = list(policies)
        if ttl is not None:
            body["ttl"] = ttl
        if explicit_max_ttl is not None:
            body["explicit_max_ttl"] = explicit_max_ttl
        body["renewable"] = renewable
        status, resp = self.api("POST", "auth/token/create", body, token=token)
        if status != 200:
            raise RuntimeError("token create failed: %s %s" % (status, resp))
        return resp["auth"]

    # Creates a token via auth/token/create and returns the token string.
    def create_token(self, policies=None, ttl=None, explicit_max_ttl=None, renewable=True, **extra):
        return self.create_token_auth(policies, ttl, explicit_max_ttl, renewable,
                                      **extra)["client_token"]

    # Enables an auth method (approle, kubernetes, jwt, cert) at path (default: its type) (§4).
    def enable_auth(self, method_type, path=None, **extra):
        self._ok(self.api("POST", "sys/auth/" + (path or method_type),
                          dict(extra, type=method_type)), "enable auth")
        return path or method_type

    # Creates/updates an AppRole role and returns its role_id (§4.1).
    def approle_role(self, name, mount="approle", **params):
        self._ok(self.api("POST", "auth/%s/role/%s" % (mount, name), params), "approle role")
        return self._ok(self.api("GET", "auth/%s/role/%s/role-id" % (mount, name)),
                        "read role-id")["data"]["role_id"]

    # Generates a secret ID; with wrap_ttl returns the wrapping token instead (§4.1, §4.5).
    def approle_secret_id(self, name, mount="approle", wrap_ttl=None, **params):
        body = self._ok(self.api("POST", "auth/%s/role/%s/secret-id" % (mount, name), params,
                                 wrap_ttl=wrap_ttl), "secret-id")
        return body["wrap_info"]["token"] if wrap_ttl is not None else body["data"]["secret_id"]

    # Writes auth/<mount>/config of a kubernetes mount (any fields; no TokenReview) (§4.2).
    def k8s_configure(self, mount="kubernetes", **config):
        config.setdefault("kubernetes_host", "https://kubernetes.default.svc")
        self._ok(self.api("POST", "auth/%s/config" % mount, config), "kubernetes config")

    # Creates a kubernetes role bound to service-account names and namespaces (§4.2).
    def k8s_role(self, name, service_accounts, namespaces, mount="kubernetes", **params):
        body = dict(params, bound_service_account_names=list(service_accounts),
                    bound_service_account_namespaces=list(namespaces))
        self._ok(self.api("POST", "auth/%s/role/%s" % (mount, name), body), "kubernetes role")

    # Writes auth/<mount>/config of a jwt mount: jwt_validation_pubkeys, bound_issuer,
    # default_role, or the emulator-only vaultemu_hs256_key (§4.3).
    def jwt_configure(self, mount="jwt", **config):
        self._ok(self.api("POST", "auth/%s/config" % mount, config), "jwt config")

    # Creates a jwt role (role_type "jwt", user_claim "sub" unless given) (§4.3).
    def jwt_role(self, name, mount="jwt", **params):
        params.setdefault("role_type", "jwt")
        params.setdefault("user_claim", "sub")
        self._ok(self.api("POST", "auth/%s/role/%s" % (mount, name), params), "jwt role")

    # Creates a cert role trusting certificate (a PEM file path or PEM text) (§4.4).
    def cert_role(self, name, certificate, mount="cert", **params):
        if not certificate.lstrip().startswith("-----BEGIN"):
            with open(certificate, encoding="ascii") as f:
                certificate = f.read()
        self._ok(self.api("POST", "auth/%s/certs/%s" % (mount, name),
                          dict(params, certificate=certificate)), "cert role")

    # Wraps arbitrary data with sys/wrapping/wrap; returns the wrapping token (§4.5).
    def wrap(self, data, ttl=60):
        return self._ok(self.api("POST", "sys/wrapping/wrap", data, wrap_ttl=ttl),
                        "wrap")["wrap_info"]["token"]

    # Writes an ACL policy (HCL) under sys/policies/acl/<name>.
    def put_policy(self, name, hcl):
        self._ok(self.api("PUT", "sys/policies/acl/" + name, {"policy": hcl}), "put policy")

    # Points database/config/<name> at the cluster as its superuser (TCP, or Unix socket).
    def configure_postgres(self, pg, name="pg", allowed_roles="*", via="tcp", mount="database"):
        if via == "socket":
            url = ("postgresql://{{username}}:{{password}}@/postgres?host=%s&port=%d"
                   % (pg.socket_dir, pg.port))
        else:
            url = ("postgresql://{{username}}:{{password}}@%s:%d/postgres?sslmode=disable"
                   % (pg.host, pg.port))
        self._ok(self.api("POST", "%s/config/%s" % (mount, name), {
            "plugin_name": "postgresql-database-plugin", "connection_url": url,
            "username": pg.superuser, "password": pg.password, "allowed_roles": allowed_roles,
            "verify_connection": True}), "configure postgres")

    # Creates/updates database/roles/<name> with a default creation statement.
    def create_db_role(self, name, default_ttl, max_ttl, db_name="pg", creation_statements=None,
                       mount="database", **extra):
        body = dict(extra, db_name=db_name, default_ttl=default_ttl, max_ttl=max_ttl,
                    creation_statements=creation_statements or DEFAULT_CREATION_STATEMENTS)
        self._ok(self.api("POST", "%s/roles/%s" % (mount, name), body), "create db role")

    # Creates database/static-roles/<name> for the existing PostgreSQL user username.
    def create_static_role(self, name, username, rotation_period, db_name="pg",
                           mount="database"):
        self._ok(self.api("POST", "%s/static-roles/%s" % (mount, name), {
            "db_name": db_name, "username": username,
            "rotation_period": rotation_period}), "create static role")

    # Creates pki/roles/<name> (the emulator's PKI engine) allowing any name.
    def create_pki_role(self, name, ttl="1h", max_ttl="24h", mount="pki", **extra):
        body = dict({"allow_any_name": True}, ttl=ttl, max_ttl=max_ttl, **extra)
        self._ok(self.api("POST", "%s/roles/%s" % (mount, name), body), "create pki role")

    # Creates aws/roles/<name> (credential_type assumed_role by default, one role ARN).
    def create_aws_role(self, name, credential_type="assumed_role", mount="aws", **extra):
        body = dict(credential_type=credential_type, **extra)
        if credential_type == "assumed_role" and "role_arns" not in body:
            body["role_arns"] = "arn:aws:iam::123456789012:role/%s" % name
        if credential_type == "federation_token" and "policy_arns" not in body:
            body["policy_arns"] = "arn:aws:iam::aws:policy/ReadOnlyAccess"
        self._ok(self.api("POST", "%s/roles/%s" % (mount, name), body), "create aws role")

    # The emulator's IAM eventual consistency: new keys are refused for delay seconds.
    def aws_consistency(self, delay, mount="aws/"):
        return self._emu("POST", "aws/consistency", {"delay": delay, "mount": mount})

    # The stand-in for STS GetCallerIdentity: (status, body) for a key.
    def aws_caller_identity(self, access_key, secret_key, security_token=None):
        status, _, raw = self.http("POST", "/_emu/aws/caller-identity",
                                   {"access_key": access_key, "secret_key": secret_key,
                                    "security_token": security_token})
        return status, json.loads(raw)

    # The serials a PKI mount issued and revoked: {"issued": [...], "revoked": [...]}.
    def pki_serials(self, mount="pki/"):
        return self._emu("GET", "pki/revoked?mount=" + mount)

    # Writes a KV secret (v2 at "secret" by default, v1 at "kv" by default).
    def kv_put(self, path, data, version=2, mount=None):
        if version == 2:
            self._ok(self.api("POST", "%s/data/%s" % (mount or "secret", path), {"data": data}),
                     "kv v2 put")
        else:
            self._ok(self.api("PUT", "%s/%s" % (mount or "kv", path), data), "kv v1 put")

    # Raises unless an api() result is 200 or 204.
    @staticmethod
    def _ok(result, what):
        status, body = result
        if status not in (200, 204):
            raise RuntimeError("%s failed: %s %s" % (what, status, body))
        return body


# nghttpx (Debian's nghttp2-proxy) terminating TLS in front of an emulator: HTTP/2 by ALPN
# (HTTP/1.1 for clients that ask for it), plain HTTP/1.1 to the emulator behind it, as a
# TLS-terminating load balancer in front of Vault would.  Its access log records each
# request's client port and ALPN, so a test can count the connections a client opened.
class H2Proxy:
    BINARY = "/usr/sbin/nghttpx"

    def __init__(self, backend_addr, cert, key):
        self.backend = backend_addr.split("://", 1)[-1]
        self.cert, self.key = cert, key
        self.proc = None
        self.addr = None
        self.tmpdir = None

    # Starts nghttpx on a free loopback port and waits (deadline) until it accepts.
    def start(self, timeout=15.0):
        self.tmpdir = tempfile.mkdtemp(prefix="lw-h2-")
        _LIVE.add(self)
        try:
            with socket.socket() as sk:
                sk.bind(("127.0.0.1", 0))
                port = sk.getsockname()[1]
            host, _, bport = self.backend.rpartition(":")
            self.access_log = os.path.join(self.tmpdir, "access.log")
            self.error_log = os.path.join(self.tmpdir, "error.log")
            cmd = [self.BINARY, "--conf=/dev/null", "--workers=1", "--no-ocsp",
                   "--frontend=127.0.0.1,%d" % port, "--backend=%s,%s" % (host, bport),
                   "--accesslog-file=" + self.access_log,
                   "--accesslog-format=$remote_port $alpn $request $status",
                   "--errorlog-file=" + self.error_log, "--no-via",
                   "--add-x-forwarded-for", self.key, self.cert]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, close_fds=True)
            self.addr = "https://127.0.0.1:%d" % port
            deadline = time.monotonic() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return self
                except OSError:
                    pass
                if self.proc.poll() is not None or time.monotonic() >= deadline:
                    raise RuntimeError("nghttpx did not start: %s" % self.log_tail())
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise

    # The access log's requests: [{"port", "alpn", "request", "status"}].
    def requests(self):
        try:
            with open(self.access_log, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            port, alpn, rest = (line.split(" ", 2) + ["", ""])[:3]
            request, _, status = rest.rpartition(" ")
            out.append({"port": port, "alpn": alpn, "request": request, "status": status})
        return out

    # The last lines of nghttpx's error log.
    def log_tail(self, lines=20):
        return _file_tail(self.error_log, lines)

    # Stops nghttpx (by its PID) and removes its folder.
    def stop(self):
        try:
            _terminate(self.proc)
        finally:
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = None
            _LIVE.discard(self)


# Stops whatever a crashed caller left running (registered in _LIVE).
@atexit.register
def _stop_leftovers():
    for obj in list(_LIVE):
        try:
            obj.stop()
        except Exception:
            pass


# ---------------------------------------------------------------------------
# CLI

# Writes a file with mode 0600.
def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


# `up`: start PostgreSQL + emulator detached, configure pg/ro/rw, write env, pids, state.
def cmd_up(args):
    state_dir = os.path.abspath(args.state_dir)
    state_file = os.path.join(state_dir, "state.json")
    if os.path.exists(state_file):
        print("harness: %s already holds a running setup; run down first" % state_dir,
              file=sys.stderr)
        return 1
    created = not os.path.isdir(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    pg = PostgresCluster()
    emu = VaultEmulator()
    try:
        pg.start()
        emu.start(state_dir=state_dir, detach=True, exit_with_parent=False)
        emu.configure_postgres(pg)
        emu.create_db_role("ro", "60s", "300s",
                           revocation_statements=TERMINATING_REVOCATION_STATEMENTS)
        emu.create_db_role("rw", "60s", "300s", creation_statements=(
            DEFAULT_CREATION_STATEMENTS + " GRANT CREATE, USAGE ON SCHEMA public TO \"{{name}}\";"),
            revocation_statements=TERMINATING_REVOCATION_STATEMENTS)
    except BaseException:
        emu.stop()
        for name in ("vaultemu.log", "vaultemu.ready", "journal.jsonl"):
            try:
                os.unlink(os.path.join(state_dir, name))
            except OSError:
                pass
        pg.stop()
        if created:
            try:
                os.rmdir(state_dir)
            except OSError:
                pass
        raise
    env = "".join("export %s=%s\n" % (k, shlex.quote(str(v))) for k, v in [
        ("VAULT_ADDR", emu.addr), ("VAULT_TOKEN", emu.root_token), ("PGHOST", pg.host),
        ("PGPORT", pg.port), ("PGDATABASE", "postgres"), ("LW_PG_SUPERUSER", pg.superuser),
        ("LW_PG_PASSWORD", pg.password), ("LW_PG_SOCKET_DIR", pg.socket_dir)])
    _write_private(os.path.join(state_dir, "env"), env)
    _write_private(os.path.join(state_dir, "pids"),
                   "postgres %d\nvaultemu %d\n" % (pg.pid, emu.proc.pid))
    state = {"created_dir": created, "pg_tmpdir": pg.tmpdir, "pg_datadir": pg.datadir,
             "pg_pid": pg.pid, "emu_pid": emu.proc.pid,
             "files": ["env", "pids", "state.json", "vaultemu.log", "vaultemu.ready",
                       "journal.jsonl"]}
    _write_private(state_file, json.dumps(state, indent=1) + "\n")
    # Both keep running after we return: forget them so atexit does not stop them.
    _LIVE.discard(pg)
    _LIVE.discard(emu)
    emu._log.close()
    emu._log = None
    print("harness: up; source %s/env (VAULT_ADDR=%s, PGPORT=%d)" % (state_dir, emu.addr, pg.port))
    return 0


# `down`: stop both by recorded PID and remove everything `up` created; safe to repeat.
def cmd_down(args):
    state_dir = os.path.abspath(args.state_dir)
    state_file = os.path.join(state_dir, "state.json")
    try:
        with open(state_file) as f:
            state = json.load(f)
    except FileNotFoundError:
        print("harness: nothing to stop in %s" % state_dir)
        return 0
    pid = state.get("emu_pid")
    if pid and pid_alive(pid) and "vaultemu.py" in pid_cmdline(pid):
        os.kill(pid, signal.SIGTERM)
        if not wait_pid_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
            wait_pid_gone(pid, 10)
    pg = PostgresCluster()
    pg.tmpdir = state.get("pg_tmpdir")
    pg.datadir = state.get("pg_datadir")
    pg.pid = state.get("pg_pid")
    if pg.tmpdir and os.path.isdir(pg.tmpdir):
        pg.stop()
    for name in state.get("files", []):
        if name != "state.json":
            try:
                os.unlink(os.path.join(state_dir, name))
            except OSError:
                pass
    os.unlink(state_file)
    if state.get("created_dir"):
        try:
            os.rmdir(state_dir)
        except OSError:
            pass
    print("harness: down")
    return 0


# `_watchdog`: waits for a process to die, then stops its cluster and removes the folder.
def cmd_watchdog(args):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while os.path.isdir(args.pg_tmpdir):
        alive = pid_alive(args.watch_pid) and (
            args.watch_start in (None, "None") or
            str(pid_starttime(args.watch_pid)) == str(args.watch_start))
        if not alive:
            pg = PostgresCluster()
            pg.tmpdir = args.pg_tmpdir
            pg.datadir = os.path.join(args.pg_tmpdir, "data")
            pg.pid = args.pg_pid or None
            pg.stop()
            return 0
        time.sleep(0.5)
    return 0


# Parses the command line and runs a subcommand.
def main(argv=None):
    ap = argparse.ArgumentParser(description="leasewrap test harness (PostgreSQL + vaultemu)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start PostgreSQL and the emulator, detached")
    up.add_argument("--state-dir", required=True)
    down = sub.add_parser("down", help="stop what `up` started and remove its files")
    down.add_argument("--state-dir", required=True)
    wd = sub.add_parser("_watchdog")
    wd.add_argument("--watch-pid", type=int, required=True)
    wd.add_argument("--watch-start")
    wd.add_argument("--pg-tmpdir", required=True)
    wd.add_argument("--pg-pid", type=int, default=0)
    args = ap.parse_args(argv)
    return {"up": cmd_up, "down": cmd_down, "_watchdog": cmd_watchdog}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
