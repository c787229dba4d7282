"""The first hour (issue 16): what a new user trips on.

Relative paths in a config file resolve beside it; local mistakes (a missing
command, an env file in a missing folder) are found before anything is
leased; a 403 for a dead token says so; the README's troubleshooting messages
are what the binary prints."""
import json
import os
import re
import shlex
import stat

import pytest

import lw
from lw import free_port  # noqa: F401 (fixture)
from test_fetch import RO, ro  # noqa: F401 (ro is a fixture)


def lease_creates(vault):
    return [e for e in vault.journal()
            if e.get("kind") == "lease" and e.get("event") == "create"]


def mark(vault):
    """The emulator journal's position now, to count what comes after it."""
    return max((e["seq"] for e in vault.journal()), default=0)


def vault_requests(vault, since):
    """The requests the emulator saw after mark since (the test's own set-up
    of roles and tokens comes before it)."""
    return [e for e in vault.journal() if e.get("kind") == "request"
            and e["seq"] > since]


# ---- 2. relative paths in a config file resolve beside the file ----------

def write_config(folder, **keys):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lw.json"
    path.write_text(json.dumps(keys))
    return path


@pytest.mark.parametrize("cwd", ["top", "elsewhere"])
def test_config_relative_paths_resolve_beside_the_file(vault, pg, ro, tmp_path, cwd):
    conf = tmp_path / "conf"
    (conf / "out").mkdir(parents=True)
    (conf / "token").write_text(vault.root_token + "\n")
    envfile = conf / "out" / "app.env"
    cfg = write_config(conf, token_file="token", env_file="out/app.env",
                       secret={"PGUSER": "database/creds/ro#username"},
                       command=["sh", "-c", 'grep -q "^PGUSER=v-" "$0"',
                                str(envfile)])
    run_in = tmp_path if cwd == "top" else tmp_path / "elsewhere"
    run_in.mkdir(exist_ok=True)
    env = lw.base_env(vault, pg)
    del env["VAULT_TOKEN"]
    r = lw.run(["-c", os.path.relpath(cfg, run_in)], env=env, cwd=str(run_in))
    assert r.returncode == 0, r.stderr
    assert len(lease_creates(vault)) == 1
    # Nothing was looked for or written beside the working directory.
    assert not (run_in / "out").exists() and not (run_in / "token").exists()
    lw.assert_no_lease_left(vault, pg)


def test_config_absolute_path_stays_as_it_is(vault, pg, ro, tmp_path):
    (tmp_path / "token").write_text(vault.root_token)
    cfg = write_config(tmp_path / "conf", token_file=str(tmp_path / "token"),
                       secret=["PGUSER=database/creds/ro#username"])
    env = lw.base_env(vault, pg)
    del env["VAULT_TOKEN"]
    r = lw.run(["-c", str(cfg), "--", "true"], env=env, cwd="/")
    assert r.returncode == 0, r.stderr


def test_config_path_error_names_the_key_and_the_resolved_path(vault, ro, tmp_path):
    cfg = write_config(tmp_path / "conf", token_file="no-such-token",
                       secret=["PGUSER=database/creds/ro#username"])
    env = lw.base_env(vault)
    del env["VAULT_TOKEN"]
    since = mark(vault)
    r = lw.run(["-c", "conf/lw.json", "--", "true"], env=env, cwd=str(tmp_path))
    assert r.returncode == lw.EXIT_CONFIG
    line = lw.one_line(r.stderr, "error")
    assert 'token file "conf/no-such-token"' in line, line
    assert 'check "token_file" in config "conf/lw.json"' in line, line
    assert "--token-file" not in line, line
    # From the flag, the message still names the flag.
    r = lw.run(["--token-file", "no-such-token"] + RO + ["--", "true"],
               env=env, cwd=str(tmp_path))
    assert r.returncode == lw.EXIT_CONFIG
    assert "check --token-file" in lw.one_line(r.stderr, "error")
    assert vault_requests(vault, since) == []


@pytest.mark.parametrize("key,what", [("ca_cert", 'CA file "conf/ca.pem"'),
                                      ("ca_path", 'CA folder "conf/ca.pem"')])
def test_config_ca_error_names_the_key(vault, ro, tmp_path, key, what):
    write_config(tmp_path / "conf", **{key: "ca.pem",
                                       "secret": ["A=database/creds/ro#username"]})
    r = lw.run(["-c", "conf/lw.json", "--", "true"], env=lw.base_env(vault),
               cwd=str(tmp_path))
    assert r.returncode == lw.EXIT_CONFIG
    line = lw.one_line(r.stderr, "error")
    assert what in line and '"%s" in config "conf/lw.json"' % key in line, line
    assert "--ca-" not in line, line


def test_config_metrics_file_is_beside_the_file_and_named_by_key(vault, tmp_path):
    write_config(tmp_path / "conf", metrics_file="gone/lw.prom")
    r = lw.run(["-c", "conf/lw.json", "--", "true"], env=lw.base_env(vault),
               cwd=str(tmp_path))
    assert r.returncode == lw.EXIT_CONFIG
    line = lw.one_line(r.stderr, "error")
    assert '"metrics_file" in config "conf/lw.json" "conf/gone/lw.prom"' in line, line
    (tmp_path / "conf" / "gone").mkdir()
    r = lw.run(["-c", "conf/lw.json", "--", "true"], env=lw.base_env(vault),
               cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr


# ---- 3. local mistakes cost no lease ---------------------------------------

def assert_nothing_asked(vault, pg, since):
    assert lease_creates(vault) == []
    assert vault_requests(vault, since) == []
    assert {r for r in pg.roles() if r.startswith("v-")} == set()


def test_missing_command_is_127_before_any_read(vault, pg, ro):
    since = mark(vault)
    r = lw.run(RO + ["--", "no-such-command-xyz"], env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_NOTFOUND
    assert lw.one_line(r.stderr, "error").endswith(
        'child.start: cannot run "no-such-command-xyz": No such file or '
        'directory; check the command name and PATH')
    assert_nothing_asked(vault, pg, since)


def test_command_that_is_not_executable_is_126_before_any_read(vault, pg, ro, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    since = mark(vault)
    r = lw.run(RO + ["--", str(script)], env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_NOEXEC
    assert "check that it is an executable file" in lw.one_line(r.stderr, "error")
    assert_nothing_asked(vault, pg, since)


def test_path_search_is_the_one_exec_makes(vault, pg, ro, tmp_path):
    """A non-executable file of that name early on PATH does not hide an
    executable one later (execvpe goes on after EACCES)."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "lw-job").write_text("#!/bin/sh\nexit 3\n")
    (second / "lw-job").write_text("#!/bin/sh\nexit 7\n")
    os.chmod(second / "lw-job", 0o755)
    env = lw.base_env(vault, pg, PATH="%s:%s:/usr/bin:/bin" % (first, second))
    r = lw.run(RO + ["--", "lw-job"], env=env)
    assert r.returncode == 7, r.stderr
    lw.assert_no_lease_left(vault, pg)


def test_env_file_in_a_missing_folder_is_78_before_any_read(vault, pg, ro, tmp_path):
    target = tmp_path / "no-such-folder" / "app.env"
    since = mark(vault)
    r = lw.run(RO + ["--env-file", str(target), "--", "true"],
               env=lw.base_env(vault, pg))
    assert r.returncode == lw.EXIT_CONFIG
    assert lw.one_line(r.stderr, "error").endswith(
        'envfile: env file "%s": cannot create a file beside it: No such '
        'file or directory; check the folder exists and is writable' % target)
    assert_nothing_asked(vault, pg, since)


# ---- 4. a 403 for a dead token is not a policy problem --------------------
# Vault answers an unknown, expired or revoked token with 403 and both
# logical.ErrPermissionDenied and logical.ErrInvalidToken in its one error
# string (vault/request_handling_test.go TestCore_HandleRequest_TokenErrInvalidToken,
# sdk/logical/response_util.go RespondError); a live token without the policy
# gets "permission denied" alone.  Vault Proxy tells them apart the same way:
# status 403 and the text contains "invalid token".

def test_403_for_an_unknown_token_says_it_is_invalid_or_expired(vault, pg, ro):
    r = lw.run(RO + ["--", "true"], env=lw.base_env(vault, pg,
                                                  VAULT_TOKEN="hvs.no-such-token"))
    assert r.returncode == lw.EXIT_NOPERM
    line = lw.one_line(r.stderr, "error")
    assert ('the token is invalid or expired: Vault refused it reading '
            '"database/creds/ro" (403: invalid token); see "vault token '
            'lookup", then set VAULT_TOKEN or log in again') in line, line
    assert "polic" not in line


def test_403_for_a_revoked_token_says_it_is_invalid_or_expired(vault, pg, ro):
    token = vault.create_token(policies=["default"])
    vault.revoke_token(token)
    r = lw.run(RO + ["--", "true"], env=lw.base_env(vault, pg, VAULT_TOKEN=token))
    assert r.returncode == lw.EXIT_NOPERM
    assert "the token is invalid or expired" in lw.one_line(r.stderr, "error")


def test_403_for_a_live_token_without_the_policy_names_the_policies(vault, pg, ro):
    token = vault.create_token(policies=["default"])
    r = lw.run(RO + ["--", "true"], env=lw.base_env(vault, pg, VAULT_TOKEN=token))
    assert r.returncode == lw.EXIT_NOPERM
    line = lw.one_line(r.stderr, "error")
    assert ('permission denied reading "database/creds/ro" (403); check the '
            "token's policies") in line, line
    assert "invalid or expired" not in line


# ---- the man page's 69: a 412 that outlasts --start-timeout ----------------

def test_412_that_persists_is_69(vault, ro):
    # Vault answers 412 for logical.ErrMissingRequiredState ("required index
    # state not present", sdk/logical/error.go), as RespondErrorCommon in
    # sdk/logical/response_util.go maps it; leasewrap retries it (vault-api.md §9.3).
    vault.fault(mode="status", status=412,
                errors=["required index state not present"], paths=[ro])
    r = lw.run(["--start-timeout", "1s", "-s", "A=%s#username" % ro, "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == lw.EXIT_UNAVAILABLE
    assert lw.reads(vault, ro) >= 2
    assert "Vault is unavailable" in lw.one_line(r.stderr, "error")


# ---- 7. the README's troubleshooting lines are what leasewrap prints -------

README = os.path.join(lw.ROOT, "README.md")
TIME_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ")


def troubleshooting_cases():
    """[(heading, exit code, command line, expected lines)] from the README."""
    with open(README) as f:
        text = f.read()
    section = text[text.index("## Troubleshooting\n"):]
    section = section[:section.index("\n## ", 5)]
    cases = []
    for m in re.finditer(r"^\*\*(.+?): exit (\d+)\.(?:.|\n)*?```console\n\$ (.*)\n"
                         r"((?:.|\n)*?)```", section, re.M):
        cases.append((m.group(1), int(m.group(2)), m.group(3),
                      m.group(4).splitlines()))
    return cases


def test_readme_lists_the_five_first_mistakes():
    titles = [c[0] for c in troubleshooting_cases()]
    assert len(titles) == 5, titles
    for word in ("VAULT_ADDR", "token", "path", "field", "Vault down"):
        assert any(word in t for t in titles), (word, titles)


@pytest.mark.parametrize("case", troubleshooting_cases(), ids=lambda c: c[0][:20])
def test_readme_troubleshooting_line_is_what_leasewrap_prints(vault, pg, ro, free_port, case):
    title, code, shown, expected = case
    words = shlex.split(shown)
    # The default log level and format, as a new user has them.
    env = lw.base_env(vault, pg, LEASEWRAP_LOG_LEVEL="warn",
                      LEASEWRAP_LOG_FORMAT="text")
    if words[0] == "env":
        words.pop(0)
        while words[0] != "leasewrap":
            w = words.pop(0)
            if w == "-u":
                env.pop(words.pop(0), None)
            else:
                k, v = w.split("=", 1)
                env[k] = v
    assert words[0] == "leasewrap", shown
    args = words[1:]
    down = "Vault down" in title
    if down:
        # Nothing listens on free_port; 8200 might be a real Vault here. A
        # second of retries instead of the default minute.
        assert env["VAULT_ADDR"] == "http://127.0.0.1:8200"
        env["VAULT_ADDR"] = "http://127.0.0.1:%d" % free_port
        args = ["--start-timeout", "1s"] + args
    r = lw.run(args, env=env)
    assert r.returncode == code, r.stderr
    got = [TIME_STAMP.sub("", line) for line in r.stderr.splitlines()]
    if down:
        got = [re.sub(r"\b%d\b" % free_port, "8200", line) for line in got[-1:]]
        got = [re.sub(r"after \d+ ms", "after 0 ms", line) for line in got]
        assert all("fetch.retry" in line for line in
                   r.stderr.splitlines()[:-1]), r.stderr
    assert got == expected
