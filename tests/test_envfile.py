"""Black-box tests: --env-file in each --env-file-format, read back by the
real readers of that format (leasewrap(1), "ENV FILES").  The tests install
the readers themselves: python3-dotenv from Debian, node's dotenv from npm
into .deps/node/, sh and bash for the shell format, python's and node's JSON.

Every hostile value must come back byte for byte, or be refused with one
line naming the variable and exit 65; no reader may ever see an extra
variable (finding 1 of issue 15: a trailing backslash and a CR planted
EVIL=1 in a child that called load_dotenv())."""
import json
import os
import shutil
import stat
import subprocess

import pytest

import lw

ENSURE_DEBS = os.path.join(lw.ROOT, "packaging", "ensure-debs")
NODE_DEPS = os.path.join(lw.ROOT, ".deps", "node")
# node's dotenv: 17 keeps the regex parser of 15-16; 18 has a new one.
NODE_DOTENV = ("17.4.2", "18.0.10")

HOSTILE = {
    "DQUOTE": 'say "hi"',
    "SQUOTE": "it's",
    "BOTHQ": "it's \"x\"",
    "BSLASH": "a\\b",
    "BSLASH2": "a\\\\b",
    "BSQUOTE": "a\\'b\\\"c",
    "TRAILBS": "tail\\",
    "DOLLAR": "$HOME and $(id) and $",
    "BRACES": "${HOME} and ${HOME:-x}",
    "BACKTICK": "`id` $(id)",
    "CR": "a\rb",
    "LF": "line1\nline2",
    "CRLF": "a\r\nb",
    "LSEP": "a\u2028b\u2029c",
    "EQUALS": "a=b==",
    "HASH": "#not-a-comment",
    "HASH2": "a #b",
    "SPACES": "  padded  ",
    "EMPTY": "",
    "UNICODE": "p\u00e4ssw\u00f6rd\u2713",
    "CTRL": "a\tb\x1b[31mc\x7f",
    # The attack: a value ending in a backslash, then one whose CR (or LF,
    # or U+2028 for node) starts a line of its own.
    "ATTACK1": "x\\",
    "ATTACK2": "\rEVIL=1\r",
    "ATTACK3": "\"\nEVIL=1\n#",
    "ATTACK4": "'\u2028EVIL=1\u2028'",
    "ATTACK5": "\\\"\nEVIL=1",
    # Meant for a shell that sources a dotenv file.
    "SHELL1": "a;touch PWNED",
    "SHELL2": "$(touch PWNED)",
    "SHELL3": "`touch PWNED`",
    "SHELL4": "it's $(touch PWNED)",
    "SHELL5": "x'\n$(touch PWNED)",
    # Both quotes with a "#", a line break or a leading space.
    "MIXED": "it's \"#1\"",
    "MIXED2": "'\"\n",
    "MIXED3": " '\"",
}
# What each format cannot carry: both quotes with a "#" or a line break,
# or a backslash before one (leasewrap(1), "ENV FILES").
REFUSED = {
    # python-dotenv expands ${NAME} in every quoting; node's dotenv decodes
    # no backslash, python-dotenv \\ and \' (and more in double quotes);
    # a shell sourcing the file runs $(...) and `...` in double quotes.
    "dotenv": {"ATTACK1", "ATTACK3", "ATTACK5", "MIXED", "MIXED2", "MIXED3",
               "BRACES", "TRAILBS", "BSLASH2", "BSQUOTE", "BOTHQ", "SHELL4",
               "SHELL5"},
    "shell": set(),
    "json": set(),
}


def ensure_debs(*pkgs):
    r = subprocess.run(["sh", ENSURE_DEBS] + list(pkgs), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="session")
def python_dotenv():
    ensure_debs("python3-dotenv")
    return ["/usr/bin/python3", "-c",
            "import json, sys\n"
            "from dotenv import dotenv_values\n"
            "print(json.dumps(dict(dotenv_values(sys.argv[1]))))"]


def node_dotenv(version):
    """A reader command for node's dotenv at version, installed by npm into
    .deps/node/VERSION on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        ensure_debs("nodejs", "npm")
    prefix = os.path.join(NODE_DEPS, version)
    mod = os.path.join(prefix, "node_modules", "dotenv")
    if not os.path.exists(os.path.join(mod, "package.json")):
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                            "--prefix", prefix, "dotenv@" + version],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    return ["node", "-e",
            "const d = require(process.argv[1]);"
            "const t = require('fs').readFileSync(process.argv[2]);"
            "process.stdout.write(JSON.stringify(d.parse(t)))", mod]


def read_json(cmd, path):
    r = subprocess.run(cmd + [path], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.decode("utf-8"))


def sh_env(shell, path=None, cwd=None):
    """What `set -a; . FILE` adds to shell's environment (every byte)."""
    script = 'set -a; . "$1"; exec env -0' if path else "exec env -0"
    r = subprocess.run([shell, "-c", script, "sh"] + ([path] if path else []),
                       capture_output=True, env={"PATH": "/usr/bin:/bin"}, timeout=60,
                       cwd=cwd)
    assert r.returncode == 0, r.stderr
    out = {}
    for entry in r.stdout.split(b"\0")[:-1]:
        k, _, v = entry.partition(b"=")
        out[k.decode()] = v.decode("utf-8")
    return out


def readers(fmt, python_dotenv):
    """(name, function of a path returning {name: value}) for every real
    reader of fmt."""
    if fmt == "dotenv":
        out = [("python-dotenv", lambda p: read_json(python_dotenv, p))]
        for v in NODE_DOTENV:
            out.append(("node dotenv@" + v, lambda p, c=node_dotenv(v): read_json(c, p)))
        return out
    if fmt == "shell":
        out = []
        for shell in ("sh", "bash"):
            base = sh_env(shell)

            def read(p, shell=shell, base=base):
                got = sh_env(shell, p)
                return {k: v for k, v in got.items() if base.get(k) != v}
            out.append((shell + " set -a; .", read))
        return out
    return [("python json", lambda p: json.load(open(p, encoding="utf-8"))),
            ("node JSON.parse", lambda p: read_json(
                ["node", "-e", "process.stdout.write(JSON.stringify(JSON.parse("
                 "require('fs').readFileSync(process.argv[1], 'utf8'))))"], p))]


def write_with(vault, tmp_path, fmt, values):
    """Run leasewrap with values (name: value) from KV and --env-file-format
    fmt; returns (the run, a copy of the env file the command saw or None)."""
    vault.kv_put("hostile", values)
    folder = tmp_path / fmt
    folder.mkdir(exist_ok=True)
    envf, seen = str(folder / "app.env"), str(tmp_path / (fmt + ".seen"))
    if os.path.exists(seen):
        os.unlink(seen)
    args = []
    for name in values:
        args += ["-s", "%s=secret/hostile#%s" % (name, name)]
    r = lw.run(args + ["--env-file", envf, "--env-file-format", fmt, "--",
                       "sh", "-c", 'cat "$0" > "$1"', envf, seen],
               env=lw.base_env(vault))
    return r, (seen if os.path.exists(seen) else None)


@pytest.mark.parametrize("fmt", ["dotenv", "shell", "json"])
def test_hostile_values_read_back_byte_for_byte(vault, tmp_path, fmt, python_dotenv):
    carried = {k: v for k, v in HOSTILE.items() if k not in REFUSED[fmt]}
    r, seen = write_with(vault, tmp_path, fmt, carried)
    assert r.returncode == 0, r.stderr
    for name, read in readers(fmt, python_dotenv):
        got = read(seen)
        # Never an extra variable (EVIL), never a missing one.
        assert set(got) == set(carried), (name, sorted(set(got) ^ set(carried)))
        bad = {k: (carried[k], got[k]) for k in carried if got[k] != carried[k]}
        assert bad == {}, (name, bad)
    if fmt == "dotenv":
        # The default format stays inert for a shell that sources it: it
        # runs nothing and sets only the names; only \n and \r differ.
        for shell in ("sh", "bash"):
            base = sh_env(shell, cwd=str(tmp_path))
            got = sh_env(shell, seen, cwd=str(tmp_path))
            got = {k: v for k, v in got.items() if base.get(k) != v}
            assert not (tmp_path / "PWNED").exists(), shell
            assert set(got) <= set(carried), (shell, set(got) - set(carried))
            bad = {k for k, v in carried.items()
                   if "\n" not in v and "\r" not in v and got.get(k, "") != v}
            assert bad == set(), (shell, bad)


@pytest.mark.parametrize("fmt", ["dotenv", "shell", "json"])
def test_values_a_format_cannot_carry_are_refused_in_one_line(vault, tmp_path, fmt):
    for name in sorted(REFUSED[fmt]):
        value = HOSTILE[name]
        r, seen = write_with(vault, tmp_path, fmt, {"OK1": "fine-value", name: value})
        assert r.returncode == 65, (name, r.returncode, r.stderr)
        assert seen is None    # the command did not run
        line = lw.one_line(r.stderr, level="error")
        assert name in line and "--env-file-format" in line, line
        assert value not in r.stderr
        assert not os.path.exists(str(tmp_path / fmt / "app.env"))
    assert fmt != "dotenv" or REFUSED[fmt]    # the dotenv case refuses something


@pytest.mark.parametrize("first", ["x\\", "x\\y'"])
def test_dotenv_default_format_plants_no_variable_with_load_dotenv(vault, tmp_path,
                                                                   python_dotenv, first):
    """The reported attack, end to end: the child calls load_dotenv() on the
    default-format file and gets ATTACK1/ATTACK2 exactly and no EVIL, or the
    value ending in a backslash (which no dotenv quoting carries for both
    python-dotenv and node's dotenv) is refused and the child never runs."""
    vals = {"ATTACK1": first, "ATTACK2": HOSTILE["ATTACK2"]}
    vault.kv_put("hostile", vals)
    envf = str(tmp_path / "app.env")
    probe = ("import json, os\nfrom dotenv import load_dotenv\n"
             "for k in ('ATTACK1', 'ATTACK2'): os.environ.pop(k, None)\n"
             "load_dotenv(os.environ['F'])\n"
             "print(json.dumps({k: os.environ.get(k) for k in "
             "('ATTACK1', 'ATTACK2', 'EVIL')}))")
    r = lw.run(["-s", "ATTACK1=secret/hostile#ATTACK1",
                "-s", "ATTACK2=secret/hostile#ATTACK2", "--env-file", envf,
                "--", "/usr/bin/python3", "-c", probe],
               env=lw.base_env(vault, F=envf))
    if first.endswith("\\"):
        assert r.returncode == 65, r.stderr
        assert "ATTACK1" in lw.one_line(r.stderr, level="error")
        assert r.stdout == ""
        return
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == dict(vals, EVIL=None)


def test_a_new_value_the_format_cannot_carry_stops_signal_mode(vault, tmp_path):
    """--on-change signal: a refreshed value the env file cannot carry is not
    signalled over a file that keeps the old (soon revoked) values: the
    command is stopped and leasewrap exits 65, naming the variable."""
    vault.kv_put("app", {"k": "first-value-1"})
    envf = tmp_path / "app.env"
    p = lw.start(["--refresh-interval", "1s", "--kill-timeout", "1s",
                  "--on-change", "signal:SIGHUP", "--env-file", str(envf),
                  "-s", "K=secret/app#k", "--",
                  "sh", "-c", "trap 'echo hup' HUP; while :; do sleep 0.05; done"],
                 env=lw.base_env(vault))
    try:
        lw.wait_file(str(envf))
        vault.kv_put("app", {"k": "${EVIL}-second"})
        out, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 65, err
    line = lw.one_line(err, level="error")
    assert "K:" in line and "--env-file-format" in line, line
    assert "hup" not in out and "-second" not in err
    assert not envf.exists()


def test_a_nul_byte_in_a_value_is_refused(vault, tmp_path):
    """No environment variable or env file can carry NUL: jansson refuses
    "\\u0000" in Vault's answer (no JSON_ALLOW_NUL), so nothing is written."""
    vault.kv_put("hostile", {"NUL": "a\u0000b-secret"})
    envf = tmp_path / "app.env"
    r = lw.run(["-s", "NUL=secret/hostile#NUL", "--env-file", str(envf),
                "--", "sh", "-c", "touch \"$0\".ran", str(envf)],
               env=lw.base_env(vault))
    assert r.returncode == 65, r.stderr
    assert "secret/hostile" in lw.one_line(r.stderr, level="error")
    assert "b-secret" not in r.stderr
    assert os.listdir(str(tmp_path)) == []


def test_unknown_env_file_format_is_a_usage_error(vault):
    r = lw.run(["--env-file-format", "yaml", "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 64
    assert "dotenv, shell or json" in lw.one_line(r.stderr, level="error")


# Finding 8: a folder another user can write, and stale temporaries.

def test_env_file_in_a_folder_others_can_write_is_refused(vault, tmp_path):
    vault.kv_put("app", {"k": "folder-secret-1"})
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    r = lw.run(["-s", "K=secret/app#k", "--env-file", str(shared / "app.env"),
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 78, r.stderr
    line = lw.one_line(r.stderr, level="error")
    assert str(shared) in line and "another user" in line, line
    assert os.listdir(str(shared)) == []
    # Sticky, and the file is absent (or ours): allowed, as in /tmp.
    os.chmod(str(shared), 0o1777)
    r = lw.run(["-s", "K=secret/app#k", "--env-file", str(shared / "app.env"),
                "--", "sh", "-c", 'grep -c "^K=" "$0"', str(shared / "app.env")],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
    # Sticky, but the file there belongs to another user: refused.
    planted = shared / "app.env"
    planted.write_text("K=planted\n")
    os.chown(str(planted), 65534, 65534)
    r = lw.run(["-s", "K=secret/app#k", "--env-file", str(planted), "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == 78, r.stderr
    assert "not ours" in lw.one_line(r.stderr, level="error")
    assert planted.read_text() == "K=planted\n"


def test_metrics_file_in_a_folder_others_can_write_is_refused(vault, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o775)
    r = lw.run(["--metrics-file", str(shared / "lw.prom"), "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == 78, r.stderr
    assert "--metrics-file" in lw.one_line(r.stderr, level="error")


def test_stale_temporaries_of_ours_are_swept_at_start(vault, tmp_path):
    """A SIGKILL between mkostemp and rename leaves FILE.XXXXXX holding live
    credentials; the next start removes ours and nothing else."""
    vault.kv_put("app", {"k": "sweep-secret-1"})
    folder = tmp_path / "out"
    folder.mkdir()
    stale = folder / "app.env.Ab3dE9"
    stale.write_text("K=old-credential\n")
    keep = [folder / "app.env.toolong7", folder / "other.env.Ab3dE9",
            folder / "app.env.Zz9yX8"]
    for p in keep:
        p.write_text("x\n")
    os.chown(str(keep[2]), 65534, 65534)    # not ours: left alone
    r = lw.run(["-s", "K=secret/app#k", "--env-file", str(folder / "app.env"),
                "--", "true"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert not stale.exists()
    assert all(p.exists() for p in keep)


# Findings 3 and 4: names.

@pytest.mark.parametrize("name", ["A;touch PWNED;B", "A\nEVIL", "1X", "A B"])
def test_inherited_vault_names_are_checked_as_s_names_are(vault, tmp_path, name):
    """A crafted inherited name wrote its own line into the env file, and a
    shell sourcing it ran the command in it; now exit 64, as for -s."""
    vault.kv_put("app", {"k": "name-secret-1"})
    envf = tmp_path / "app.env"
    r = lw.run(["--env-file", str(envf), "--",
                "sh", "-c", 'cd "$0" && . "$1"', str(tmp_path), str(envf)],
               env=lw.base_env(vault, **{name: "vault:secret/app#k"}))
    assert r.returncode == 64, r.stderr
    line = lw.one_line(r.stderr, level="error")
    assert "not a valid variable name" in line and "--no-env-refs" in line, line
    assert not (tmp_path / "PWNED").exists()
    assert not envf.exists()


@pytest.mark.parametrize("how", ["flag", "inherited"])
@pytest.mark.parametrize("name", ["LEASEWRAP_DEADLINE", "LEASEWRAP_X", "VAULT_TOKEN"])
def test_reserved_names_are_refused(vault, tmp_path, name, how):
    """-s LEASEWRAP_DEADLINE=... took a slot of leasewrap's own variables, so
    the env file got the last inherited variable (VAULT_TOKEN under
    --pass-token) instead; leasewrap's names are refused, exit 64."""
    vault.kv_put("app", {"k": "reserved-secret-1"})
    envf = tmp_path / "app.env"
    args = ["-s", "%s=secret/app#k" % name] if how == "flag" else []
    extra = {name: "vault:secret/app#k"} if how == "inherited" else {}
    r = lw.run(args + ["-s", "K=secret/app#k", "--pass-token", "--env-file",
                       str(envf), "--", "true"], env=lw.base_env(vault, **extra))
    assert r.returncode == 64, r.stderr
    line = lw.one_line(r.stderr, level="error")
    assert name in line and "reserved" in line, line
    assert not envf.exists()
