"""Black-box tests: -T NAME=TEXT templates (leasewrap(1), "TEMPLATES"):
placeholders {{ PATH#FIELD | filter }} filled from the secrets leasewrap
reads, sharing one read per path with -s, each filter's output decoded by
a real decoder, and every bad template refused in one line (exit 64)."""
import base64
import json
import signal
import urllib.parse

import lw

PSQL = "/usr/bin/psql"
PYTHON = "/usr/bin/python3"
DB_URL = ("DATABASE_URL=postgresql://{{database/creds/ro#username}}:"
          "{{ database/creds/ro#password | url }}@%s:%d/postgres")
# Every character the issue names, and more that URLs, JSON and shells mind.
HOSTILE = '@ : / ? # % & \u00e9 " \\ + = ; \' < > \t\nend'
# The child's environment, as bytes, into the file named by argv[1].
DUMP = ("import json, os, sys; json.dump({k.decode(): v.decode('utf-8') "
        "for k, v in os.environb.items()}, open(sys.argv[1], 'w'))")


def dump_env(args, vault, out, **kw):
    """Run leasewrap with args around a child that dumps its environment."""
    r = lw.run(args + ["--", PYTHON, "-c", DUMP, str(out)],
               env=lw.base_env(vault, **kw))
    return r, (json.loads(out.read_text()) if out.exists() else None)


def psql_connects_with_one_read(vault, pg, args, **env):
    """psql "$DATABASE_URL" under leasewrap args with a -s PGUSER on the same
    path connects as that dynamic user, from one read that both share."""
    script = 'echo "$PGUSER"; exec %s "$DATABASE_URL" -tAc "select current_user"'
    r = lw.run(args + ["-s", "PGUSER=database/creds/ro#username", "--",
                       "sh", "-c", script % PSQL],
               env=lw.base_env(vault, PGCONNECT_TIMEOUT="10", **env))
    assert r.returncode == 0, r.stderr
    same, user = r.stdout.split()
    assert user.startswith("v-") and same == user
    assert lw.reads(vault, "database/creds/ro") == 1
    lw.assert_no_lease_left(vault, pg)


def test_database_url_connects_psql_with_one_read(vault, pg, db_role):
    db_role("ro")
    psql_connects_with_one_read(vault, pg, ["-T", DB_URL % (pg.host, pg.port)])


def test_hostile_value_round_trips_through_each_filter(vault, tmp_path):
    vault.kv_put("t", {"v": HOSTILE})
    r, env = dump_env(["-T", "U=x{{secret/t#v|url}}y",
                       "-T", "J={{ secret/t#v | json }}",
                       "-T", "B={{secret/t#v| base64}}",
                       "-T", "P=[{{secret/t#v}}]"], vault, tmp_path / "env")
    assert r.returncode == 0, r.stderr
    u = env["U"]
    assert u[0] == "x" and u[-1] == "y"
    # Only RFC 3986 unreserved characters and %XX escapes are left.
    assert set(u[1:-1]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                               "vwxyz0123456789-._~%")
    assert urllib.parse.unquote(u[1:-1], errors="strict") == HOSTILE
    assert urllib.parse.urlsplit("postgresql://u:%s@h/db" % u[1:-1]).password \
        is not None
    assert json.loads(env["J"]) == HOSTILE
    assert base64.b64decode(env["B"], validate=True).decode() == HOSTILE
    assert env["P"] == "[" + HOSTILE + "]"
    assert lw.reads(vault, "secret/data/t") == 1


def test_config_file_template_key(vault, tmp_path):
    vault.kv_put("app", {"user": "alice", "pass": "p@ss/word"})
    cfg = tmp_path / "lw.json"
    cfg.write_text(json.dumps({"template": {
        "URL": "https://{{secret/app#user}}:{{secret/app#pass|url}}@h/"},
        "secret": ["USER=secret/app#user"]}))
    r, env = dump_env(["-c", str(cfg)], vault, tmp_path / "env")
    assert r.returncode == 0, r.stderr
    assert env["URL"] == "https://alice:p%40ss%2Fword@h/"
    assert env["USER"] == "alice"
    cfg.write_text(json.dumps({"template": ["URL=<{{secret/app#pass|json}}>"]}))
    r, env = dump_env(["-c", str(cfg)], vault, tmp_path / "env2")
    assert r.returncode == 0, r.stderr
    assert env["URL"] == '<"p@ss/word">'


def test_bad_templates_are_refused_in_one_line(vault, tmp_path):
    vault.kv_put("app", {"k": "v"})
    cases = [
        (["-s", "X=secret/app#k", "-T", "X={{secret/app#k}}"], "-s"),
        (["-T", "LEASEWRAP_X={{secret/app#k}}"], "reserved"),
        (["-T", "VAULT_TOKEN={{secret/app#k}}"], "reserved"),
        (["-T", "1X={{secret/app#k}}"], "not a valid variable name"),
        (["-T", "X=no placeholder"], "no placeholder"),
        (["-T", "X={{secret/app#k"], "has no \"}}\""),
        (["-T", "X={{secret/app#k|rot13}}"], "unknown filter \"rot13\""),
        (["-T", "X={{ }}"], "empty placeholder"),
        (["-T", "X={{secret/app}}"], "#FIELD"),
        (["-T", "X={{a#b}}", "-T", "X={{a#c}}"], "twice"),
        (["-T", "X"], "no \"=\""),
    ]
    for args, want in cases:
        r = lw.run(args + ["--", "true"], env=lw.base_env(vault))
        assert r.returncode == 64, (args, r.stderr)
        line = lw.one_line(r.stderr, level="error")
        assert want in line, (args, line)
    # Nothing was read for any of them.
    assert lw.reads(vault, "secret/data/app") == 0


def test_a_missing_field_is_65(vault, tmp_path):
    vault.kv_put("app", {"k": "v"})
    r = lw.run(["-T", "X=a{{secret/app#nope}}", "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == 65, r.stderr
    line = lw.one_line(r.stderr, level="error")
    assert "template X" in line and "secret/app#nope" in line


def test_inherited_vault_reference_gives_way_to_a_template(vault, tmp_path):
    vault.kv_put("app", {"k": "from-template", "o": "from-ref"})
    r, env = dump_env(["-T", "X=<{{secret/app#k}}>"], vault, tmp_path / "env",
                      X="vault:secret/app#o")
    assert r.returncode == 0, r.stderr
    assert env["X"] == "<from-template>"


def test_check_reports_the_template_never_a_value(vault):
    vault.kv_put("app", {"user": "alice-xyz", "pass": "secret-pass-123"})
    r = lw.run(["check", "-T", "URL=//{{secret/app#user}}:{{secret/app#pass}}@h"],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    assert "ok, template URL (2 fields)" in r.stdout
    assert "alice-xyz" not in r.stdout and "secret-pass-123" not in r.stdout


def test_a_changed_field_restarts_with_the_new_rendering(vault, tmp_path):
    vault.kv_put("app", {"k": "first-111"})
    log = tmp_path / "starts"
    script = 'echo "$V" >> %s; while :; do sleep 0.05; done' % log
    p = lw.start(["--refresh-interval", "1s", "--kill-timeout", "1s",
                  "-T", "V=k={{secret/app#k}}", "--", "sh", "-c", script],
                 env=lw.base_env(vault))
    try:
        lw.wait_for(lambda: log.exists() and log.read_text() != "",
                    what="the first start")
        vault.kv_put("app", {"k": "second-222"})
        lw.wait_for(lambda: len(log.read_text().splitlines()) >= 2,
                    what="a restart with the new value")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert log.read_text().splitlines() == ["k=first-111", "k=second-222"]


# Inherited "vault:" variables that are templates (leasewrap(1), --no-env-refs).
def test_vault_template_variable_connects_psql_with_one_read(vault, pg, db_role):
    db_role("ro")
    url = DB_URL[len("DATABASE_URL="):] % (pg.host, pg.port)
    psql_connects_with_one_read(vault, pg, [], DATABASE_URL="vault:" + url)


def test_vault_template_variable_round_trips_and_gives_way(vault, tmp_path):
    vault.kv_put("t", {"v": HOSTILE, "w": "plain"})
    r, env = dump_env([], vault, tmp_path / "env",
                      U="vault:x{{secret/t#v|url}}y",
                      J="vault:{{ secret/t#v | json }}",
                      R="vault:secret/t#w",
                      KEPT="x{{secret/t#w}}",
                      INLINE="${vault:secret/t#w}")
    assert r.returncode == 0, r.stderr
    u = env["U"]
    assert u[0] == "x" and u[-1] == "y"
    assert urllib.parse.unquote(u[1:-1], errors="strict") == HOSTILE
    assert json.loads(env["J"]) == HOSTILE
    assert env["R"] == "plain"
    # Without the "vault:" prefix a value is not touched, bank-vaults'
    # inline form included (leasewrap(1), --no-env-refs).
    assert env["KEPT"] == "x{{secret/t#w}}"
    assert env["INLINE"] == "${vault:secret/t#w}"
    assert lw.reads(vault, "secret/data/t") == 1
    # -T and -s of the same name win; --no-env-refs passes it on as it is.
    r, env = dump_env(["-T", "U=<{{secret/t#w}}>", "-s", "J=secret/t#w"],
                      vault, tmp_path / "env2",
                      U="vault:{{secret/t#v|url}}", J="vault:{{secret/t#v}}")
    assert r.returncode == 0, r.stderr
    assert env["U"] == "<plain>" and env["J"] == "plain"
    r, env = dump_env(["--no-env-refs"], vault, tmp_path / "env3",
                      U="vault:{{secret/t#v|url}}")
    assert r.returncode == 0, r.stderr
    assert env["U"] == "vault:{{secret/t#v|url}}"


def test_vault_template_variable_in_check(vault):
    vault.kv_put("app", {"user": "u", "pass": "p"})
    r = lw.run(["check"], env=lw.base_env(
        vault, APP_URL="vault:https://{{secret/app#user}}:{{secret/app#pass}}@h"))
    assert r.returncode == 0, r.stderr
    assert "APP_URL" in r.stdout
    assert "ok, template APP_URL (2 fields)" in r.stdout


def test_bad_vault_template_variable_is_one_line_naming_it(vault):
    vault.kv_put("app", {"k": "v"})
    cases = [
        ("vault:hunter2{{secret/app#k", "has no \"}}\""),
        ("vault:hunter2{{secret/app#k|rot13}}", "unknown filter \"rot13\""),
        ("vault:hunter2{{ }}", "empty placeholder"),
        ("vault:hunter2{{secret/app}}", "#FIELD"),
    ]
    for value, want in cases:
        r = lw.run(["--", "true"], env=lw.base_env(vault, APP_URL=value))
        assert r.returncode == 64, (value, r.stderr)
        line = lw.one_line(r.stderr, level="error")
        assert "environment variable APP_URL" in line and want in line, line
        assert "--no-env-refs" in line
        assert "hunter2" not in line, line
    r = lw.run(["--", "true"], env=lw.base_env(vault, **{
        "LEASEWRAP_X": "vault:{{secret/app#k}}"}))
    assert r.returncode == 64 and "reserved" in lw.one_line(r.stderr, "error")
    assert lw.reads(vault, "secret/data/app") == 0
