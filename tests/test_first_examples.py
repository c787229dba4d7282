"""The demo and the examples a newcomer runs first (issue 16 items 5 and 6):
`make demo` reads in order; examples/docker/README names what the Dockerfile
installs; examples/signal-pool keeps a psycopg2 pool alive through rotations
in signal mode with no failed query."""
import json
import os
import re
import subprocess

import lw

EX = os.path.join(lw.ROOT, "examples")
DEMO = os.path.join(EX, "demo", "run.sh")


def test_demo_reads_in_order():
    """The command as run (with its --log-level info), the script's lines as
    it prints them, then the revocation, then the check that the user is gone."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C",
           "HOME": os.environ.get("HOME", "/root")}
    r = subprocess.run(["sh", DEMO], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=lw.TIMEOUT * 2)
    out = r.stdout
    assert r.returncode == 0, out
    lines = out.splitlines()

    def first(pattern):
        for i, line in enumerate(lines):
            if re.search(pattern, line):
                return i
        raise AssertionError("no line matches %r in:\n%s" % (pattern, out))

    command = first(r"^== \./leasewrap ")
    # The echoed command is the one in run.sh, flags and all.
    assert lines[command] == ("== ./leasewrap --log-level info "
                              "-s PGUSER=database/creds/ro#username "
                              "-s PGPASSWORD=database/creds/ro#password "
                              "-- examples/demo/whoami.sh"), lines[command]
    connected = first(r"^connected as v-")
    user = lines[connected][len("connected as "):]
    started = first(r"leasewrap: info: child\.start: ")
    exited = first(r"leasewrap: info: child\.exit: ")
    revoked = first(r"leasewrap: info: lease\.revoke: revoked ")
    check = first(r"^== after leasewrap exited: is %s still in pg_roles\?$"
                  % re.escape(user))
    gone = first(r"^no: the lease was revoked and the user is gone$")
    # (child.start may be logged after the script's first line: not checked.)
    assert command < connected < exited < revoked < check < gone, out
    assert command < started < exited, out
    assert "PGPASSWORD is set: yes" in lines[connected:exited]


def test_docker_readme_lists_the_run_time_libraries_the_dockerfile_installs():
    with open(os.path.join(EX, "docker", "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    final = text[text.rindex("\nFROM "):]
    m = re.search(r"apt-get install -y --no-install-recommends ([^&]*)&&", final)
    installed = set(m.group(1).split()) - {"postgresql-client"}
    with open(os.path.join(EX, "docker", "README.md")) as f:
        readme = f.read()
    m = re.search(r"run-time libraries \(`([^`]*)`\)", readme)
    assert m, "examples/docker/README.md names no run-time libraries"
    assert set(m.group(1).split()) == installed, (m.group(1), sorted(installed))
    assert "libmicrohttpd12" in installed


POOL_APP = os.path.join(EX, "signal-pool", "pool_app.py")


def pool_events(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.endswith("\n")]
    except FileNotFoundError:
        return []


def test_signal_pool_example_rotates_with_no_failed_query(vault, pg, db_role, tmp_path):
    """examples/signal-pool under --on-change signal:SIGHUP --env-file,
    through three rotations of 6-second leases: every query succeeds, each
    swap moves the queries to the new user, and nothing is left leased."""
    db_role("app", default_ttl=6, max_ttl=6)
    envfile, log = tmp_path / "db.env", tmp_path / "pool.log"
    args = ["--on-change", "signal:SIGHUP", "--env-file", str(envfile),
            "--rotate-before", "50%", "--revoke-grace", "2s",
            "-s", "PGUSER=database/creds/app#username",
            "-s", "PGPASSWORD=database/creds/app#password",
            "--", "/usr/bin/python3", POOL_APP, str(envfile), str(log)]
    p = lw.start(args, env=lw.base_env(vault, pg))
    try:
        lw.wait_for(lambda: sum(e["event"] == "swap" for e in pool_events(log)) >= 3,
                    timeout=lw.TIMEOUT * 2, what="three pool swaps")
        # Queries on the third new user, not just the swap.
        lw.wait_for(lambda: pool_events(log)[-1]["event"] == "query" and
                    [e["event"] for e in pool_events(log)].count("swap") >= 3,
                    what="a query after the third swap")
    finally:
        p.terminate()
        rc = p.wait(timeout=lw.TIMEOUT)
    events = pool_events(log)
    failed = [e for e in events if e["event"] != "query" and e["event"] not in
              ("pool", "swap", "exit") or e["event"] == "query" and not e["ok"]]
    assert failed == [], failed
    assert rc == 0, lw.log_text(p.stderr.read())
    # Each generation's queries ran as its own user, in order.
    users, current = [], None
    for e in events:
        if e["event"] in ("pool", "swap"):
            current = e["user"]
            users.append(current)
        elif e["event"] == "query":
            assert e["user"] == current, e
    assert len(users) >= 4 and len(set(users)) == len(users), users
    assert events[-1]["event"] == "exit"
    lw.assert_no_lease_left(vault, pg)


def test_guide_connection_pool_section_points_at_the_example():
    with open(os.path.join(lw.ROOT, "docs", "guide.md")) as f:
        guide = f.read()
    section = guide[guide.index("## 6. Applications with connection pools"):]
    section = section[:section.index("\n## ", 5)]
    assert "examples/signal-pool/" in section
    assert os.path.isfile(os.path.join(EX, "signal-pool", "README.md"))
