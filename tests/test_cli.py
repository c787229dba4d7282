"""Black-box tests of leasewrap as a plain supervisor, and of bad input that
needs no Vault at all: exit codes, usage errors, signals, the child's environment."""
import json
import os
import signal
import subprocess
import sys

import pytest

import lw
from lw import free_port  # noqa: F401 (fixture)


def one_line_error(r):
    """leasewrap's failure is exactly one line on stderr at the default level
    (the suite runs it at debug: its lines below warn are left out), naming
    itself."""
    line = lw.one_line(r.stderr)
    assert lw.ERROR_LINE.match(line), r.stderr
    return line


@pytest.mark.parametrize("code", [0, 1, 2, 7, 42, 126, 127, 254, 255])
def test_exit_code_passes_through(code):
    r = lw.run(["--", "sh", "-c", "exit %d" % code])
    assert r.returncode == code
    assert lw.log_lines(r.stderr, "warn") == [], r.stderr


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_child_killed_by_signal_gives_128_plus_n(sig):
    r = lw.run(["--", "sh", "-c", "kill -%d $$" % sig])
    assert r.returncode == 128 + sig


def test_command_not_found_is_127():
    r = lw.run(["--", "no-such-command-xyz"])
    assert r.returncode == lw.EXIT_NOTFOUND
    line = one_line_error(r)
    assert '"no-such-command-xyz"' in line and "PATH" in line


def test_command_not_found_is_no_leftover():
    """The child that could not run the command is not one the command
    left behind: no "left by the command" line, no signal sent to it."""
    r = lw.run(["--log-level", "debug", "--", "no-such-command-xyz"])
    assert r.returncode == lw.EXIT_NOTFOUND
    assert "left by the command" not in lw.log_text(r.stderr)


def test_command_not_executable_is_126(tmp_path):
    f = tmp_path / "script"
    f.write_text("#!/bin/sh\nexit 0\n")
    f.chmod(0o644)
    r = lw.run(["--", str(f)])
    assert r.returncode == lw.EXIT_NOEXEC
    assert "executable" in one_line_error(r)


def test_no_shell_in_between():
    # argv reaches the command as it is: no sh -c word splitting.
    r = lw.run(["--", "printf", "%s|", "a b", "$HOME", "*"])
    assert r.stdout == "a b|$HOME|*|"


def test_stdin_and_stdout_are_the_commands():
    r = lw.run(["--", "cat"], input="hello\n")
    assert r.stdout == "hello\n" and r.returncode == 0


@pytest.mark.parametrize("args,needle", [
    (["-s", "FOO", "--", "true"], "NAME=PATH#FIELD"),
    (["-s", "FOO=database/creds/ro", "--", "true"], "#FIELD"),
    (["-s", "1FOO=a#b", "--", "true"], "valid variable name"),
    (["-s", "FOO=#b", "--", "true"], "empty Vault path"),
    (["-s", "FOO=a#", "--", "true"], "empty field"),
    (["-s", "A=a#b", "-s", "A=c#d", "--", "true"], "twice"),
    (["true"], 'missing "--"'),
    (["-s", "A=a#b", "true"], 'missing "--"'),
    ([], "no command"),
    (["--"], "no command"),
    (["--bogus", "--", "true"], 'unknown option "--bogus"'),
    (["-Z", "--", "true"], 'unknown option "-Z"'),
    (["-s"], "needs a value"),
    (["--log-level", "loud", "--", "true"], "--log-level"),
    (["--request-timeout", "soon", "--", "true"], "duration"),
])
def test_usage_errors(args, needle):
    r = lw.run(args)
    assert r.returncode == lw.EXIT_USAGE
    assert needle in one_line_error(r)


def test_help_and_version():
    r = lw.run(["--help"])
    assert r.returncode == 0 and "usage: leasewrap" in r.stdout
    assert "--secret NAME=PATH#FIELD" in r.stdout
    r = lw.run(["-V"])
    assert r.returncode == 0 and r.stdout.startswith("leasewrap ")


def write(tmp_path, name, text, mode=0o600):
    p = tmp_path / name
    p.write_text(text)
    p.chmod(mode)
    return str(p)


@pytest.mark.parametrize("text,needle", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"no_revoke": "yes"}', '"no_revoke": expected true or false'),
    ('{"vault_addr": 8200}', '"vault_addr": expected a non-empty string'),
    ('{"secret": 5}', '"secret": expected an array'),
    ('{"secret": ["NOPE"]}', "NAME=PATH#FIELD"),
    ('{"secret": {"A": 1}}', 'expected a string'),
    ('{"request_timeout": "soon"}', "duration"),
    ('{"log_level": "loud"}', '"log_level"'),
    ('{"vault_adr": "http://x"}', 'did you mean "vault_addr"'),
    ('{"frobnicate": true}', 'unknown key "frobnicate"'),
    ('{"no_revoke": true, "no_revoke": false}', "not valid JSON"),
])
def test_config_file_errors(tmp_path, text, needle):
    path = write(tmp_path, "c.json", text)
    r = lw.run(["-c", path, "--", "true"])
    assert r.returncode == lw.EXIT_CONFIG
    line = one_line_error(r)
    assert needle in line and path in line


def test_config_file_missing(tmp_path):
    path = str(tmp_path / "absent.json")
    r = lw.run(["-c", path, "--", "true"])
    assert r.returncode == lw.EXIT_CONFIG
    assert "No such file" in one_line_error(r)


def test_config_file_unreadable(tmp_path):
    # A directory cannot be read as a file, even by root.
    r = lw.run(["-c", str(tmp_path), "--", "true"])
    assert r.returncode == lw.EXIT_CONFIG
    one_line_error(r)


def test_config_command_runs_without_dashdash(tmp_path):
    path = write(tmp_path, "c.json", json.dumps({"command": ["sh", "-c", "exit 5"]}))
    assert lw.run(["-c", path]).returncode == 5


def test_vault_addr_unset():
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"])
    assert r.returncode == lw.EXIT_CONFIG
    assert "VAULT_ADDR" in one_line_error(r)


def test_vault_addr_bad_scheme():
    env = lw.base_env(VAULT_ADDR="ftp://127.0.0.1", VAULT_TOKEN="t")
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_CONFIG
    assert "https://" in one_line_error(r)


def test_vault_unreachable(free_port):
    env = lw.base_env(VAULT_ADDR="http://127.0.0.1:%d" % free_port,
                      VAULT_TOKEN="t")
    r = lw.run(["--start-timeout", "1s", "-s", "A=secret/data/x#y", "--", "true"],
               env=env)
    assert r.returncode == lw.EXIT_UNAVAILABLE
    last = lw.log_lines(r.stderr, "warn")[-1]
    assert lw.ERROR_LINE.match(last) and "cannot reach Vault" in last


def _log_time(line):
    """Seconds since the epoch of a text-format line's timestamp."""
    import datetime
    stamp = line.split(" ", 1)[0].rstrip("Z")
    return datetime.datetime.fromisoformat(stamp + "+00:00").timestamp()


def test_start_timeout_tries_at_the_deadline(free_port):
    """--start-timeout 3s means 3 s: the last try is made at the deadline,
    not given up when the next backoff would pass it; the first retry line
    says how long it keeps trying."""
    env = lw.base_env(VAULT_ADDR="http://127.0.0.1:%d" % free_port,
                      VAULT_TOKEN="t")
    r = lw.run(["--log-format", "text", "--start-timeout", "3s", "-s",
                "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_UNAVAILABLE
    lines = lw.log_lines(r.stderr, "debug")
    began = [l for l in lines if "reading 1 path(s)" in l][0]
    retries = [l for l in lines if "fetch.retry" in l]
    assert "retrying for up to 3s (--start-timeout)" in retries[0]
    assert all("--start-timeout" not in l for l in retries[1:])
    # The deadline is set just before that first line: 3 s after it, less
    # the ms between the two, the last try still ran (the old code gave up
    # when the next backoff would pass the deadline: always before it).
    assert _log_time(lines[-1]) - _log_time(began) >= 3.0 - 0.02, lines


def test_no_token_anywhere(free_port, tmp_path):
    env = lw.base_env(VAULT_ADDR="http://127.0.0.1:%d" % free_port,
                      HOME=str(tmp_path))
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_NOPERM
    assert "VAULT_TOKEN" in one_line_error(r)


def test_token_file_missing(free_port, tmp_path):
    env = lw.base_env(VAULT_ADDR="http://127.0.0.1:%d" % free_port)
    path = str(tmp_path / "nope")
    r = lw.run(["--token-file", path, "-s", "A=secret/data/x#y", "--", "true"],
               env=env)
    assert r.returncode == lw.EXIT_CONFIG
    assert path in one_line_error(r)


def test_token_file_empty(free_port, tmp_path):
    env = lw.base_env(VAULT_ADDR="http://127.0.0.1:%d" % free_port)
    path = write(tmp_path, "tok", "\n")
    r = lw.run(["--token-file", path, "-s", "A=secret/data/x#y", "--", "true"],
               env=env)
    assert r.returncode == lw.EXIT_CONFIG
    assert "empty" in one_line_error(r)


def test_malformed_env_ref():
    env = lw.base_env(DB_PASS="vault:database/creds/ro")
    r = lw.run(["--", "true"], env=env)
    assert r.returncode == lw.EXIT_USAGE
    assert "--no-env-refs" in one_line_error(r)


def test_no_env_refs_passes_value_on():
    env = lw.base_env(DB_PASS="vault:not/a/ref")
    r = lw.run(["--no-env-refs", "--", "sh", "-c", 'printf %s "$DB_PASS"'],
               env=env)
    assert r.returncode == 0 and r.stdout == "vault:not/a/ref"


def test_vault_token_not_passed_to_child():
    env = lw.base_env(VAULT_TOKEN="hvs.sekrit-token-value", KEEP="me")
    r = lw.run(["--", "env"], env=env)
    assert "VAULT_TOKEN" not in r.stdout
    assert "KEEP=me" in r.stdout
    r = lw.run(["--pass-token", "--", "env"], env=env)
    assert "VAULT_TOKEN=hvs.sekrit-token-value" in r.stdout.splitlines()


def test_no_secret_needs_no_vault():
    # VAULT_ADDR points nowhere: with no secret requested, it is never used.
    env = lw.base_env(VAULT_ADDR="http://127.0.0.1:1")
    assert lw.run(["--", "true"], env=env).returncode == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                                 signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                                 signal.SIGWINCH])
def test_signals_reach_the_child(tmp_path, sig):
    ready = tmp_path / "ready"
    got = tmp_path / "got"
    script = ('trap \'echo %d > %s; exit 0\' %d; echo ready > %s; '
              'while :; do sleep 0.05; done') % (sig, got, sig, ready)
    p = lw.start(["--", "sh", "-c", script])
    try:
        lw.wait_file(str(ready))
        p.send_signal(sig)
        lw.wait_file(str(got))
        assert got.read_text().strip() == str(int(sig))
        p.communicate(timeout=lw.TIMEOUT)
        assert p.returncode == 0
    finally:
        lw.kill_quietly(p)


def test_sigterm_exit_code_when_child_dies_of_it(tmp_path):
    ready = tmp_path / "ready"
    p = lw.start(["--", "sh", "-c", "echo > %s; exec sleep 60" % ready])
    try:
        lw.wait_file(str(ready))
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=lw.TIMEOUT)
        assert p.returncode == 128 + signal.SIGTERM
    finally:
        lw.kill_quietly(p)


def test_child_gets_no_descriptor_of_ours(tmp_path):
    # Only 0, 1, 2 (and the ls's own directory handle) are open in the command.
    r = lw.run(["--", "sh", "-c", "ls /proc/self/fd"])
    fds = sorted(int(x) for x in r.stdout.split())
    assert fds[:3] == [0, 1, 2] and len(fds) <= 4, fds


# ---- logging in and TLS: bad input caught before any request ------------

def vault_env(port, **extra):
    return lw.base_env(VAULT_ADDR="http://127.0.0.1:%d" % port, **extra)


@pytest.mark.parametrize("args,needle", [
    (["--auth", "approle"], "--role-id"),
    (["--auth", "kubernetes"], "--auth-role"),
    (["--auth", "jwt"], "--jwt-file"),
    (["--auth", "cert"], "--client-cert"),
    (["--auth", "approle", "--role-id", "r", "--secret-id-wrapped"],
     "--secret-id-file"),
    (["--auth", "ldap"], "approle"),
])
def test_auth_usage_errors(free_port, args, needle):
    r = lw.run(args + ["-s", "A=secret/data/x#y", "--", "true"],
               env=vault_env(free_port))
    assert r.returncode == lw.EXIT_USAGE
    assert needle in one_line_error(r)


@pytest.mark.parametrize("method,flag,what", [
    ("kubernetes", "--jwt-file", "JWT"),
    ("jwt", "--jwt-file", "JWT"),
    ("approle", "--secret-id-file", "secret ID"),
    ("approle", "--role-id-file", "role ID"),
])
def test_missing_or_empty_credential_file(free_port, tmp_path, method, flag, what):
    base = ["--auth", method, "--auth-role", "r"]
    if method == "approle" and flag != "--role-id-file":
        base += ["--role-id", "r"]
    missing = str(tmp_path / "missing")
    r = lw.run(base + [flag, missing, "-s", "A=secret/data/x#y", "--", "true"],
               env=vault_env(free_port))
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    line = one_line_error(r)
    assert what in line and missing in line
    empty = write(tmp_path, "empty", "\n")
    r = lw.run(base + [flag, empty, "-s", "A=secret/data/x#y", "--", "true"],
               env=vault_env(free_port))
    assert r.returncode == lw.EXIT_CONFIG
    assert "is empty" in one_line_error(r)


def test_plain_http_to_another_machine_is_refused():
    env = lw.base_env(VAULT_ADDR="http://vault.example.com:8200",
                      VAULT_TOKEN="hvs.sekrit")
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_CONFIG
    line = one_line_error(r)
    assert "--insecure-http" in line and "hvs.sekrit" not in line


def test_unreadable_ca_file(free_port, tmp_path):
    ca = str(tmp_path / "no-ca.pem")
    env = lw.base_env(VAULT_ADDR="https://127.0.0.1:%d" % free_port,
                      VAULT_TOKEN="t", VAULT_CACERT=ca)
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_CONFIG
    line = one_line_error(r)
    assert ca in line and "VAULT_CACERT" in line


def test_bad_vault_skip_verify_value(free_port):
    env = vault_env(free_port, VAULT_TOKEN="t", VAULT_SKIP_VERIFY="maybe")
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_CONFIG
    assert "VAULT_SKIP_VERIFY" in one_line_error(r)


def test_skip_verify_warns_loudly(free_port):
    env = lw.base_env(VAULT_ADDR="https://127.0.0.1:%d" % free_port,
                      VAULT_TOKEN="t", VAULT_SKIP_VERIFY="true")
    r = lw.run(["--start-timeout", "1s", "-s", "A=secret/data/x#y", "--",
                "true"], env=env)
    assert r.returncode == lw.EXIT_UNAVAILABLE
    assert "NOT VERIFYING" in lw.log_lines(r.stderr, "warn")[0]


def test_client_cert_needs_key(free_port, tmp_path):
    env = vault_env(free_port, VAULT_TOKEN="t",
                    VAULT_CLIENT_CERT=str(tmp_path / "c.pem"))
    r = lw.run(["-s", "A=secret/data/x#y", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_CONFIG
    assert "--client-key" in one_line_error(r)
