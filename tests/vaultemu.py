#!/usr/bin/python3
"""vaultemu: an emulator of HashiCorp Vault's HTTP API for leasewrap's tests.

Python standard library only (plus pyOpenSSL, when installed, for the TLS
listener: see make_server_ossl_context).  Dynamic PostgreSQL credentials are real: the
emulator runs psql as a subprocess to create, renew and drop roles.

Run:  /usr/bin/python3 tests/vaultemu.py --listen 127.0.0.1:0 \
          --root-token TOKEN --ready-file PATH [--journal-file PATH]

Section numbers (§) refer to /work/shared/vault-api.md, which holds the
sources for every behaviour copied here.  The control interface for tests
lives under /_emu/ (no auth): journal, leases, tokens, secrets, fault (modes
status, down, slow, sealed, invalid_json, huge, standby, uninitialized, and
patch: {"mode": "patch", "set": {"lease_duration": 1e300}, "paths": [...]}),
leases/lose, tokens/revoke, reset, ping, logins, wrappings (see Handler._control).

HTTPS: --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]; client
certificates are optional (cert auth, §4.4).  Auth methods (approle,
kubernetes, jwt, cert) are enabled with sys/auth/<path> as in Vault (§4).
"""

import argparse
import base64
import binascii
import fnmatch
import hashlib
import hmac
import http.server
import io
import json
import os
import re
import secrets
import shutil
import signal
import socketserver
import socket
import ssl
import string
import subprocess
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

try:
    # Only for the TLS listener's RequestClientCert (Python's ssl cannot accept an
    # unverified client certificate); without it, client certificates are verified.
    from OpenSSL import SSL as OSSL, crypto as OCRYPTO
except ImportError:             # pragma: no cover
    OSSL = OCRYPTO = None

SYSTEM_DEFAULT_TTL = 768 * 3600      # §5.2: default_lease_ttl 768h
SYSTEM_MAX_TTL = 768 * 3600          # §5.2: max_lease_ttl 768h
VAULT_VERSION = "1.15.6"
MAX_BODY = 32 * 1024 * 1024          # §1.1: 32 MiB default max request size
DB_EXPIRY_BUFFER = 5                 # §5.2: "a small buffer" of 5 s on VALID UNTIL
PSQL_TIMEOUT = 30.0
REAPER_INTERVAL = 0.02
BASE62 = string.ascii_letters + string.digits
PASSWORD_CHARS = string.ascii_letters + string.digits + "-"

ERR_PERMISSION_DENIED = "1 error occurred:\n\t* permission denied\n\n"
ERR_INVALID_TOKEN = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"
# vault-plugin-secrets-kv backend.go pathInvalid: the subcommand follows the operation.
ERR_KV2_INVALID_PATH = ("Invalid path for a versioned K/V secrets engine. See the API docs "
                        "for the appropriate API endpoints to use. If using the Vault CLI, "
                        "use 'vault kv %s' for this operation.")

# Vault's default policy (vault-api.md §3.4): it does not grant sys/leases/revoke.
DEFAULT_POLICY = """
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
path "sys/renew" { capabilities = ["update"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/lookup" { capabilities = ["update"] }
path "sys/wrapping/unwrap" { capabilities = ["update"] }
path "sys/wrapping/lookup" { capabilities = ["update"] }
path "sys/internal/ui/mounts" { capabilities = ["read"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }
"""

# Paths that additionally need the sudo capability (root-protected in Vault).
SUDO_PREFIXES = ("sys/leases/revoke-prefix/", "sys/leases/revoke-force/", "sys/leases/lookup/",
                 "auth/token/accessors")


# ---------------------------------------------------------------------------
# small helpers

# Raised by handlers to answer with an error envelope (§1.4) or any reply.
class VaultError(Exception):
    def __init__(self, status, errors=None, headers=None):
        super().__init__(status, errors)
        self.status = status
        self.errors = [] if errors is None else list(errors)
        self.headers = headers or {}


# A handler's answer: status, JSON body (dict), raw bytes or None, extra headers.
class Reply:
    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


# Database failure whose message has already been sanitized (no secrets).
class DBError(Exception):
    pass


# Returns n random base62 characters (§5.1 lease IDs, §5.4 usernames).
def rand_base62(n):
    return "".join(secrets.choice(BASE62) for _ in range(n))


# Returns a Vault-style default password: 20 chars of [a-zA-Z0-9-], one of each class (§5.4).
def make_password():
    while True:
        pw = "".join(secrets.choice(PASSWORD_CHARS) for _ in range(20))
        if (any(c.islower() for c in pw) and any(c.isupper() for c in pw)
                and any(c.isdigit() for c in pw) and "-" in pw):
            return pw


# Builds a dynamic DB username with the default PostgreSQL template (§5.4).
def make_username(display_name, role_name):
    name = "v-%s-%s-%s-%d" % (display_name[:8], role_name[:8], rand_base62(20), int(time.time()))
    return name[:63]


# Formats a unix time as RFC 3339 in UTC with microseconds (§3.1, §6.3 time fields).
def rfc3339(t):
    if t is None:
        return None
    whole = int(t)
    micros = int(round((t - whole) * 1e6))
    if micros >= 1000000:
        whole, micros = whole + 1, micros - 1000000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%06dZ" % micros


# Formats an expiry the way the PostgreSQL plugin does: "2006-01-02 15:04:05-0700" (§5.3).
def pg_expiration(t):
    return time.strftime("%Y-%m-%d %H:%M:%S+0000", time.gmtime(int(t)))


_DUR_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h|d)")
_DUR_FULL = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|ms|s|m|h|d))+")
_DUR_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
              "d": 86400}


# Parses a TypeDurationSecond value: int seconds or "10s"/"1m"/"1h30m" (§3.2, §6.1).
def parse_duration(value, field):
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise VaultError(400, ['error converting input %s for field "%s"' % (value, field)])
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        s = value.strip()
        if re.fullmatch(r"[+-]?\d+", s):
            return int(s)
        neg = s.startswith("-")
        body = s.lstrip("+-")
        if body and _DUR_FULL.fullmatch(body):
            total = sum(float(n) * _DUR_UNITS[u] for n, u in _DUR_PART.findall(body))
            return -int(total) if neg else int(total)
    raise VaultError(400, ['error converting input %s for field "%s": time: invalid duration "%s"'
                           % (value, field, value)])


# Go's time.Duration.String() with trailing zero units removed, as Vault's humanDuration (§3.2).
def human_duration(secs):
    secs = int(secs)
    if secs == 0:
        return "0s"
    sign = "-" if secs < 0 else ""
    h, rem = divmod(abs(secs), 3600)
    m, s = divmod(rem, 60)
    if h:
        out = "%dh%dm%ds" % (h, m, s)
    elif m:
        out = "%dm%ds" % (m, s)
    else:
        out = "%ds" % s
    if out.endswith("m0s"):
        out = out[:-2]
    idx = out.find("h0m")
    if idx > 0:
        out = out[:idx + 1] + out[idx + 3:]
    return sign + out


# Past-max error of framework.CalculateTTL (§3.2 step 4, §6.1).
class PastMaxTTL(Exception):
    pass


# framework.CalculateTTL: effective TTL and warnings, times truncated to seconds (§3.2, §6.1).
def calculate_ttl(increment, backend_ttl, period, backend_max_ttl, explicit_max_ttl, start_time,
                  now=None):
    now_s = int(time.time() if now is None else now)
    start_s = now_s if not start_time else int(start_time)
    max_ttl = SYSTEM_MAX_TTL
    if 0 < backend_max_ttl < max_ttl:
        max_ttl = backend_max_ttl
    if 0 < explicit_max_ttl < max_ttl:
        max_ttl = explicit_max_ttl
    warnings = []
    if period > 0:
        ttl = period
        if ttl > max_ttl:
            warnings.append('period of "%s" exceeded the effective max_ttl of "%s"; period value is '
                            'capped accordingly' % (human_duration(ttl), human_duration(max_ttl)))
            ttl = max_ttl
        if explicit_max_ttl > 0:
            left = start_s + explicit_max_ttl - now_s
            if left <= 0:
                raise PastMaxTTL("past the max TTL, cannot renew")
            ttl = min(ttl, left)
        return ttl, warnings
    max_valid = start_s + max_ttl - now_s
    if max_valid <= 0:
        raise PastMaxTTL("past the max TTL, cannot renew")
    if increment > 0:
        ttl = increment
    elif backend_ttl > 0:
        ttl = backend_ttl
    else:
        ttl = SYSTEM_DEFAULT_TTL
    if ttl > max_valid:
        warnings.append('TTL of "%s" exceeded the effective max_ttl of "%s"; TTL value is capped '
                        'accordingly' % (human_duration(ttl), human_duration(max_valid)))
        ttl = max_valid
    return ttl, warnings


# Parses a bool field the way Vault's weakly typed field decoding does.
def parse_bool(value, field, default=False):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("1", "t", "true", "yes", "on"):
            return True
        if v in ("0", "f", "false", "no", "off", ""):
            return False
    raise VaultError(400, ['error converting input %r for field "%s"' % (value, field)])


# Parses a TypeCommaStringSlice (string "a,b" or list), e.g. allowed_roles (§5).
def parse_comma_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        out = []
        for v in value:
            out.extend(parse_comma_list(v) if isinstance(v, str) else [str(v)])
        return out
    return [str(value)]


# Parses a statements field: string, list of strings, or base64 of either (§5.3).
def parse_statements(value):
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, str):
            raise VaultError(400, ["statements must be strings"])
        text = item
        compact = item.strip()
        if compact and len(compact) % 4 == 0 and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
            try:
                decoded = base64.b64decode(compact, validate=True).decode("utf-8")
                if decoded.strip() and all(c.isprintable() or c in "\r\n\t" for c in decoded):
                    text = decoded
            except (binascii.Error, UnicodeDecodeError):
                pass
        if text.strip():
            out.append(text)
    return out


# Quotes a string as an SQL literal.
def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


# Quotes a string as an SQL identifier.
def sql_ident(s):
    return '"' + s.replace('"', '""') + '"'


# Replaces {{key}} placeholders in statements (§5.3 dbutil.QueryHelper).
def substitute(statements, values):
    parts = []
    for stmt in statements:
        for key, val in values.items():
            stmt = stmt.replace("{{%s}}" % key, val)
        stmt = stmt.strip()
        if not stmt.endswith(";"):
            stmt += ";"
        parts.append(stmt)
    return "\n".join(parts) + "\n"


# Lists the immediate children of prefix among keys, LIST style ("dir/" for folders; §1.4).
def list_children(keys, prefix):
    out = set()
    for k in keys:
        if k.startswith(prefix) and len(k) > len(prefix):
            rest = k[len(prefix):]
            i = rest.find("/")
            out.add(rest if i < 0 else rest[:i + 1])
    return sorted(out)


# A LIST answer for the names under sub: 404 {"errors":[]} when empty (§1.4, §7).
def list_reply(lock, names, sub, mount_type):
    prefix = sub if (sub == "" or sub.endswith("/")) else sub + "/"
    with lock:
        keys = list_children(names(), prefix)
    if not keys:
        raise VaultError(404, [])
    return Reply(200, envelope({"keys": keys}, mount_type=mount_type))


# Collects the string leaves of a JSON value (for the /_emu/secrets registry).
def string_leaves(value, skip_keys=()):
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if k not in skip_keys:
                out.extend(string_leaves(v))
        return out
    if isinstance(value, list):
        out = []
        for v in value:
            out.extend(string_leaves(v))
        return out
    return []


# The "patch" fault: a hostile or broken server, not Vault.  It overwrites fields of the
# real answer (keys "a.b" reach into objects), keeping the envelope of
# V:sdk/logical/translate_response.go LogicalResponseToHTTPResponse (§1.3) around them, so a
# test can hand the client what Vault's types never produce: a lease_duration of 1e300 (Vault's
# is int(time.Duration.Seconds()), at most 2^63 ns), a lease ID of 200 KB or with control
# characters.
def patch_reply(body, patch):
    for key, value in patch.items():
        obj, parts = body, key.split(".")
        for part in parts[:-1]:
            if not isinstance(obj.get(part), dict):
                obj[part] = {}
            obj = obj[part]
        obj[parts[-1]] = value


# Builds the success envelope with every key present (§1.3).
def envelope(data=None, lease_id="", renewable=False, lease_duration=0, warnings=None, auth=None,
             mount_type=""):
    return {
        "request_id": str(uuid.uuid4()),
        "lease_id": lease_id,
        "renewable": renewable,
        "lease_duration": int(lease_duration),
        "data": data,
        "wrap_info": None,
        "warnings": list(warnings) if warnings else None,
        "auth": auth,
        "mount_type": mount_type,
    }


# ---------------------------------------------------------------------------
# policies (HCL subset + JSON)

_HCL_TOKEN = re.compile(r'''
    (?P<skip>\s+|\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.\-]*)
  | (?P<punct>[{}\[\]=,:])
''', re.S | re.X)

VALID_CAPS = {"create", "read", "update", "delete", "list", "sudo", "deny", "patch", "subscribe"}
LEGACY_POLICY = {
    "deny": ["deny"],
    "read": ["read", "list"],
    "write": ["create", "read", "update", "delete", "list"],
    "sudo": ["create", "read", "update", "delete", "list", "sudo"],
}


# Splits HCL text into (kind, value) tokens.
def _hcl_tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = _HCL_TOKEN.match(text, pos)
        if not m:
            raise ValueError("unexpected character %r at offset %d" % (text[pos], pos))
        pos = m.end()
        kind = m.lastgroup
        if kind == "skip":
            continue
        val = m.group(kind)
        if kind == "str":
            val = json.loads(val)
        out.append((kind, val))
    return out


# Recursive-descent parser for the HCL subset policies use.
class _HCLParser:
    def __init__(self, text):
        self.toks = _hcl_tokens(text)
        self.i = 0

    # Returns the next token without consuming it.
    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    # Consumes a token, optionally checking its value.
    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None:
            raise ValueError("unexpected end of policy")
        if value is not None and tok[1] != value:
            raise ValueError("expected %r, got %r" % (value, tok[1]))
        self.i += 1
        return tok

    # Parses "key [label...] = value" / "key label { ... }" items until a closing brace.
    def body(self, closing):
        items = []
        while True:
            kind, val = self.peek()
            if kind is None and closing is None:
                return items
            if kind == "punct" and val == closing:
                self.take()
                return items
            if kind == "punct" and val == ",":
                self.take()
                continue
            if kind not in ("ident", "str"):
                raise ValueError("expected a key, got %r" % (val,))
            self.take()
            labels = []
            while self.peek()[0] == "str":
                labels.append(self.take()[1])
            if self.peek() == ("punct", "=") or self.peek() == ("punct", ":"):
                self.take()
            items.append((val, labels, self.value()))

    # Parses a value: string, number, bool, list or object.
    def value(self):
        kind, val = self.take()
        if kind in ("str", "num"):
            return val
        if kind == "ident":
            return {"true": True, "false": False}.get(val, val)
        if val == "[":
            out = []
            while True:
                if self.peek() == ("punct", "]"):
                    self.take()
                    return out
                out.append(self.value())
                if self.peek() == ("punct", ","):
                    self.take()
        if val == "{":
            return self.body("}")
        raise ValueError("unexpected %r" % (val,))


# Capabilities named by one path stanza (list or legacy "policy" string).
def _stanza_caps(path, stanza):
    caps = []
    if isinstance(stanza, list):  # HCL items
        items = {k: v for k, _, v in stanza}
    elif isinstance(stanza, dict):
        items = stanza
    else:
        raise ValueError("path %r: expected a block" % path)
    raw = items.get("capabilities")
    if raw is not None:
        if not isinstance(raw, list):
            raise ValueError("path %r: capabilities must be a list" % path)
        for c in raw:
            if c not in VALID_CAPS:
                raise ValueError('path %r: invalid capability "%s"' % (path, c))
            caps.append(c)
    legacy = items.get("policy")
    if legacy is not None:
        if legacy not in LEGACY_POLICY:
            raise ValueError('path %r: invalid policy "%s"' % (path, legacy))
        caps.extend(LEGACY_POLICY[legacy])
    return set(caps)


# Parses policy text (HCL or JSON) into a list of (pattern, capability set) (§3.4 policies).
def parse_policy(text):
    rules = []
    stripped = text.strip()
    if stripped.startswith("{"):
        doc = json.loads(stripped)
        paths = doc.get("path", {})
        if isinstance(paths, list):
            merged = {}
            for p in paths:
                merged.update(p)
            paths = merged
        for pattern, stanza in paths.items():
            rules.append((pattern, _stanza_caps(pattern, stanza)))
        return rules
    for key, labels, value in _HCLParser(text).body(None):
        if key != "path":
            continue
        if len(labels) != 1:
            raise ValueError("path stanza needs exactly one quoted path")
        rules.append((labels[0], _stanza_caps(labels[0], value)))
    return rules


# Compiles an ACL path pattern ("+" segments, trailing "*") into a regex.
def _pattern_regex(pattern):
    glob = pattern.endswith("*")
    body = pattern[:-1] if glob else pattern
    out = []
    for i, seg in enumerate(body.split("/")):
        if i:
            out.append("/")
        out.append("[^/]+" if seg == "+" else re.escape(seg))
    if glob:
        out.append(".*")
    return re.compile("".join(out), re.S)


# Vault's documented priority order for matching patterns (higher key wins).
def _pattern_priority(pattern):
    wild = [i for i, seg in enumerate(pattern) if seg in "*+"]
    first = wild[0] if wild else 1 << 30
    return (first, not pattern.endswith("*"), -pattern.split("/").count("+"), len(pattern), pattern)


# ---------------------------------------------------------------------------
# state records

# A token in the token store (§3).
class Token:
    def __init__(self, token_id, accessor, policies, ttl, explicit_max_ttl, period, renewable,
                 display_name, parent, orphan, meta, path, num_uses=0, max_ttl=0):
        now = time.time()
        self.id = token_id
        self.accessor = accessor
        self.policies = policies
        self.ttl = ttl
        self.explicit_max_ttl = explicit_max_ttl
        self.period = period
        self.renewable = renewable
        self.display_name = display_name
        self.parent = parent
        self.orphan = orphan
        self.meta = meta
        self.path = path
        self.num_uses = num_uses
        self.max_ttl = max_ttl        # backend max TTL (auth-method role token_max_ttl, §3.2)
        self.creation_time = now
        self.expire_time = now + ttl if ttl > 0 else None
        self.last_renewal = None
        self.reaping = False
        self.namespace = ""           # path of the namespace it was made in ("" = root)
        self.type = "service"         # or "batch" (§3.4)

    # True when the token has the root policy.
    def is_root(self):
        return "root" in self.policies


# A registered lease (§5.1, §6).
class Lease:
    def __init__(self, lease_id, path, mount, role, db_name, username, ttl, max_ttl, token_accessor,
                 revocation_statements, conn_info):
        now = time.time()
        self.lease_id = lease_id
        self.path = path
        self.mount = mount
        self.role = role
        self.db_name = db_name
        self.username = username
        self.issue_time = now
        self.expire_time = now + ttl
        self.max_ttl = max_ttl
        self.renewable = True
        self.token_accessor = token_accessor
        self.last_renewal = None
        self.revocation_statements = revocation_statements
        self.conn_info = conn_info
        self.next_attempt = 0.0
        self.revoke_failures = 0
        self.revoke_error = None
        self.namespace = ""           # the namespace it was made in (§ namespaces)
        self.batch_end = None         # the batch token's end it is clamped to, if any

    # Absolute time after which the lease can no longer be extended.
    def max_expire_time(self):
        eff = SYSTEM_MAX_TTL if not self.max_ttl or self.max_ttl > SYSTEM_MAX_TTL else self.max_ttl
        return self.issue_time + eff

    # The lease as JSON for /_emu/leases.
    def to_json(self):
        return {
            "lease_id": self.lease_id, "path": self.path, "issue_time": self.issue_time,
            "expire_time": self.expire_time, "max_expire_time": self.max_expire_time(),
            "renewable": self.renewable, "token_accessor": self.token_accessor,
            "username": self.username, "last_renewal": self.last_renewal,
            "ttl": max(0, int(round(self.expire_time - time.time()))),
            "revoke_error": self.revoke_error,
        }


# A mount table entry (§7 sys/internal/ui/mounts, sys/mounts).
class Mount:
    def __init__(self, path, mtype, options, engine, description=""):
        self.path = path
        self.type = mtype
        self.options = options
        self.engine = engine
        self.description = description
        self.accessor = "%s_%s" % (mtype, secrets.token_hex(4))
        self.uuid = str(uuid.uuid4())

    # The mount as Vault's per-mount description map.
    def info(self):
        return {
            "accessor": self.accessor,
            "config": {"default_lease_ttl": 0, "force_no_cache": False, "max_lease_ttl": 0},
            "description": self.description,
            "external_entropy_access": False,
            "local": False,
            "options": self.options,
            "plugin_version": "",
            "running_plugin_version": "v%s+builtin.vault" % VAULT_VERSION,
            "running_sha256": "",
            "seal_wrap": False,
            "type": self.type,
            "uuid": self.uuid,
        }


# Per-request context handed to engines.
class Ctx:
    def __init__(self, core, token, op, path, query, data):
        self.core = core
        self.token = token
        self.op = op
        self.path = path
        self.query = query
        self.data = data if data is not None else {}
        self.has_body = data is not None
        self.wrap_ttl = 0             # X-Vault-Wrap-TTL seconds (§4.5)
        self.ns = ""                  # the request's namespace path, "admin/" (§1.2)

    # Returns the first query value for key, or default.
    def q(self, key, default=None):
        vals = self.query.get(key)
        return vals[0] if vals else default


# ---------------------------------------------------------------------------
# journal

# Every request header for the journal; credentials only as a digest.
def journal_headers(headers):
    out = {}
    for k, v in headers.items():
        if k.lower() in ("x-vault-token", "authorization", "x-vault-mfa"):
            v = "sha256:" + hashlib.sha256(v.encode("utf-8", "replace")).hexdigest()[:16]
        out[k] = v
    return out


# Append-only event log served at /_emu/journal (optionally mirrored to a file).
class Journal:
    def __init__(self, path=None):
        self.lock = threading.Lock()
        self.events = []
        self.seq = 0
        self.file = open(path, "a", encoding="utf-8") if path else None

    # Appends one event with the next sequence number and the current time.
    def add(self, kind, **fields):
        with self.lock:
            self.seq += 1
            ev = {"seq": self.seq, "time": time.time(), "kind": kind}
            ev.update(fields)
            self.events.append(ev)
            if self.file:
                self.file.write(json.dumps(ev) + "\n")
                self.file.flush()
            return ev

    # Returns the events with seq > since.
    def since(self, since=0):
        with self.lock:
            return [e for e in self.events if e["seq"] > since]

    # Closes the mirror file.
    def close(self):
        with self.lock:
            if self.file:
                self.file.close()
                self.file = None


# ---------------------------------------------------------------------------
# PostgreSQL access through psql

# Finds the psql binary (PostgreSQL 15 first, then PATH).
def find_psql():
    for cand in ("/usr/lib/postgresql/15/bin/psql",):
        if os.access(cand, os.X_OK):
            return cand
    return shutil.which("psql") or "psql"


# Parses a connection_url (URL or key=value form) into libpq settings (§5 database/config).
def parse_connection_url(url, username, password):
    params = {}
    if "://" in url:
        sp = urlsplit(url)
        if sp.scheme not in ("postgres", "postgresql"):
            raise VaultError(400, ["error creating database object: invalid connection URL scheme"])
        userinfo, at, hostport = sp.netloc.rpartition("@")
        if not at:
            userinfo, hostport = "", sp.netloc
        if userinfo:
            user, colon, pw = userinfo.partition(":")
            params["user"] = unquote(user)
            if colon:
                params["password"] = unquote(pw)
        if hostport:
            if hostport.startswith("["):
                host, _, rest = hostport[1:].partition("]")
                port = rest[1:] if rest.startswith(":") else ""
            else:
                host, _, port = hostport.partition(":")
            if host:
                params["host"] = unquote(host)
            if port:
                params["port"] = port
        if sp.path and sp.path != "/":
            params["dbname"] = unquote(sp.path.lstrip("/"))
        for key, val in parse_qsl(sp.query, keep_blank_values=True):
            params[key] = val
    else:
        for m in re.finditer(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", url):
            val = m.group(2)
            if val.startswith("'"):
                val = re.sub(r"\\(.)", r"\1", val[1:-1])
            params[m.group(1)] = val
    for key in list(params):
        val = params[key]
        val = val.replace("{{username}}", username or "").replace("{{password}}", password or "")
        params[key] = val
    if "user" not in params and username:
        params["user"] = username
    if "password" not in params and password:
        params["password"] = password
    return params


_PG_ENV = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
           "password": "PGPASSWORD", "dbname": "PGDATABASE", "sslmode": "PGSSLMODE",
           "connect_timeout": "PGCONNECT_TIMEOUT", "sslrootcert": "PGSSLROOTCERT",
           "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY"}


# Environment for psql from connection parameters (password via env, never argv).
def psql_env(params):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "10"
    env["PGAPPNAME"] = "vaultemu"
    env["PGOPTIONS"] = "-c client_min_messages=warning"
    for key, var in _PG_ENV.items():
        if params.get(key):
            env[var] = params[key]
    return env


# Turns psql's stderr into a one-line message without secrets or SQL excerpts (§5.1 errors).
def sanitize_db_error(stderr, hide):
    lines = []
    for line in stderr.splitlines():
        line = re.sub(r"^psql:<stdin>:\d+:\s*", "", line).strip()
        if not line or line.startswith("LINE ") or set(line) <= set("^ "):
            continue
        lines.append(line)
    msg = "; ".join(lines) or "psql failed without a message"
    for secret in sorted((h for h in hide if h), key=len, reverse=True):
        msg = msg.replace(secret, "[redacted]")
    msg = re.sub(r"PASSWORD\s+'[^']*'", "PASSWORD '[redacted]'", msg, flags=re.I)
    return msg[:800]


# ---------------------------------------------------------------------------
# secrets engines

# KV version 1 engine (§7.1).
class KVv1:
    mount_type = "kv"

    def __init__(self, core, mount_path):
        self.core = core
        self.mount_path = mount_path
        self.data = {}

    # True if the key exists (picks the create or update capability, §1.5).
    def exists(self, sub):
        return sub in self.data

    # Serves GET/PUT/POST/DELETE/LIST on the mount (§7.1; writes and deletes answer 204).
    def handle(self, ctx, sub):
        if ctx.op == "list":
            return list_reply(self.core.lock, self.data.keys, sub, self.mount_type)
        if sub == "" or sub.endswith("/"):
            raise VaultError(404, [])
        if ctx.op == "read":
            with self.core.lock:
                item = self.data.get(sub)
            if item is None:
                raise VaultError(404, [])
            ttl = SYSTEM_DEFAULT_TTL
            for key in ("ttl", "lease"):
                if key in item:
                    try:
                        ttl = parse_duration(item[key], key)
                    except VaultError:
                        pass
                    break
            self.core.remember_secrets(string_leaves(item, skip_keys=("ttl", "lease")))
            return Reply(200, envelope(dict(item), lease_duration=ttl, mount_type=self.mount_type))
        if ctx.op == "update":
            if not ctx.data:
                raise VaultError(400, ["missing data fields"])
            for key in ("ttl", "lease"):
                if key in ctx.data:
                    try:
                        parse_duration(ctx.data[key], key)
                    except VaultError:
                        raise VaultError(400, ['failed to parse TTL for entry'])
            with self.core.lock:
                self.data[sub] = dict(ctx.data)
            return None
        if ctx.op == "delete":
            with self.core.lock:
                self.data.pop(sub, None)
            return None
        raise VaultError(405, ["unsupported operation"])


# KV version 2 engine (§7.2).
class KVv2:
    mount_type = "kv"
    PREFIXES = ("data/", "metadata/", "delete/", "undelete/", "destroy/", "subkeys/")

    def __init__(self, core, mount_path):
        self.core = core
        self.mount_path = mount_path
        self.keys = {}
        self.config = {"max_versions": 0, "cas_required": False, "delete_version_after": "0s"}

    # True if the key behind a data/ or metadata/ path exists.
    def exists(self, sub):
        for p in ("data/", "metadata/"):
            if sub.startswith(p):
                return sub[len(p):] in self.keys
        return sub == "config"

    # Metadata of one version as Vault prints it.
    @staticmethod
    def _version_meta(num, ver, custom):
        return {
            "created_time": rfc3339(ver["created_time"]),
            "custom_metadata": custom,
            "deletion_time": rfc3339(ver["deletion_time"]) or "",
            "destroyed": ver["destroyed"],
            "version": num,
        }

    # Parses the "versions" list of delete/undelete/destroy.
    @staticmethod
    def _versions(ctx):
        raw = ctx.data.get("versions")
        vals = parse_comma_list(raw) if not isinstance(raw, int) else [raw]
        try:
            out = [int(v) for v in vals]
        except ValueError:
            raise VaultError(400, ["invalid version number"])
        if not out:
            raise VaultError(400, ["no version number provided"])
        return out

    # Serves data/, metadata/, delete/, undelete/, destroy/ and config (§7.2).
    def handle(self, ctx, sub):
        if sub == "config":
            return self._config(ctx)
        prefix = next((p for p in self.PREFIXES if sub.startswith(p)), None)
        if prefix is None and (sub + "/") in self.PREFIXES:
            prefix, sub = sub + "/", sub + "/"
        if prefix is None:
            # vault-plugin-secrets-kv backend.go pathInvalid: a warning in a full
            # envelope sent with logical.RespondWithStatusCode(resp, req, 404); no
            # "errors" key (captured answers show the same body).
            cmd = {"update": "put", "create": "put", "delete": "delete",
                   "list": "list"}.get(ctx.op, "get")
            return Reply(404, envelope(None, warnings=[ERR_KV2_INVALID_PATH % cmd]))
        key = sub[len(prefix):]
        if prefix == "metadata/":
            return self._metadata(ctx, key)
        if key == "" or key.endswith("/"):
            raise VaultError(404, [])
        if prefix == "data/":
            return self._data(ctx, key)
        if prefix == "subkeys/":
            raise VaultError(404, [])
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        versions = self._versions(ctx)
        now = time.time()
        with self.core.lock:
            entry = self.keys.get(key)
            if entry is None:
                return None
            for num in versions:
                ver = entry["versions"].get(num)
                if ver is None:
                    continue
                if prefix == "delete/" and ver["deletion_time"] is None:
                    ver["deletion_time"] = now
                elif prefix == "undelete/" and not ver["destroyed"]:
                    ver["deletion_time"] = None
                elif prefix == "destroy/":
                    ver["destroyed"] = True
                    ver["data"] = None
            entry["updated_time"] = now
        return None

    # GET/POST config (§7.2).
    def _config(self, ctx):
        with self.core.lock:
            if ctx.op == "read":
                return Reply(200, envelope(dict(self.config), mount_type=self.mount_type))
            if ctx.op == "update":
                if "max_versions" in ctx.data:
                    self.config["max_versions"] = int(ctx.data["max_versions"])
                if "cas_required" in ctx.data:
                    self.config["cas_required"] = parse_bool(ctx.data["cas_required"], "cas_required")
                return None
        raise VaultError(405, ["unsupported operation"])

    # GET/POST/PUT/DELETE data/<key>; deleted/destroyed reads are 404 with an envelope (§7.2).
    def _data(self, ctx, key):
        now = time.time()
        if ctx.op == "read":
            try:
                want = int(ctx.q("version", "0") or 0)
            except ValueError:
                raise VaultError(400, ["invalid version number"])
            with self.core.lock:
                entry = self.keys.get(key)
                if entry is None:
                    raise VaultError(404, [])
                num = want or entry["current_version"]
                ver = entry["versions"].get(num)
                if ver is None:
                    raise VaultError(404, [])
                meta = self._version_meta(num, ver, entry["custom_metadata"])
                deleted = ver["deletion_time"] is not None and ver["deletion_time"] <= now
                if deleted or ver["destroyed"]:
                    # §7.2: deleted/destroyed version -> 404 with a full envelope, no "errors".
                    body = envelope({"data": None, "metadata": meta}, mount_type=self.mount_type)
                    return Reply(404, body)
                data = json.loads(json.dumps(ver["data"]))
            self.core.remember_secrets(string_leaves(data))
            return Reply(200, envelope({"data": data, "metadata": meta}, mount_type=self.mount_type))
        if ctx.op == "update":
            data = ctx.data.get("data")
            if data is None:
                raise VaultError(400, ["no data provided"])
            if not isinstance(data, dict):
                raise VaultError(400, ["data must be a JSON object"])
            options = ctx.data.get("options") or {}
            with self.core.lock:
                entry = self.keys.get(key)
                current = entry["current_version"] if entry else 0
                cas = options.get("cas") if isinstance(options, dict) else None
                if cas is None and (self.config["cas_required"] or
                                    (entry and entry.get("cas_required"))):
                    raise VaultError(400, ["check-and-set parameter required for this call"])
                if cas is not None and int(cas) != current:
                    raise VaultError(400, ["check-and-set parameter did not match the current version"])
                if entry is None:
                    entry = {"versions": {}, "current_version": 0, "oldest_version": 0,
                             "created_time": now, "updated_time": now, "custom_metadata": None,
                             "max_versions": 0, "cas_required": False,
                             "delete_version_after": "0s"}
                    self.keys[key] = entry
                num = current + 1
                ver = {"data": json.loads(json.dumps(data)), "created_time": now,
                       "deletion_time": None, "destroyed": False}
                entry["versions"][num] = ver
                entry["current_version"] = num
                entry["updated_time"] = now
                if entry["oldest_version"] == 0:
                    entry["oldest_version"] = 1
                limit = entry["max_versions"] or self.config["max_versions"] or 10
                for old in sorted(entry["versions"]):
                    if len(entry["versions"]) <= limit:
                        break
                    del entry["versions"][old]
                    entry["oldest_version"] = min(entry["versions"])
                meta = self._version_meta(num, ver, entry["custom_metadata"])
            return Reply(200, envelope(meta, mount_type=self.mount_type))
        if ctx.op == "delete":
            with self.core.lock:
                entry = self.keys.get(key)
                if entry:
                    ver = entry["versions"].get(entry["current_version"])
                    if ver and ver["deletion_time"] is None:
                        ver["deletion_time"] = now
                    entry["updated_time"] = now
            return None
        raise VaultError(405, ["unsupported operation"])

    # GET/LIST/POST/DELETE metadata/<key> (§7.2).
    def _metadata(self, ctx, key):
        if ctx.op == "list":
            return list_reply(self.core.lock, self.keys.keys, key, self.mount_type)
        if key == "" or key.endswith("/"):
            raise VaultError(404, [])
        with self.core.lock:
            entry = self.keys.get(key)
            if ctx.op == "read":
                if entry is None:
                    raise VaultError(404, [])
                versions = {}
                for num, ver in entry["versions"].items():
                    versions[str(num)] = {"created_time": rfc3339(ver["created_time"]),
                                          "deletion_time": rfc3339(ver["deletion_time"]) or "",
                                          "destroyed": ver["destroyed"]}
                data = {"cas_required": entry["cas_required"],
                        "created_time": rfc3339(entry["created_time"]),
                        "current_version": entry["current_version"],
                        "custom_metadata": entry["custom_metadata"],
                        "delete_version_after": entry["delete_version_after"],
                        "max_versions": entry["max_versions"],
                        "oldest_version": entry["oldest_version"],
                        "updated_time": rfc3339(entry["updated_time"]),
                        "versions": versions}
                return Reply(200, envelope(data, mount_type=self.mount_type))
            if ctx.op == "delete":
                self.keys.pop(key, None)
                return None
            if ctx.op == "update":
                now = time.time()
                if entry is None:
                    entry = {"versions": {}, "current_version": 0, "oldest_version": 0,
                             "created_time": now, "updated_time": now, "custom_metadata": None,
                             "max_versions": 0, "cas_required": False,
                             "delete_version_after": "0s"}
                    self.keys[key] = entry
                if "max_versions" in ctx.data:
                    entry["max_versions"] = int(ctx.data["max_versions"])
                if "cas_required" in ctx.data:
                    entry["cas_required"] = parse_bool(ctx.data["cas_required"], "cas_required")
                if "custom_metadata" in ctx.data:
                    entry["custom_metadata"] = ctx.data["custom_metadata"] or None
                entry["updated_time"] = now
                return None
        raise VaultError(405, ["unsupported operation"])


# What the engines with roles/<name> (PKI, AWS) share: the mount, the roles, and
# "exists" (an update of a role not there yet needs the "create" capability).
class RoleEngine:
    def __init__(self, core, mount_path):
        self.core = core
        self.mount_path = mount_path
        self.roles = {}

    # True if the role named by the path exists.
    def exists(self, sub):
        if sub.startswith("roles/"):
            return sub[6:] in self.roles
        return True

    # GET, POST and DELETE roles/<name>: the stored role, parse_role(data) stored, gone
    # (PKI path_roles.go pathRoleRead / pathRoleCreate / pathRoleDelete; AWS
    # path_roles.go pathRolesRead / pathRolesWrite / pathRolesDelete).
    def _role(self, ctx, name):
        if ctx.op == "read":
            with self.core.lock:
                r = self.roles.get(name)
            if r is None:
                raise VaultError(404, [])
            return Reply(200, envelope(dict(r), mount_type=self.mount_type))
        if ctx.op == "delete":
            with self.core.lock:
                self.roles.pop(name, None)
            return None
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        role = self.parse_role(ctx.data)
        with self.core.lock:
            self.roles[name] = role
        return None


# Database secrets engine with the PostgreSQL plugin (§5).
# PKI secrets engine: roles/<name>, issue/<role> (a write only), cert/ca.  Follows
# hashicorp/vault builtin/logical/pki: path_roles.go (pathRoleCreate: ttl, max_ttl,
# allowed_domains, allow_subdomains, allow_any_name, generate_lease, default false),
# path_issue_sign.go (pathIssue: "issue/" + role, UpdateOperation only;
# pathIssueSignCert: data holds certificate, issuing_ca, ca_chain, private_key,
# private_key_type, serial_number and expiration = NotAfter as Unix seconds, and
# no Secret (no lease) unless the role's generate_lease is true) and cert_util.go
# (generateCreationBundle: the TTL asked for, else the role's ttl, else the mount's
# default; capped at max_ttl; NotBefore backdated by not_before_duration, 30 s).
# Each mount makes a throwaway EC P-256 CA at its first issue (python3-cryptography).
class PKIEngine(RoleEngine):
    mount_type = "pki"

    def __init__(self, core, mount_path):
        super().__init__(core, mount_path)
        self.ca = None          # (key, cert) once made
        self.issued = []        # serial numbers, for tests
        self.not_after = {}     # serial number -> its expiration (revoke)
        self.revoked = {}       # serial number -> revocation time (revoke)

    # Routes roles/, issue/ and cert/ca (path_fetch.go: data.certificate).
    def handle(self, ctx, sub):
        head, _, name = sub.partition("/")
        if sub == "cert/ca":
            if ctx.op != "read":
                raise VaultError(405, ["unsupported operation"])
            return Reply(200, envelope({"certificate": self._ca_pem()},
                                       mount_type=self.mount_type))
        if sub == "revoke":
            if ctx.op != "update":
                raise VaultError(405, ["unsupported operation"])
            return self._revoke(ctx)
        if not name or "/" in name:
            raise VaultError(404, ["unsupported path"])
        if head == "roles":
            return self._role(ctx, name)
        if head == "issue":
            if ctx.op != "update":
                raise VaultError(405, ["unsupported operation"])
            return self._issue(ctx, name)
        raise VaultError(404, ["unsupported path"])

    # A role from POST roles/<name> (path_roles.go pathRoleCreate).
    @staticmethod
    def parse_role(d):
        role = {"ttl": parse_duration(d.get("ttl", 0), "ttl"),
                "max_ttl": parse_duration(d.get("max_ttl", 0), "max_ttl"),
                "allowed_domains": d.get("allowed_domains") or [],
                "allow_subdomains": bool(d.get("allow_subdomains", False)),
                "allow_any_name": bool(d.get("allow_any_name", False)),
                "generate_lease": bool(d.get("generate_lease", False))}
        if isinstance(role["allowed_domains"], str):
            role["allowed_domains"] = [x for x in role["allowed_domains"].split(",") if x]
        return role

    # The mount's CA (key, cert), made at first use.
    def _ca_pair(self):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import datetime
        with self.core.lock:
            if self.ca is None:
                key = ec.generate_private_key(ec.SECP256R1())
                name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vaultemu test CA")])
                now = datetime.datetime.now(datetime.timezone.utc)
                cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                        .public_key(key.public_key()).serial_number(x509.random_serial_number())
                        .not_valid_before(now - datetime.timedelta(seconds=30))
                        .not_valid_after(now + datetime.timedelta(days=30))
                        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                        .sign(key, hashes.SHA256()))
                self.ca = (key, cert)
            return self.ca

    # The CA certificate as PEM.
    def _ca_pem(self):
        from cryptography.hazmat.primitives import serialization
        return self._ca_pair()[1].public_bytes(serialization.Encoding.PEM).decode()

    # A common name the role allows (cert_util.go validateCommonName, simplified).
    @staticmethod
    def _allowed(role, cn):
        if role["allow_any_name"]:
            return True
        for dom in role["allowed_domains"]:
            if cn == dom or (role["allow_subdomains"] and cn.endswith("." + dom)):
                return True
        return False

    # PUT issue/<role>: a fresh key and certificate (path_issue_sign.go pathIssueSignCert).
    def _issue(self, ctx, name):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import datetime
        with self.core.lock:
            role = self.roles.get(name)
        if role is None:
            raise VaultError(400, ['unknown role: %s' % name])
        cn = ctx.data.get("common_name") or ""
        if not cn:
            raise VaultError(400, ["the common_name field is required, or must be provided "
                                   "in a CSR with \"use_csr_common_name\" set to true, unless "
                                   "\"require_cn\" is set to false"])
        if not self._allowed(role, cn):
            raise VaultError(400, ["common name %s not allowed by this role" % cn])
        ttl = parse_duration(ctx.data.get("ttl", 0), "ttl") or role["ttl"] or SYSTEM_DEFAULT_TTL
        if role["max_ttl"] and ttl > role["max_ttl"]:
            ttl = role["max_ttl"]
        ca_key, ca_cert = self._ca_pair()
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        not_after = now + datetime.timedelta(seconds=ttl)
        sans = [x509.DNSName(cn)] + [x509.DNSName(a.strip()) for a in
                                    (ctx.data.get("alt_names") or "").split(",") if a.strip()]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(seconds=30))
                .not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName(sans), False)
                .sign(ca_key, hashes.SHA256()))
        serial = ":".join("%02x" % b for b in cert.serial_number.to_bytes(20, "big"))
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode()
        ca_pem = self._ca_pem()
        self.core.remember_secrets([key_pem])
        data = {"certificate": pem, "issuing_ca": ca_pem, "ca_chain": [ca_pem],
                "private_key": key_pem, "private_key_type": "ec", "serial_number": serial,
                "expiration": int(not_after.timestamp())}
        with self.core.lock:
            self.issued.append(serial)
            self.not_after[serial] = not_after.timestamp()
        self.core.journal.add("pki", event="issue", role=name, serial_number=serial,
                              common_name=cn, expiration=data["expiration"])
        return Reply(200, envelope(data, mount_type=self.mount_type))

    # PUT revoke (builtin/logical/pki path_revoke.go pathRevokeWrite, then crl_util.go
    # revokeCert), every refusal an ErrorResponse with a nil error, so a 400:
    #  - neither serial_number nor certificate: "The serial number or certificate to
    #    revoke must be provided."; both: "Must provide either the certificate or the
    #    serial to revoke; not both."; an empty serial: "The serial number must be
    #    provided";
    #  - a serial this mount never issued: "certificate with serial %s not found."
    #    (pathRevokeWrite -> maybeRevokeCrossCluster, no global queue);
    #  - revoked before: 200 with that first revocation_time (Unix seconds),
    #    revocation_time_rfc3339 and "state": "revoked" (revokeCert's fetchRevocationInfo);
    #  - expired, or expiring within 2 s (cert.NotAfter before now + 2 s): 200 with no
    #    data and the warning "certificate with serial %s already expired; refusing to
    #    add to CRL" (the colon serial), and it is not revoked;
    #  - else revoked now: 200 with revocation_time, revocation_time_rfc3339, "state".
    # Revoking by certificate and the CRL itself are not modelled.
    def _revoke(self, ctx):
        serial = ctx.data.get("serial_number")
        cert = ctx.data.get("certificate")
        if serial is None and cert is None:
            raise VaultError(400, ["The serial number or certificate to revoke must be "
                                   "provided."])
        if serial is not None and cert is not None:
            raise VaultError(400, ["Must provide either the certificate or the serial to "
                                   "revoke; not both."])
        if serial is None:
            raise VaultError(400, ["revoking by certificate is not emulated; give "
                                   "serial_number"])
        if not serial:
            raise VaultError(400, ["The serial number must be provided"])
        norm = serial.strip().lower().replace("-", ":")
        with self.core.lock:
            if norm not in self.issued:
                raise VaultError(400, ["certificate with serial %s not found." % serial])
            when = self.revoked.get(norm)
            if when is None and self.not_after[norm] < time.time() + 2:
                self.core.journal.add("pki", event="revoke_expired", serial_number=norm)
                return Reply(200, envelope(None, mount_type=self.mount_type, warnings=[
                    "certificate with serial %s already expired; refusing to add to CRL"
                    % norm]))
            if when is None:
                when = self.revoked[norm] = time.time()
        self.core.journal.add("pki", event="revoke", serial_number=norm)
        return Reply(200, envelope({"revocation_time": int(when),
                                    "revocation_time_rfc3339": rfc3339(when),
                                    "state": "revoked"},
                                   mount_type=self.mount_type))


# ---------------------------------------------------------------------------
# AWS secrets engine (hashicorp/vault builtin/logical/aws), without AWS: the keys are
# made here and checked by an emulator-only route standing in for STS
# GetCallerIdentity (POST /_emu/aws/caller-identity), with a knob for IAM's eventual
# consistency (POST /_emu/aws/consistency {"delay": SECONDS}): a new key is refused
# until that long after it was issued, as AWS does for new IAM keys for seconds.
# ---------------------------------------------------------------------------

AWS_CRED_TYPES = ("iam_user", "assumed_role", "federation_token")
AWS_STS_DEFAULT_TTL = 3600     # path_user.go pathUser: the "ttl" field's Default 3600
AWS_ACCOUNT = "123456789012"


# An AWS key ID: "AKIA" for an IAM user's key, "ASIA" for STS, then 16 of [A-Z2-7].
def aws_key_id(prefix):
    return prefix + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                            for _ in range(16))


class AWSEngine(RoleEngine):
    mount_type = "aws"

    def __init__(self, core, mount_path):
        super().__init__(core, mount_path)
        self.lease = {"lease": 0, "lease_max": 0}   # config/lease (path_config_lease.go)
        self.keys = {}              # access_key -> key record (for caller-identity)
        self.consistency_delay = 0.0

    # Routes config/root, config/lease, roles/, creds/ and sts/ (backend.go Paths).
    def handle(self, ctx, sub):
        if sub == "config/root":
            # path_config_root.go pathConfigRootWrite: stored, never shown back.
            if ctx.op != "update":
                raise VaultError(405, ["unsupported operation"])
            return None
        if sub == "config/lease":
            return self._config_lease(ctx)
        head, _, name = sub.partition("/")
        if not name or "/" in name:
            raise VaultError(404, ["unsupported path"])
        if head == "roles":
            return self._role(ctx, name)
        if head in ("creds", "sts"):
            # path_user.go pathUser: "(creds|sts)/<name>", ReadOperation and
            # UpdateOperation both pathCredsRead (a GET's query is its data).
            if ctx.op not in ("read", "update"):
                raise VaultError(405, ["unsupported operation"])
            return self._creds(ctx, head, name)
        raise VaultError(404, ["unsupported path"])

    # config/lease (path_config_lease.go pathLeaseRead / pathLeaseWrite).
    def _config_lease(self, ctx):
        if ctx.op == "read":
            return Reply(200, envelope({"lease": human_duration(self.lease["lease"]),
                                        "lease_max": human_duration(self.lease["lease_max"])},
                                       mount_type=self.mount_type))
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        lease = parse_duration(ctx.data.get("lease", 0), "lease")
        lease_max = parse_duration(ctx.data.get("lease_max", 0), "lease_max")
        if not lease or not lease_max:
            # pathLeaseWrite: both are required ("'lease' is a required parameter").
            raise VaultError(400, ["'lease' and 'lease_max' are required parameters"])
        self.lease = {"lease": lease, "lease_max": lease_max}
        return None

    # A role from POST roles/<name> (path_roles.go pathRolesWrite).
    @staticmethod
    def parse_role(d):
        ctype = d.get("credential_type") or ""
        if ctype not in AWS_CRED_TYPES:
            raise VaultError(400, ["unrecognized credential_type: %s, not one of %s"
                                   % (ctype, ", ".join(AWS_CRED_TYPES))])
        role = {"credential_type": [ctype],
                "role_arns": parse_comma_list(d.get("role_arns")),
                "policy_arns": parse_comma_list(d.get("policy_arns")),
                "policy_document": d.get("policy_document") or "",
                "default_sts_ttl": parse_duration(d.get("default_sts_ttl", 0), "default_sts_ttl"),
                "max_sts_ttl": parse_duration(d.get("max_sts_ttl", 0), "max_sts_ttl")}
        if isinstance(role["policy_document"], dict):
            role["policy_document"] = json.dumps(role["policy_document"])
        # path_roles.go awsRoleEntry.validate: role_arns only with assumed_role; the STS
        # TTLs only with the STS types; the default no longer than the max.
        if role["role_arns"] and ctype != "assumed_role":
            raise VaultError(400, ["cannot supply role_arns when credential_type isn't "
                                   "assumed_role"])
        if (role["default_sts_ttl"] or role["max_sts_ttl"]) and ctype == "iam_user":
            raise VaultError(400, ["default_sts_ttl and max_sts_ttl are only valid for "
                                   "assumed_role and federation_token"])
        if role["max_sts_ttl"] and role["default_sts_ttl"] > role["max_sts_ttl"]:
            raise VaultError(400, ["default_sts_ttl cannot exceed max_sts_ttl"])
        return role

    # creds/<name> and sts/<name> (path_user.go pathCredsRead).
    def _creds(self, ctx, head, name):
        with self.core.lock:
            role = self.roles.get(name)
        if role is None:
            raise VaultError(400, ['Role "%s" not found' % name])
        raw = ctx.data.get("ttl", ctx.q("ttl"))
        # pathCredsRead: the "ttl" asked for, else the role's default_sts_ttl, else the
        # field's default 3600 s; capped at max_sts_ttl, else the mount's max lease TTL.
        if raw not in (None, ""):
            ttl = parse_duration(raw, "ttl")
        else:
            ttl = role["default_sts_ttl"] or AWS_STS_DEFAULT_TTL
        ttl = min(ttl, role["max_sts_ttl"] or SYSTEM_MAX_TTL)
        ctype = role["credential_type"][0]
        if ctype == "iam_user":
            return self._iam_user(ctx, name)
        if ctype == "federation_token" and not role["policy_document"] and \
                not role["policy_arns"]:
            # secret_access_keys.go getFederationToken.
            raise VaultError(400, ["must specify at least one of policy_arns or "
                                   "policy_document with federation_token credential_type"])
        data = {}
        if ctype == "assumed_role":
            arn = ctx.data.get("role_arn", ctx.q("role_arn")) or ""
            if not arn:
                if len(role["role_arns"]) != 1:
                    raise VaultError(400, ["did not supply a role_arn parameter and unable "
                                           "to determine one"])
                arn = role["role_arns"][0]
            elif arn not in role["role_arns"]:
                raise VaultError(400, ['role_arn "%s" not in allowed role arns for Vault '
                                       'role "%s"' % (arn, name)])
            data["arn"] = arn.replace(":role/", ":assumed-role/") + "/vault-" + name
        return self._sts(ctx, name, ttl, data)

    # A key record, remembered for caller-identity; its secret parts registered as secrets.
    def _new_key(self, prefix, kind, ttl, session):
        now = time.time()
        key = {"access_key": aws_key_id(prefix), "secret_key": rand_base62(40),
               "security_token": ("FwoGZXIvYXdzE" + rand_base62(200)) if session else None,
               "kind": kind, "issued": now, "expires": now + ttl if session else None,
               "revoked": False}
        self.core.remember_secrets([key["secret_key"], key["security_token"]])
        with self.core.lock:
            self.keys[key["access_key"]] = key
        return key

    # assumed_role / federation_token (secret_access_keys.go assumeRole,
    # getFederationToken): access_key, secret_key, security_token; the lease's TTL is
    # the credentials' own lifetime and Renewable is false ("STS are purposefully
    # short-lived and aren't renewable").
    def _sts(self, ctx, name, ttl, data):
        key = self._new_key("ASIA", "sts", ttl, True)
        data.update({"access_key": key["access_key"], "secret_key": key["secret_key"],
                     "security_token": key["security_token"]})
        return self._lease_reply(ctx, name, key, ttl, 0, False, data)

    # iam_user (secret_access_keys.go secretAccessKeysCreate): a new IAM user and key,
    # security_token null, TTL and max TTL from config/lease (0: the mount's defaults),
    # renewable.
    def _iam_user(self, ctx, name):
        ttl = self.lease["lease"] or SYSTEM_DEFAULT_TTL
        key = self._new_key("AKIA", "iam_user", ttl, False)
        data = {"access_key": key["access_key"], "secret_key": key["secret_key"],
                "security_token": None}
        return self._lease_reply(ctx, name, key, ttl, self.lease["lease_max"], True, data)

    # Registers the lease (vault/expiration.go Register: path + "/" + base62(24)).
    def _lease_reply(self, ctx, name, key, ttl, max_ttl, renewable, data):
        lease_id = "%s/%s%s" % (ctx.path, rand_base62(24), self.core.ns_suffix(ctx.ns))
        lease = Lease(lease_id, ctx.path, self.mount_path, name, None, None, ttl, max_ttl,
                      ctx.token.accessor if ctx.token else None, [], {})
        lease.renewable = renewable
        lease.namespace = ctx.ns
        lease.aws_key = key["access_key"]
        key["lease_id"] = lease_id
        self.core.register_lease(lease)
        self.core.journal.add("aws", event="issue", type=key["kind"], role=name,
                              access_key=key["access_key"], lease_id=lease_id, ttl=ttl,
                              renewable=renewable)
        return Reply(200, envelope(data, lease_id=lease_id, renewable=renewable,
                                   lease_duration=ttl, mount_type=self.mount_type))

    # Renewal TTLs: secretAccessKeysRenew sets config/lease's lease and lease_max (an
    # STS lease never gets here: vault/expiration.go Renew refuses a lease whose
    # Renewable is false with 400 "lease is not renewable"; secretAccessKeysRenew
    # itself answers nil for is_sts).
    def role_ttls(self, role_name):
        return (self.lease["lease"] or SYSTEM_DEFAULT_TTL), self.lease["lease_max"]

    # Nothing to do on AWS's side for a renewal (secretAccessKeysRenew).
    def renew_user(self, lease, ttl, now):
        return None

    # secretAccessKeysRevoke: a no-op for STS ("STS cleans up after itself": the key
    # works until its own expiration); an IAM user and its keys are deleted
    # (pathUserRollback).  Returns 0 sessions, like a database revocation with none.
    def revoke_user(self, lease):
        with self.core.lock:
            key = self.keys.get(getattr(lease, "aws_key", None))
            if key is not None and key["kind"] == "iam_user":
                key["revoked"] = True
        if key is not None:
            self.core.journal.add("aws", event="revoke", type=key["kind"],
                                  access_key=key["access_key"], lease_id=lease.lease_id,
                                  deleted=key["kind"] == "iam_user")
        return 0

    # The stand-in for STS GetCallerIdentity: 200 with the identity, or 403 as AWS
    # answers a key it does not know (yet, or any more) or an expired session.
    def caller_identity(self, data):
        now = time.time()
        with self.core.lock:
            key = self.keys.get(data.get("access_key") or "")
            delay = self.consistency_delay
        why = None
        if key is None or key["secret_key"] != data.get("secret_key") or \
                (key["security_token"] or None) != (data.get("security_token") or None):
            why = "InvalidClientTokenId"
        elif key["revoked"]:
            why = "InvalidClientTokenId"
        elif key["expires"] is not None and now >= key["expires"]:
            why = "ExpiredToken"
        elif now < key["issued"] + delay:
            why = "InvalidClientTokenId"    # not yet visible: eventual consistency
        self.core.journal.add("aws", event="caller_identity",
                              access_key=key["access_key"] if key else None,
                              ok=why is None, error=why,
                              age=round(now - key["issued"], 3) if key else None)
        if why is not None:
            raise VaultError(403, ["%s: The security token included in the request is "
                                   "invalid." % why if why != "ExpiredToken" else
                                   "ExpiredToken: The security token included in the "
                                   "request is expired"])
        return {"Account": AWS_ACCOUNT, "UserId": key["access_key"],
                "Arn": "arn:aws:sts::%s:%s/vault" % (AWS_ACCOUNT, key["kind"])}


# /_emu/aws/...: caller-identity (POST the key) and consistency (POST {"delay": s,
# "mount": "aws/"}); /_emu/pki/revoked (GET ?mount=pki/): issued and revoked serials.
def engine_control(core, method, route, query, data):
    if route.startswith("aws/"):
        eng = core.engine_for(data.get("mount") or (query.get("mount") or ["aws/"])[0])
        if not isinstance(eng, AWSEngine):
            raise VaultError(404, ["no aws mount"])
        if route == "aws/caller-identity" and method == "POST":
            return eng.caller_identity(data)
        if route == "aws/consistency" and method == "POST":
            with core.lock:
                eng.consistency_delay = float(data.get("delay", 0))
            return {"ok": True}
    if route == "pki/revoked" and method == "GET":
        eng = core.engine_for((query.get("mount") or ["pki/"])[0])
        if not isinstance(eng, PKIEngine):
            raise VaultError(404, ["no pki mount"])
        with core.lock:
            return {"issued": list(eng.issued), "revoked": sorted(eng.revoked)}
    return None


class DatabaseEngine:
    mount_type = "database"

    def __init__(self, core, mount_path):
        self.core = core
        self.mount_path = mount_path
        self.configs = {}
        self.roles = {}
        self.static_roles = {}    # name -> static account (static-roles/<name>)
        self.rotating = set()     # static roles being rotated now

    # True if the config or role named by the path exists.
    def exists(self, sub):
        if sub.startswith("config/"):
            return sub[7:] in self.configs
        if sub.startswith("roles/"):
            return sub[6:] in self.roles
        return True

    # Routes config/, roles/, creds/ and reset/ (§5).
    def handle(self, ctx, sub):
        if sub in ("config", "config/", "roles", "roles/"):
            if ctx.op != "list":
                raise VaultError(405, ["unsupported operation"])
            with self.core.lock:
                keys = sorted(self.configs if sub.startswith("config") else self.roles)
            if not keys:
                raise VaultError(404, [])
            return Reply(200, envelope({"keys": keys}, mount_type=self.mount_type))
        head, _, name = sub.partition("/")
        if not name or "/" in name:
            raise VaultError(404, ["unsupported path"])
        if head == "config":
            return self._config(ctx, name)
        if head == "roles":
            return self._role(ctx, name)
        if head == "creds":
            if ctx.op != "read":
                raise VaultError(405, ["unsupported operation"])
            return self._creds(ctx, name)
        if head == "static-roles":
            return self._static_role(ctx, name)
        if head == "static-creds":
            if ctx.op != "read":
                raise VaultError(405, ["unsupported operation"])
            return self._static_creds(name)
        if head == "reset":
            if ctx.op != "update":
                raise VaultError(405, ["unsupported operation"])
            if name not in self.configs:
                raise VaultError(400, ['unable to find config: %s' % name])
            return None
        raise VaultError(404, ["unsupported path"])

    # GET/POST/DELETE config/<name> (§5 database/config).
    def _config(self, ctx, name):
        if ctx.op == "read":
            with self.core.lock:
                cfg = self.configs.get(name)
                if cfg is None:
                    raise VaultError(404, [])
                data = {"allowed_roles": list(cfg["allowed_roles"]),
                        "connection_details": {"connection_url": cfg["connection_url"],
                                               "username": cfg["username"]},
                        "password_policy": "", "plugin_name": cfg["plugin_name"],
                        "plugin_version": "", "root_credentials_rotate_statements": [],
                        "verify_connection": cfg["verify_connection"]}
            return Reply(200, envelope(data, mount_type=self.mount_type))
        if ctx.op == "delete":
            with self.core.lock:
                self.configs.pop(name, None)
            return None
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        d = ctx.data
        with self.core.lock:
            old = self.configs.get(name, {})
        plugin = d.get("plugin_name", old.get("plugin_name"))
        if not plugin:
            raise VaultError(400, ["empty plugin name"])
        if plugin != "postgresql-database-plugin":
            raise VaultError(400, ['error creating database object: invalid database version: '
                                   'unknown plugin "%s" (vaultemu supports only '
                                   'postgresql-database-plugin)' % plugin])
        cfg = {
            "plugin_name": plugin,
            "connection_url": d.get("connection_url", old.get("connection_url", "")),
            "username": d.get("username", old.get("username", "")),
            "password": d.get("password", old.get("password", "")),
            "allowed_roles": parse_comma_list(d["allowed_roles"]) if "allowed_roles" in d
            else old.get("allowed_roles", []),
            "verify_connection": parse_bool(d.get("verify_connection"), "verify_connection", True),
        }
        if not cfg["connection_url"]:
            raise VaultError(400, ["error creating database object: connection_url cannot be empty"])
        params = parse_connection_url(cfg["connection_url"], cfg["username"], cfg["password"])
        if cfg["verify_connection"]:
            try:
                self.core.run_psql(params, "SELECT 1;\n", hide=[cfg["password"]])
            except DBError as err:
                raise VaultError(400, ["error creating database object: error verifying "
                                       "connection: %s" % err])
        with self.core.lock:
            self.configs[name] = cfg
        return None

    # GET/POST/DELETE roles/<name> (§5.2, §5.3).
    def _role(self, ctx, name):
        with self.core.lock:
            role = self.roles.get(name)
            if ctx.op == "read":
                if role is None:
                    raise VaultError(404, [])
                data = {"creation_statements": list(role["creation_statements"]),
                        "credential_type": "password", "db_name": role["db_name"],
                        "default_ttl": role["default_ttl"], "max_ttl": role["max_ttl"],
                        "renew_statements": list(role["renew_statements"]),
                        "revocation_statements": list(role["revocation_statements"]),
                        "rollback_statements": list(role["rollback_statements"])}
                return Reply(200, envelope(data, mount_type=self.mount_type))
            if ctx.op == "delete":
                self.roles.pop(name, None)
                return None
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        d = ctx.data
        old = role or {}
        new = {
            "db_name": d.get("db_name", old.get("db_name", "")),
            "creation_statements": parse_statements(d["creation_statements"])
            if "creation_statements" in d else old.get("creation_statements", []),
            "revocation_statements": parse_statements(d["revocation_statements"])
            if "revocation_statements" in d else old.get("revocation_statements", []),
            "renew_statements": parse_statements(d["renew_statements"])
            if "renew_statements" in d else old.get("renew_statements", []),
            "rollback_statements": parse_statements(d["rollback_statements"])
            if "rollback_statements" in d else old.get("rollback_statements", []),
            "default_ttl": parse_duration(d["default_ttl"], "default_ttl")
            if "default_ttl" in d else old.get("default_ttl", 0),
            "max_ttl": parse_duration(d["max_ttl"], "max_ttl")
            if "max_ttl" in d else old.get("max_ttl", 0),
            # Emulator-only: leases of this role are not renewable (Vault has no such knob).
            "renewable": parse_bool(d["vaultemu_renewable"], "vaultemu_renewable")
            if "vaultemu_renewable" in d else old.get("renewable", True),
        }
        if not new["db_name"]:
            raise VaultError(400, ["empty database name attribute"])
        if not new["creation_statements"]:
            raise VaultError(400, ["creation statements are required"])
        if new["max_ttl"] and new["default_ttl"] > new["max_ttl"]:
            raise VaultError(400, ["ttl cannot be greater than max_ttl"])
        with self.core.lock:
            self.roles[name] = new
        return None

    # POST static-roles/<name>: a fixed database user whose password Vault rotates
    # every rotation_period, rotated once at creation (hashicorp/vault
    # builtin/logical/database path_roles.go pathStaticRoleCreateUpdate, then
    # setStaticAccount in rotation.go); GET reads it back, DELETE forgets it.
    def _static_role(self, ctx, name):
        if ctx.op == "delete":
            with self.core.lock:
                self.static_roles.pop(name, None)
            return None
        if ctx.op == "read":
            with self.core.lock:
                sr = self.static_roles.get(name)
                if sr is None:
                    raise VaultError(404, [])
                data = {"db_name": sr["db_name"], "username": sr["username"],
                        "rotation_period": sr["rotation_period"],
                        "last_vault_rotation": rfc3339(sr["last_rotation"])}
            return Reply(200, envelope(data, mount_type=self.mount_type))
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        d = ctx.data
        period = parse_duration(d.get("rotation_period", 0), "rotation_period")
        if period < 5:
            raise VaultError(400, ["rotation_period must be 5 seconds or more"])
        if not d.get("username") or not d.get("db_name"):
            raise VaultError(400, ["username and db_name are required"])
        with self.core.lock:
            self.static_roles[name] = {"db_name": d["db_name"], "username": d["username"],
                                       "rotation_period": period, "password": None,
                                       "last_rotation": None, "next_rotation": 0}
        self.rotate_static(name)
        return None

    # Sets a new password on a static role's user (rotation.go setStaticAccount:
    # ALTER ROLE through the plugin's UpdateUser), then its next rotation time.
    def rotate_static(self, name):
        with self.core.lock:
            sr = self.static_roles.get(name)
            cfg = self.configs.get(sr["db_name"]) if sr else None
            if sr is None or cfg is None or name in self.rotating:
                return
            self.rotating.add(name)
            cfg = dict(cfg)
        password = make_password()
        params = parse_connection_url(cfg["connection_url"], cfg["username"], cfg["password"])
        sql = 'ALTER ROLE "%s" WITH PASSWORD \'%s\';\n' % (sr["username"], password)
        try:
            self.core.remember_secrets([password])
            self.core.run_psql(params, sql, hide=[password, cfg["password"]])
            now = time.time()
            with self.core.lock:
                sr.update(password=password, last_rotation=now,
                          next_rotation=now + sr["rotation_period"])
            self.core.journal.add("static", event="rotate", role=name,
                                  username=sr["username"], time_rotated=now)
        except DBError as err:
            with self.core.lock:
                sr["next_rotation"] = time.time() + 1     # retried, as rotation.go's queue does
            self.core.journal.add("static", event="rotate_failed", role=name, error=str(err))
        finally:
            with self.core.lock:
                self.rotating.discard(name)

    # Static roles whose rotation is due (called by the reaper).
    def static_due(self, now):
        with self.core.lock:
            return [n for n, sr in self.static_roles.items()
                    if sr["next_rotation"] and sr["next_rotation"] <= now and n not in self.rotating]

    # GET static-creds/<name> (path_creds_create.go pathStaticCredsRead): no lease;
    # ttl is the whole seconds to the next rotation (0 once it is due and not done).
    def _static_creds(self, name):
        with self.core.lock:
            sr = self.static_roles.get(name)
            if sr is None:
                raise VaultError(400, ["unknown role: %s" % name])
            if sr["password"] is None:
                raise VaultError(500, ["static role %s has not been rotated yet" % name])
            data = {"username": sr["username"], "password": sr["password"],
                    "ttl": max(0, int(sr["next_rotation"] - time.time())),
                    "last_vault_rotation": rfc3339(sr["last_rotation"]),
                    "rotation_period": sr["rotation_period"]}
        return Reply(200, envelope(data, mount_type=self.mount_type))

    # GET creds/<name>: creates a PostgreSQL role and registers a lease (§5.1-§5.4).
    def _creds(self, ctx, name):
        with self.core.lock:
            role = self.roles.get(name)
            if role is None:
                raise VaultError(400, ["unknown role: %s" % name])
            cfg = self.configs.get(role["db_name"])
            if cfg is None:
                raise VaultError(500, ['could not find database connection with name "%s"'
                                       % role["db_name"]])
            allowed = cfg["allowed_roles"]
            if "*" not in allowed and name not in allowed:
                raise VaultError(500, ['"%s" is not an allowed role' % name])
            try:
                ttl, warnings = calculate_ttl(0, role["default_ttl"], 0, role["max_ttl"], 0, None)
            except PastMaxTTL as err:
                raise VaultError(400, [str(err)])
            statements = list(role["creation_statements"])
            revocation = list(role["revocation_statements"])
            max_ttl = role["max_ttl"]
            renewable = role.get("renewable", True)
            cfg = dict(cfg)
            display = ctx.token.display_name if ctx.token else "token"
        username = make_username(display, name)
        password = make_password()
        now = time.time()
        sql = "BEGIN;\n" + substitute(statements, {
            "name": username, "username": username, "password": password,
            "expiration": pg_expiration(now + ttl + DB_EXPIRY_BUFFER)}) + "COMMIT;\n"
        params = parse_connection_url(cfg["connection_url"], cfg["username"], cfg["password"])
        try:
            self.core.run_psql(params, sql, hide=[password, cfg["password"]])
        except DBError as err:
            raise VaultError(500, ["error creating database user: %s" % err])
        path = ctx.path
        # vault/expiration.go Register: path.Join(req.Path, base62(24)), plus
        # ".<namespace ID>" outside the root namespace (§5.1).
        lease_id = "%s/%s%s" % (path, rand_base62(24), self.core.ns_suffix(ctx.ns))
        lease = Lease(lease_id, path, self.mount_path, name, role["db_name"], username, ttl,
                      max_ttl, ctx.token.accessor if ctx.token else None, revocation,
                      {"connection_url": cfg["connection_url"], "username": cfg["username"],
                       "password": cfg["password"]})
        lease.issue_time = now
        lease.expire_time = now + ttl
        lease.renewable = renewable
        lease.namespace = ctx.ns
        if ctx.token is not None and ctx.token.type == "batch" and ctx.token.expire_time:
            # vault/expiration.go Register: a batch token's leases end with it.
            if lease.expire_time > ctx.token.expire_time:
                lease.expire_time = ctx.token.expire_time
                ttl = max(0, int(ctx.token.expire_time - now))
            lease.batch_end = ctx.token.expire_time
        self.core.remember_secrets([username, password])
        self.core.register_lease(lease)
        return Reply(200, envelope({"username": username, "password": password}, lease_id=lease_id,
                                   renewable=renewable, lease_duration=ttl, warnings=warnings,
                                   mount_type=self.mount_type))

    # Runs the renew statements for a lease (§5.3, default ALTER ROLE ... VALID UNTIL).
    def renew_user(self, lease, ttl, now):
        with self.core.lock:
            role = self.roles.get(lease.role)
            if role is None:
                # builtin/logical/database/secret_creds.go secretCredsRenew's error,
                # wrapped by vault/expiration.go renewEntry: 400 as above (§6.1).
                raise VaultError(400, [renew_entry_error(
                    'error during renew: could not find role with name "%s"' % lease.role)])
            cfg = dict(self.configs.get(lease.db_name) or lease.conn_info)
            statements = list(role["renew_statements"]) or [
                "ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}';"]
        sql = "BEGIN;\n" + substitute(statements, {
            "name": lease.username, "username": lease.username,
            "expiration": pg_expiration(now + ttl + DB_EXPIRY_BUFFER)}) + "COMMIT;\n"
        params = parse_connection_url(cfg["connection_url"], cfg["username"], cfg["password"])
        try:
            self.core.take_db_fault("renew")
            self.core.run_psql(params, sql, hide=[cfg["password"]])
        except DBError as err:
            # The plugin's error comes back through vault/expiration.go renewEntry
            # ("failed to renew entry: resp: %#v err: {{err}}") and
            # vault/logical_system.go handleRenew -> handleErrorNoReadOnlyForward
            # (ErrInvalidRequest), which RespondErrorCommon maps to 400 (§6.1).
            raise VaultError(400, [renew_entry_error(err)])

    # Role TTLs used by renewals: current role values, read at renew time (§6.1).
    def role_ttls(self, role_name):
        role = self.roles.get(role_name)
        if role is None:
            return None
        return role["default_ttl"], role["max_ttl"]

    # Drops a lease's user with the revocation statements only, as Vault's PostgreSQL
    # plugin does (plugins/database/postgresql/postgresql.go DeleteUser ->
    # customDeleteUser / defaultDeleteUser, §5.3): no NOLOGIN, no pg_terminate_backend.
    # On PostgreSQL 15 DROP ROLE succeeds while the user has a session open, and that
    # session keeps working; operators who want it cut say so in the statements.
    # Returns how many other sessions the user had open when it was dropped.
    def revoke_user(self, lease):
        with self.core.lock:
            cfg = dict(self.configs.get(lease.db_name) or lease.conn_info)
            role = self.roles.get(lease.role)
            statements = list(role["revocation_statements"]) if role else list(
                lease.revocation_statements)
        user = lease.username
        # Counted, not touched: the journal says what was left running.
        pre = ("SELECT 'sessions=' || count(*) FROM pg_catalog.pg_stat_activity "
               "WHERE usename = %s AND pid <> pg_backend_pid();\n") % sql_literal(user)
        if statements:
            body = substitute(statements, {"name": user, "username": user})
        else:
            body = default_revocation_sql(user)
        sql = pre + "BEGIN;\n" + body + "COMMIT;\n"
        params = parse_connection_url(cfg["connection_url"], cfg["username"], cfg["password"])
        self.core.take_db_fault("revoke")
        out = self.core.run_psql(params, sql, hide=[cfg["password"]])
        m = re.search(r"sessions=(\d+)", out)
        return int(m.group(1)) if m else 0


# The error text of a failed backend renewal (vault/expiration.go renewEntry, §6.1).
def renew_entry_error(err):
    return "failed to renew entry: resp: (*logical.Response)(nil) err: %s" % err


# The error text of a failed backend revocation (vault/expiration.go revokeEntry, §6.2).
def revoke_entry_error(err):
    return "failed to revoke entry: resp: (*logical.Response)(nil) err: %s" % err


# The generic revocation: revoke privileges, then DROP ROLE IF EXISTS (§5.3).
def default_revocation_sql(user):
    lit = sql_literal(user)
    return (
        "DO $vaultemu$\n"
        "DECLARE r record;\n"
        "BEGIN\n"
        "  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = {lit}) THEN\n"
        "    FOR r IN SELECT DISTINCT table_schema FROM information_schema.role_table_grants\n"
        "             WHERE grantee = {lit} LOOP\n"
        "      EXECUTE format('REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA %I FROM %I',\n"
        "                     r.table_schema, {lit});\n"
        "      EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM %I', r.table_schema, {lit});\n"
        "    END LOOP;\n"
        "    EXECUTE format('REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM %I', {lit});\n"
        "    EXECUTE format('REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM %I', {lit});\n"
        "    EXECUTE format('REVOKE USAGE ON SCHEMA public FROM %I', {lit});\n"
        "    EXECUTE format('REVOKE ALL PRIVILEGES ON DATABASE %I FROM %I', current_database(), {lit});\n"
        "  END IF;\n"
        "END\n"
        "$vaultemu$;\n"
        "DROP ROLE IF EXISTS {ident};\n"
    ).format(lit=lit, ident=sql_ident(user))


# ---------------------------------------------------------------------------
# auth methods (§4): AppRole, Kubernetes, JWT, TLS certificates

# Decodes base64url with or without padding (JWT segments, §4.2/§4.3).
def b64url_decode(text):
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


# Splits a compact JWT into (header, claims, signature, signing input); ValueError if malformed.
def decode_jwt(token):
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("expected 3 dot-separated parts, got %d" % len(parts))
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise ValueError("cannot decode: %s" % err)
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("header and payload must be JSON objects")
    return header, claims, signature, (parts[0] + "." + parts[1]).encode("ascii")


# Reads one DER TLV at pos: (tag, content start, content end).
def _der_tlv(buf, pos):
    tag, length = buf[pos], buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


# (n, e) of a PEM RSA public key, SubjectPublicKeyInfo or PKCS#1 (jwt_validation_pubkeys, §4.3).
def rsa_public_numbers(pem):
    m = re.search(r"-----BEGIN (RSA )?PUBLIC KEY-----(.*?)-----END", pem, re.S)
    if not m:
        raise ValueError("not a PEM public key")
    der = base64.b64decode("".join(m.group(2).split()))
    if not m.group(1):
        _, start, _ = _der_tlv(der, 0)
        _, alg_start, alg_end = _der_tlv(der, start)
        if bytes.fromhex("2a864886f70d010101") not in der[alg_start:alg_end]:
            raise ValueError("not an RSA key")
        tag, bits_start, bits_end = _der_tlv(der, alg_end)
        der = der[bits_start + 1:bits_end]
    _, start, _ = _der_tlv(der, 0)
    _, n_start, n_end = _der_tlv(der, start)
    _, e_start, e_end = _der_tlv(der, n_end)
    return int.from_bytes(der[n_start:n_end], "big"), int.from_bytes(der[e_start:e_end], "big")


# True if sig is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of data (JWT RS256).
def rsa_sha256_verify(pem, data, sig):
    n, e = rsa_public_numbers(pem)
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + \
        hashlib.sha256(data).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    return hmac.compare_digest(em, expected)


# Checks a JWT signature: HS256 with the emulator-only key, RS256 with PEM keys, else any (§4.3).
def verify_jwt_signature(header, signature, signing_input, hs256_key=None, pubkeys=()):
    alg = header.get("alg")
    if hs256_key:
        if alg != "HS256":
            raise ValueError('unsupported signing algorithm "%s"' % alg)
        want = hmac.new(hs256_key.encode("utf-8"), signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(want, signature):
            raise ValueError("failed to verify id token signature")
        return
    if pubkeys:
        if alg != "RS256":
            raise ValueError('unsupported signing algorithm "%s" (vaultemu verifies RS256 only)'
                             % alg)
        for pem in pubkeys:
            try:
                if rsa_sha256_verify(pem, signing_input, signature):
                    return
            except (ValueError, IndexError, binascii.Error):
                continue
        raise ValueError("failed to verify id token signature")


# Service-account namespace, name, uid, secret name from legacy or projected claims (§4.2).
def k8s_service_account(claims):
    ns = claims.get("kubernetes.io/serviceaccount/namespace")
    name = claims.get("kubernetes.io/serviceaccount/service-account.name")
    uid = claims.get("kubernetes.io/serviceaccount/service-account.uid") or ""
    secret_name = claims.get("kubernetes.io/serviceaccount/secret.name") or ""
    projected = claims.get("kubernetes.io")
    if isinstance(projected, dict):
        sa = projected.get("serviceaccount") if isinstance(projected.get("serviceaccount"),
                                                           dict) else {}
        ns = ns or projected.get("namespace")
        name = name or sa.get("name")
        uid = uid or sa.get("uid") or ""
    sub = claims.get("sub")
    if isinstance(sub, str) and sub.startswith("system:serviceaccount:"):
        parts = sub.split(":")
        if len(parts) != 4 or (ns and ns != parts[2]) or (name and name != parts[3]):
            raise ValueError("sub claim does not match the service account claims")
        ns, name = ns or parts[2], name or parts[3]
    if not isinstance(ns, str) or not isinstance(name, str) or not ns or not name:
        raise ValueError("no service account namespace/name in the token")
    return ns, name, str(uid), str(secret_name)


# Runs `openssl verify` of a DER client certificate against one PEM trust anchor; no temp files.
def cert_chains_to(leaf_der, anchor_pem):
    leaf_pem = ssl.DER_cert_to_PEM_cert(leaf_der).encode("ascii")
    rfd, wfd = os.pipe()
    try:
        os.write(wfd, anchor_pem.encode("ascii"))
    finally:
        os.close(wfd)
    try:
        proc = subprocess.run([shutil.which("openssl") or "openssl", "verify", "-partial_chain",
                               "-CAfile", "/dev/fd/%d" % rfd], input=leaf_pem,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(rfd,),
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        os.close(rfd)
    return proc.returncode == 0


# Parses the token_* role fields shared by every auth method, with legacy aliases (§3.4, §4).
def parse_token_fields(d, old=None):
    old = old or {}

    # One duration field: the token_* name first, then its legacy alias.
    def dur(key, legacy):
        for k in (key, legacy):
            if k and k in d:
                return parse_duration(d[k], k)
        return old.get(key, 0)

    raw = d["token_policies"] if "token_policies" in d else d.get("policies")
    if raw is None and "token_policies" not in d and "policies" not in d:
        policies = old.get("token_policies", [])
    else:
        policies = sorted({p.strip().lower() for p in parse_comma_list(raw) if p.strip()})
    fields = {
        "token_policies": policies,
        "token_ttl": dur("token_ttl", "ttl"),
        "token_max_ttl": dur("token_max_ttl", "max_ttl"),
        "token_period": dur("token_period", "period"),
        "token_explicit_max_ttl": dur("token_explicit_max_ttl", None),
        "token_no_default_policy": parse_bool(d.get("token_no_default_policy"),
                                              "token_no_default_policy",
                                              old.get("token_no_default_policy", False)),
        # sdk/helper/tokenutil: "service", "batch", "default" (and the default-* forms).
        "token_type": d.get("token_type") or old.get("token_type", "default"),
    }
    if fields["token_type"] not in ("service", "batch", "default", "default-service",
                                    "default-batch"):
        raise VaultError(400, ["invalid 'token_type' value %r" % fields["token_type"]])
    if fields["token_type"] == "default-batch":
        fields["token_type"] = "batch"
    if fields["token_max_ttl"] and fields["token_ttl"] > fields["token_max_ttl"]:
        raise VaultError(400, ["token_ttl should not be greater than token_max_ttl"])
    return fields


# The token_* fields as a role read shows them.
def token_fields_json(fields):
    return {"token_policies": list(fields["token_policies"]),
            "policies": list(fields["token_policies"]),
            "token_ttl": fields["token_ttl"], "token_max_ttl": fields["token_max_ttl"],
            "token_period": fields["token_period"],
            "token_explicit_max_ttl": fields["token_explicit_max_ttl"],
            "token_no_default_policy": fields["token_no_default_policy"],
            "token_bound_cidrs": [], "token_num_uses": 0, "token_type": "default"}


# Parses a list-of-strings field (JSON list or comma string) for role bindings.
def parse_str_list(value):
    return [v for v in parse_comma_list(value) if v]


# Raises the 404 of an empty LIST, else returns a keys reply (§1.4).
def keys_reply(keys, mount_type):
    if not keys:
        raise VaultError(404, [])
    return Reply(200, envelope({"keys": sorted(keys)}, mount_type=mount_type))


# Result of a successful login: what the core needs to mint the token (§3.4, §4).
class LoginResult:
    def __init__(self, role, fields, display, meta):
        self.role = role
        self.fields = fields
        self.display = display
        self.meta = meta


# Base for auth methods: role storage and CRUD under a path prefix (§4).
class AuthMethod:
    mount_type = ""
    role_prefix = "role/"

    def __init__(self, core, mount_path):
        self.core = core
        self.mount_path = mount_path
        self.roles = {}
        self.config = None

    # True if the named role or config exists (create vs update capability).
    def exists(self, sub):
        if sub.startswith(self.role_prefix):
            return sub[len(self.role_prefix):].split("/")[0] in self.roles
        if sub == "config":
            return self.config is not None
        return True

    # Serves config, role LIST and role CRUD; subclasses add their own paths.
    def handle(self, ctx, sub):
        if sub == "config":
            return self._config(ctx)
        if sub in (self.role_prefix.rstrip("/"), self.role_prefix):
            if ctx.op != "list":
                raise VaultError(405, ["unsupported operation"])
            with self.core.lock:
                return keys_reply(list(self.roles), self.mount_type)
        if sub.startswith(self.role_prefix) and "/" not in sub[len(self.role_prefix):]:
            return self._role(ctx, sub[len(self.role_prefix):])
        return self.extra(ctx, sub)

    # Method-specific paths (default: none).
    def extra(self, ctx, sub):
        raise VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])

    # GET/POST config: stores any fields; a read hides secret-looking ones.
    def _config(self, ctx):
        if ctx.op == "read":
            with self.core.lock:
                if self.config is None:
                    raise VaultError(404, [])
                shown = {k: v for k, v in self.config.items()
                         if k not in ("token_reviewer_jwt", "vaultemu_hs256_key",
                                      "oidc_client_secret")}
            return Reply(200, envelope(shown, mount_type=self.mount_type))
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        cfg = self.check_config(dict(ctx.data))
        with self.core.lock:
            self.config = cfg
        return None

    # Validates a config body; default accepts anything.
    def check_config(self, data):
        return data

    # GET/POST/DELETE one role.
    def _role(self, ctx, name):
        if not name:
            raise VaultError(404, [])
        with self.core.lock:
            role = self.roles.get(name)
            if ctx.op == "read":
                if role is None:
                    raise VaultError(404, [])
                return Reply(200, envelope(self.role_json(role), mount_type=self.mount_type))
            if ctx.op == "delete":
                self.roles.pop(name, None)
                self.role_deleted(name, role)
                return None
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        new = self.parse_role(name, ctx.data, role)
        new.update(parse_token_fields(ctx.data, role))
        with self.core.lock:
            self.roles[name] = new
            self.role_saved(name, new, role)
        return None

    # Hook after a role is stored (AppRole indexes role IDs).
    def role_saved(self, name, new, old):
        pass

    # Hook after a role is deleted.
    def role_deleted(self, name, old):
        pass

    # Method-specific role fields from a write body.
    def parse_role(self, name, data, old):
        return {}

    # A role as a read shows it.
    def role_json(self, role):
        out = {k: v for k, v in role.items() if not k.startswith("token_") and
               not k.startswith("_")}
        out.update(token_fields_json(role))
        return out

    # Authenticates a login request; returns a LoginResult or raises VaultError.
    def login(self, ctx, info, peer_cert):
        raise VaultError(405, ["unsupported operation"])


# AppRole: roles, role IDs, secret IDs, login (§4.1).
class AppRoleAuth(AuthMethod):
    mount_type = "approle"

    def __init__(self, core, mount_path):
        super().__init__(core, mount_path)
        self.role_ids = {}

    # AppRole has no config endpoint.
    def _config(self, ctx):
        raise VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])

    # Role fields; a new role gets a random role_id (§4.1).
    def parse_role(self, name, data, old):
        old = old or {}
        return {
            "bind_secret_id": parse_bool(data.get("bind_secret_id"), "bind_secret_id",
                                         old.get("bind_secret_id", True)),
            "secret_id_ttl": parse_duration(data["secret_id_ttl"], "secret_id_ttl")
            if "secret_id_ttl" in data else old.get("secret_id_ttl", 0),
            "secret_id_num_uses": int(data["secret_id_num_uses"])
            if "secret_id_num_uses" in data else old.get("secret_id_num_uses", 0),
            "secret_id_bound_cidrs": [], "local_secret_ids": False,
            "_role_id": old.get("_role_id") or data.get("role_id") or str(uuid.uuid4()),
            "_secret_ids": old.get("_secret_ids", {}),
        }

    # Keeps the role_id -> role index current.
    def role_saved(self, name, new, old):
        if old:
            self.role_ids.pop(old["_role_id"], None)
        self.role_ids[new["_role_id"]] = name

    # Drops the role's role_id from the index.
    def role_deleted(self, name, old):
        if old:
            self.role_ids.pop(old["_role_id"], None)

    # role/<name>/role-id, secret-id, custom-secret-id, secret-id(-accessor)/lookup|destroy.
    def extra(self, ctx, sub):
        parts = sub.split("/")
        if len(parts) < 3 or parts[0] != "role":
            return super().extra(ctx, sub)
        name, rest = parts[1], "/".join(parts[2:])
        with self.core.lock:
            role = self.roles.get(name)
        if role is None:
            if ctx.op == "list":
                raise VaultError(404, [])
            raise VaultError(400, ['role "%s" does not exist' % name])
        if rest == "role-id":
            return self._role_id(ctx, name, role)
        if rest in ("secret-id", "custom-secret-id"):
            if ctx.op == "list" and rest == "secret-id":
                with self.core.lock:
                    self._purge(role)
                    return keys_reply([s["accessor"] for s in role["_secret_ids"].values()],
                                      self.mount_type)
            if ctx.op != "update":
                raise VaultError(405, ["unsupported operation"])
            custom = ctx.data.get("secret_id") if rest == "custom-secret-id" else None
            if rest == "custom-secret-id" and not custom:
                raise VaultError(400, ["missing secret_id"])
            return self._new_secret_id(ctx, role, custom)
        if rest in ("secret-id/lookup", "secret-id/destroy", "secret-id-accessor/lookup",
                    "secret-id-accessor/destroy"):
            if ctx.op not in ("update", "delete"):
                raise VaultError(405, ["unsupported operation"])
            return self._secret_id_op(ctx, role, rest)
        return super().extra(ctx, sub)

    # GET role-id (data.role_id) or POST a custom one (§4.1).
    def _role_id(self, ctx, name, role):
        if ctx.op == "read":
            return Reply(200, envelope({"role_id": role["_role_id"]}, mount_type=self.mount_type))
        if ctx.op != "update":
            raise VaultError(405, ["unsupported operation"])
        new_id = ctx.data.get("role_id")
        if not new_id:
            raise VaultError(400, ["missing role_id"])
        with self.core.lock:
            if self.role_ids.get(new_id, name) != name:
                raise VaultError(400, ["role_id already in use"])
            self.role_ids.pop(role["_role_id"], None)
            role["_role_id"] = new_id
            self.role_ids[new_id] = name
        return None

    # Removes expired or used-up secret IDs of a role (call with the core lock held).
    @staticmethod
    def _purge(role):
        now = time.time()
        for sid in [s for s, e in role["_secret_ids"].items()
                    if e["expire_time"] is not None and e["expire_time"] <= now]:
            del role["_secret_ids"][sid]

    # POST secret-id / custom-secret-id: data.secret_id, accessor, ttl, num_uses (§4.1, §4.5).
    def _new_secret_id(self, ctx, role, custom):
        d = ctx.data
        ttl = parse_duration(d["ttl"], "ttl") if d.get("ttl") not in (None, "") \
            else role["secret_id_ttl"]
        uses = int(d["num_uses"]) if d.get("num_uses") not in (None, "") \
            else role["secret_id_num_uses"]
        meta = d.get("metadata") or {}
        if isinstance(meta, str):
            try:
                meta = json.loads(meta) if meta.strip() else {}
            except ValueError:
                raise VaultError(400, ["failed to parse metadata: invalid JSON"])
        if not isinstance(meta, dict):
            raise VaultError(400, ["metadata must be a JSON object of strings"])
        sid = custom or str(uuid.uuid4())
        now = time.time()
        entry = {"accessor": str(uuid.uuid4()), "creation_time": now,
                 "expire_time": now + ttl if ttl > 0 else None, "ttl": ttl,
                 "num_uses": uses, "metadata": {str(k): str(v) for k, v in meta.items()}}
        with self.core.lock:
            if sid in role["_secret_ids"]:
                raise VaultError(400, ["SecretID is already registered"])
            role["_secret_ids"][sid] = entry
        self.core.remember_secrets([sid])
        return Reply(200, envelope({"secret_id": sid, "secret_id_accessor": entry["accessor"],
                                    "secret_id_ttl": ttl, "secret_id_num_uses": uses},
                                   mount_type=self.mount_type))

    # secret-id(-accessor)/lookup|destroy: lookup answers 204 when unknown.
    def _secret_id_op(self, ctx, role, rest):
        by_accessor = rest.startswith("secret-id-accessor/")
        key = ctx.data.get("secret_id_accessor" if by_accessor else "secret_id")
        with self.core.lock:
            self._purge(role)
            if by_accessor:
                sid = next((s for s, e in role["_secret_ids"].items()
                            if e["accessor"] == key), None)
                if sid is None:
                    raise VaultError(400, ['failed to find accessor entry for secret_id_accessor: '
                                           '"%s"' % key])
            else:
                sid = key if key in role["_secret_ids"] else None
            if rest.endswith("/destroy"):
                if sid is not None:
                    del role["_secret_ids"][sid]
                return None
            if sid is None:
                return None
            e = role["_secret_ids"][sid]
            data = {"secret_id_accessor": e["accessor"], "secret_id_num_uses": e["num_uses"],
                    "secret_id_ttl": e["ttl"], "creation_time": rfc3339(e["creation_time"]),
                    "expiration_time": rfc3339(e["expire_time"]) or "0001-01-01T00:00:00Z",
                    "last_updated_time": rfc3339(e["creation_time"]),
                    "metadata": dict(e["metadata"]), "cidr_list": [], "token_bound_cidrs": []}
        return Reply(200, envelope(data, mount_type=self.mount_type))

    # Login with role_id [+ secret_id]; errors exactly per §4.1; consumes one secret-id use.
    def login(self, ctx, info, peer_cert):
        role_id = ctx.data.get("role_id")
        if not role_id:
            raise VaultError(400, ["missing role_id"])
        with self.core.lock:
            name = self.role_ids.get(role_id)
            role = self.roles.get(name) if name else None
            if role is None:
                raise VaultError(400, ["invalid role or secret ID"])
            info["role"] = name
            meta = {}
            if role["bind_secret_id"]:
                sid = ctx.data.get("secret_id")
                if not sid:
                    raise VaultError(400, ["missing secret_id"])
                self._purge(role)
                entry = role["_secret_ids"].get(sid)
                if entry is None:
                    raise VaultError(400, ["invalid role or secret ID"])
                if entry["num_uses"] > 0:
                    entry["num_uses"] -= 1
                    if entry["num_uses"] == 0:
                        del role["_secret_ids"][sid]
                meta.update(entry["metadata"])
            meta["role_name"] = name
            return LoginResult(name, role, "", meta)


# Kubernetes: config, roles bound to service accounts, login with a SA JWT (§4.2).
class KubernetesAuth(AuthMethod):
    mount_type = "kubernetes"

    # Role fields: bound SA names/namespaces (lists, "*" allowed), optional audience (§4.2).
    def parse_role(self, name, data, old):
        old = old or {}
        names = parse_str_list(data["bound_service_account_names"]) \
            if "bound_service_account_names" in data \
            else old.get("bound_service_account_names", [])
        spaces = parse_str_list(data["bound_service_account_namespaces"]) \
            if "bound_service_account_namespaces" in data \
            else old.get("bound_service_account_namespaces", [])
        if not names:
            raise VaultError(400, ['"bound_service_account_names" can not be empty'])
        if not spaces:
            raise VaultError(400, ['"bound_service_account_namespaces" can not be empty'])
        for field, vals in (("bound_service_account_names", names),
                            ("bound_service_account_namespaces", spaces)):
            if "*" in vals and len(vals) > 1:
                raise VaultError(400, ['can not mix "*" with values for "%s"' % field])
        return {"bound_service_account_names": names,
                "bound_service_account_namespaces": spaces,
                "audience": data.get("audience", old.get("audience", "")) or "",
                "alias_name_source": "serviceaccount_uid"}

    # Login {role, jwt}: parse, signature if keyed, exp, SA bindings; 403 on any mismatch (§4.2).
    def login(self, ctx, info, peer_cert):
        role_name = ctx.data.get("role")
        if not role_name:
            raise VaultError(400, ["missing role"])
        info["role"] = role_name
        jwt = ctx.data.get("jwt")
        if not jwt or not isinstance(jwt, str):
            raise VaultError(400, ["missing jwt"])
        info["jwt_sha256"] = hashlib.sha256(jwt.encode("utf-8")).hexdigest()
        with self.core.lock:
            role = self.roles.get(role_name)
            cfg = self.config
        if role is None:
            raise VaultError(400, ['invalid role name "%s"' % role_name])
        if cfg is None:
            raise VaultError(500, ["could not load backend configuration"])
        denied = VaultError(403, ["permission denied"])
        try:
            header, claims, sig, signing_input = decode_jwt(jwt)
            pems = cfg.get("pem_keys") or []
            verify_jwt_signature(header, sig, signing_input, cfg.get("vaultemu_hs256_key"),
                                 [pems] if isinstance(pems, str) else pems)
            ns, sa, uid, secret_name = k8s_service_account(claims)
        except ValueError:
            raise denied
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, (int, float)) or exp <= time.time()):
            raise denied
        names = role["bound_service_account_names"]
        spaces = role["bound_service_account_namespaces"]
        if ("*" not in names and sa not in names) or ("*" not in spaces and ns not in spaces):
            raise denied
        if role["audience"]:
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if role["audience"] not in auds:
                raise denied
        meta = {"role": role_name, "service_account_name": sa,
                "service_account_namespace": ns, "service_account_secret_name": secret_name,
                "service_account_uid": uid}
        return LoginResult(role_name, role, "%s-%s" % (ns, sa), meta)


# JWT: config (keys, issuer, default_role), jwt roles, login with a signed JWT (§4.3).
class JWTAuth(AuthMethod):
    mount_type = "jwt"

    # Config: public keys must be PEM RSA keys; anything else is stored as given (§4.3).
    def check_config(self, data):
        keys = data.get("jwt_validation_pubkeys") or []
        if isinstance(keys, str):
            keys = [keys]
        for pem in keys:
            try:
                rsa_public_numbers(pem)
            except (ValueError, IndexError, binascii.Error, TypeError):
                raise VaultError(400, ["error parsing public key: vaultemu accepts PEM RSA "
                                       "public keys only"])
        data["jwt_validation_pubkeys"] = list(keys)
        data.setdefault("bound_issuer", "")
        data.setdefault("default_role", "")
        return data

    # Role fields: role_type, bound_audiences, user_claim (default "sub"), bound_subject,
    # bound_claims, claim_mappings, leeways (§4.3).
    def parse_role(self, name, data, old):
        old = old or {}

        # A leeway field: seconds, -1 disables, absent keeps the default.
        def leeway(key, default):
            if key in data:
                return parse_duration(data[key], key)
            return old.get(key, default)

        role = {
            "role_type": data.get("role_type", old.get("role_type", "oidc")) or "oidc",
            "bound_audiences": parse_str_list(data["bound_audiences"])
            if "bound_audiences" in data else old.get("bound_audiences", []),
            "user_claim": data.get("user_claim", old.get("user_claim", "sub")) or "sub",
            "bound_subject": data.get("bound_subject", old.get("bound_subject", "")) or "",
            "bound_claims": data.get("bound_claims", old.get("bound_claims")) or None,
            "claim_mappings": data.get("claim_mappings", old.get("claim_mappings")) or None,
            "clock_skew_leeway": leeway("clock_skew_leeway", 60),
            "expiration_leeway": leeway("expiration_leeway", 150),
            "not_before_leeway": leeway("not_before_leeway", 150),
            "allowed_redirect_uris": parse_str_list(data.get("allowed_redirect_uris")),
        }
        if role["role_type"] not in ("jwt", "oidc"):
            raise VaultError(400, ['invalid role type "%s"' % role["role_type"]])
        for key in ("bound_claims", "claim_mappings"):
            if role[key] is not None and not isinstance(role[key], dict):
                raise VaultError(400, ["%s must be a JSON object" % key])
        return role

    # Checks exp/nbf with the role's leeways (-1 = none); raises ValueError (§4.3).
    @staticmethod
    def _check_times(claims, role):
        now = time.time()

        # A leeway in seconds, -1 meaning zero.
        def lw(key):
            return max(0, role[key])

        exp, nbf = claims.get("exp"), claims.get("nbf")
        if exp is not None:
            if not isinstance(exp, (int, float)):
                raise ValueError("malformed exp claim")
            if now > exp + lw("expiration_leeway") + lw("clock_skew_leeway"):
                raise ValueError("token is expired")
        if nbf is not None:
            if not isinstance(nbf, (int, float)):
                raise ValueError("malformed nbf claim")
            if now < nbf - lw("not_before_leeway") - lw("clock_skew_leeway"):
                raise ValueError("token not yet valid")

    # Login {role?, jwt}: errors per §4.3 (400 throughout).
    def login(self, ctx, info, peer_cert):
        with self.core.lock:
            cfg = dict(self.config) if self.config is not None else None
        if cfg is None:
            raise VaultError(400, ["could not load configuration"])
        role_name = ctx.data.get("role") or cfg.get("default_role") or ""
        if not role_name:
            raise VaultError(400, ["missing role"])
        info["role"] = role_name
        with self.core.lock:
            role = self.roles.get(role_name)
        if role is None:
            raise VaultError(400, ['role "%s" could not be found' % role_name])
        if role["role_type"] == "oidc":
            raise VaultError(400, ["role with oidc role_type is not allowed"])
        token = ctx.data.get("jwt")
        if not token or not isinstance(token, str):
            raise VaultError(400, ["missing token"])
        info["jwt_sha256"] = hashlib.sha256(token.encode("utf-8")).hexdigest()
        try:
            header, claims, sig, signing_input = decode_jwt(token)
        except ValueError as err:
            raise VaultError(400, ["error validating token: malformed JWT: %s" % err])
        try:
            verify_jwt_signature(header, sig, signing_input, cfg.get("vaultemu_hs256_key"),
                                 cfg.get("jwt_validation_pubkeys") or [])
            self._check_times(claims, role)
        except ValueError as err:
            raise VaultError(400, ["error validating token: %s" % err])
        self._check_claims(claims, role, cfg)
        user = claims.get(role["user_claim"])
        if user is None:
            raise VaultError(400, ['claim "%s" not found in token' % role["user_claim"]])
        if not isinstance(user, str):
            raise VaultError(400, ['claim "%s" could not be converted to string'
                                   % role["user_claim"]])
        meta = {"role": role_name}
        for claim, key in (role["claim_mappings"] or {}).items():
            if isinstance(claims.get(claim), str):
                meta[key] = claims[claim]
        return LoginResult(role_name, role, user, meta)

    # iss, sub, aud and bound_claims checks; messages "error validating claims: ..." (§4.3).
    @staticmethod
    def _check_claims(claims, role, cfg):
        prefix = "error validating claims: "
        if cfg.get("bound_issuer") and claims.get("iss") != cfg["bound_issuer"]:
            raise VaultError(400, [prefix + "invalid issuer (iss) claim"])
        if role["bound_subject"] and claims.get("sub") != role["bound_subject"]:
            raise VaultError(400, [prefix + "invalid subject (sub) claim"])
        aud = claims.get("aud")
        auds = [a for a in (aud if isinstance(aud, list) else [aud]) if a]
        if role["bound_audiences"]:
            if not set(auds) & set(role["bound_audiences"]):
                raise VaultError(400, [prefix + "invalid audience (aud) claim: audience claim "
                                       "does not match any expected audience"])
        elif auds:
            raise VaultError(400, ["audience claim found in JWT but no audiences bound to the "
                                   "role"])
        for claim, want in (role["bound_claims"] or {}).items():
            allowed = want if isinstance(want, list) else [want]
            if claims.get(claim) not in allowed:
                raise VaultError(400, [prefix + 'claim "%s" does not match any associated bound '
                                       'claim values' % claim])


ERR_CERT_LOGIN = "invalid certificate or no client certificate supplied"


# TLS certificates: certs/<name> trust anchors, login with the handshake's client cert (§4.4).
class CertAuth(AuthMethod):
    mount_type = "cert"
    role_prefix = "certs/"

    # Role fields: certificate (PEM, CA or leaf), allowed_common_names, display_name (§4.4).
    def parse_role(self, name, data, old):
        old = old or {}
        pem = data.get("certificate", old.get("certificate"))
        if not pem or not isinstance(pem, str):
            raise VaultError(400, ["must specify a certificate"])
        try:
            ssl.PEM_cert_to_DER_cert(pem.strip())
        except ValueError:
            raise VaultError(400, ["failed to parse certificate"])
        if len(pem) > 60000:
            raise VaultError(400, ["certificate too large for vaultemu"])
        return {"certificate": pem.strip() + "\n",
                "display_name": data.get("display_name", old.get("display_name", name)) or name,
                "allowed_common_names": parse_str_list(data["allowed_common_names"])
                if "allowed_common_names" in data else old.get("allowed_common_names", [])}

    # New trust anchors are also trusted by the TLS listener, so the handshake accepts them.
    def role_saved(self, name, new, old):
        self.core.trust_client_ca(new["certificate"])

    # No config endpoint is needed; accept and store like Vault's cert/config.
    def check_config(self, data):
        return data

    # Login: the client certificate must chain to a role's certificate and match its CNs (§4.4).
    def login(self, ctx, info, peer_cert):
        wanted = ctx.data.get("name") or ""
        if wanted:
            info["role"] = wanted
        if not peer_cert or not peer_cert.get("der"):
            raise VaultError(400, [ERR_CERT_LOGIN])
        subject = dict(x[0] for x in (peer_cert.get("info") or {}).get("subject", ()) if x)
        cn = subject.get("commonName", "")
        with self.core.lock:
            candidates = sorted(self.roles.items())
        for name, role in candidates:
            if wanted and name != wanted:
                continue
            if role["allowed_common_names"] and not any(
                    fnmatch.fnmatchcase(cn, pat) for pat in role["allowed_common_names"]):
                continue
            if not cert_chains_to(peer_cert["der"], role["certificate"]):
                continue
            info["role"] = name
            meta = {"cert_name": name, "common_name": cn,
                    "serial_number": str(int((peer_cert.get("info") or {}).get(
                        "serialNumber", "0") or "0", 16)),
                    "subject_key_id": "", "authority_key_id": ""}
            return LoginResult(name, role, role["display_name"], meta)
        raise VaultError(400, [ERR_CERT_LOGIN])


AUTH_METHODS = {"approle": AppRoleAuth, "kubernetes": KubernetesAuth, "jwt": JWTAuth,
                "cert": CertAuth}
ERR_INVALID_WRAPPING = "wrapping token is not valid or does not exist"


# ---------------------------------------------------------------------------
# the core

# All emulator state and the Vault request handling (§1-§7).
# Paths no rate-limit quota applies to (vault/quotas/quotas.go defaultExemptPaths).
QUOTA_EXEMPT_PATHS = ("sys/generate-recovery-token/attempt", "sys/generate-recovery-token/update",
                      "sys/generate-root/attempt", "sys/generate-root/update", "sys/health",
                      "sys/seal-status", "sys/unseal")


# One client's fixed-window bucket: every interval it is refilled to rate
# (github.com/sethvargo/go-limiter memorystore/store.go bucket.take, which
# vault/quotas/quotas_rate_limit.go initialize builds with Tokens=round(rate)).
class QuotaBucket:
    def __init__(self, now):
        self.start = now
        self.last_tick = 0
        self.available = None

    # Takes a token; returns (allowed, remaining, reset time).
    def take(self, tokens, interval, now):
        if self.available is None:
            self.available = tokens
        if now < self.start:
            self.start, self.last_tick = now, 0
        tick = int((now - self.start) // interval)
        reset = self.start + (tick + 1) * interval
        if self.last_tick < tick:
            self.available, self.last_tick = tokens, tick
        if self.available > 0:
            self.available -= 1
            return True, self.available, reset
        return False, 0, reset


# A rate-limit quota, per client address (vault/quotas/quotas_rate_limit.go RateLimitQuota).
class RateLimitQuota:
    def __init__(self, name, path, rate, interval, block_interval):
        self.name, self.path = name, path
        self.rate, self.interval, self.block_interval = rate, interval or 1.0, block_interval
        self.buckets = {}
        self.blocked = {}

    # JSON of sys/quotas/rate-limit/:name (vault/logical_system_quotas.go handleRateLimitQuotasRead).
    def to_json(self):
        return {"name": self.name, "type": "rate-limit", "path": self.path, "rate": self.rate,
                "interval": int(self.interval), "block_interval": int(self.block_interval),
                "role": "", "inheritable": False}

    # RateLimitQuota.allow: (allowed, headers); Retry-After only when denied, in whole
    # seconds truncated as Go's int(d.Seconds()): the block's end, else the bucket's reset.
    def allow(self, client):
        now = time.time()
        headers = {}
        since = self.blocked.get(client)
        if since is not None:
            if now - since >= self.block_interval:
                del self.blocked[client]
            else:
                headers["Retry-After"] = str(int(since + self.block_interval - now))
                return False, headers
        bucket = self.buckets.setdefault(client, QuotaBucket(now))
        ok, remaining, reset = bucket.take(int(round(self.rate)), self.interval, now)
        headers["X-Ratelimit-Limit"] = str(int(round(self.rate)))
        headers["X-Ratelimit-Remaining"] = str(remaining)
        headers["X-Ratelimit-Reset"] = str(int(reset - now))
        if not ok:
            headers["Retry-After"] = headers["X-Ratelimit-Reset"]
            if self.block_interval > 0:
                self.blocked[client] = now
                blocked_at = time.time()
                headers["Retry-After"] = str(int(blocked_at + self.block_interval - time.time()))
        return ok, headers


class Core:
    def __init__(self, root_token, journal):
        self.lock = threading.RLock()
        self.journal = journal
        self.psql = find_psql()
        self.tokens = {}
        self.accessors = {}
        self.policies = {}
        self.leases = {}
        self.mounts = {}
        self.faults = []
        self.db_faults = []           # database failures to inject (db_error faults)
        self.fault_seq = 0
        self.secret_values = []
        self.secret_set = set()
        self.procs = set()
        self.procs_lock = threading.Lock()
        self.stopping = threading.Event()
        self.workers = set()
        self.wrappings = {}           # wrapping token -> stored response (§4.5)
        self.quotas = {}              # rate-limit quotas by name (vault/quotas)
        self.quota_headers = False    # sys/quotas/config enable_rate_limit_response_headers
        self.agent_token = None       # --agent-socket: the auto-auth token (POST /_emu/agent)
        self.tls_ctx = None           # the listener's SSLContext, for cert-auth trust anchors
        self.cluster_id = str(uuid.uuid4())
        self.cluster_name = "vault-cluster-" + secrets.token_hex(4)
        self.put_policy("default", DEFAULT_POLICY)
        self.mounts["sys/"] = Mount("sys/", "system", None, None, "system endpoints")
        self.mounts["auth/token/"] = Mount("auth/token/", "token", None, None, "token based credentials")
        self.mounts["identity/"] = Mount("identity/", "identity", None, None, "identity store")
        self.mfa_methods = {}         # method_id -> {"type", "name"} (login MFA)
        self.namespaces = {"": "root"}   # namespace path ("admin/") -> namespace ID
        self.mfa_enforcements = {}    # name -> {"mfa_method_ids", "auth_method_types", ...}
        self.mounts["secret/"] = Mount("secret/", "kv", {"version": "2"}, KVv2(self, "secret/"),
                                       "key/value secret storage")
        self.mounts["kv/"] = Mount("kv/", "kv", {"version": "1"}, KVv1(self, "kv/"))
        self.mounts["database/"] = Mount("database/", "database", None,
                                         DatabaseEngine(self, "database/"))
        self.mounts["pki/"] = Mount("pki/", "pki", None, PKIEngine(self, "pki/"))
        self.mounts["aws/"] = Mount("aws/", "aws", None, AWSEngine(self, "aws/"))
        root = Token(root_token, rand_base62(24), ["root"], 0, 0, 0, False, "root", None, True,
                     None, "auth/token/root")
        self.tokens[root.id] = root
        self.accessors[root.accessor] = root.id
        self.root_accessor = root.accessor
        self.remember_secrets([root_token])

    # -- bookkeeping -------------------------------------------------------

    # Adds values to the registry of secrets handed out, or presented as credentials
    # (tokens, login JWTs and secret IDs) (/_emu/secrets).
    def remember_secrets(self, values):
        with self.lock:
            for v in values:
                if isinstance(v, str) and v and v not in self.secret_set:
                    self.secret_set.add(v)
                    self.secret_values.append(v)

    # Runs psql with the given connection and SQL on stdin; returns stdout or raises DBError.
    def run_psql(self, params, sql, hide=(), timeout=PSQL_TIMEOUT):
        cmd = [self.psql, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-v", "VERBOSITY=terse"]
        env = psql_env(params)
        hide = list(hide) + [params.get("password", "")]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, close_fds=True)
        except OSError as err:
            raise DBError("cannot run psql: %s" % err.strerror)
        with self.procs_lock:
            self.procs.add(proc)
        try:
            try:
                out, err = proc.communicate(sql.encode("utf-8"), timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise DBError("timeout after %.0fs talking to the database" % timeout)
        finally:
            with self.procs_lock:
                self.procs.discard(proc)
        if proc.returncode != 0:
            raise DBError(sanitize_db_error(err.decode("utf-8", "replace"), hide))
        return out.decode("utf-8", "replace")

    # Starts a tracked daemon thread (lease revocations in the background).
    def spawn(self, target, *args):
        t = threading.Thread(target=self._run_worker, args=(target,) + args, daemon=True)
        with self.procs_lock:
            self.workers.add(t)
        t.start()
        return t

    # Runs a worker and forgets it when done.
    def _run_worker(self, target, *args):
        try:
            target(*args)
        except Exception:
            traceback.print_exc()
        finally:
            with self.procs_lock:
                self.workers.discard(threading.current_thread())

    # Stops background work: no new revocations, psql children killed after a grace period.
    def shutdown(self, grace=2.0):
        self.stopping.set()
        deadline = time.time() + grace
        while time.time() < deadline:
            with self.procs_lock:
                if not self.procs:
                    break
            time.sleep(0.02)
        with self.procs_lock:
            procs = list(self.procs)
        for p in procs:
            try:
                p.kill()
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    # -- tokens ------------------------------------------------------------

    # Returns the live token for a token string, or None (expired counts as invalid, §1.5).
    def lookup_token(self, token_id):
        if not token_id:
            return None
        with self.lock:
            tok = self.tokens.get(token_id)
            if tok is None:
                return None
            if tok.expire_time is not None and tok.expire_time <= time.time():
                return None
            return tok

    # Creates and stores a token, journaling it (§3, auth/token/create).
    def new_token(self, policies, ttl, explicit_max_ttl, period, renewable, display_name, parent,
                  orphan, meta, token_id=None, path="auth/token/create", max_ttl=0, ns="",
                  token_type="default"):
        batch = token_type == "batch"
        with self.lock:
            # Batch tokens start "hvb.", service tokens "hvs." (§3.4); a token made in a
            # namespace ends ".<namespace ID>" (vault/token_store.go create).
            tid = token_id or ("hvb." if batch else "hvs.") + rand_base62(
                24 if not batch else 90) + self.ns_suffix(ns)
            if tid in self.tokens:
                raise VaultError(400, ["cannot create a token with a duplicate ID"])
            tok = Token(tid, rand_base62(24), policies, ttl, explicit_max_ttl, period,
                        renewable and not batch, display_name, parent, orphan, meta, path,
                        max_ttl=max_ttl)
            tok.namespace = ns
            tok.type = "batch" if batch else "service"
            self.tokens[tid] = tok
            self.accessors[tok.accessor] = tid
        self.remember_secrets([tid])
        self.journal.add("token", event="create", accessor=tok.accessor, ttl=ttl,
                         policies=policies)
        return tok

    # Revokes a token, its children and every lease they created (§3.3).
    def revoke_token(self, tok, event="revoke"):
        victims = []
        with self.lock:
            if self.tokens.get(tok.id) is not tok:
                return 0
            stack = [tok]
            while stack:
                t = stack.pop()
                if self.tokens.pop(t.id, None) is None:
                    continue
                self.accessors.pop(t.accessor, None)
                victims.append(t)
                stack.extend(c for c in self.tokens.values()
                             if c.parent == t.accessor and not c.orphan)
            doomed = {t.accessor for t in victims}
            leases = [le for le in self.leases.values() if le.token_accessor in doomed]
            for le in leases:
                del self.leases[le.lease_id]
        for t in victims:
            self.journal.add("token", event=event if t is tok else "revoke", accessor=t.accessor,
                             ttl=0, parent=t.parent)
        reason = "token_expire" if event == "expire" else "token_revoke"
        for le in leases:
            self.revoke_lease_now(le, "revoke", reason)
        return len(victims)

    # -- leases ------------------------------------------------------------

    # Registers a new lease; revokes it at once if its token died meanwhile (§3.3).
    def register_lease(self, lease):
        with self.lock:
            self.leases[lease.lease_id] = lease
            alive = lease.token_accessor is None or lease.token_accessor in self.accessors
        self.journal.add("lease", event="create", lease_id=lease.lease_id,
                         ttl=int(round(lease.expire_time - lease.issue_time)), path=lease.path,
                         username=lease.username, token_accessor=lease.token_accessor)
        if not alive:
            with self.lock:
                self.leases.pop(lease.lease_id, None)
            self.revoke_lease_now(lease, "revoke", "token_gone")

    # Runs a lease's DB revocation and journals it; on failure re-queues it (§6.2, §5.3).
    def revoke_lease_now(self, lease, event, reason, requeue=True):
        engine = self.engine_for(lease.mount)
        try:
            terminated = engine.revoke_user(lease) if engine else 0
        except DBError as err:
            lease.revoke_failures += 1
            lease.revoke_error = str(err)
            self.journal.add("lease", event="revoke_failed", lease_id=lease.lease_id, ttl=0,
                             path=lease.path, username=lease.username, error=str(err),
                             reason=reason)
            if requeue and not self.stopping.is_set():
                lease.next_attempt = time.time() + min(30.0, 0.5 * (2 ** lease.revoke_failures))
                with self.lock:
                    self.leases.setdefault(lease.lease_id, lease)
            raise
        ev = {"event": event, "lease_id": lease.lease_id,
              "ttl": max(0, int(round(lease.expire_time - time.time()))),
              "path": lease.path, "username": lease.username, "reason": reason,
              "open_sessions": terminated, "expire_time": lease.expire_time}
        if terminated:
            ev["note"] = ("dropped the user with %d session(s) open; as in Vault, they were "
                          "left running" % terminated)
        self.journal.add("lease", **ev)
        return terminated

    # Revokes every lease whose ID starts with prefix (sync); returns the count (§6.2).
    def revoke_prefix(self, prefix, reason, event="revoke", force=False):
        with self.lock:
            doomed = [le for lid, le in self.leases.items() if lid.startswith(prefix)]
            for le in doomed:
                del self.leases[le.lease_id]
        errors = []
        for i, le in enumerate(doomed):
            try:
                self.revoke_lease_now(le, event, reason, requeue=not force)
            except DBError as err:
                errors.append((le.lease_id, i + 1, str(err)))
        if errors and not force:
            # vault/expiration.go revokePrefixCommon wraps the first failure
            # ("failed to revoke %q (%d / %d): {{err}}"); handleRevokePrefixCommon ->
            # handleErrorNoReadOnlyForward makes it a 400 (§6.2).
            raise VaultError(400, ['failed to revoke "%s" (%d / %d): %s'
                                   % (errors[0][0], errors[0][1], len(doomed),
                                      revoke_entry_error(errors[0][2]))])
        return len(doomed)

    # The engine object serving a mount path, or None.
    def engine_for(self, mount_path):
        with self.lock:
            m = self.mounts.get(mount_path)
            return m.engine if m else None

    # Background loop: expires tokens and leases at their TTL (§3.3, §6).
    def reaper(self):
        while not self.stopping.wait(REAPER_INTERVAL):
            now = time.time()
            with self.lock:
                dead_tokens = [t for t in self.tokens.values() if not t.reaping and
                               t.expire_time is not None and t.expire_time <= now]
                for t in dead_tokens:
                    t.reaping = True
                due = [le for le in self.leases.values()
                       if le.expire_time <= now and le.next_attempt <= now]
                for le in due:
                    del self.leases[le.lease_id]
                stale = [w for w in self.wrappings.values() if w["expire_time"] <= now]
                for w in stale:
                    del self.wrappings[w["token"]]
            for w in stale:
                self.journal.add("wrap", event="expire", accessor=w["accessor"],
                                 creation_path=w["creation_path"])
            for tok in dead_tokens:
                self.spawn(self.revoke_token, tok, "expire")
            for le in due:
                self.spawn(self._expire_lease, le)
            with self.lock:
                engines = [m.engine for m in self.mounts.values()
                           if isinstance(m.engine, DatabaseEngine)]
            for eng in engines:
                for name in eng.static_due(now):
                    self.spawn(eng.rotate_static, name)

    # Expires one lease at its TTL (worker thread body, §6).
    def _expire_lease(self, lease):
        try:
            self.revoke_lease_now(lease, "expire", "ttl")
        except DBError:
            pass

    # -- policies / ACL ----------------------------------------------------

    # Stores a policy after parsing it (§ sys/policy).
    def put_policy(self, name, text):
        try:
            rules = parse_policy(text)
        except (ValueError, json.JSONDecodeError, AttributeError) as err:
            raise VaultError(400, ["failed to parse policy: %s" % err])
        compiled = [(p, caps, _pattern_regex(p)) for p, caps in rules]
        with self.lock:
            self.policies[name] = {"text": text, "rules": compiled}

    # Capabilities a token has on a path (union over its policies; deny wins; §1.5 403s).
    def capabilities(self, tok, path):
        if tok.is_root():
            return {"root"}
        merged = {}
        with self.lock:
            for name in tok.policies:
                pol = self.policies.get(name)
                if not pol:
                    continue
                for pattern, caps, rx in pol["rules"]:
                    if rx.fullmatch(path):
                        merged.setdefault(pattern, set()).update(caps)
        if not merged:
            return set()
        best = max(merged, key=_pattern_priority)
        caps = merged[best]
        if "deny" in caps:
            return {"deny"}
        return caps

    # True if the token may perform capability cap on path (§1.5 403 rules).
    def allowed(self, tok, path, cap):
        caps = self.capabilities(tok, path)
        if "root" in caps:
            return True
        if "deny" in caps or cap not in caps:
            return False
        if any(path.startswith(p) for p in SUDO_PREFIXES):
            return "sudo" in caps
        return True

    # True if the token can reach anything under a mount (sys/internal/ui/mounts, §7.2).
    def has_mount_access(self, tok, mount_path):
        if tok.is_root():
            return True
        with self.lock:
            for name in tok.policies:
                pol = self.policies.get(name)
                if not pol:
                    continue
                for pattern, caps, _ in pol["rules"]:
                    if caps and caps != {"deny"}:
                        stem = pattern.rstrip("*").split("+")[0]
                        if stem.startswith(mount_path) or mount_path.startswith(stem):
                            return True
        return False

    # -- routing -----------------------------------------------------------

    # Longest-prefix mount for a request path in a namespace, and the path inside it
    # (§1.5 no handler).  A namespace's mounts are kept under its path ("admin/database/");
    # sys/, auth/token/ and identity/ exist in every namespace.
    def match_mount(self, path, ns=""):
        with self.lock:
            for builtin in ("sys/", "auth/token/", "identity/"):
                if path.startswith(builtin) or path + "/" == builtin:
                    return self.mounts[builtin], path[len(builtin):]
            full = ns + path
            best = None
            for mpath in self.mounts:
                if mpath.startswith(ns) and (full.startswith(mpath) or full + "/" == mpath) \
                        and not any(mpath.startswith(n) for n in self.namespaces
                                    if len(n) > len(ns) and n.startswith(ns)):
                    if best is None or len(mpath) > len(best):
                        best = mpath
            if best is None:
                return None, None
            return self.mounts[best], full[len(best):]

    # The namespace a request is in and its path inside it: the X-Vault-Namespace
    # header, then the longest namespace path the request path starts with; both
    # select a namespace (VD:api-docs/index.mdx "Namespaces"; Enterprise only).
    def request_namespace(self, headers, path):
        hdr = (headers.get("X-Vault-Namespace") or "").strip("/")
        full = (hdr + "/" if hdr else "") + path
        with self.lock:
            ns = max((n for n in self.namespaces if n and full.startswith(n)), key=len,
                     default="")
        if hdr and not (hdr + "/").startswith(ns or "\0"):
            # The header named no namespace this server has.
            raise VaultError(403, [ERR_PERMISSION_DENIED])
        return ns, full[len(ns):]

    # sys/namespaces[/<name>]: create, read, list (Vault Enterprise
    # VD:api-docs/system/namespaces; IDs are 5 base62 characters).
    def sys_namespaces(self, ctx, name):
        name = name.strip("/")
        with self.lock:
            if not name:
                self._need(ctx.op, "list", "read")
                keys = sorted(n[len(ctx.ns):] for n in self.namespaces
                              if n.startswith(ctx.ns) and n != ctx.ns and
                              "/" not in n[len(ctx.ns):].rstrip("/"))
                if not keys:
                    raise VaultError(404, [])
                return Reply(200, envelope({"keys": keys}, mount_type="system"))
            path = ctx.ns + name + "/"
            if ctx.op in ("update", "create"):
                if path not in self.namespaces:
                    self.namespaces[path] = rand_base62(5)
            elif ctx.op != "read":
                raise VaultError(405, ["unsupported operation"])
            if path not in self.namespaces:
                raise VaultError(404, [])
            return Reply(200, envelope({"id": self.namespaces[path], "path": path,
                                        "custom_metadata": {}}, mount_type="system"))

    # ".<namespace ID>" for a lease or token made outside the root namespace
    # (vault/expiration.go Register: fmt.Sprintf("%s.%s", leaseID, ns.ID)).
    def ns_suffix(self, ns):
        if not ns:
            return ""
        with self.lock:
            return "." + self.namespaces[ns]

    # Handles one /v1 request; returns (Reply, token accessor or None) (§1).
    # peer_cert: {"der": bytes, "info": getpeercert() dict} of a TLS client certificate (§4.4).
    # http/util.go rateLimitQuotaWrapping: the most specific quota whose path (a mount or
    # a path prefix; "" for all) covers the request decides; the X-Ratelimit-* headers and
    # Retry-After go out only with enable_rate_limit_response_headers; a denial is 429.
    def apply_rate_limit(self, path, client):
        if path in QUOTA_EXEMPT_PATHS:
            return None
        with self.lock:
            quota = None
            for q in self.quotas.values():
                if path.startswith(q.path) and (quota is None or len(q.path) > len(quota.path)):
                    quota = q
            if quota is None:
                return None
            ok, headers = quota.allow(client)
            if not self.quota_headers:
                headers = {}
        if ok:
            return headers
        return Reply(429, {"errors": ['request path "%s": rate limit quota exceeded' % path]},
                     headers)

    # sys/quotas/config and sys/quotas/rate-limit/:name (vault/logical_system_quotas.go).
    def sys_quotas(self, ctx, sub):
        op, data = ctx.op, ctx.data or {}
        if sub == "quotas/config":
            if op == "update":
                with self.lock:
                    self.quota_headers = parse_bool(
                        data.get("enable_rate_limit_response_headers"),
                        "enable_rate_limit_response_headers", self.quota_headers)
                return None
            self._need(op, "read")
            return Reply(200, self._sys_inject({
                "enable_rate_limit_response_headers": self.quota_headers,
                "enable_rate_limit_audit_logging": False, "rate_limit_exempt_paths":
                list(QUOTA_EXEMPT_PATHS)}))
        name = sub[len("quotas/rate-limit/"):]
        if not name:
            raise VaultError(400, ["missing quota name"])
        if op == "update":
            rate = float(data.get("rate") or 0)
            if rate <= 0:
                raise VaultError(400, ["'rate' is invalid"])
            interval = parse_duration(data.get("interval") or 0, "interval") or 1
            block = parse_duration(data.get("block_interval") or 0, "block_interval") or 0
            with self.lock:
                self.quotas[name] = RateLimitQuota(name, data.get("path") or "", rate,
                                                   float(interval), float(block))
            return None
        if op == "delete":
            with self.lock:
                self.quotas.pop(name, None)
            return None
        self._need(op, "read")
        with self.lock:
            q = self.quotas.get(name)
        if q is None:
            raise VaultError(404, [])
        return Reply(200, self._sys_inject(q.to_json()))

    def handle(self, method, path, query, headers, body, peer_cert=None):
        accessor = [None]
        try:
            reply = self._handle(method, path, query, headers, body, accessor, peer_cert)
            if reply is None:
                reply = Reply(204, None)
        except VaultError as err:
            reply = Reply(err.status, {"errors": err.errors}, err.headers)
        except Exception:
            traceback.print_exc()
            reply = Reply(500, {"errors": ["1 error occurred:\n\t* internal error\n\n"]})
        return reply, accessor[0]

    # Request pipeline: method, body, unauthenticated routes, token, ACL, mount, wrap (§1, §4.5).
    def _handle(self, method, path, query, headers, body, accessor, peer_cert=None):
        ops = {"GET": "read", "LIST": "list", "POST": "update", "PUT": "update",
               "DELETE": "delete", "HEAD": "head"}
        op = ops.get(method)
        if op is None:
            raise VaultError(405, [])
        if op == "read" and query.get("list") and query["list"][0].lower() in ("true", "1", "t"):
            op = "list"
        data = None
        if method in ("POST", "PUT") and body.strip():
            try:
                data = json.loads(body)
            except ValueError as err:
                raise VaultError(400, ["failed to parse JSON input: %s" % err])
            if data is not None and not isinstance(data, dict):
                kind = {list: "array", str: "string", bool: "bool"}.get(type(data), "number")
                raise VaultError(400, ["failed to parse JSON input: json: cannot unmarshal %s into "
                                       "Go value of type map[string]interface {}" % kind])
        if path == "sys/health":
            if op not in ("read", "head"):
                raise VaultError(405, [])
            return self.sys_health(query, op == "head", sealed=False)
        if op == "head":
            raise VaultError(405, [])
        if path == "sys/seal-status":
            return Reply(200, self.seal_status(False))
        wrap_ttl = self.requested_wrap_ttl(headers)
        reply = self._route(op, path, query, headers, data, accessor, peer_cert, wrap_ttl)
        if (wrap_ttl and path != "sys/wrapping/wrap" and isinstance(reply, Reply)
                and reply.status == 200 and isinstance(reply.body, dict)):
            reply = self.wrap_response(reply.body, path, wrap_ttl)
        return reply

    # Routes an authenticated or unauthenticated (login, wrapping) request (§1.5, §4).
    def _route(self, op, path, query, headers, data, accessor, peer_cert, wrap_ttl):
        ns, path = self.request_namespace(headers, path)
        token_id = headers.get("X-Vault-Token")
        if not token_id:
            auth = headers.get("Authorization") or ""
            if auth.lower().startswith("bearer "):
                token_id = auth[7:].strip()
        # A token presented is a secret, whether this emulator issued it or not.
        self.remember_secrets([token_id])
        if path == "sys/internal/ui/mounts" or path.startswith("sys/internal/ui/mounts/"):
            tok = self.lookup_token(token_id)
            if tok is not None:
                accessor[0] = tok.accessor
            return self.sys_ui_mounts(tok, path[len("sys/internal/ui/mounts/"):], op, ns)
        if path in ("sys/wrapping/lookup", "sys/wrapping/unwrap"):
            return self.sys_wrapping(op, path, data or {}, token_id, accessor)
        mount, sub = self.match_mount(path, ns)
        if mount is not None and isinstance(mount.engine, AuthMethod) and sub == "login":
            return self.login(mount, op, path, data or {}, peer_cert, ns)
        tok = self.lookup_token(token_id)
        if tok is None:
            raise VaultError(403, [ERR_INVALID_TOKEN])
        accessor[0] = tok.accessor
        cap = {"read": "read", "list": "list", "delete": "delete"}.get(op)
        if op == "update":
            cap = "update"
            if mount is not None and mount.engine is not None and not mount.engine.exists(sub):
                cap = "create"
        # A token works in its own namespace and those below it; ACL paths are
        # relative to the token's namespace (Vault Enterprise; VD:docs/enterprise/namespaces).
        full = ns + path
        if not full.startswith(tok.namespace) or \
                not self.allowed(tok, full[len(tok.namespace):], cap):
            raise VaultError(403, [ERR_PERMISSION_DENIED])
        if mount is None:
            raise VaultError(404, ['no handler for route "%s". route entry not found.' % path])
        ctx = Ctx(self, tok, op, path, query, data)
        ctx.wrap_ttl = wrap_ttl
        ctx.ns = ns
        if mount.type == "system":
            return self.sys_route(ctx, sub)
        if mount.type == "token":
            return self.token_route(ctx, sub)
        if mount.type == "identity":
            return self.identity_route(ctx, sub)
        return mount.engine.handle(ctx, sub)

    # identity/mfa/method/<type> and identity/mfa/login-enforcement/<name>: just enough
    # login MFA to make logins answer with an MFA requirement (§4; vault/login_mfa.go
    # handleMFAMethodUpdateCommon, handleLoginEnforcementUpdate).
    def identity_route(self, ctx, sub):
        parts = sub.split("/")
        if len(parts) >= 3 and parts[:2] == ["mfa", "method"] and parts[2] in (
                "totp", "duo", "okta", "pingid"):
            self._need(ctx.op, "update")
            mid = parts[3] if len(parts) > 3 and parts[3] else str(uuid.uuid4())
            with self.lock:
                self.mfa_methods[mid] = {"type": parts[2],
                                         "name": ctx.data.get("method_name") or ""}
            return Reply(200, envelope({"method_id": mid}, mount_type="identity"))
        if len(parts) == 3 and parts[:2] == ["mfa", "login-enforcement"] and parts[2]:
            name = parts[2]
            if ctx.op == "read":
                with self.lock:
                    enf = self.mfa_enforcements.get(name)
                if enf is None:
                    raise VaultError(404, [])
                return Reply(200, envelope(dict(enf, name=name), mount_type="identity"))
            self._need(ctx.op, "update", "create")
            ids = parse_str_list(ctx.data.get("mfa_method_ids"))
            with self.lock:
                if not ids or any(i not in self.mfa_methods for i in ids):
                    raise VaultError(400, ["one or more MFA method IDs do not exist"])
                self.mfa_enforcements[name] = {
                    "mfa_method_ids": ids,
                    "auth_method_types": parse_str_list(ctx.data.get("auth_method_types")),
                    "auth_method_accessors": parse_str_list(
                        ctx.data.get("auth_method_accessors"))}
            return None
        raise VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])

    # The MFA requirement a login on this mount must meet first, or None
    # (vault/login_mfa.go buildMfaEnforcementResponse; constraints keyed by enforcement name).
    def mfa_requirement(self, mount):
        with self.lock:
            cons = {}
            for name, enf in sorted(self.mfa_enforcements.items()):
                if mount.type in enf["auth_method_types"] or \
                        getattr(mount, "accessor", None) in enf["auth_method_accessors"]:
                    cons[name] = {"any": [
                        {"type": self.mfa_methods[i]["type"], "id": i,
                         "uses_passcode": self.mfa_methods[i]["type"] == "totp",
                         "name": self.mfa_methods[i]["name"]}
                        for i in enf["mfa_method_ids"]]}
        if not cons:
            return None
        return {"mfa_request_id": str(uuid.uuid4()), "mfa_constraints": cons}

    # -- sys/ ----------------------------------------------------------------

    # sys/health body and status code with all query overrides (§2).
    def sys_health(self, query, head, sealed, standby=False, initialized=True):
        # Integer *code override, 400 if not an integer (§2.2).
        def code(name, default):
            vals = query.get(name)
            if not vals:
                return default
            try:
                return int(vals[0])
            except ValueError:
                raise VaultError(400, ['bad code: "%s"' % vals[0]])

        # Boolean standbyok/perfstandbyok, 400 if not a bool (§2.2).
        def flag(name):
            vals = query.get(name)
            if not vals:
                return False
            if vals[0] == "":
                return True
            return parse_bool(vals[0], name)

        standbyok = flag("standbyok")
        flag("perfstandbyok")
        if not initialized:
            status = code("uninitcode", 501)
        elif sealed:
            status = code("sealedcode", 503)
        elif standby and not standbyok:
            status = code("standbycode", 429)
        else:
            status = code("activecode", 200)
        for name in ("drsecondarycode", "performancestandbycode", "removedcode", "haunhealthycode"):
            code(name, 0)
        if head:
            return Reply(status, b"")
        body = {"initialized": initialized, "sealed": sealed, "standby": standby,
                "performance_standby": False, "replication_performance_mode": "disabled",
                "replication_dr_mode": "disabled", "server_time_utc": int(time.time()),
                "version": VAULT_VERSION, "enterprise": False, "echo_duration_ms": 0,
                "clock_skew_ms": 0}
        if not sealed and initialized:
            body["cluster_name"] = self.cluster_name
            body["cluster_id"] = self.cluster_id
        return Reply(status, body)

    # sys/seal-status body (reports the sealed fault, §2).
    def seal_status(self, sealed):
        return {"type": "shamir", "initialized": True, "sealed": sealed, "t": 1, "n": 1,
                "progress": 0, "nonce": "", "version": VAULT_VERSION, "build_date": "",
                "migration": False, "recovery_seal": False, "storage_type": "inmem",
                "cluster_name": self.cluster_name, "cluster_id": self.cluster_id}

    # sys/internal/ui/mounts[/path]: mount info for KV version detection (§7.2).
    def sys_ui_mounts(self, tok, sub, op, ns=""):
        if op != "read":
            raise VaultError(405, ["unsupported operation"])
        if sub == "":
            out = {"secret": {}, "auth": {}}
            if tok is not None:
                with self.lock:
                    mounts = list(self.mounts.values())
                for m in mounts:
                    if not self.has_mount_access(tok, m.path):
                        continue
                    if m.path.startswith("auth/"):
                        out["auth"][m.path[len("auth/"):]] = m.info()
                    else:
                        out["secret"][m.path] = m.info()
            return Reply(200, envelope(out, mount_type="system"))
        clean = sub.lstrip("/")
        if not clean.endswith("/"):
            clean += "/"
        denied = VaultError(403, ['preflight capability check returned 403, please ensure '
                                  'client\'s policies grant access to path "%s"' % clean])
        if tok is None:
            raise denied
        mount, _ = self.match_mount(clean, ns)
        if mount is None or not self.has_mount_access(tok, mount.path[len(ns):]):
            raise denied
        info = mount.info()
        info["path"] = mount.path[len(ns):]   # relative to the request's namespace
        return Reply(200, envelope(info, mount_type="system"))

    # Routes sys/* requests (§6 leases, sys/mounts, policies, capabilities-self).
    def sys_route(self, ctx, sub):
        op = ctx.op
        if sub in ("leases/renew", "renew") or sub.startswith(("leases/renew/", "renew/")):
            self._need(op, "update")
            url_id = sub.split("renew/", 1)[1] if "renew/" in sub else ""
            return self.sys_renew(ctx, ctx.data.get("lease_id") or url_id,
                                  parse_duration(ctx.data.get("increment"), "increment"))
        if sub in ("leases/revoke", "revoke") or sub.startswith(("leases/revoke/", "revoke/")):
            self._need(op, "update")
            url_id = sub.split("revoke/", 1)[1] if "revoke/" in sub else ""
            return self.sys_revoke(ctx.data.get("lease_id") or url_id,
                                   parse_bool(ctx.data.get("sync"), "sync", True))
        if sub.startswith(("leases/revoke-prefix/", "revoke-prefix/", "leases/revoke-force/",
                           "revoke-force/")):
            self._need(op, "update")
            force = "revoke-force/" in sub
            prefix = sub.split("/", 2)[-1] if sub.startswith("leases/") else sub.split("/", 1)[1]
            self.revoke_prefix(prefix, "prefix", force=force)
            return None
        if sub == "leases/lookup":
            self._need(op, "update")
            return self.sys_lease_lookup(ctx.data.get("lease_id"))
        if sub.startswith("leases/lookup/") or sub == "leases/lookup/":
            self._need(op, "list")
            prefix = sub[len("leases/lookup/"):]
            with self.lock:
                keys = list_children(self.leases.keys(), prefix if prefix.endswith("/") or
                                     not prefix else prefix + "/")
            if not keys:
                raise VaultError(404, [])
            return Reply(200, envelope({"keys": keys}, mount_type="system"))
        if sub == "namespaces" or sub.startswith("namespaces/"):
            return self.sys_namespaces(ctx, sub[len("namespaces"):])
        if sub == "mounts" or sub.startswith("mounts/"):
            return self.sys_mounts(ctx, sub[len("mounts/"):] if "/" in sub else "")
        if sub == "auth":
            self._need(op, "read")
            with self.lock:
                data = {m.path[len("auth/"):]: m.info() for m in self.mounts.values()
                        if m.path.startswith("auth/")}
            return Reply(200, self._sys_inject(data))
        if sub.startswith("auth/"):
            return self.sys_auth(ctx, sub[len("auth/"):])
        if sub == "wrapping/wrap":
            self._need(op, "update")
            body = envelope(dict(ctx.data), mount_type="system")
            self.remember_secrets(string_leaves(ctx.data))
            return self.wrap_response(body, "sys/wrapping/wrap", ctx.wrap_ttl or 300)
        if sub in ("policy", "policies/acl") or sub.startswith(("policy/", "policies/acl/")):
            return self.sys_policy(ctx, sub)
        if sub == "quotas/config" or sub.startswith("quotas/rate-limit/"):
            return self.sys_quotas(ctx, sub)
        if sub == "capabilities-self":
            self._need(op, "update")
            paths = ctx.data.get("paths") or ctx.data.get("path") or []
            if isinstance(paths, str):
                paths = [paths]
            data = {}
            for p in paths:
                caps = self.capabilities(ctx.token, p)
                data[p] = sorted(caps) if caps else ["deny"]
            if len(paths) == 1:
                data["capabilities"] = data[paths[0]]
            return Reply(200, self._sys_inject(data))
        raise VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])

    # Raises 405 unless the operation is one of the allowed ones.
    @staticmethod
    def _need(op, *allowed):
        if op not in allowed:
            raise VaultError(405, ["1 error occurred:\n\t* unsupported operation\n\n"])

    # Envelope whose data keys are also copied to the top level (HTTPSysInjector, §1.3).
    @staticmethod
    def _sys_inject(data):
        body = envelope(data, mount_type="system")
        for k, v in data.items():
            if k not in body:
                body[k] = v
        return body

    # sys/leases/renew: §6.1 TTL math, error texts, renew statements.  The refusals
    # follow vault/expiration.go Renew -> leaseEntry.renewable(), in its order: no
    # entry "lease not found", past its ExpireTime "lease expired", then a secret whose
    # Renewable is false "lease is not renewable" (plain errors, which
    # vault/logical_system.go handleRenew passes to handleErrorNoReadOnlyForward: not
    # an HTTPCodedError, so ErrorResponse(err.Error()) with ErrInvalidRequest, a 400
    # {"errors": [text]}).
    def sys_renew(self, ctx, lease_id, increment):
        if not lease_id:
            raise VaultError(400, ["lease_id must be specified"])
        now = time.time()
        with self.lock:
            lease = self.leases.get(lease_id)
            if lease is None:
                raise VaultError(400, ["lease not found"])
            if lease.expire_time <= now:
                raise VaultError(400, ["lease expired"])
            if not lease.renewable:
                raise VaultError(400, ["lease is not renewable"])
            if lease.namespace != ctx.ns:
                # vault/expiration.go Renew: errors.New("cannot renew a lease across
                # namespaces") -> handleErrorNoReadOnlyForward -> 400.
                raise VaultError(400, ["cannot renew a lease across namespaces"])
            engine = self.engine_for(lease.mount)
            ttls = engine.role_ttls(lease.role) if engine else None
            if ttls is None:
                raise VaultError(500, ['error during renew: could not find role with name "%s"'
                                       % lease.role])
            default_ttl, max_ttl = ttls
            try:
                ttl, warnings = calculate_ttl(increment, default_ttl, 0, max_ttl, 0,
                                              lease.issue_time, now)
            except PastMaxTTL as err:
                # vault/expiration.go Renew calls CalculateTTL after renewEntry and
                # returns its error as it is (no "failed to renew entry" wrapping);
                # handleErrorNoReadOnlyForward makes it a 400.
                raise VaultError(400, [str(err)])
        if lease.batch_end is not None and now + ttl > lease.batch_end:
            # vault/expiration.go Renew: a batch token's lease never outlives it.
            ttl = max(0, int(lease.batch_end - now))
        engine.renew_user(lease, ttl, now)
        with self.lock:
            if self.leases.get(lease_id) is not lease:
                raise VaultError(400, ["lease not found"])
            lease.expire_time = now + ttl
            lease.last_renewal = now
            lease.max_ttl = max_ttl
        self.journal.add("lease", event="renew", lease_id=lease_id, ttl=ttl, path=lease.path,
                         username=lease.username, increment=increment,
                         capped=bool(warnings))
        return Reply(200, envelope(None, lease_id=lease_id, renewable=True, lease_duration=ttl,
                                   warnings=warnings, mount_type="system"))

    # sys/leases/revoke: 204 (sync) or 202 (sync=false); unknown lease -> 204 (§6.2).
    def sys_revoke(self, lease_id, sync):
        if not lease_id:
            raise VaultError(400, ["lease_id must be specified"])
        with self.lock:
            lease = self.leases.pop(lease_id, None)
        if lease is None:
            return None
        if not sync:
            self.spawn(self._expire_quietly, lease)
            return Reply(202, None)
        try:
            self.revoke_lease_now(lease, "revoke", "api", requeue=False)
        except DBError as err:
            with self.lock:
                self.leases.setdefault(lease_id, lease)
            # vault/expiration.go revokeEntry wraps the plugin's error; handleRevoke ->
            # handleErrorNoReadOnlyForward makes it a 400; the lease stays (§6.2).
            raise VaultError(400, [revoke_entry_error(err)])
        return None

    # Background revocation for sync=false (§6.2, answered 202).
    def _expire_quietly(self, lease):
        try:
            self.revoke_lease_now(lease, "revoke", "api_async")
        except DBError:
            pass

    # sys/leases/lookup (§6.3).
    def sys_lease_lookup(self, lease_id):
        if not lease_id:
            raise VaultError(400, ["lease_id must be specified"])
        with self.lock:
            lease = self.leases.get(lease_id)
            if lease is None:
                raise VaultError(400, ["invalid lease"])
            data = {"id": lease.lease_id, "issue_time": rfc3339(lease.issue_time),
                    "expire_time": rfc3339(lease.expire_time),
                    "last_renewal": rfc3339(lease.last_renewal), "renewable": lease.renewable,
                    "ttl": max(0, int(round(lease.expire_time - time.time())))}
        return Reply(200, envelope(data, mount_type="system"))

    # sys/mounts list, enable, disable, read (§ sys/mounts).
    def sys_mounts(self, ctx, mpath):
        op = ctx.op
        if mpath == "":
            self._need(op, "read")
            with self.lock:
                data = {m.path: m.info() for m in self.mounts.values()
                        if not m.path.startswith("auth/")}
            return Reply(200, self._sys_inject(data))
        if mpath.endswith("/tune"):
            raise VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])
        key = ctx.ns + mpath.strip("/") + "/"
        if op == "read":
            with self.lock:
                m = self.mounts.get(key)
                if m is None:
                    raise VaultError(400, ["No secret engine mount at %s" % key])
                return Reply(200, self._sys_inject(m.info()))
        if op == "delete":
            if key in ("sys/", "auth/token/") or key.startswith("auth/"):
                raise VaultError(400, ['cannot unmount "%s"' % key])
            with self.lock:
                if key not in self.mounts:
                    return None
            self.revoke_prefix(key, "unmount", force=True)
            with self.lock:
                self.mounts.pop(key, None)
            return None
        self._need(op, "update")
        mtype = ctx.data.get("type")
        options = ctx.data.get("options") or None
        if not mtype:
            raise VaultError(400, ["backend type must be specified as a string"])
        if mtype == "kv-v2":
            mtype, options = "kv", dict(options or {}, version="2")
        if mtype in ("kv", "generic"):
            version = str((options or {}).get("version", "1"))
            options = dict(options or {}, version=version)
            engine_cls = KVv2 if version == "2" else KVv1
            mtype = "kv"
        elif mtype == "database":
            engine_cls = DatabaseEngine
        elif mtype == "pki":
            engine_cls = PKIEngine
        elif mtype == "aws":
            engine_cls = AWSEngine
        else:
            raise VaultError(400, ['plugin not found in the catalog: %s' % mtype])
        with self.lock:
            for existing in self.mounts:
                if key.startswith(existing) or existing.startswith(key):
                    raise VaultError(400, ["path is already in use at %s" % existing])
            self.mounts[key] = Mount(key, mtype, options, engine_cls(self, key),
                                     ctx.data.get("description", ""))
        return None

    # sys/policy and sys/policies/acl (§ policies).
    def sys_policy(self, ctx, sub):
        op = ctx.op
        acl_style = sub.startswith("policies/acl")
        name = sub[len("policies/acl" if acl_style else "policy"):].strip("/").lower()
        if not name:
            if op not in ("read", "list"):
                raise VaultError(405, ["1 error occurred:\n\t* unsupported operation\n\n"])
            with self.lock:
                names = sorted(self.policies) + ["root"]
            if acl_style:
                return Reply(200, envelope({"keys": sorted(names)}, mount_type="system"))
            return Reply(200, self._sys_inject({"keys": sorted(names), "policies": sorted(names)}))
        if op == "read":
            if name == "root":
                text = ""
            else:
                with self.lock:
                    pol = self.policies.get(name)
                if pol is None:
                    raise VaultError(404, [])
                text = pol["text"]
            if acl_style:
                return Reply(200, envelope({"name": name, "policy": text}, mount_type="system"))
            return Reply(200, self._sys_inject({"name": name, "rules": text}))
        if op == "delete":
            if name in ("root", "default"):
                raise VaultError(400, ['cannot delete "%s" policy' % name])
            with self.lock:
                self.policies.pop(name, None)
            return None
        self._need(op, "update")
        if name == "root":
            raise VaultError(400, ['cannot update "root" policy'])
        text = ctx.data.get("policy") or ctx.data.get("rules")
        if not text or not isinstance(text, str):
            raise VaultError(400, ["'policy' parameter not supplied or empty"])
        self.put_policy(name, text)
        return None

    # -- auth/token/ -----------------------------------------------------------

    # Routes auth/token/* requests (§3).
    def token_route(self, ctx, sub):
        op = ctx.op
        tok = ctx.token
        if sub in ("create", "create-orphan"):
            self._need(op, "update")
            return self.token_create(ctx, orphan_path=(sub == "create-orphan"))
        if sub == "lookup-self":
            self._need(op, "read", "update")
            return Reply(200, envelope(self.token_lookup_data(tok), mount_type="token"))
        if sub == "renew-self":
            self._need(op, "update")
            if tok.type == "batch":
                # vault/expiration.go renewAuthEntry: ErrorResponse -> 400.
                raise VaultError(400, ["batch tokens cannot be renewed"])
            return self.token_renew(tok, parse_duration(ctx.data.get("increment"), "increment"))
        if sub == "revoke-self":
            self._need(op, "update")
            if tok.type == "batch":
                # vault/expiration.go revokeEntry: errors.New("batch tokens cannot be
                # revoked"); a batch token lives until its TTL.
                raise VaultError(400, ["batch tokens cannot be revoked"])
            self.revoke_token(tok)
            return None
        if sub in ("lookup", "renew", "revoke", "revoke-orphan"):
            self._need(op, "update", "read")
            target = self.lookup_token(ctx.data.get("token") or ctx.q("token"))
            if sub == "lookup":
                if target is None:
                    raise VaultError(403, [ERR_INVALID_TOKEN])
                return Reply(200, envelope(self.token_lookup_data(target), mount_type="token"))
            if sub == "renew":
                if target is None:
                    raise VaultError(400, ["token not found"])
                return self.token_renew(target, parse_duration(ctx.data.get("increment"),
                                                               "increment"))
            if target is not None:
                self.revoke_token(target)
            return None
        if sub in ("lookup-accessor", "revoke-accessor"):
            self._need(op, "update")
            with self.lock:
                tid = self.accessors.get(ctx.data.get("accessor") or "")
            target = self.lookup_token(tid)
            if target is None:
                raise VaultError(400, ["invalid accessor"])
            if sub == "lookup-accessor":
                data = self.token_lookup_data(target)
                data["id"] = ""
                return Reply(200, envelope(data, mount_type="token"))
            self.revoke_token(target)
            return None
        if sub == "accessors" or sub == "accessors/":
            self._need(op, "list")
            with self.lock:
                keys = sorted(self.accessors)
            return Reply(200, envelope({"keys": keys}, mount_type="token"))
        raise VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])

    # auth/token/create: policies subset rule, TTL/explicit max/period (§3.4).
    def token_create(self, ctx, orphan_path):
        d = ctx.data
        parent = ctx.token
        is_root = parent.is_root()
        raw = d.get("policies")
        if raw is None:
            policies = [p for p in parent.policies if p != "default" or
                        not parse_bool(d.get("no_default_policy"), "no_default_policy")]
        else:
            policies = parse_comma_list(raw)
        policies = sorted({p.strip().lower() for p in policies if p.strip()})
        if "root" in policies:
            if not is_root:
                raise VaultError(400, ["root tokens may not be created without parent token being "
                                       "root"])
            policies = ["root"]
        else:
            if not parse_bool(d.get("no_default_policy"), "no_default_policy"):
                policies = sorted(set(policies) | {"default"})
            if not is_root and not set(policies) <= set(parent.policies) | {"default"}:
                raise VaultError(400, ["child policies must be subset of parent"])
        orphan = orphan_path or parse_bool(d.get("no_parent"), "no_parent")
        if orphan and not orphan_path and not is_root and \
                "sudo" not in self.capabilities(parent, "auth/token/create"):
            raise VaultError(400, ["root or sudo privileges required to create orphan token"])
        if d.get("id") and not is_root:
            raise VaultError(400, ["root or sudo privileges required to specify token id"])
        if d.get("type") not in (None, "", "service", "batch", "default"):
            raise VaultError(400, ["unsupported token type %s" % d.get("type")])
        ttl = parse_duration(d.get("ttl") if d.get("ttl") is not None else d.get("lease"), "ttl")
        explicit = parse_duration(d.get("explicit_max_ttl"), "explicit_max_ttl")
        period = parse_duration(d.get("period"), "period")
        renewable = parse_bool(d.get("renewable"), "renewable", True)
        meta = d.get("meta") or None
        disp = d.get("display_name") or ""
        if disp:
            disp = re.sub(r"[^a-zA-Z0-9-]", "-", "token-" + disp).rstrip("-")
        else:
            disp = "token"
        warnings = []
        if policies == ["root"] and ttl == 0 and period == 0:
            final_ttl = explicit if explicit > 0 else 0
        else:
            try:
                final_ttl, warnings = calculate_ttl(0, ttl, period, 0, explicit, None)
            except PastMaxTTL as err:
                raise VaultError(400, [str(err)])
        renewable = renewable and final_ttl > 0
        tok = self.new_token(policies, final_ttl, explicit, period, renewable, disp,
                             None if orphan else parent.accessor, orphan, meta,
                             token_id=d.get("id") or None, ns=ctx.ns,
                             token_type=d.get("type") or "default")
        return Reply(200, envelope(None, auth=self.auth_block(tok, final_ttl), warnings=warnings,
                                   mount_type="token"))

    # The auth block of a token response (§3.4).
    @staticmethod
    def auth_block(tok, ttl):
        return {"client_token": tok.id, "accessor": tok.accessor, "policies": list(tok.policies),
                "token_policies": list(tok.policies), "metadata": tok.meta,
                "lease_duration": int(ttl), "renewable": tok.renewable, "entity_id": "",
                "token_type": tok.type, "orphan": tok.orphan, "mfa_requirement": None,
                "num_uses": tok.num_uses}

    # lookup-self data (§3.1).
    def token_lookup_data(self, tok):
        now = time.time()
        data = {"accessor": tok.accessor, "creation_time": int(tok.creation_time),
                "creation_ttl": tok.ttl, "display_name": tok.display_name, "entity_id": "",
                "expire_time": rfc3339(tok.expire_time),
                "explicit_max_ttl": tok.explicit_max_ttl, "id": tok.id,
                "issue_time": rfc3339(tok.creation_time), "meta": tok.meta,
                "num_uses": tok.num_uses, "orphan": tok.orphan, "path": tok.path,
                "policies": list(tok.policies), "renewable": tok.renewable,
                "ttl": max(0, int(round(tok.expire_time - now))) if tok.expire_time else 0,
                "type": tok.type}
        if tok.namespace:
            data["namespace_path"] = tok.namespace
        if tok.period:
            data["period"] = tok.period
        if tok.last_renewal:
            data["last_renewal_time"] = int(tok.last_renewal)
            data["last_renewal"] = rfc3339(tok.last_renewal)
        return data

    # Token renewal with §3.2 math (cap at explicit max TTL, warning text).
    def token_renew(self, tok, increment):
        now = time.time()
        with self.lock:
            if self.tokens.get(tok.id) is not tok:
                raise VaultError(403, [ERR_INVALID_TOKEN])
            if tok.expire_time is None or not tok.renewable:
                raise VaultError(400, ["lease is not renewable"])
            try:
                ttl, warnings = calculate_ttl(increment, tok.ttl, tok.period, tok.max_ttl,
                                              tok.explicit_max_ttl, tok.creation_time, now)
            except PastMaxTTL as err:
                raise VaultError(500, [str(err)])
            tok.expire_time = now + ttl
            tok.last_renewal = now
        self.journal.add("token", event="renew", accessor=tok.accessor, ttl=ttl,
                         increment=increment, capped=bool(warnings))
        return Reply(200, envelope(None, auth=self.auth_block(tok, ttl), warnings=warnings,
                                   mount_type="token"))

    # -- logins (§4) -------------------------------------------------------------

    # POST auth/<mount>/login: unauthenticated; journals every attempt, never its secrets (§4).
    def login(self, mount, op, path, data, peer_cert, ns=""):
        if op != "update":
            raise VaultError(405, ["1 error occurred:\n\t* unsupported operation\n\n"])
        info = {"role": None, "jwt_sha256": None}
        name = mount.path[len("auth/"):].rstrip("/")
        # The credentials a client logs in with are secrets too, valid or not.
        self.remember_secrets([data.get(k) for k in ("jwt", "secret_id")])
        try:
            result = mount.engine.login(Ctx(self, None, op, path, {}, data), info, peer_cert)
            mfa = self.mfa_requirement(mount)
            if mfa is not None:
                # vault/request_handling.go handleLoginRequest: with a login MFA
                # enforcement, 200 with an auth block holding only the MFA requirement
                # (client_token "") and a warning; no token is made until sys/mfa/validate.
                auth = {"client_token": "", "accessor": "", "policies": None,
                        "token_policies": None, "metadata": None, "lease_duration": 0,
                        "renewable": False, "entity_id": "", "token_type": "default",
                        "orphan": False, "mfa_requirement": mfa, "num_uses": 0}
                self.journal.add("login", mount=name, method=mount.type, role=info["role"],
                                 jwt_sha256=info["jwt_sha256"], status=200, mfa=True)
                return Reply(200, envelope(None, auth=auth, mount_type=mount.type, warnings=[
                    "A login request was issued that is subject to MFA validation. Please "
                    "make sure to validate the login by sending another request to "
                    "mfa/validate endpoint."]))
            reply, tok = self.login_token(mount, path, result, ns)
        except VaultError as err:
            self.journal.add("login", mount=name, method=mount.type, role=info["role"],
                             jwt_sha256=info["jwt_sha256"], status=err.status,
                             error="; ".join(err.errors))
            raise
        self.journal.add("login", mount=name, method=mount.type, role=info["role"],
                         jwt_sha256=info["jwt_sha256"], status=200, accessor=tok.accessor,
                         ttl=reply.body["auth"]["lease_duration"])
        return reply

    # Mints the orphan service token of a login from the role's token_* fields (§3.4, §4).
    def login_token(self, mount, path, result, ns=""):
        f = result.fields
        policies = set(f["token_policies"])
        if not f["token_no_default_policy"]:
            policies.add("default")
        policies = sorted(policies)
        try:
            ttl, warnings = calculate_ttl(0, f["token_ttl"], f["token_period"], f["token_max_ttl"],
                                          f["token_explicit_max_ttl"], None)
        except PastMaxTTL as err:
            raise VaultError(400, [str(err)])
        display = (mount.path[len(ns) + len("auth/"):].replace("/", "-") +
                   result.display).rstrip("-")
        tok = self.new_token(policies, ttl, f["token_explicit_max_ttl"], f["token_period"], True,
                             display, None, True, dict(result.meta), path=path,
                             max_ttl=f["token_max_ttl"], ns=ns,
                             token_type=f.get("token_type") or "default")
        body = envelope(None, auth=self.auth_block(tok, ttl), warnings=warnings,
                        mount_type=mount.type)
        return Reply(200, body), tok

    # sys/auth/<path>: enable (POST {"type"}), read, disable (revokes the mount's tokens).
    def sys_auth(self, ctx, apath):
        name = apath.strip("/")
        if not name or name.endswith("/tune") or "/tune/" in name:
            raise VaultError(404, ["1 error occurred:\n\t* unsupported path\n\n"])
        key = ctx.ns + "auth/" + name + "/"
        if ctx.op == "read":
            with self.lock:
                m = self.mounts.get(key)
                if m is None:
                    raise VaultError(400, ["No auth engine at %s" % key])
                return Reply(200, self._sys_inject(m.info()))
        if ctx.op == "delete":
            if key == ctx.ns + "auth/token/":
                raise VaultError(400, ['cannot unmount "%s"' % key])
            with self.lock:
                if key not in self.mounts:
                    return None
                doomed = [t for t in self.tokens.values() if t.path.startswith(key)]
            for t in doomed:
                self.revoke_token(t)
            with self.lock:
                self.mounts.pop(key, None)
            return None
        self._need(ctx.op, "update")
        mtype = ctx.data.get("type")
        if not mtype:
            raise VaultError(400, ["backend type must be specified as a string"])
        if mtype == "token":
            raise VaultError(400, ["token credential backend cannot be instantiated"])
        engine_cls = AUTH_METHODS.get(mtype)
        if engine_cls is None:
            raise VaultError(400, ["plugin not found in the catalog: %s" % mtype])
        with self.lock:
            for existing in self.mounts:
                if existing.startswith(ctx.ns + "auth/") and (key.startswith(existing) or
                                                              existing.startswith(key)):
                    raise VaultError(400, ["path is already in use at %s" % existing])
            m = Mount(key, mtype, ctx.data.get("options") or None, engine_cls(self, key),
                      ctx.data.get("description", ""))
            m.accessor = "auth_%s_%s" % (mtype, secrets.token_hex(4))
            self.mounts[key] = m
        return None

    # Adds a cert-auth trust anchor to the TLS listener so handshakes accept its clients (§4.4).
    def trust_client_ca(self, pem):
        if self.tls_ctx is not None:
            try:
                self.tls_ctx.load_verify_locations(cadata=pem)
            except (ssl.SSLError, ValueError):
                pass

    # -- response wrapping (§4.5) --------------------------------------------------

    # The X-Vault-Wrap-TTL header in seconds (0 = no wrapping); 400 if bad or negative (§1.2).
    @staticmethod
    def requested_wrap_ttl(headers):
        raw = headers.get("X-Vault-Wrap-TTL")
        if raw is None or not raw.strip():
            return 0
        try:
            ttl = parse_duration(raw.strip(), "X-Vault-Wrap-TTL")
        except VaultError:
            raise VaultError(400, ['error parsing X-Vault-Wrap-TTL header: time: invalid duration '
                                   '"%s"' % raw.strip()])
        if ttl < 0:
            raise VaultError(400, ["requested wrap ttl cannot be negative"])
        return ttl

    # Stores a response under a new single-use wrapping token; returns the wrap_info reply (§4.5).
    def wrap_response(self, body, path, ttl):
        now = time.time()
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        wrapped_accessor = (body.get("auth") or {}).get("accessor") or \
            data.get("secret_id_accessor") or ""
        entry = {"token": "hvs." + rand_base62(24), "accessor": rand_base62(24),
                 "response": body, "creation_time": now, "ttl": int(ttl),
                 "expire_time": now + ttl, "creation_path": path}
        with self.lock:
            self.wrappings[entry["token"]] = entry
        self.remember_secrets([entry["token"]])
        self.journal.add("wrap", event="create", accessor=entry["accessor"], creation_path=path,
                         ttl=int(ttl))
        info = {"token": entry["token"], "accessor": entry["accessor"], "ttl": int(ttl),
                "creation_time": rfc3339(now), "creation_path": path}
        if wrapped_accessor:
            info["wrapped_accessor"] = wrapped_accessor
        out = envelope(None)
        out["request_id"] = ""
        out["wrap_info"] = info
        return Reply(200, out)

    # A live wrapping entry for a token (not consumed), or None.
    def _wrapping(self, token):
        with self.lock:
            w = self.wrappings.get(token or "")
            if w is None or w["expire_time"] <= time.time():
                return None
            return w

    # Removes and returns a live wrapping entry (single use), or None.
    def _take_wrapping(self, token, event="unwrap"):
        with self.lock:
            w = self.wrappings.pop(token or "", None)
        if w is None:
            return None
        expired = w["expire_time"] <= time.time()
        self.journal.add("wrap", event="expire" if expired else event, accessor=w["accessor"],
                         creation_path=w["creation_path"])
        return None if expired else w

    # sys/wrapping/lookup (no use consumed) and unwrap, forms (a) header and (b) body (§4.5).
    def sys_wrapping(self, op, path, data, token_id, accessor):
        invalid = VaultError(400, [ERR_INVALID_WRAPPING])
        body_token = data.get("token")
        if path == "sys/wrapping/lookup":
            self._need(op, "update", "read")
            w = self._wrapping(body_token or token_id)
            if w is None:
                raise invalid
            return Reply(200, envelope({"creation_path": w["creation_path"],
                                        "creation_time": rfc3339(w["creation_time"]),
                                        "creation_ttl": w["ttl"]}, mount_type="system"))
        self._need(op, "update")
        if body_token:
            if token_id and self._wrapping(token_id) is not None:
                # A wrapping token used as X-Vault-Token spends its single use on this call.
                self._take_wrapping(token_id, "spent_as_auth")
            elif token_id:
                tok = self.lookup_token(token_id)
                if tok is None:
                    raise VaultError(403, [ERR_INVALID_TOKEN])
                accessor[0] = tok.accessor
                if not self.allowed(tok, path, "update"):
                    raise VaultError(403, [ERR_PERMISSION_DENIED])
            w = self._take_wrapping(body_token)
        else:
            w = self._take_wrapping(token_id)
        if w is None:
            raise invalid
        if accessor[0] is None:
            accessor[0] = w["accessor"]
        return Reply(200, w["response"])

    # -- faults ----------------------------------------------------------------

    # Adds a fault from a /_emu/fault request; returns its id.
    def add_fault(self, spec):
        mode = spec.get("mode")
        if mode not in ("status", "down", "slow", "sealed", "invalid_json", "huge", "standby",
                        "uninitialized", "patch", "db_error"):
            raise VaultError(400, ["unknown fault mode %r" % (mode,)])
        fault = dict(spec)
        if mode == "db_error":
            # The database fails the next `count` renew or revoke operations (op) as an
            # unreachable server would; the answer is what Vault's own code makes of it.
            if spec.get("op") not in ("renew", "revoke"):
                raise VaultError(400, ["db_error needs op \"renew\" or \"revoke\""])
            fault["count"] = int(spec.get("count", 1))
            with self.lock:
                self.fault_seq += 1
                fault["id"] = self.fault_seq
                self.db_faults.append(fault)
            return fault["id"]
        paths = spec.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        fault["paths"] = [p.lstrip("/") for p in paths] if paths else None
        if mode == "status":
            fault["status"] = int(spec.get("status", 503))
            fault["errors"] = list(spec.get("errors", []))
        if mode == "slow":
            fault["delay"] = float(spec.get("delay", 1.0))
        if mode == "huge":
            fault["bytes"] = int(spec.get("bytes", 1 << 20))
        if mode == "patch":
            fault["set"] = dict(spec.get("set", {}))
        if spec.get("count") is not None:
            fault["count"] = int(spec["count"])
        with self.lock:
            self.fault_seq += 1
            fault["id"] = self.fault_seq
            self.faults.append(fault)
        return fault["id"]

    # Raises DBError if a db_error fault covers this database operation, consuming it.
    def take_db_fault(self, op):
        with self.lock:
            for fault in self.db_faults:
                if fault["op"] == op and fault["count"] > 0:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.db_faults.remove(fault)
                    break
            else:
                return
        raise DBError("failed to connect to `host=127.0.0.1 user=vault database=postgres`: "
                      "dial error (dial tcp 127.0.0.1:5432: connect: connection refused)")

    # Returns the faults that apply to a request path, consuming their counts.
    def take_faults(self, path):
        hit = []
        with self.lock:
            for fault in list(self.faults):
                if fault["paths"] is not None and not any(path.startswith(p)
                                                          for p in fault["paths"]):
                    continue
                hit.append(dict(fault))
                if fault.get("count") is not None:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
        return hit

    # Answer of a terminal fault (§1.5 codes, §1.6 Retry-After, §2 sealed health), or "down".
    def fault_reply(self, fault, path, query, method):
        mode = fault["mode"]
        if mode == "down":
            return "down"
        if mode == "status":
            headers = {}
            if fault.get("retry_after") is not None:
                headers["Retry-After"] = str(fault["retry_after"])
            return Reply(fault["status"], {"errors": fault["errors"]}, headers)
        if mode in ("sealed", "uninitialized"):
            if path == "sys/health" and method in ("GET", "HEAD"):
                try:
                    return self.sys_health(query, method == "HEAD", sealed=True,
                                           initialized=(mode != "uninitialized"))
                except VaultError as err:
                    return Reply(err.status, {"errors": err.errors})
            if path == "sys/seal-status":
                body = self.seal_status(True)
                body["initialized"] = mode != "uninitialized"
                return Reply(200, body)
            return Reply(503, {"errors": ["Vault is sealed"]})
        if mode == "standby":
            if path == "sys/health" and method in ("GET", "HEAD"):
                try:
                    return self.sys_health(query, method == "HEAD", sealed=False, standby=True)
                except VaultError as err:
                    return Reply(err.status, {"errors": err.errors})
            if fault.get("location"):
                qs = ("?" + fault["query"]) if fault.get("query") else ""
                return Reply(307, b"", {"Location": fault["location"].rstrip("/") + "/v1/" + path + qs})
            return Reply(503, {"errors": ["no active Vault instance found"]})
        if mode == "invalid_json":
            return Reply(200, b"<html><body>this is not JSON {</body>")
        if mode == "huge":
            n = max(0, fault["bytes"])
            base = envelope({"padding": ""}, mount_type="")
            raw = json.dumps(base, separators=(",", ":"))
            if n >= len(raw):
                raw = raw.replace('"padding":""', '"padding":"' + "x" * (n - len(raw)) + '"')
            elif n >= 2:
                raw = '"' + "x" * (n - 2) + '"'
            else:
                raw = "0" * n
            return Reply(200, raw.encode("ascii"))
        return None

    # -- emulator control --------------------------------------------------

    # Forgets leases by prefix as a Vault that lost them would, still dropping their users.
    def lose_leases(self, prefix):
        with self.lock:
            lost = [le for lid, le in self.leases.items() if lid.startswith(prefix)]
            for le in lost:
                del self.leases[le.lease_id]
        for le in lost:
            try:
                self.revoke_lease_now(le, "lost", "emu_lose", requeue=False)
            except DBError:
                pass
        return [le.lease_id for le in lost]

    # Revokes all leases and non-root tokens and clears faults (/_emu/reset).
    def reset(self):
        with self.lock:
            self.faults = []
            self.db_faults = []
            self.wrappings = {}
            toks = [t for t in self.tokens.values() if t.accessor != self.root_accessor]
        for t in toks:
            self.revoke_token(t)
        self.revoke_prefix("", "reset", force=True)


# ---------------------------------------------------------------------------
# HTTP layer

# One HTTP/1.1 connection; routes /v1/ to the core and /_emu/ to the control API.
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Vault is written in Go, whose every TCP connection sends at once: Go's net package
    # sets TCP_NODELAY on each (go/src/net/tcpsock.go newTCPConn: setNoDelay(fd, true), for
    # accepted and dialled connections alike; net/tcpsockopt_posix.go setNoDelay); with Nagle on, a reply's body waits ~40 ms for the
    # client's delayed ACK.  socketserver's StreamRequestHandler.setup applies this.
    disable_nagle_algorithm = True
    server_version = "vaultemu/" + VAULT_VERSION
    sys_version = ""
    core = None
    verbose = False

    # With a pyOpenSSL listener context: the TLS handshake, then buffered streams on it.
    def setup(self):
        ctx = getattr(self.server, "ossl_ctx", None)
        if ctx is None:
            super().setup()
            return
        if self.disable_nagle_algorithm:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        conn = OSSL.Connection(ctx, self.request)
        conn.set_accept_state()
        conn.do_handshake()
        self.connection = conn
        self.rfile = io.BufferedReader(_TLSStream(conn))
        self.wfile = _TLSStream(conn)

    # Any do_<METHOD> resolves to the dispatcher, so unknown methods get Vault's 405 (§1.1).
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    # The Server header without the Python version suffix.
    def version_string(self):
        return self.server_version

    # Silences the default access log unless --verbose.
    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("vaultemu: %s %s\n" % (self.address_string(), fmt % args))

    # Reads the request body (Content-Length or chunked); None if over 32 MiB (§1.1).
    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    # Writes a reply: JSON for dicts, raw bytes as-is; 204/HEAD without a body (§1.1).
    def send_reply(self, reply, head=False):
        if isinstance(reply.body, (dict, list)):
            payload = json.dumps(reply.body).encode("utf-8")
        elif isinstance(reply.body, bytes):
            payload = reply.body
        else:
            payload = b""
        self.send_response(reply.status)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Type", "application/json")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if reply.status == 204:
            payload = b""
        else:
            self.send_header("Content-Length", str(0 if head else len(payload)))
        # net/http writes a small answer, headers and body, in one write: the body is
        # buffered (response.w, bufferBeforeChunkingSize = 2048) and the headers go with
        # it into the connection's 4 KiB bufio.Writer (conn.bufw), flushed once by
        # response.finishRequest (go/src/net/http/server.go);
        # two writes would meet Nagle's rule and delayed ACKs on kept-alive connections.
        self._headers_buffer.append(b"\r\n")
        if payload and not head:
            self._headers_buffer.append(payload)
        self.flush_headers()
        self.wfile.flush()

    # Entry point for every request: faults, then the core, then the journal (§1).
    def dispatch(self):
        url = urlsplit(self.path)
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send_reply(Reply(400, {"errors": ["malformed request body"]}))
            return
        if body is None:
            self.close_connection = True
            self.send_reply(Reply(413, {"errors": ["http: request body too large"]}))
            return
        if url.path.startswith("/_emu/"):
            self.control(url, body)
            return
        if url.path.startswith("/v1/"):
            quota = self.core.apply_rate_limit(unquote(url.path[4:]), self.client_address[0])
            if isinstance(quota, Reply):
                self.core.journal.add("request", method=self.command, path=unquote(url.path[4:]),
                                      query=url.query, status=429, token_accessor=None,
                                      peer_port=self.client_address[1],
                                      retry_after=quota.headers.get("Retry-After"))
                self.send_reply(quota, head=self.command == "HEAD")
                return
            self.rl_headers = quota or {}
        if url.path != "/v1" and not url.path.startswith("/v1/"):
            self.send_reply(Reply(404, {"errors": []}), head=self.command == "HEAD")
            return
        vpath = unquote(url.path[4:])
        query = parse_qs(url.query, keep_blank_values=True)
        core = self.core
        reply, accessor, fault_mode = None, None, None
        patches = []
        for fault in core.take_faults(vpath):
            if fault["mode"] == "slow":
                time.sleep(fault["delay"])
                fault_mode = "slow"
                continue
            if fault["mode"] == "patch":
                patches.append(fault["set"])
                continue
            if reply is None:
                fault["query"] = url.query
                reply = core.fault_reply(fault, vpath, query, self.command)
                fault_mode = fault["mode"]
        if reply is None:
            reply, accessor = core.handle(self.command, vpath, query, self.headers,
                                          body.decode("utf-8", "replace"),
                                          peer_cert=self.peer_cert())
            if patches and reply != "down" and isinstance(reply.body, dict):
                for patch in patches:
                    patch_reply(reply.body, patch)
                fault_mode = "patch"
        try:
            ns = core.request_namespace(self.headers, vpath)[0]
        except VaultError:
            ns = None
        ev = {"method": self.command, "path": vpath, "query": url.query,
              "status": None if reply == "down" else reply.status, "token_accessor": accessor,
              "peer_port": self.client_address[1], "namespace": ns,
              "headers": journal_headers(self.headers)}
        if fault_mode:
            ev["fault"] = fault_mode
        core.journal.add("request", **ev)
        if reply == "down":
            self.close_connection = True
            try:
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        for k, v in getattr(self, "rl_headers", {}).items():
            reply.headers.setdefault(k, v)
        self.send_reply(reply, head=self.command == "HEAD")

    # The TLS client certificate of this connection as {"der", "info"}, or None (§4.4).
    def peer_cert(self):
        if OSSL is not None and isinstance(self.connection, OSSL.Connection):
            x509 = self.connection.get_peer_certificate()
            if x509 is None:
                return None
            names = {b"CN": "commonName", b"O": "organizationName", b"OU":
                     "organizationalUnitName", b"C": "countryName"}
            subject = tuple(((names.get(k, k.decode("ascii", "replace")),
                              v.decode("utf-8", "replace")),)
                            for k, v in x509.get_subject().get_components())
            return {"der": OCRYPTO.dump_certificate(OCRYPTO.FILETYPE_ASN1, x509),
                    "info": {"subject": subject, "serialNumber": "%X" % x509.get_serial_number()}}
        if not isinstance(self.connection, ssl.SSLSocket):
            return None
        try:
            der = self.connection.getpeercert(binary_form=True)
            info = self.connection.getpeercert()
        except (ValueError, ssl.SSLError):
            return None
        return {"der": der, "info": info} if der else None

    # The /_emu/ control API (no auth, never subject to faults).
    def control(self, url, body):
        core = self.core
        method = self.command
        route = url.path[len("/_emu/"):].strip("/")
        query = parse_qs(url.query)
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError as err:
            self.send_reply(Reply(400, {"error": "bad JSON: %s" % err}))
            return
        try:
            out = self._control(core, method, route, query, data)
        except VaultError as err:
            self.send_reply(Reply(err.status, {"error": "; ".join(err.errors)}))
            return
        except (ValueError, TypeError, KeyError) as err:
            self.send_reply(Reply(400, {"error": "bad control request: %s" % err}))
            return
        if out is None:
            self.send_reply(Reply(404, {"error": "unknown control route %s %s" % (method, route)}))
        else:
            self.send_reply(Reply(200, out))

    # Control routes; returns a JSON-able dict or None for unknown routes.
    @staticmethod
    def _control(core, method, route, query, data):
        out = engine_control(core, method, route, query, data)
        if out is not None:
            return out
        if route == "journal" and method == "GET":
            since = int((query.get("since") or ["0"])[0])
            return {"events": core.journal.since(since)}
        if route == "leases" and method == "GET":
            with core.lock:
                return {"leases": [le.to_json() for le in core.leases.values()]}
        if route == "tokens" and method == "GET":
            with core.lock:
                toks = [{"accessor": t.accessor, "policies": t.policies,
                         "display_name": t.display_name, "expire_time": t.expire_time,
                         "renewable": t.renewable, "orphan": t.orphan,
                         "parent_accessor": t.parent, "ttl": t.ttl,
                         "explicit_max_ttl": t.explicit_max_ttl, "max_ttl": t.max_ttl,
                         "path": t.path, "creation_time": t.creation_time}
                        for t in core.tokens.values()]
            return {"tokens": toks}
        if route == "logins" and method == "GET":
            since = int((query.get("since") or ["0"])[0])
            return {"logins": [e for e in core.journal.since(since) if e["kind"] == "login"]}
        if route == "wrappings" and method == "GET":
            with core.lock:
                return {"wrappings": [{"accessor": w["accessor"],
                                       "creation_path": w["creation_path"],
                                       "creation_time": w["creation_time"], "ttl": w["ttl"],
                                       "expire_time": w["expire_time"]}
                                      for w in core.wrappings.values()]}
        if route == "secrets" and method == "GET":
            with core.lock:
                return {"values": list(core.secret_values)}
        if route == "fault":
            if method == "POST":
                return {"ok": True, "id": core.add_fault(data)}
            if method == "DELETE":
                with core.lock:
                    core.faults = []
                    core.db_faults = []
                return {"ok": True}
            if method == "GET":
                with core.lock:
                    return {"faults": [dict(f) for f in core.faults]}
        if route == "leases/lose" and method == "POST":
            return {"lost": core.lose_leases(data.get("prefix", ""))}
        if route == "tokens/revoke" and method == "POST":
            tid = data.get("token")
            if not tid and data.get("accessor"):
                with core.lock:
                    tid = core.accessors.get(data["accessor"])
            with core.lock:
                tok = core.tokens.get(tid or "")
            if tok is None:
                raise VaultError(404, ["no such token"])
            return {"revoked": core.revoke_token(tok)}
        if route == "reset" and method == "POST":
            core.reset()
            return {"ok": True}
        if route == "agent" and method == "POST":
            core.agent_token = data.get("token") or None
            return {"ok": True}
        if route == "ping":
            return {"ok": True}
        return None


# The listen backlog Go would use: /proc/sys/net/core/somaxconn (sock_linux.go maxListenerBacklog).
def _somaxconn():
    try:
        with open("/proc/sys/net/core/somaxconn", encoding="ascii") as f:
            n = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return socket.SOMAXCONN
    return n if n > 0 else socket.SOMAXCONN


SOMAXCONN = _somaxconn()
# A standby node that does not forward (--standby-listen): every /v1/ request gets 307 with
# Location = the active node's api_addr scheme+host + the same path and query, or 503 "no active
# Vault instance found" when there is no active node (V:http/handler.go@0084d29 respondStandby:
# "We use a 307 code because we don't actually know if its permanent and the request method
# should be preserved"). A standby redirects instead of forwarding when forwarding is off or
# fails, or the request carries X-Vault-No-Request-Forwarding (VD:docs/concepts/ha.mdx@f4f0412).
# Go's http.Redirect writes a short HTML body for GET/HEAD; none is needed for a client.
class StandbyHandler(Handler):
    leader = None       # the active node's api_addr; "" = no active node

    # Answers every request from the standby and journals it as kind "standby".
    def dispatch(self):
        url = urlsplit(self.path)
        try:
            self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if not url.path.startswith("/v1/"):
            self.send_reply(Reply(404, {"errors": []}), head=self.command == "HEAD")
            return
        if not self.leader:
            reply = Reply(503, {"errors": ["no active Vault instance found"]})
        else:
            loc = self.leader.rstrip("/") + url.path + ("?" + url.query if url.query else "")
            reply = Reply(307, b"", {"Location": loc})
        self.core.journal.add("standby", method=self.command, path=unquote(url.path[4:]),
                              query=url.query, status=reply.status,
                              has_token=bool(self.headers.get("X-Vault-Token")))
        self.send_reply(reply, head=self.command == "HEAD")


# A Vault Agent (or Proxy) API proxy on a unix socket (--agent-socket) with auto-auth and
# use_auto_auth_token: a request without X-Vault-Token is sent on with the Agent's own
# auto-auth token; one with a token keeps it (V:command/agentproxyshared/cache/handler.go@22215ff
# ProxyHandler: `if token == "" && useAutoAuthToken { token = autoAuthToken }`; "force" would
# drop the client's token first, not emulated). The Agent then forwards to Vault: here, the
# same core. The auto-auth token is set with POST /_emu/agent {"token": ...}.
class AgentHandler(Handler):
    disable_nagle_algorithm = False     # TCP_NODELAY is not a unix-socket option

    # A unix peer has no address: one of its own for the journal and the quotas.
    def setup(self):
        Handler.setup(self)
        self.client_address = ("unix", 0)

    # A unix peer has no address.
    def address_string(self):
        return "unix"

    # Injects the auto-auth token when none was sent, journals kind "agent", then serves.
    def dispatch(self):
        auto = False
        if not self.headers.get("X-Vault-Token") and self.core.agent_token:
            self.headers["X-Vault-Token"] = self.core.agent_token
            auto = True
        if not urlsplit(self.path).path.startswith("/_emu/"):
            self.core.journal.add("agent", method=self.command,
                                  path=unquote(urlsplit(self.path).path[4:]), auto_auth=auto)
        Handler.dispatch(self)


# Unix-socket HTTP server for AgentHandler; threads are daemons as in Server.
class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


# HTTP server whose handler threads are daemons (shutdown never waits for idle keep-alives).
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Go's net.Listen passes the kernel's somaxconn as the backlog (go/src/net/
    # sock_linux.go maxListenerBacklog reads /proc/sys/net/core/somaxconn, net.go
    # listenerBacklog caches it); socketserver's 5
    # loses SYNs on a burst of connects, each costing a 1 s retransmit.
    request_queue_size = SOMAXCONN

    # Ignores clients that hang up mid-answer (timeouts, fault tests); logs anything else.
    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)) or (
                OSSL is not None and isinstance(exc, OSSL.Error)):
            return
        super().handle_error(request, client_address)


# A pyOpenSSL connection as a raw stream for BaseHTTPRequestHandler's rfile and wfile.
class _TLSStream(io.RawIOBase):
    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    # Readable and writable.
    def readable(self):
        return True

    # Readable and writable.
    def writable(self):
        return True

    # Reads what the peer sent; 0 at its close.
    def readinto(self, buf):
        try:
            data = self.conn.recv(len(buf))
        except (OSSL.ZeroReturnError, OSSL.SysCallError):
            return 0
        buf[:len(data)] = data
        return len(data)

    # Sends everything.
    def write(self, data):
        self.conn.sendall(bytes(data))
        return len(data)


# Vault's listener TLS: the client certificate is requested, never required, and not
# verified in the handshake (tls.RequestClientCert: command/server/listener.go
# listenerWrapTLS, now internalshared/listenerutil TLSConfig, unless
# tls_require_and_verify_client_cert); cert auth checks it against its roles itself
# (§4.4).  TLS >= 1.2.  None without pyOpenSSL.
def make_server_ossl_context(cert, key):
    if OSSL is None:
        return None
    ctx = OSSL.Context(OSSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(OSSL.TLS1_2_VERSION)
    ctx.use_certificate_chain_file(cert)
    ctx.use_privatekey_file(key)
    ctx.set_verify(OSSL.VERIFY_PEER, lambda conn, x509, errno, depth, ok: True)
    return ctx


# Server TLS with Python's ssl (no pyOpenSSL): TLS >= 1.2, client certificate requested
# but optional; unlike Vault, a certificate that does not chain to --tls-client-ca or a
# cert role fails the handshake.
def make_server_tls_context(cert, key, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    # Cert roles may pin a leaf or an intermediate: let those act as trust anchors.
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if client_ca:
        ctx.load_verify_locations(cafile=client_ca)
    return ctx


# Writes the ready file atomically (temp file + rename).
def write_ready_file(path, addr):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(addr + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# Parses argv, serves until SIGTERM/SIGINT, exits 0 without revoking anything.
def main(argv=None):
    ap = argparse.ArgumentParser(description="Vault HTTP API emulator for leasewrap's tests")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--root-token", default=os.environ.get("VAULTEMU_ROOT_TOKEN"))
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--journal-file")
    ap.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    ap.add_argument("--tls-key", help="private key of --tls-cert")
    ap.add_argument("--tls-client-ca",
                    help="PEM CA bundle trusted for (optional) client certificates")
    ap.add_argument("--exit-with-parent", action="store_true",
                    help="exit when the parent process goes away")
    ap.add_argument("--parent-pid", type=int,
                    help="the parent to watch (implies --exit-with-parent; default getppid())")
    ap.add_argument("--owned-dir",
                    help="remove this folder on exit if the parent has died")
    ap.add_argument("--standby-listen",
                    help="also serve a standby node here (its address goes to READY.standby)")
    ap.add_argument("--standby-leader",
                    help="the active address the standby redirects to (default: this "
                         "emulator's; empty: answer 503 no active Vault instance found)")
    ap.add_argument("--agent-socket", help="also serve a Vault Agent API proxy on this socket")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    root_token = args.root_token or "hvs." + rand_base62(24)
    host, _, port = args.listen.rpartition(":")
    journal = Journal(args.journal_file)
    core = Core(root_token, journal)
    Handler.core = core
    Handler.verbose = args.verbose
    server = Server((host or "127.0.0.1", int(port or 0)), Handler)
    scheme = "http"
    if args.tls_cert:
        server.ossl_ctx = make_server_ossl_context(args.tls_cert, args.tls_key)
        if server.ossl_ctx is None:
            core.tls_ctx = make_server_tls_context(args.tls_cert, args.tls_key,
                                                   args.tls_client_ca)
            server.socket = core.tls_ctx.wrap_socket(server.socket, server_side=True,
                                                     do_handshake_on_connect=False)
        scheme = "https"
    stop = threading.Event()
    parent = args.parent_pid or os.getppid()
    watch_parent = args.exit_with_parent or bool(args.parent_pid)

    # SIGTERM/SIGINT: stop serving and exit 0.
    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reaper = threading.Thread(target=core.reaper, name="reaper", daemon=True)
    reaper.start()
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                               name="http", daemon=True)
    serving.start()
    addr = "%s://%s:%d" % (scheme, server.server_address[0], server.server_address[1])
    extra = []
    if args.standby_listen:
        shost, _, sport = args.standby_listen.rpartition(":")
        StandbyHandler.leader = addr if args.standby_leader is None else args.standby_leader
        standby = Server((shost or "127.0.0.1", int(sport or 0)), StandbyHandler)
        standby.ossl_ctx = getattr(server, "ossl_ctx", None)
        if core.tls_ctx is not None:
            standby.socket = core.tls_ctx.wrap_socket(standby.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        extra.append(standby)
        write_ready_file(args.ready_file + ".standby", "%s://%s:%d" % (
            scheme, standby.server_address[0], standby.server_address[1]))
    if args.agent_socket:
        if os.path.exists(args.agent_socket):
            os.unlink(args.agent_socket)
        extra.append(UnixServer(args.agent_socket, AgentHandler))
    for srv in extra:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                         name="extra", daemon=True).start()
    write_ready_file(args.ready_file, addr)
    while not stop.wait(0.1):
        if watch_parent and os.getppid() != parent:
            break
    for srv in [server] + extra:
        srv.shutdown()
        srv.server_close()
    if args.agent_socket and os.path.exists(args.agent_socket):
        os.unlink(args.agent_socket)
    core.shutdown()
    journal.close()
    if args.owned_dir and os.getppid() != parent:
        # Our parent died without cleaning up after us: remove its folder ourselves.
        shutil.rmtree(args.owned_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
