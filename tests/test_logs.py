"""Logs: every line has a time, a level and an event name, with the Vault
path, lease ID, TTL, HTTP status or child PID as fields; --log-format json
gives one object a line.  No secret value or token appears at debug level
(conftest.py also checks that after every test of the suite)."""
import json
import re

import pytest

import lw

RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]
BASE = {"time", "level", "event", "pid", "msg"}
FIELDS = {"path", "lease_id", "ttl", "status", "child_pid"}
TEXT_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) leasewrap: "
                       r"(debug|info|warn|error): ([a-z0-9_.]+): (.*)")


def test_json_logs_at_debug_hold_no_secret(vault, pg):
    vault.create_db_role("ro", default_ttl=30, max_ttl=60)
    vault.kv_put("app", {"api_key": "json-log-secret-1234"})
    r = lw.run(["--log-format", "json", "--log-level", "debug"] + RO +
               ["-s", "K=secret/app#api_key", "--", "sh", "-c", "exit 4"],
               env=lw.base_env(vault, pg))
    assert r.returncode == 4, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) >= 5
    by_event = {}
    for l in lines:
        o = json.loads(l)
        assert BASE <= set(o) <= BASE | FIELDS, o
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"])
        assert o["level"] in ("debug", "info", "warn", "error")
        by_event.setdefault(o["event"], []).append(o)
    assert {"lease.create", "child.start", "child.exit", "lease.revoke"} <= set(by_event)
    create = by_event["lease.create"][0]
    assert create["path"] == "database/creds/ro"
    assert create["lease_id"].startswith("database/creds/ro/")
    assert create["ttl"] == 30
    start = by_event["child.start"][0]
    assert isinstance(start["child_pid"], int) and start["child_pid"] > 1
    assert by_event["child.exit"][0]["child_pid"] == start["child_pid"]
    revoke = by_event["lease.revoke"][0]
    assert revoke["lease_id"] == create["lease_id"] and revoke["status"] == 204
    assert any(o.get("status") == 200 and o.get("path") == "database/creds/ro"
               for o in by_event["fetch"])
    lw.assert_no_secret(r.stderr, vault)
    assert vault.root_token not in r.stderr


def test_text_lines_have_time_level_event_and_fields(vault, pg):
    vault.create_db_role("ro", default_ttl=30, max_ttl=60)
    r = lw.run(["--log-format", "text", "--log-level", "debug"] + RO +
               ["--", "sh", "-c", "exit 0"], env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines
    for l in lines:
        assert TEXT_LINE.fullmatch(l), l
    create = [l for l in lines if ": lease.create: " in l]
    assert len(create) == 1
    assert re.search(r" path=database/creds/ro lease_id=database/creds/ro/\S+ ttl=30$",
                     create[0]), create[0]
    assert re.search(r" child_pid=\d+$", [l for l in lines if ": child.start: " in l][0])
    assert re.search(r" lease_id=\S+ status=204$",
                     [l for l in lines if ": lease.revoke: " in l][0])
    lw.assert_no_secret(r.stderr, vault)


def test_usage_error_is_one_timestamped_line():
    r = lw.run(["--no-such-option", "--", "true"],
               env=lw.base_env(LEASEWRAP_LOG_FORMAT="text"))
    assert r.returncode == lw.EXIT_USAGE
    [line] = r.stderr.splitlines()
    m = TEXT_LINE.fullmatch(line)
    assert m and m.group(2) == "error" and m.group(3) == "usage", line


def test_bad_log_format():
    r = lw.run(["--log-format", "xml", "--", "true"])
    assert r.returncode == lw.EXIT_USAGE
    assert "text or json" in r.stderr


# ---- the scan conftest.py runs after every test can fail ------------------

def test_scan_finds_a_value_the_emulator_handed_out(vault):
    vault.kv_put("app", {"api_key": "scan-bait-1234", "quoted": 'scan"bait\\5678'})
    status, _ = vault.api("GET", "secret/data/app")
    assert status == 200
    assert {"scan-bait-1234", 'scan"bait\\5678'} <= set(vault.secrets())
    text = ("2026-11-27T23:41:59.905Z leasewrap: debug: fetch: read "
            "scan-bait-1234 path=secret/data/app\n")
    as_json = json.dumps({"time": "2026-11-27T23:41:59.905Z", "level": "debug",
                          "event": "lease.create", "pid": 1,
                          "msg": 'got scan"bait\\5678'}) + "\n"
    for output, event in ((text, "fetch"), (as_json, "lease.create")):
        with pytest.raises(pytest.fail.Exception) as e:
            lw.scan(vault.secrets(), "the test", [("stderr of leasewrap", output)])
        message = str(e.value)
        assert "the test" in message and "event " + event in message, message
        assert "<secret: " in message
        assert "scan-bait" not in message and "5678" not in message, message
    # A line without the value passes.
    lw.scan(vault.secrets(), "the test", [("stderr", text.replace("scan-bait-1234", "x"))])


@pytest.mark.parametrize("how", ["run", "start"])
def test_scan_catches_a_secret_on_leasewrap_stderr(vault, how):
    """A command that writes its secret on the stderr it shares with leasewrap:
    recorded by lw.run, and by lw.start even though the test never reads it."""
    vault.kv_put("app", {"api_key": "stderr-bait-9876"})
    args = ["-s", "K=secret/data/app#api_key", "--", "sh", "-c", 'echo "key $K" >&2']
    if how == "run":
        assert lw.run(args, env=lw.base_env(vault)).returncode == 0
    else:
        p = lw.start(args, env=lw.base_env(vault))
        try:
            assert p.wait(timeout=lw.TIMEOUT) == 0
        finally:
            lw.kill_quietly(p)
    with pytest.raises(pytest.fail.Exception) as e:
        lw.scan(vault.secrets(), "the test")
    assert "event (none" in str(e.value) and "stderr-bait" not in str(e.value)
    lw.forget()         # so that the scan after this test passes


def test_usage_error_follows_the_log_format_from_the_environment():
    env = lw.base_env(LEASEWRAP_LOG_FORMAT="json")
    r = lw.run(["--no-such-option", "--", "true"], env=env)
    assert r.returncode == lw.EXIT_USAGE
    [line] = r.stderr.splitlines()
    o = json.loads(line)
    assert o["level"] == "error" and o["event"] == "usage"
    assert "--no-such-option" in o["msg"]


@pytest.mark.parametrize("name,value", [("LEASEWRAP_LOG_LEVEL", "loud"),
                                        ("LEASEWRAP_LOG_FORMAT", "xml")])
def test_bad_log_variable_is_a_config_error(name, value):
    r = lw.run(["--", "true"], env=lw.base_env(**{name: value}))
    assert r.returncode == lw.EXIT_CONFIG
    line = lw.one_line(r.stderr)
    assert name in line and '"%s"' % value in line, line
