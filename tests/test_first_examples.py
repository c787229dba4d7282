"""The demo and the examples a newcomer runs first (issue 16 items 5 and 6):
`make demo` reads in order; examples/docker/README names what the Dockerfile
installs; examples/signal-pool keeps a psycopg2 pool alive through rotations
in signal mode with no failed query."""
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
