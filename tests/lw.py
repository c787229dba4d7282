"""Helpers for the black-box tests: run the real leasewrap binary.

Every run is at debug level, in the log format of this pass of the suite
(LW_TEST_LOG_FORMAT: text, the default, or json); a --log-level or
--log-format flag of a test wins over that.  Everything leasewrap prints
during a test (stderr; stdout too for `leasewrap check`) is recorded, and
conftest.py scans it for secret values after each test (scan())."""
import io
import json
import os
import re
import select
import shlex
import signal
import subprocess
import socket
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("LEASEWRAP", os.path.join(ROOT, "leasewrap"))

# leasewrap's own exit codes (src/exitcodes.h, leasewrap(1)).
EXIT_USAGE = 64
EXIT_DATAERR = 65
EXIT_UNAVAILABLE = 69
EXIT_SOFTWARE = 70
EXIT_OSERR = 71
EXIT_ROTATED = 75
EXIT_NOPERM = 77
EXIT_CONFIG = 78
EXIT_EXPIRED = 79
EXIT_NOEXEC = 126
EXIT_NOTFOUND = 127

# A text-format error line: "<time> leasewrap: error: <event>: <message>".
ERROR_LINE = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z leasewrap: error: [a-z0-9_.]+: ")

# Generous: a loaded 2-core machine under ASan or valgrind is slow.
TIMEOUT = float(os.environ.get("LW_TEST_TIMEOUT", "60"))

# The log format of this pass (make check runs the suite once in each).
LOG_FORMAT = os.environ.get("LW_TEST_LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise RuntimeError("LW_TEST_LOG_FORMAT must be text or json, not %r" % LOG_FORMAT)
# Every leasewrap of the suite logs everything it can, in that format.
LOG_ENV = {"LEASEWRAP_LOG_LEVEL": "debug", "LEASEWRAP_LOG_FORMAT": LOG_FORMAT}
LEVELS = ("debug", "info", "warn", "error")
# Fields of a line, in leasewrap's order (src/log.c).
LOG_FIELDS = ("path", "lease_id", "ttl", "status", "child_pid")
# A text-format line: time, level and event.
TEXT_LOG_LINE = re.compile(r"\S+ leasewrap: (debug|info|warn|error): ([a-z0-9_.]+): ")
# Values shorter than this are not looked for (they would match by chance).
MIN_SECRET = 6


def base_env(vault=None, pg=None, **extra):
    """A minimal, predictable environment for leasewrap."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("LW_TEST_HOME", "/nonexistent"),
        "LANG": "C",
    }
    env.update(LOG_ENV)
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if vault is not None:
        env["VAULT_ADDR"] = vault.addr
        env["VAULT_TOKEN"] = vault.root_token
    if pg is not None:
        env["PGHOST"] = pg.host
        env["PGPORT"] = str(pg.port)
        env["PGDATABASE"] = "postgres"
        env["PGCONNECT_TIMEOUT"] = "10"
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def log_env(env):
    """env with this pass's LEASEWRAP_LOG_LEVEL and LEASEWRAP_LOG_FORMAT added
    where it has none: for environments not made by base_env()."""
    out = dict(LOG_ENV)
    out.update(env)
    return out


def run(args, env=None, timeout=TIMEOUT, input=None, prefix=(), **kw):
    """Run leasewrap with args to completion; returns CompletedProcess (text).
    prefix: what runs it (unshare, valgrind ...)."""
    return run_cmd(list(prefix) + [BINARY] + list(args), env, timeout, input,
                   report=_is_check(args), **kw)


def run_cmd(cmd, env=None, timeout=TIMEOUT, input=None, report=False, **kw):
    """Run a command line that runs leasewrap (through a shell, a symlink, a
    unit's ExecStart ...) to completion, recording its stderr, and its
    stdout too when that is leasewrap's own report (report=True)."""
    try:
        r = subprocess.run(cmd, env=_env_for(env), capture_output=True, text=True,
                           timeout=timeout, input=input, **kw)
    except subprocess.TimeoutExpired as e:
        _record_run(cmd, e.stdout, e.stderr, report)
        raise
    _record_run(cmd, r.stdout, r.stderr, report)
    return r


def start(args, env=None, prefix=(), **kw):
    """Start leasewrap in the background; the caller waits or signals it by PID.
    Its stderr is recorded as leasewrap writes it, however the test reads it."""
    return start_cmd(list(prefix) + [BINARY] + list(args), env,
                     report=_is_check(args), **kw)


def start_cmd(cmd, env=None, report=False, **kw):
    """Popen of a command line that runs leasewrap, as start() does."""
    err_r, err_w = os.pipe()
    out_r, out_w = os.pipe() if report else (None, subprocess.PIPE)
    try:
        p = subprocess.Popen(cmd, env=_env_for(env), stdout=out_w, stderr=err_w, text=True,
                             **kw)
    except BaseException:
        for fd in (err_r, out_r):
            if fd is not None:
                os.close(fd)
        raise
    finally:
        os.close(err_w)
        if report:
            os.close(out_w)
    tee = _Tee(p, err_r, "stderr of " + _describe(cmd))
    p.stderr = tee.reader
    p.stderr_so_far = tee.text      # what it logged so far, read or not
    if report:
        p.stdout = _Tee(p, out_r, "stdout of " + _describe(cmd)).reader
    return p


def wait_for(pred, timeout=TIMEOUT, what="condition", interval=0.02):
    """Poll pred() until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def wait_file(path, timeout=TIMEOUT):
    """Wait until path exists and is non-empty; return its text."""
    def ready():
        try:
            with open(path) as f:
                t = f.read()
            return t if t.endswith("\n") else None
        except FileNotFoundError:
            return None
    return wait_for(ready, timeout, "file " + path)


def child_of(pid):
    """The first child of pid (a process the test started), or None."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def kill_quietly(proc):
    """Make sure a process this test started is gone.  SIGTERM first, so that
    leasewrap stops its command and revokes; SIGKILL if that takes too long
    (then a command it left may keep the pipes open: do not wait for it)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    try:
        proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pass


def assert_no_secret(text, vault):
    """Fail if any value the emulator handed out (or a token the test gave
    leasewrap) appears in text: the suite-wide scan, on one text."""
    scan(vault.secrets() + [vault.root_token], outputs=[("the text checked", text)])


def reads(vault, path):
    """How many times the emulator saw GET /v1/<path>."""
    return sum(1 for e in vault.journal()
               if e.get("kind") == "request" and e.get("method") == "GET"
               and e.get("path") == path)


@pytest.fixture
def free_port():
    """A loopback TCP port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe_log(path):
    """The JSON lines tests/pgprobe.py wrote to path so far."""
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.endswith("\n")]
    except FileNotFoundError:
        return []


def probe_starts(path):
    """The probe's start records: one per start of the command."""
    return [e for e in probe_log(path) if e["event"] == "start"]


def probe_failures(path):
    """The probe's failed connection attempts."""
    return [e for e in probe_log(path) if e["event"] == "query" and not e["ok"]]


def assert_no_lease_left(vault, pg):
    """Every database lease revoked (polled) and no dynamic user left."""
    wait_for(lambda: [l for l in vault.leases()
                      if l["lease_id"].startswith("database/")] == [],
             what="every lease revoked")
    assert {r for r in pg.roles() if r.startswith("v-")} == set()


# ---- what leasewrap printed: recorded per test, scanned for secrets ------

# The current test's recorded outputs [(what, text or _Tee)], its copying
# threads and the tokens it gave leasewrap in VAULT_TOKEN.
_test = {"name": None, "outputs": [], "tees": [], "given": set(), "scanned": False}


def begin_test(name):
    """Start recording for a new test (conftest.py, before each test)."""
    end_test()
    _test.update(name=name, outputs=[], tees=[], given=set(), scanned=False)


def end_test():
    """Stop the copying threads of the test's processes (conftest.py)."""
    for tee in _test["tees"]:
        tee.close()
    _test["tees"] = []


def record(text, what="leasewrap's output"):
    """Record text leasewrap printed, for the scan at the end of the test: for
    a way of running it that neither run() nor start() covers."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text:
        _test["outputs"].append((what, text))


def record_log_lines(text, what):
    """Record leasewrap's log lines of text, a file where they meet a command's
    own output (cron's `>>log 2>&1`): the command's lines are its business."""
    record("".join(l + "\n" for l in text.splitlines() if _parse(l)), what)


def recorded():
    """[(what, text)] of everything recorded in this test so far; waits for the
    rest of what a finished process wrote."""
    return [(what, t.text() if isinstance(t, _Tee) else t)
            for what, t in _test["outputs"]]


def _record_run(cmd, out, err, report):
    record(err, "stderr of " + _describe(cmd))
    if report:
        record(out, "stdout of " + _describe(cmd))


def _is_check(args):
    """`leasewrap check` prints its report on stdout: leasewrap's, not a command's."""
    return list(args[:1]) == ["check"]


def _describe(cmd):
    line = " ".join(shlex.quote(str(a)) for a in cmd)
    return line if len(line) <= 160 else line[:157] + "..."


class _Tee:
    """Copies what a process writes on a pipe (fd) to the pipe the test reads
    (reader), keeping all of it.  A thread copies, so that leasewrap never
    waits on a test that reads late or never, and what the test does not read
    (or what reader has read ahead into its buffer) is recorded all the same."""

    def __init__(self, proc, fd, what):
        self.proc = proc
        r, self._out = os.pipe()
        self._stop_r, self._stop_w = os.pipe()
        self.reader = io.open(r, "r", encoding="utf-8", errors="replace")
        self.chunks = []
        self._waited = False
        self._thread = threading.Thread(target=self._copy, args=(fd,), daemon=True)
        self._thread.start()
        _test["tees"].append(self)
        _test["outputs"].append((what, self))

    def _copy(self, src):
        pending, forward = bytearray(), True
        os.set_blocking(self._out, False)
        try:
            while src is not None or (pending and forward):
                rl = [self._stop_r] + ([src] if src is not None else [])
                wl = [self._out] if pending and forward else []
                readable, writable, _ = select.select(rl, wl, [])
                if self._stop_r in readable:
                    break
                if src is not None and src in readable:
                    data = os.read(src, 65536)
                    if not data:
                        os.close(src)
                        src = None
                    else:
                        self.chunks.append(data)
                        if forward:
                            pending += data
                if writable:
                    try:
                        del pending[:os.write(self._out, pending)]
                    except BlockingIOError:
                        pass
                    except OSError:             # the test closed its end
                        forward = False
                        del pending[:]
        finally:
            if src is not None:
                os.close(src)
            os.close(self._out)
            os.close(self._stop_r)

    def text(self):
        """All the process wrote so far: all it wrote, once it has exited (a
        command it left behind may hold the pipe: then wait no longer than 10 s)."""
        if not self._waited and self.proc.poll() is not None:
            self._thread.join(10)
            self._waited = True
        return b"".join(list(self.chunks)).decode("utf-8", "replace")

    def close(self):
        if self._stop_w is not None:
            try:
                os.write(self._stop_w, b"x")
            except OSError:                     # the thread is done
                pass
            self._thread.join(10)
            os.close(self._stop_w)
            self._stop_w = None
        self.reader.close()


def _env_for(env):
    """The environment of a run: base_env() if none, this pass's log variables
    added; the token in it is remembered, to be looked for by scan() too."""
    env = log_env(env if env is not None else base_env())
    if env.get("VAULT_TOKEN"):
        _test["given"].add(env["VAULT_TOKEN"])
    return env


def scanned():
    """Has scan() run in this test?"""
    return _test["scanned"]


def forget():
    """Drop what was recorded so far in this test: for the tests of scan() itself,
    which make leasewrap print a secret on purpose."""
    end_test()
    _test["outputs"] = []


def scan(secrets=(), test=None, outputs=None):
    """Fail if a value of secrets (what the emulator handed out), or a token the
    test gave leasewrap, appears in what leasewrap printed during the test
    (or in outputs, [(what, text)], if given).  The message names the test, the
    output, the event and the line, every secret value in it masked, and no
    traceback (whose arguments would show the values)."""
    if outputs is None:
        _test["scanned"] = True
        outputs = recorded()
    values = {v for v in list(secrets) + list(_test["given"])
              if isinstance(v, str) and len(v) >= MIN_SECRET}
    # As written inside a JSON string or a quoted text field, too.
    forms = {f for v in values for f in (v, json.dumps(v, ensure_ascii=False)[1:-1])}
    forms = sorted(forms, key=len, reverse=True)
    found = []
    for what, text in outputs:
        present = [f for f in forms if f in text]
        if not present:
            continue
        for line in text.splitlines():
            if any(f in line for f in present):
                found.append("%s\n    event %s: %s" % (_mask(what, forms), event_of(line),
                                                       _mask(line, present)))
    if found:
        pytest.fail("%s: leasewrap printed a secret value the test or the emulator handed "
                    "out, in %d line(s) (the values masked):\n  %s"
                    % (test or _test["name"], len(found), "\n  ".join(found[:20])),
                    pytrace=False)


def _mask(text, forms):
    for f in forms:
        text = text.replace(f, "<secret: %d chars>" % len(f))
    return text


# ---- leasewrap's log lines in either format --------------------------------

def _parse(line):
    """(level, event, JSON object or None) of a leasewrap log line; None if the
    line is not one (a command's own output, say)."""
    m = TEXT_LOG_LINE.match(line)
    if m:
        return m.group(1), m.group(2), None
    if line.startswith("{"):
        try:
            o = json.loads(line)
        except ValueError:
            return None
        if isinstance(o, dict) and "event" in o and "level" in o:
            return o["level"], o["event"], o
    return None


def event_of(line):
    """The event of a leasewrap log line, text or JSON."""
    p = _parse(line)
    return p[1] if p else "(none: not a leasewrap log line)"


def _text_control(c):
    """A character src/log.c escapes in text lines: C0, DEL, C1, U+2028/9."""
    return ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029"


def _text_value(v):
    """A field's value as src/log.c writes it in the text format: bare, or
    quoted with \\" and \\\\ and each control character's bytes as \\xHH."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, str):
        return str(v)
    if v and not any(c in v for c in ' "=\\') and not any(map(_text_control, v)):
        return v
    out = ""
    for c in v:
        if c in '"\\':
            out += "\\" + c
        elif _text_control(c):
            out += "".join("\\x%02x" % b for b in c.encode("utf-8"))
        else:
            out += c
    return '"' + out + '"'


def as_text(line):
    """A JSON log line in the text shape, "<time> leasewrap: <level>: <event>:
    <msg> k=v ..."; any other line as it is."""
    p = _parse(line)
    if p is None or p[2] is None:
        return line
    o = p[2]
    out = "%s leasewrap: %s: %s: %s" % (o.get("time"), o["level"], o["event"], o.get("msg", ""))
    for k in LOG_FIELDS:
        if k in o:
            out += " %s=%s" % (k, _text_value(o[k]))
    return out


def log_lines(text, level="debug"):
    """leasewrap's stderr as lines in the text shape, whatever the format,
    without its lines below level ("warn": what a run at the default level
    shows).  Lines that are not leasewrap's (the command's) are kept."""
    least = LEVELS.index(level)
    out = []
    for line in text.splitlines():
        p = _parse(line)
        if p is None or p[0] not in LEVELS or LEVELS.index(p[0]) >= least:
            out.append(as_text(line))
    return out


def log_text(text, level="debug"):
    """log_lines() as one text: `"permission denied" in lw.log_text(r.stderr)`
    holds in either format."""
    return "".join(l + "\n" for l in log_lines(text, level))


def one_line(text, level="warn"):
    """The one line leasewrap printed at level or above (text shape); fails if
    there is not exactly one."""
    lines = log_lines(text, level)
    assert len(lines) == 1, text
    return lines[0]
