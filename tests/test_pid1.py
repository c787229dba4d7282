"""leasewrap as PID 1 of a fresh PID namespace (unshare -p -f --mount-proc),
as in a container: exit codes, signals, reaping, hygiene and a cron-style
run (pid1.md §3).  Signals go only to the leasewrap process these tests
started, found as the child of the unshare process they started."""
import json
import os
import signal
import subprocess

import pytest

import lw

UNSHARE = ["unshare", "-p", "-f", "--mount-proc"]
PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))


def namespaces_work():
    try:
        r = subprocess.run(UNSHARE + ["true"], capture_output=True, timeout=30)
        return r.returncode == 0, r.stderr.decode(errors="replace").strip()
    except (OSError, subprocess.SubprocessError) as e:
        return False, str(e)


OK, WHY = namespaces_work()
pytestmark = pytest.mark.skipif(not OK, reason="unshare -p is not allowed "
                                "here (needs root): %s" % WHY)


def run1(args, env=None, **kw):
    """Run leasewrap as PID 1 to completion."""
    return lw.run(args, env=env, prefix=UNSHARE, **kw)


class Pid1:
    """leasewrap as PID 1 in the background, with its host PID."""

    def __init__(self, args, env=None):
        self.proc = lw.start(args, env=env, prefix=UNSHARE)
        self.pid = lw.wait_for(self._child, what="leasewrap in the namespace")

    def _child(self):
        # The only child of the unshare process we started.
        return lw.child_of(self.proc.pid)

    def signal(self, sig):
        # Guard: only ever the child of our own unshare process.
        with open("/proc/%d/stat" % self.pid) as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        assert ppid == self.proc.pid and self.pid > 1
        os.kill(self.pid, sig)

    def wait(self):
        out, err = self.proc.communicate(timeout=lw.TIMEOUT)
        return self.proc.returncode, out, err

    def close(self):
        if self.proc.poll() is None:
            # SIGKILL to the namespace's PID 1 ends every process in it.
            try:
                self.signal(signal.SIGKILL)
            except (OSError, AssertionError):
                pass
        self.proc.communicate(timeout=lw.TIMEOUT)


@pytest.mark.parametrize("code", [0, 1, 2, 42, 126, 127, 254, 255])
def test_exit_codes_pass_through(code):
    assert run1(["--", "sh", "-c", "exit %d" % code]).returncode == code


@pytest.mark.parametrize("sig", [1, 2, 9, 11, 15])
def test_child_killed_by_signal(sig):
    r = run1(["--", PY, "-c", "import os; os.kill(os.getpid(), %d)" % sig])
    assert r.returncode == 128 + sig


def test_not_found_and_not_executable(tmp_path):
    r = run1(["--", "/nonexistent/cmd"])
    assert r.returncode == 127 and "/nonexistent/cmd" in lw.log_text(r.stderr)
    f = tmp_path / "f"
    f.write_text("#!/bin/sh\n")
    f.chmod(0o644)
    r = run1(["--", str(f)])
    assert r.returncode == 126 and str(f) in lw.log_text(r.stderr)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                                 signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2])
def test_signals_reach_the_child(tmp_path, sig):
    ready, got = tmp_path / "ready", tmp_path / "got"
    script = ("trap 'echo %d > %s; exit 0' %d; echo > %s; "
              "while :; do sleep 0.05; done") % (sig, got, sig, ready)
    p = Pid1(["--", "sh", "-c", script])
    try:
        lw.wait_file(str(ready))
        p.signal(sig)
        rc, out, err = p.wait()
    finally:
        p.close()
    assert rc == 0, err
    assert got.read_text().strip() == str(int(sig))


def test_process_group_reaches_a_grandchild(tmp_path):
    ready, got = tmp_path / "ready", tmp_path / "got"
    ignoring = tmp_path / "ignoring"
    inner = ("trap 'echo > %s; exit 0' USR1; echo > %s; "
             "while :; do sleep 0.05; done") % (got, ready)
    # The child ignores USR1 (after starting the grandchild, which would
    # otherwise inherit that); only group delivery reaches the grandchild.
    # Both say when they are ready: the grandchild's trap, and the child's
    # ignoring of USR1 (the signal must not come before either).
    script = "sh -c \"$0\" & trap '' USR1; echo > \"$1\"; wait; exit 3"
    p = Pid1(["--process-group", "--", "sh", "-c", script, inner,
              str(ignoring)])
    try:
        lw.wait_file(str(ready))
        lw.wait_file(str(ignoring))
        p.signal(signal.SIGUSR1)
        rc, out, err = p.wait()
    finally:
        p.close()
    assert rc == 3, err
    assert got.exists()


def test_200_orphans_exiting_together_are_reaped():
    r = run1(["--", PY, os.path.join(HERE, "orphans.py"), "200"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all 200 orphans reaped" in r.stdout


def test_leftovers_are_stopped_and_the_main_code_kept(tmp_path):
    r = run1(["--kill-timeout", "2s", "--", "sh", "-c", "sleep 30 & exit 3"])
    assert r.returncode == 3


def test_hygiene_matches_a_bare_run(tmp_path):
    probe = ("grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd; "
             "pwd")
    # Block and ignore a few signals in the parent, as nohup or cron would.
    pre = ("import os, signal, sys; "
           "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2}); "
           "signal.signal(signal.SIGHUP, signal.SIG_IGN); "
           "os.execvp(sys.argv[1], sys.argv[1:])")
    bare = subprocess.run([PY, "-c", pre] + UNSHARE + ["sh", "-c", probe],
                          capture_output=True, text=True, cwd=str(tmp_path),
                          timeout=lw.TIMEOUT)
    wrapped = lw.run(["--", "sh", "-c", probe], prefix=[PY, "-c", pre] + UNSHARE,
                     cwd=str(tmp_path))
    assert wrapped.returncode == 0, wrapped.stderr
    assert wrapped.stdout == bare.stdout
    assert str(tmp_path) in wrapped.stdout


def test_inherited_sigchld_ignored_does_not_hang():
    pre = ("import os, signal, sys; signal.signal(signal.SIGCHLD, "
           "signal.SIG_IGN); os.execvp(sys.argv[1], sys.argv[1:])")
    r = lw.run(["--", "sh", "-c", "exit 5"], prefix=[PY, "-c", pre] + UNSHARE)
    assert r.returncode == 5


def term_is_held(pid):
    """Has the process blocked or caught SIGTERM yet?  Before that (exec,
    the dynamic loader), a SIGTERM to a PID 1 is dropped by the kernel: no
    program can act on it, so that is the earliest meaningful moment."""
    try:
        # Before exec it is still unshare, whose own handlers do not count.
        if os.readlink("/proc/%d/exe" % pid) != os.path.realpath(lw.BINARY):
            return False
    except OSError:
        return False
    with open("/proc/%d/status" % pid) as f:
        fields = dict(l.split(":", 1) for l in f if ":" in l)
    bit = 1 << (signal.SIGTERM - 1)
    return (int(fields["SigBlk"], 16) | int(fields["SigCgt"], 16)) & bit


def test_sigterm_right_after_start_leaves_no_lease(vault, pg):
    vault.create_db_role("ro", default_ttl=30, max_ttl=60)
    vault.fault(mode="slow", delay=1.0, paths=["database/creds/ro"])
    p = Pid1(["-s", "PGUSER=database/creds/ro#username", "--", "sleep", "30"],
             env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: term_is_held(p.pid), interval=0.0005,
                    what="leasewrap to hold SIGTERM")
        p.signal(signal.SIGTERM)
        rc, out, err = p.wait()
    finally:
        p.close()
    assert rc == 128 + signal.SIGTERM, err
    lw.assert_no_lease_left(vault, pg)


def test_cron_job_outlives_two_max_ttls(vault, pg, tmp_path):
    """A job that runs past two max-TTL periods keeps working credentials
    (signal mode: it re-reads its env file), ends with its own code, and
    leaves no dynamic user behind."""
    vault.create_db_role("ro", default_ttl=3, max_ttl=6)
    log, envf = str(tmp_path / "probe.log"), str(tmp_path / "db.env")
    env = lw.base_env(vault, pg, PROBE_SECONDS="14", PROBE_EXIT="42")
    r = run1(["--kill-timeout", "1s", "--on-change", "signal:HUP",
              "--env-file", envf, "--revoke-grace", "1s",
              "-s", "PGUSER=database/creds/ro#username",
              "-s", "PGPASSWORD=database/creds/ro#password", "--",
              PY, os.path.join(HERE, "pgprobe.py"), log, envf], env=env)
    assert r.returncode == 42, r.stderr
    events = [json.loads(l) for l in open(log)]
    queries = [e for e in events if e["event"] == "query"]
    assert queries and all(e["ok"] for e in queries), \
        [e for e in queries if not e["ok"]][:3]
    assert len([e for e in events if e["event"] == "start"]) == 1
    assert len({e["user"] for e in queries}) >= 3   # two rotations at least
    assert {x for x in pg.roles() if x.startswith("v-")} == set()
    assert not os.path.exists(envf)
