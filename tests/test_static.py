"""Black-box tests: database static roles (leasewrap(1), "STATIC ROLES"):
database/static-creds/NAME answers a fixed user, its password and the ttl
to its next rotation, with no lease; leasewrap reads it again a second after
each rotation (consul-template's rule), restarts the command on the new
password, and never treats it as a KV secret re-read every 5 minutes."""
import json
import os

import pytest

import lw

PROBE = ["/usr/bin/python3", os.path.join(lw.ROOT, "tests", "pgprobe.py")]
STATIC = ["-s", "PGUSER=database/static-creds/app#username",
          "-s", "PGPASSWORD=database/static-creds/app#password"]
USER = "lw_static_bb"


@pytest.fixture
def static_user(pg):
    pg.query('DROP ROLE IF EXISTS "%s"' % USER)
    pg.query('CREATE ROLE "%s" LOGIN' % USER)
    yield USER
    pg.query('DROP ROLE IF EXISTS "%s"' % USER)


def rotations(vault):
    return [e for e in vault.journal() if e.get("kind") == "static"
            and e.get("event") == "rotate"]


def test_a_static_role_follows_each_rotation(vault, pg, static_user, tmp_path):
    """Rotating every 8 s, a command that connects every 0.2 s is restarted
    once per rotation, onto the new password, with a few reads each, and
    loses at most a few seconds to each rotation."""
    vault.create_static_role("app", static_user, 8)
    log = str(tmp_path / "probe.log")
    p = lw.start(["--kill-timeout", "1s"] + STATIC + ["--"] + PROBE + [log],
                 env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: len(lw.probe_starts(log)) >= 3, timeout=90,
                    what="two restarts after rotations")
        p.terminate()
        p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    rot = rotations(vault)
    starts = lw.probe_starts(log)
    # One start at first, then one per rotation (the one at role creation
    # came before leasewrap).
    assert len(starts) <= len(rot), (len(starts), len(rot))
    reads = lw.reads(vault, "database/static-creds/app")
    assert reads <= 4 * len(starts), reads
    # Failed connections only in the moments after a rotation: at most
    # about a second each (0.2 s apart), with room for a loaded machine.
    fails = lw.probe_failures(log)
    assert len(fails) <= 20 * (len(rot) - 1), len(fails)
    queries = [e for e in lw.probe_log(log) if e["event"] == "query"]
    assert sum(1 for e in queries if e["ok"]) > len(fails) * 3


def test_the_deadline_is_the_next_rotation_and_check_says_so(vault, pg,
                                                             static_user,
                                                             tmp_path):
    vault.create_static_role("app", static_user, 3600)
    out = tmp_path / "env"
    r = lw.run(STATIC + ["--", "/usr/bin/python3", "-c",
                         "import json, os, sys; json.dump(dict(os.environ), "
                         "open(sys.argv[1], 'w'))", str(out)],
               env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    env = json.loads(out.read_text())
    rot = rotations(vault)[-1]
    deadline = int(env["LEASEWRAP_DEADLINE"])
    assert abs(deadline - (rot["time_rotated"] + 3600)) <= 2
    assert env["PGUSER"] == USER and pg.can_login(USER, env["PGPASSWORD"])
    r = lw.run(["check"] + STATIC, env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    assert "ok, static role, rotates in 59m" in r.stdout or \
        "ok, static role, rotates in 1h" in r.stdout, r.stdout
