"""leasewrap at an interactive terminal: the command gets the foreground,
^C reaches it once, ^Z stops the job as the shell sees it, fg resumes it
(pid1.md §3 B12, B13).  Runs bash -i on a pseudo-terminal."""
import os
import pty
import select
import signal
import time

import lw


class Term:
    """bash -i on a pty; read until a text shows, with a deadline."""

    def __init__(self):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"],
                      lw.log_env({"PATH": "/usr/bin:/bin", "PS1": "lw-prompt> ",
                                  "TERM": "dumb"}))
        self.seen = ""
        self.transcript = ""     # all of it: leasewrap's lines are on the terminal

    def until(self, text, timeout=lw.TIMEOUT):
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            if time.monotonic() > deadline:
                raise AssertionError("no %r on the terminal; saw %r"
                                     % (text, self.seen[-500:]))
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    break
                self.seen += data
                self.transcript += data
        out, self.seen = self.seen, self.seen[self.seen.index(text) + len(text):]
        return out

    def send(self, data):
        os.write(self.fd, data)

    def close(self):
        os.kill(self.pid, signal.SIGKILL)    # our own bash
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        lw.record(self.transcript, "the terminal")


def test_ctrl_c_ctrl_z_and_fg(tmp_path):
    t = Term()
    try:
        t.until("lw-prompt> ")
        ready = tmp_path / "ready"
        t.send(("%s -- sh -c 'trap \"echo got-INT; exit 7\" INT; "
                "echo $$ > %s; while :; do sleep 0.05; done'\n"
                % (lw.BINARY, ready)).encode())
        command = int(lw.wait_file(str(ready)))
        # The command's own group owns the terminal, not leasewrap's.
        lw.wait_for(lambda: os.tcgetpgrp(t.fd) == command,
                    what="the command in the foreground")
        t.send(b"\x1a")                       # ^Z: the whole job stops
        t.until("Stopped")
        t.until("lw-prompt> ")
        t.send(b"jobs\n")
        assert "Stopped" in t.until("lw-prompt> ")
        t.send(b"fg\n")
        t.until("fg")
        lw.wait_for(lambda: os.tcgetpgrp(t.fd) == command,
                    what="the command back in the foreground")
        t.send(b"\x03")                       # ^C: once, to the command
        out = t.until("lw-prompt> ")
        # The command echoed by the shell holds the text too: count lines.
        assert [l for l in out.splitlines()
                if l.endswith("got-INT") and "trap" not in l] != []
        assert len([l for l in out.splitlines()
                    if l.endswith("got-INT") and "trap" not in l]) == 1
        t.send(b"echo rc=$?\n")
        assert "rc=7" in t.until("rc=7")
    finally:
        t.close()
