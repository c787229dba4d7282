"""Black-box tests: --file DEST=PATH#FIELD and --file-template DEST=SRC
(leasewrap(1), "FILES"): each value byte for byte in a file of its own,
0600 (or --file-mode), replaced atomically, rewritten before the signal in
signal mode, removed at exit unless --keep-files, checked like env files."""
import json
import os
import pwd
import signal
import stat

import pytest

import lw

PYTHON = "/usr/bin/python3"
# Bytes a PEM bundle or a key file holds, and some it should not break on.
MULTILINE = ("-----BEGIN PRIVATE KEY-----\nMIIE\u00e9+/=\n\ttab  \r\n"
             "-----END PRIVATE KEY-----\n\n")
# A command that copies DEST ($0) and its mode to $1 and $2.
COPY = ['sh', '-c', 'cat "$0" > "$1"; stat -c %a "$0" > "$2"']
# On each SIGHUP (and at start): read the user and password files, connect
# with them, log one JSON line.
HUP_PROBE = r"""
import json, signal, sys, time, psycopg2
ufile, pfile, log = sys.argv[1:4]
def probe(event):
    u, p = open(ufile).read(), open(pfile).read()
    try:
        psycopg2.connect(user=u, password=p, dbname="postgres").close()
        ok = True
    except Exception:
        ok = False
    with open(log, "a") as f:
        f.write(json.dumps({"event": event, "user": u, "ok": ok}) + "\n")
signal.signal(signal.SIGHUP, lambda *a: probe("hup"))
probe("start")
while True:
    time.sleep(0.05)
"""



def test_file_holds_a_multiline_value_byte_for_byte_at_0600(vault, tmp_path):
    vault.kv_put("tls", {"key": MULTILINE})
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    dest, seen, mode = folder / "tls.key", tmp_path / "seen", tmp_path / "mode"
    r = lw.run(["--file", "%s=secret/tls#key" % dest, "--"] + COPY + [str(dest),
               str(seen), str(mode)], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert seen.read_bytes() == MULTILINE.encode()
    assert mode.read_text().strip() == "600"
    assert not dest.exists()                  # removed at exit
    assert os.listdir(folder) == []           # and no temporary left
    assert MULTILINE.split("\n")[1] not in r.stderr


def test_file_mode_keep_files_and_the_config_file_keys(vault, tmp_path):
    vault.kv_put("app", {"user": "alice", "pass": "s3cr3t-pass:x"})
    folder = tmp_path / "cfg"
    folder.mkdir(mode=0o700)
    (folder / "pgpass.tmpl").write_text(
        "db:5432:app:{{ secret/app#user }}:{{secret/app#pass}}\n")
    cfg = folder / "lw.json"
    cfg.write_text(json.dumps({
        "file": {"user.txt": "secret/app#user"},
        "file_template": ["pgpass=pgpass.tmpl"],
        "file_mode": "0640", "keep_files": True}))
    r = lw.run(["-c", str(cfg), "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert (folder / "user.txt").read_text() == "alice"
    assert (folder / "pgpass").read_text() == "db:5432:app:alice:s3cr3t-pass:x\n"
    for f in ("user.txt", "pgpass"):
        assert stat.S_IMODE(os.stat(folder / f).st_mode) == 0o640
    # One read of the path for both files.
    assert lw.reads(vault, "secret/data/app") == 1


def test_file_template_from_the_command_line(vault, tmp_path):
    vault.kv_put("app", {"user": "bob", "pass": "p\"w\\d"})
    src = tmp_path / "conf.tmpl"
    src.write_text('{"user": {{secret/app#user|json}}, '
                   '"pass": {{ secret/app#pass | json }}}\n')
    dest = tmp_path / "conf.json"
    r = lw.run(["--file-template", "%s=%s" % (dest, src), "--keep-files",
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert json.loads(dest.read_text()) == {"user": "bob", "pass": 'p"w\\d'}
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600


def test_signal_mode_with_only_files_rewrites_them_before_each_signal(
        vault, pg, tmp_path):
    vault.create_db_role("ro", default_ttl=3, max_ttl=10)
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    ufile, pfile, log = folder / "user", folder / "pass", tmp_path / "probe.log"
    env = lw.base_env(vault, pg)
    p = lw.start(["--kill-timeout", "1s", "--on-change", "signal:SIGHUP",
                  "--revoke-grace", "1s", "--rotate-before", "2s",
                  "--file", "%s=database/creds/ro#username" % ufile,
                  "--file", "%s=database/creds/ro#password" % pfile, "--",
                  PYTHON, "-c", HUP_PROBE, str(ufile), str(pfile), str(log)],
                 env=env)
    entries = lambda: [json.loads(x) for x in log.read_text().splitlines()] \
        if log.exists() else []  # noqa: E731
    try:
        lw.wait_for(lambda: len([e for e in entries() if e["event"] == "hup"])
                    >= 2, timeout=60, what="two signals")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    got = entries()
    assert [e["event"] for e in got].count("start") == 1     # never restarted
    # Each signal found new files whose user could log in.
    users = [e["user"] for e in got]
    assert len(set(users)) == len(users), users
    assert all(e["ok"] for e in got), got
    assert not ufile.exists() and not pfile.exists()
    assert os.listdir(folder) == []
    lw.assert_no_lease_left(vault, pg)


def test_bad_file_options_are_refused_in_one_line(vault, tmp_path):
    vault.kv_put("app", {"k": "v"})
    dest = str(tmp_path / "out")
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    cases = [
        (["--file", dest], 64, 'no "="'),
        (["--file", "=secret/app#k"], 64, "empty file name"),
        (["--file", dest + "=secret/app"], 64, "#FIELD"),
        (["--file", dest + "=secret/app#k", "--file", dest + "=secret/app#k"],
         64, "twice"),
        (["--file-template", dest + "=" + str(tmp_path / "none.tmpl")], 64,
         "cannot read"),
        (["--file", dest + "=secret/app#k", "--file-mode", "0666"], 64,
         "--file-mode"),
        (["--file", dest + "=secret/app#k", "--file-mode", "rw"], 64,
         "octal mode"),
        (["--file", str(tmp_path / "no" / "dir") + "=secret/app#k"], 78,
         "cannot create a file beside it"),
        (["--file", str(open_folder / "f") + "=secret/app#k"], 78,
         "can be written by another user"),
    ]
    for args, code, want in cases:
        r = lw.run(args + ["--", "true"], env=lw.base_env(vault))
        assert r.returncode == code, (args, r.stderr)
        line = lw.one_line(r.stderr, level="error")
        assert want in line, (args, line)
    assert lw.reads(vault, "secret/data/app") == 0
    r = lw.run(["--file", dest + "=secret/app#nope", "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == 65, r.stderr
    assert "secret/app#nope" in lw.one_line(r.stderr, level="error")
    assert not os.path.exists(dest)


def test_check_reports_each_file_never_a_value(vault, tmp_path):
    vault.kv_put("app", {"k": "value-never-shown"})
    dest = tmp_path / "k.txt"
    r = lw.run(["check", "--file", "%s=secret/app#k" % dest],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert "ok, file %s (1 field)" % dest in r.stdout
    assert "value-never-shown" not in r.stdout
    assert not dest.exists()                  # check writes no file


@pytest.mark.skipif(os.geteuid() != 0, reason="--user needs root")
def test_user_owns_the_file(vault, tmp_path):
    vault.kv_put("app", {"k": "v"})
    nobody = pwd.getpwnam("nobody")
    dest = tmp_path / "k.txt"
    r = lw.run(["--user", "nobody", "--keep-files",
                "--file", "%s=secret/app#k" % dest, "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert os.stat(dest).st_uid == nobody.pw_uid
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
