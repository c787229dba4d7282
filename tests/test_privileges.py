"""Black-box tests: --user USER[:GROUP] (finding 10 of issue 15).  leasewrap
stays root to talk to Vault; the command runs as USER, so it cannot read the
token file or ~/.vault-token, and still gets its secrets and its env file."""
import os
import shutil
import tempfile

import pytest

import lw

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="--user needs root")

# What the command reports: who it is, HOME, its secret, its env file, and
# whether each of leasewrap's credentials was readable (0) or not (1).
PROBE = r'''
id -u; id -g; id -G; echo "$HOME"; echo "$K"; cat "$1"; stat -c '%u:%g %a' "$1"
for f in "$2" "$3"; do if cat "$f" >/dev/null 2>&1; then echo 0; else echo 1; fi; done
'''


@pytest.fixture
def world(vault):
    """A folder nobody can traverse: the token file and a ~/.vault-token
    (both 0600 root), and an out/ folder for the env file."""
    top = tempfile.mkdtemp(prefix="lw-user-")
    os.chmod(top, 0o755)
    home, out = os.path.join(top, "home"), os.path.join(top, "out")
    os.mkdir(home, 0o755)
    os.mkdir(out, 0o755)
    for p in (os.path.join(top, "token"), os.path.join(home, ".vault-token")):
        with open(p, "w") as f:
            f.write(vault.root_token + "\n")
        os.chmod(p, 0o600)
    vault.kv_put("app", {"k": "runas-secret-1"})
    yield top
    shutil.rmtree(top)


def probe(vault, world, extra_args, **env):
    tokenf = os.path.join(world, "token")
    homet = os.path.join(world, "home", ".vault-token")
    envf = os.path.join(world, "out", "app.env")
    e = lw.base_env(vault, HOME=os.path.join(world, "home"), **env)
    if "VAULT_TOKEN" not in env:
        del e["VAULT_TOKEN"]
    r = lw.run(extra_args + ["-s", "K=secret/app#k", "--env-file", envf, "--",
                             "sh", "-c", PROBE, "sh", envf, tokenf, homet], env=e)
    return r, r.stdout.splitlines()


def test_user_nobody_gets_its_secrets_and_not_the_token(vault, world):
    r, out = probe(vault, world, ["--user", "nobody", "-t", os.path.join(world, "token")])
    assert r.returncode == 0, r.stderr
    uid, gid, groups, home, k, envline, owner, tok, homet = out
    assert (uid, gid, groups) == ("65534", "65534", "65534")
    assert home == "/nonexistent"               # nobody's HOME, not ours
    assert k == "runas-secret-1"
    assert envline == "K=runas-secret-1"        # the env file is readable to it
    assert owner == "65534:65534 600"           # its own, and no one else's
    assert (tok, homet) == ("1", "1")           # neither Vault credential is
    assert not os.path.exists(os.path.join(world, "out", "app.env"))


def test_user_nobody_with_the_token_from_home(vault, world):
    """The token read from our ~/.vault-token, which the command cannot read."""
    r, out = probe(vault, world, ["--user", "65534:nogroup"])
    assert r.returncode == 0, r.stderr
    assert out[:2] == ["65534", "65534"] and out[4] == "runas-secret-1"
    assert out[-2:] == ["1", "1"]


def test_without_user_the_command_can_read_the_token(vault, world):
    """The threat --user removes: a same-user command reads both."""
    r, out = probe(vault, world, ["-t", os.path.join(world, "token")])
    assert r.returncode == 0, r.stderr
    assert out[0] == "0" and out[-3] == "0:0 600" and out[-2:] == ["0", "0"]


def test_user_needs_root(vault, world):
    r = lw.run_cmd(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    lw.BINARY, "--user", "nobody", "-s", "K=secret/app#k", "--",
                    "true"], env=lw.base_env(vault))
    assert r.returncode == 77, r.stderr
    line = lw.one_line(r.stderr, level="error")
    assert "--user" in line and "root" in line, line


@pytest.mark.parametrize("spec", ["no-such-user-x", "nobody:no-such-group-x", ":x", "nobody:"])
def test_unknown_user_or_group_is_a_usage_error(vault, spec):
    r = lw.run(["--user", spec, "-s", "K=secret/app#k", "--", "true"],
               env=lw.base_env(vault))
    assert r.returncode == 64, r.stderr
    assert "--user" in lw.one_line(r.stderr, level="error")
