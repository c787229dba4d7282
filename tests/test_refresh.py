"""Black-box tests: a refresh interval per path (--refresh-interval
PATH=DURATION beside the default --refresh-interval DURATION, the config
file's "refresh_interval"), leasewrap(1) --refresh-interval."""
import json

import lw


def read_times(vault, path):
    """When the emulator saw each GET /v1/<path>."""
    return [e["time"] for e in vault.journal()
            if e.get("kind") == "request" and e.get("method") == "GET"
            and e.get("path") == path]


def stop(p):
    p.send_signal(15)
    out, err = p.communicate(timeout=lw.TIMEOUT)
    return out, err


def test_each_path_is_read_again_at_its_own_interval(vault, tmp_path):
    vault.kv_put("fast", {"k": "one"})
    vault.kv_put("slow", {"k": "still"})
    vault.kv_put("mid", {"k": "same"})
    log = tmp_path / "starts"
    script = 'echo "$FAST $SLOW $MID" >> %s; while :; do sleep 0.05; done' % log
    p = lw.start(["--refresh-interval", "2s",
                  "--refresh-interval", "secret/data/fast=1s",
                  "--refresh-interval", "/v1/secret/data/slow/=30s",
                  "--kill-timeout", "1s",
                  "-s", "FAST=secret/data/fast#k",
                  "-s", "SLOW=secret/data/slow#k",
                  "-T", "MID=<{{secret/data/mid#k}}>", "--",
                  "sh", "-c", script], env=lw.base_env(vault))
    fast = lambda: read_times(vault, "secret/data/fast")  # noqa: E731
    mid = lambda: read_times(vault, "secret/data/mid")  # noqa: E731
    try:
        lw.wait_for(lambda: len(fast()) >= 6 and len(mid()) >= 3, timeout=60,
                    what="five re-reads of the 1 s path, two of the default")
        # The 30 s path: read once at the start, not again in those seconds.
        assert len(read_times(vault, "secret/data/slow")) == 1
        for times, every in ((fast(), 1), (mid(), 2)):
            gaps = [b - a for a, b in zip(times, times[1:])]
            # Never early (+-10 % jitter, a little for rounding) ...
            assert min(gaps) >= every * 0.9 * 0.9, gaps
            # ... nor late from the start: the token lookup a second in
            # reschedules every credential, and that must not put off
            # the first re-read (it is planned from the last read).
            assert gaps[0] < every * 1.5, gaps
        assert log.read_text().splitlines() == ["one still <same>"]
        # A change on the 1 s path restarts the command with the new value.
        vault.kv_put("fast", {"k": "two"})
        lw.wait_for(lambda: len(log.read_text().splitlines()) >= 2,
                    what="a restart with the new value")
        assert len(read_times(vault, "secret/data/slow")) == 1
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    assert log.read_text().splitlines() == ["one still <same>",
                                            "two still <same>"]


def test_signal_mode_rewrites_the_env_file_on_a_change(vault, tmp_path):
    vault.kv_put("fast", {"k": "one"})
    vault.kv_put("slow", {"k": "still"})
    envf = tmp_path / "app.env"
    hups = tmp_path / "hups"
    script = ('trap \'cat %s >> %s; echo --- >> %s\' HUP; '
              'while :; do sleep 0.05; done' % (envf, hups, hups))
    p = lw.start(["--refresh-interval", "secret/data/fast=1s",
                  "--env-file", str(envf), "--on-change", "signal:SIGHUP",
                  "-s", "FAST=secret/data/fast#k",
                  "-s", "SLOW=secret/data/slow#k", "--",
                  "sh", "-c", script], env=lw.base_env(vault))
    try:
        lw.wait_for(lambda: len(read_times(vault, "secret/data/fast")) >= 2,
                    timeout=60, what="a re-read of the 1 s path")
        vault.kv_put("fast", {"k": "two"})
        lw.wait_for(lambda: hups.exists() and "---" in hups.read_text(),
                    what="SIGHUP after the env file was rewritten")
        out, err = stop(p)
    finally:
        lw.kill_quietly(p)
    text = hups.read_text()
    assert "FAST=two" in text and "SLOW=still" in text
    assert len(read_times(vault, "secret/data/slow")) == 1


def test_check_shows_each_interval_and_the_file_forms(vault, tmp_path):
    vault.kv_put("a", {"k": "va"})
    vault.kv_put("b", {"k": "vb"})
    vault.kv_put("c", {"k": "vc"})
    cfg = tmp_path / "lw.json"
    cfg.write_text(json.dumps({
        "secret": {"A": "secret/data/a#k", "B": "secret/data/b#k",
                   "C": "secret/data/c#k"},
        "refresh_interval": {"secret/data/a": "1s", "secret/data/b": "30s"}}))
    r = lw.run(["check", "-c", str(cfg)], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    lines = {l.split()[0]: l for l in r.stdout.splitlines()}
    assert "ok, no lease (KV v2, re-read every 1s)" in lines["A"], lines
    assert "ok, no lease (KV v2, re-read every 30s)" in lines["B"], lines
    assert "ok, no lease (KV v2, re-read every 5m)" in lines["C"], lines
    # The array form, the default beside a path; the command line's entry
    # for a path and its default win over the file's.
    cfg.write_text(json.dumps({
        "secret": ["A=secret/data/a#k", "B=secret/data/b#k", "C=secret/data/c#k"],
        "refresh_interval": ["10m", "secret/data/a=2s", "secret/data/b=3s"]}))
    r = lw.run(["check", "-c", str(cfg), "--refresh-interval",
                "secret/data/b=4s"], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    lines = {l.split()[0]: l for l in r.stdout.splitlines()}
    assert "re-read every 2s" in lines["A"]
    assert "re-read every 4s" in lines["B"]
    assert "re-read every 10m" in lines["C"]
    r = lw.run(["check", "-c", str(cfg), "--refresh-interval", "1m"],
               env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    lines = {l.split()[0]: l for l in r.stdout.splitlines()}
    assert "re-read every 1m" in lines["C"] and "every 2s" in lines["A"]


def test_a_leased_path_ignores_its_interval_with_a_warning(vault, pg, db_role):
    db_role("ro")
    r = lw.run(["check", "--refresh-interval", "database/creds/ro=1s",
                "-s", "PGUSER=database/creds/ro#username"],
               env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    line = lw.one_line(r.stderr, level="warn")
    assert "--refresh-interval for database/creds/ro is ignored" in line
    assert "lease" in line
    assert "ok, lease" in r.stdout
    lw.assert_no_lease_left(vault, pg)


def test_a_certificate_ignores_it_and_a_static_role_keeps_it(vault, pg):
    vault.create_pki_role("web", ttl="1h", max_ttl="2h")
    cert = "pki/issue/web?common_name=app.test&ttl=1h"
    r = lw.run(["check", "--refresh-interval", cert + "=1s",
                "-s", "SERIAL=%s#serial_number" % cert], env=lw.base_env(vault))
    assert r.returncode == 0, r.stderr
    line = lw.one_line(r.stderr, level="warn")
    assert "is ignored: it is a certificate" in line, line
    assert "ok, certificate, expires" in r.stdout
    user = "lw_refresh_bb"
    pg.query('DROP ROLE IF EXISTS "%s"' % user)
    pg.query('CREATE ROLE "%s" LOGIN' % user)
    try:
        vault.create_static_role("app", user, 3600)
        r = lw.run(["check", "--refresh-interval", "database/static-creds/app=1m",
                    "-s", "PGUSER=database/static-creds/app#username"],
                   env=lw.base_env(vault, pg))
    finally:
        pg.query('DROP ROLE IF EXISTS "%s"' % user)
    assert r.returncode == 0, r.stderr
    assert "is ignored" not in lw.log_text(r.stderr)
    assert "ok, static role, rotates in" in r.stdout


def test_bad_intervals_are_refused_in_one_line(vault, tmp_path):
    vault.kv_put("app", {"k": "v"})
    s = ["-s", "K=secret/data/app#k"]
    cases = [
        (["--refresh-interval", "soon"], "expected a duration"),
        (["--refresh-interval", "secret/data/app=soon"], "after \"=\""),
        (["--refresh-interval", "=1s"], "empty path"),
        (["--refresh-interval", "secret/data/app#k=1s"], "drop the \"#FIELD\""),
        (["--refresh-interval", "secret/data/app=1s",
          "--refresh-interval", "secret/data/app=2s"], "given twice"),
        (["--refresh-interval", "secret/app=1s"], "no secret is read"),
    ]
    for args, want in cases:
        r = lw.run(args + s + ["--", "true"], env=lw.base_env(vault))
        assert r.returncode == 64, (args, r.stderr)
        assert want in lw.one_line(r.stderr, level="error"), (args, r.stderr)
    cfg = tmp_path / "lw.json"
    for value, want in (({"secret/data/app": 5}, "expected a duration"),
                        (["secret/data/app=x"], "after \"=\""),
                        (7, "expected a duration"),
                        ({"secret/data/other": "1s"}, "no secret is read")):
        cfg.write_text(json.dumps({"refresh_interval": value}))
        r = lw.run(["-c", str(cfg)] + s + ["--", "true"], env=lw.base_env(vault))
        assert r.returncode == 78, (value, r.stderr)
        line = lw.one_line(r.stderr, level="error")
        assert "refresh_interval" in line and want in line, (value, line)
    assert lw.reads(vault, "secret/data/app") == 0
