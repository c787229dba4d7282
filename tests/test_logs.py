"""Logs: --log-format json gives one object a line with time, level, event,
pid and msg; at debug level no secret value or token appears, text or JSON."""
import json
import re

import lw

RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]


def test_json_logs_at_debug_hold_no_secret(vault, pg):
    vault.create_db_role("ro", default_ttl=30, max_ttl=60)
    vault.kv_put("app", {"api_key": "json-log-secret-1234"})
    r = lw.run(["--log-format", "json", "--log-level", "debug"] + RO +
               ["-s", "K=secret/app#api_key", "--", "sh", "-c", "exit 4"],
               env=lw.base_env(vault, pg))
    assert r.returncode == 4, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) >= 5
    events = set()
    for l in lines:
        o = json.loads(l)
        assert set(o) == {"time", "level", "event", "pid", "msg"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"])
        assert o["level"] in ("debug", "info", "warn", "error")
        events.add(o["event"])
    assert {"lease.create", "child.start", "child.exit", "lease.revoke"} <= events
    lw.assert_no_secret(r.stderr, vault)
    assert vault.root_token not in r.stderr


def test_bad_log_format():
    r = lw.run(["--log-format", "xml", "--", "true"])
    assert r.returncode == lw.EXIT_USAGE
    assert "text or json" in r.stderr
