"""examples/ works as written: each test runs an example's own command line,
config file or script against the Vault emulator and a real PostgreSQL.

Docker, Kubernetes and systemd are not available here: their files are parsed
and checked, and the leasewrap command lines in them are run directly.
"""
import base64
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
import warnings

import pytest

import lw

EX = os.path.join(lw.ROOT, "examples")
SETUP_SH = os.path.join(EX, "vault", "setup.sh")
BACKUP_SH = os.path.join(EX, "cron", "backup.sh")
PSQL = "/usr/bin/psql"
RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]

# Options of other programs that the examples' READMEs mention.
FOREIGN_FLAGS = {"--stop-timeout", "--kill-whom", "--now", "--no-install-recommends", "--rm",
                 "--from", "--format", "--no-owner", "--no-privileges", "--file",
                 "--no-create-home", "--system", "--uid", "--user-group", "--init",
                 "--cacert", "--resolve", "--listen", "--port"}


# --------------------------------------------------------------------------
# helpers

def read(*parts):
    with open(os.path.join(EX, *parts), encoding="utf-8") as f:
        return f.read()


def help_flags():
    out = lw.run(["--help"]).stdout
    return set(re.findall(r"(--[a-z][a-z-]+)", out))


def dynamic_roles(pg):
    return {r for r in pg.roles() if r.startswith("v-")}


def live_leases(vault):
    return [l for l in vault.leases() if l["lease_id"].startswith("database/creds/")]


def assert_all_revoked(vault, pg, user=None):
    """No database lease left in Vault and no dynamic user left in PostgreSQL."""
    assert live_leases(vault) == []
    assert dynamic_roles(pg) == set()
    if user:
        assert user not in pg.roles()


def assert_no_password(text, vault):
    """No secret the emulator handed out but a database user's name is in text
    (the examples print whom they connected as)."""
    for v in vault.secrets():
        if isinstance(v, str) and len(v) >= 6 and not v.startswith("v-"):
            assert v not in text, "a secret value appears in the output"


def seconds(text):
    """A systemd or leasewrap duration ("60", "10s", "2h5min", "1h30m") in seconds."""
    units = {"h": 3600, "min": 60, "m": 60, "s": 1, "ms": 0.001, "": 1}
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|min|h|m|s|)", text.strip()):
        total += float(num) * units[unit]
    return total


def note(message):
    """Say, in pytest's summary, what part of a test could not run here."""
    warnings.warn(message)
    print(message)


def bin_dir(tmp_path):
    """A folder with `leasewrap` in it (the binary under test), for PATH."""
    d = tmp_path / "bin"
    if not d.exists():
        d.mkdir()
        os.symlink(lw.BINARY, str(d / "leasewrap"))
    return str(d)


def pg_env(pg, database):
    return {"PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": database,
            "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "10"}


@pytest.fixture
def database(pg, vault):
    """A database of its own with a table "example" of two rows (dropped after)."""
    name = "lw_ex_" + secrets.token_hex(4)
    pg.query('CREATE DATABASE "%s"' % name)
    try:
        conn = pg.connect(dbname=name)
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE example (id serial PRIMARY KEY, name text)")
                cur.execute("INSERT INTO example (name) VALUES ('one'), ('two')")
        finally:
            conn.close()
        yield name
    finally:
        pg.query('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def run_setup(vault, pg, tmp_path, database, kubernetes=False):
    """examples/vault/setup.sh against the emulator, run by /bin/sh."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "LANG": "C", "VAULT_ADDR": vault.addr, "VAULT_TOKEN": vault.root_token,
           "PG_HOST": pg.host, "PG_PORT": str(pg.port), "PG_DATABASE": database,
           "PG_SSLMODE": "disable", "PG_ADMIN_USER": pg.superuser,
           "PG_ADMIN_PASSWORD": pg.password, "SKIP_KUBERNETES": "0" if kubernetes else "1"}
    r = subprocess.run(["/bin/sh", SETUP_SH], env=env, capture_output=True, text=True,
                       timeout=lw.TIMEOUT * 2)
    assert r.returncode == 0, r.stdout + r.stderr
    assert pg.password not in r.stdout + r.stderr
    leftovers = [p for p in os.listdir(str(tmp_path)) if p.startswith("leasewrap-setup.")]
    assert leftovers == [], "setup.sh left its temporary folder behind"
    return r


def need_curl():
    if shutil.which("curl") is None:
        pytest.skip("examples/vault/setup.sh needs curl, which is not installed")


def kubernetes_auth_supported(vault):
    """Can the emulator enable the Kubernetes auth method?  (Tried at a spare path.)"""
    status, _ = vault.api("POST", "sys/auth/lw-probe", {"type": "kubernetes"})
    if status not in (200, 204):
        return False
    vault._ok(vault.api("DELETE", "sys/auth/lw-probe"), "disable probe")
    return True


def approle_login(vault, role, policy, folder):
    """An AppRole role with its role-id and secret-id files in folder; False if the
    emulator has no AppRole yet."""
    status, body = vault.api("POST", "sys/auth/approle", {"type": "approle"})
    if status not in (200, 204) and "already in use" not in json.dumps(body):
        return False
    vault._ok(vault.api("POST", "auth/approle/role/" + role,
                        {"token_policies": [policy], "token_ttl": "1h"}), "approle role")
    status, body = vault.api("GET", "auth/approle/role/%s/role-id" % role)
    assert status == 200, body
    role_id = body["data"]["role_id"]
    status, body = vault.api("POST", "auth/approle/role/%s/secret-id" % role, {})
    assert status == 200, body
    for name, value in (("role-id", role_id), ("secret-id", body["data"]["secret_id"])):
        path = os.path.join(folder, "%s.%s" % (role, name))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
    return True


def installed_config(src, etc, vault):
    """Copy an example config into etc, its /etc/leasewrap/ paths moved there and
    vault_addr pointed at the emulator; returns the copy's path."""
    with open(src, encoding="utf-8") as f:
        cfg = json.loads(f.read().replace("/etc/leasewrap/", str(etc) + "/"))
    cfg["vault_addr"] = vault.addr
    dst = os.path.join(str(etc), os.path.basename(src))
    with open(dst, "w") as f:
        json.dump(cfg, f)
    return dst


def login_accessors(vault):
    return [e["accessor"] for e in vault.journal()
            if e.get("kind") == "login" and e.get("status") == 200]


def assert_logins_revoked(vault):
    accessors = login_accessors(vault)
    assert accessors, "no login happened"
    live = {t["accessor"] for t in vault.tokens()}
    assert not live.intersection(accessors), "a login token was left alive"


def unit(name):
    """A systemd unit file as {section: [(key, value), ...]}, continuations joined."""
    text = read("systemd", name).replace("\\\n", " ")
    sections, cur = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            cur = sections.setdefault(m.group(1), [])
            continue
        key, _, value = line.partition("=")
        cur.append((key.strip(), value.strip()))
    return sections


def unit_value(sections, section, key):
    values = [v for k, v in sections.get(section, []) if k == key]
    assert values, "%s= missing in [%s]" % (key, section)
    return values[-1]


def unit_environment(sections):
    env = {}
    for k, v in sections["Service"]:
        if k == "Environment":
            for item in shlex.split(v):
                name, _, value = item.partition("=")
                env[name] = value
    return env


# --------------------------------------------------------------------------
# every example

def test_every_example_has_a_readme():
    folders = sorted(d for d in os.listdir(EX) if os.path.isdir(os.path.join(EX, d)))
    for d in ("docker", "kubernetes", "systemd", "cron", "legacy", "vault"):
        assert d in folders
    for d in folders:
        assert os.path.isfile(os.path.join(EX, d, "README.md")) or d == "demo", d


def test_readmes_name_only_real_leasewrap_flags():
    known = help_flags() | FOREIGN_FLAGS
    for d in sorted(os.listdir(EX)):
        path = os.path.join(EX, d, "README.md")
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", f.read()))
        assert flags - known == set(), path


# --------------------------------------------------------------------------
# docker

def dockerfile():
    """Stages of the Dockerfile: [(FROM line, [(INSTRUCTION, args), ...]), ...]."""
    text = read("docker", "Dockerfile")
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append((args.strip(), []))
        else:
            stages[-1][1].append((instr, args.strip()))
    return stages


def apt_packages(stage):
    pkgs = set()
    for instr, args in stage[1]:
        if instr == "RUN" and "apt-get install" in args:
            for cmd in args.split("&&"):
                if "apt-get install" in cmd:
                    pkgs |= {w for w in cmd.split()[2:] if not w.startswith("-")
                             and w != "install"}
    return pkgs


def test_docker_entrypoint_cmd_and_packages():
    stages = dockerfile()
    assert len(stages) == 2
    assert all(s[0].split()[0] == "debian:12-slim" for s in stages)
    final = stages[-1][1]
    entry = [json.loads(a) for i, a in final if i == "ENTRYPOINT"][-1]
    cmd = [json.loads(a) for i, a in final if i == "CMD"][-1]
    assert entry == ["leasewrap", "--config", "/etc/leasewrap.json", "--"]
    assert isinstance(cmd, list) and cmd and all(isinstance(w, str) for w in cmd)
    copies = [a for i, a in final if i == "COPY"]
    assert "examples/docker/leasewrap.json /etc/leasewrap.json" in copies
    assert "--from=build /src/leasewrap /usr/local/bin/leasewrap" in copies

    # The build stage installs what the Makefile says a build needs.
    with open(os.path.join(lw.ROOT, "Makefile")) as f:
        mk = f.read().replace("\\\n", " ")
    build_debs = set(re.search(r"^BUILD_DEBS\s*=(.*)$", mk, re.M).group(1).split())
    assert build_debs <= apt_packages(stages[0])

    # The run-time stage installs the package of every library leasewrap links.
    runtime = apt_packages(stages[1])
    assert {"libcurl4", "libjansson4", "libev4", "libmicrohttpd12", "ca-certificates"} <= runtime
    if shutil.which("ldd") is None or shutil.which("dpkg") is None:
        note("docker: no ldd or dpkg here; run-time libraries not checked against the binary")
        return
    out = subprocess.run(["ldd", lw.BINARY], capture_output=True, text=True).stdout
    needed = subprocess.run(["readelf", "-d", lw.BINARY], capture_output=True,
                            text=True).stdout
    direct = set(re.findall(r"Shared library: \[([^\]]+)\]", needed))
    # And the libraries src/dl.c loads with dlopen, which ldd cannot see.
    with open(os.path.join(lw.ROOT, "src", "dl.c")) as f:
        dlopened = re.findall(r'#define \w+_SONAME\s+"([^"]+)"', f.read())
    assert {"libcurl.so.4", "libmicrohttpd.so.12"} <= set(dlopened)
    cache = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    for soname in dlopened:
        m = re.search(r"^\s*%s \(libc6,x86-64\) => (\S+)" % re.escape(soname), cache, re.M)
        assert m, "%s not in ldconfig's cache" % soname
        out += "\t%s => %s\n" % (soname, m.group(1))
        direct.add(soname)
    for soname, path in re.findall(r"^\s*(\S+) => (\S+)", out, re.M):
        # The sanitizer runtimes of `make asan` (clang's needs libgcc_s) are no
        # run-time library of the shipped binary.
        sanitizer = os.environ.get("LW_SANITIZED") and re.match(r"libgcc_s\.", soname)
        if (soname not in direct or sanitizer or
                re.match(r"lib(c|m|dl|pthread|asan|ubsan|lsan)\.", soname)):
            continue
        owner = None
        for cand in (os.path.realpath(path), path, "/usr" + path):
            r = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0]
                break
        assert owner, "no package owns " + path
        assert owner in runtime, "%s (%s) is not installed in the image" % (soname, owner)


def test_docker_entrypoint_runs_with_the_sample_config(vault, pg, db_role):
    db_role("ro")
    final = dockerfile()[-1][1]
    entry = [json.loads(a) for i, a in final if i == "ENTRYPOINT"][-1]
    cmd = [json.loads(a) for i, a in final if i == "CMD"][-1]
    config = os.path.join(EX, "docker", "leasewrap.json")
    argv = [config if w == "/etc/leasewrap.json" else w for w in entry[1:] + cmd]
    # VAULT_ADDR from the environment wins over the file's vault_addr.
    r = lw.run(argv, env=lw.base_env(vault, pg))
    assert r.returncode == 0, r.stderr
    user = r.stdout.strip()
    assert user.startswith("v-"), r.stdout
    assert_all_revoked(vault, pg, user)
    lw.assert_no_secret(r.stderr, vault)

    # Without VAULT_TOKEN it reads token_file, which does not exist here.
    env = lw.base_env(None, pg, VAULT_ADDR=vault.addr)
    r = lw.run(argv, env=env)
    assert r.returncode == lw.EXIT_CONFIG
    assert "/run/secrets/vault-token" in lw.log_text(r.stderr)


# --------------------------------------------------------------------------
# kubernetes

def manifests():
    yaml = pytest.importorskip("yaml")
    docs = {}
    folder = os.path.join(EX, "kubernetes")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".yaml"):
            with open(os.path.join(folder, name)) as f:
                docs[name] = [d for d in yaml.safe_load_all(f) if d is not None]
    return docs


def by_kind(kind):
    found = [d for ds in manifests().values() for d in ds if d["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def pod_spec(obj):
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def leasewrap_argv(obj):
    """command + args of the container that runs leasewrap."""
    for c in pod_spec(obj)["containers"]:
        argv = list(c.get("command", [])) + list(c.get("args", []))
        if argv and argv[0] == "leasewrap":
            return [str(a) for a in argv], c
    raise AssertionError("no leasewrap container in " + obj["metadata"]["name"])


def with_flags(argv, extra):
    """argv with extra options put before its "--" (flags win over the config)."""
    i = argv.index("--")
    return argv[:i] + extra + argv[i:]


def test_kubernetes_manifests_parse():
    docs = manifests()
    assert set(docs) >= {"serviceaccount.yaml", "deployment.yaml", "cronjob.yaml"}
    for name, ds in docs.items():
        assert ds, name
        for d in ds:
            assert d.get("apiVersion") and d.get("kind"), name
            assert d["metadata"].get("name"), name


def test_kubernetes_flags_are_leasewrap_flags():
    known = help_flags()
    for kind in ("Deployment", "CronJob"):
        argv, _ = leasewrap_argv(by_kind(kind))
        assert "--" in argv, kind
        opts = argv[1:argv.index("--")]
        flags = {a.split("=")[0] for a in opts if a.startswith("--")}
        assert flags, kind
        assert flags <= known, (kind, flags - known)
    argv, _ = leasewrap_argv(by_kind("Deployment"))
    opts = argv[:argv.index("--")]
    assert opts[opts.index("--auth") + 1] == "kubernetes"
    assert opts[opts.index("--auth-role") + 1] == "app"
    assert "PGUSER=database/creds/ro#username" in opts
    assert "PGPASSWORD=database/creds/ro#password" in opts
    argv, _ = leasewrap_argv(by_kind("CronJob"))
    assert "--timeout" in argv[:argv.index("--")]


def test_kubernetes_names_agree_with_each_other_and_setup_sh():
    sa = by_kind("ServiceAccount")["metadata"]
    setup = read("vault", "setup.sh")
    default = dict(re.findall(r"^(K8S_\w+)=\$\{K8S_\w+:-([^}]*)\}", setup, re.M))
    assert (default["K8S_SERVICE_ACCOUNT"], default["K8S_NAMESPACE"]) == \
        (sa["name"], sa["namespace"])
    config = json.loads(by_kind("ConfigMap")["data"]["leasewrap.json"])
    assert config["auth_role"] == default["K8S_ROLE"] and config["auth"] == "kubernetes"
    for kind in ("Deployment", "CronJob"):
        obj = by_kind(kind)
        spec = pod_spec(obj)
        assert spec["serviceAccountName"] == sa["name"], kind
        assert obj["metadata"]["namespace"] == sa["namespace"], kind
        assert spec.get("terminationGracePeriodSeconds", 30) > 30, kind
    argv, _ = leasewrap_argv(by_kind("Deployment"))
    assert argv[argv.index("--auth-role") + 1] == default["K8S_ROLE"]
    # The job's --config is the ConfigMap's file where its volume is mounted.
    job = by_kind("CronJob")
    argv, c = leasewrap_argv(job)
    path = argv[argv.index("--config") + 1]
    mount = [m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/")][0]
    vol = [v for v in pod_spec(job)["volumes"] if v["name"] == mount["name"]][0]
    assert vol["configMap"]["name"] == by_kind("ConfigMap")["metadata"]["name"]
    assert os.path.basename(path) in by_kind("ConfigMap")["data"]
    deadline = job["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    assert deadline > seconds(argv[argv.index("--timeout") + 1])


def test_kubernetes_job_config_and_command_run(vault, pg, db_role, tmp_path):
    # The ConfigMap's leasewrap.json and the CronJob's command, logging in with
    # a token instead of Kubernetes (--auth on the command line wins).
    db_role("ro")
    job = by_kind("CronJob")
    argv, c = leasewrap_argv(job)
    cfg = tmp_path / "leasewrap.json"
    cfg.write_text(by_kind("ConfigMap")["data"]["leasewrap.json"])
    argv[argv.index("--config") + 1] = str(cfg)
    env = lw.base_env(vault, pg)
    r = lw.run(with_flags(argv[1:], ["--auth", "token"]), env=env)
    assert r.returncode == 0, r.stderr
    assert "relname" in r.stdout
    assert_all_revoked(vault, pg)


def service_account_jwt(path, namespace, name):
    """A service account token as the kubelet mounts it (unsigned: the emulator,
    unlike Vault, does not ask a Kubernetes API to review it)."""
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    claims = {"iss": "https://kubernetes.default.svc.cluster.local",
              "sub": "system:serviceaccount:%s:%s" % (namespace, name),
              "aud": ["https://kubernetes.default.svc.cluster.local"],
              "exp": int(time.time()) + 3600, "iat": int(time.time()),
              "kubernetes.io": {"namespace": namespace,
                                "serviceaccount": {"name": name, "uid": "0c0ffee0"}}}
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("%s.%s.%s" % (b64({"alg": "RS256", "kid": "k"}), b64(claims),
                              base64.urlsafe_b64encode(b"sig").rstrip(b"=").decode()))


# --------------------------------------------------------------------------
# vault/setup.sh

def test_vault_setup_sh_database_roles_and_policies(vault, pg, database, tmp_path):
    need_curl()
    kubernetes = kubernetes_auth_supported(vault)
    if not kubernetes:
        note("vault/setup.sh: the emulator cannot enable Kubernetes auth yet; "
             "ran with SKIP_KUBERNETES=1")
    # Twice: the second run finds everything in place and succeeds too.
    first = run_setup(vault, pg, tmp_path, database, kubernetes)
    second = run_setup(vault, pg, tmp_path, database, kubernetes)
    assert "enabling database" not in first.stdout     # the fixture mounted database/
    assert "database/ is already enabled" in second.stdout
    if kubernetes:
        assert "enabling kubernetes" in first.stdout
        assert "kubernetes/ is already enabled" in second.stdout

    status, body = vault.api("GET", "sys/policies/acl/app-ro")
    assert status == 200 and "sys/leases/revoke" in body["data"]["policy"]

    ro = vault.create_token(policies=["app-ro"])
    rw = vault.create_token(policies=["app-rw"])
    env = lw.base_env(None, pg, VAULT_ADDR=vault.addr, **pg_env(pg, database))
    count = [PSQL, "-X", "-tAc", "select count(*) from example"]
    insert = [PSQL, "-X", "-v", "ON_ERROR_STOP=1", "-tAc",
              "insert into example (name) values ('three')"]

    # app-ro: SELECT works, INSERT does not (psql's exit code 1 comes through).
    r = lw.run(RO + ["--"] + count, env=dict(env, VAULT_TOKEN=ro))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "2"
    r = lw.run(RO + ["--"] + insert, env=dict(env, VAULT_TOKEN=ro))
    assert r.returncode == 1 and "permission denied" in r.stderr
    # app-ro may not read rw credentials.
    r = lw.run(["-s", "PGUSER=database/creds/rw#username", "--", "true"],
               env=dict(env, VAULT_TOKEN=ro))
    assert r.returncode == lw.EXIT_NOPERM, r.stderr
    # app-rw: INSERT works.
    rw_spec = ["-s", "PGUSER=database/creds/rw#username",
               "-s", "PGPASSWORD=database/creds/rw#password"]
    r = lw.run(rw_spec + ["--"] + insert, env=dict(env, VAULT_TOKEN=rw))
    assert r.returncode == 0, r.stderr
    r = lw.run(rw_spec + ["--"] + count, env=dict(env, VAULT_TOKEN=rw))
    assert r.stdout.strip() == "3"

    # The policies allow the revocation: every user is gone.
    revokes = [e for e in vault.journal() if e.get("kind") == "lease"
               and e.get("event") == "revoke"]
    assert len(revokes) == 4
    assert_all_revoked(vault, pg)


def test_vault_setup_sh_kubernetes_login_runs_the_manifests(vault, pg, database, tmp_path):
    need_curl()
    if not kubernetes_auth_supported(vault):
        pytest.skip("the Vault emulator cannot enable Kubernetes auth (sys/auth/kubernetes) yet")
    run_setup(vault, pg, tmp_path, database, kubernetes=True)
    status, body = vault.api("GET", "auth/kubernetes/role/app")
    assert status == 200, body
    assert body["data"]["token_policies"] == ["app-ro"]
    assert body["data"]["token_ttl"] == 3600 and body["data"]["token_max_ttl"] == 86400

    sa = by_kind("ServiceAccount")["metadata"]
    jwt = tmp_path / "token"
    service_account_jwt(jwt, sa["namespace"], sa["name"])
    env = lw.base_env(None, pg, VAULT_ADDR=vault.addr, **pg_env(pg, database))

    # The Deployment's command, exactly, with the token file named and a test program.
    argv, _ = leasewrap_argv(by_kind("Deployment"))
    argv = with_flags(argv[:argv.index("--") + 1], ["--jwt-file", str(jwt)])
    r = lw.run(argv[1:] + [PSQL, "-X", "-tAc", "select current_user, count(*) from example"],
               env=env)
    assert r.returncode == 0, r.stderr
    user, count = r.stdout.strip().split("|")
    assert user.startswith("v-") and count == "2"
    assert_all_revoked(vault, pg, user)
    assert_logins_revoked(vault)

    # The CronJob's command with the ConfigMap's leasewrap.json as it is.
    job_argv, _ = leasewrap_argv(by_kind("CronJob"))
    cfg = tmp_path / "leasewrap.json"
    cfg.write_text(by_kind("ConfigMap")["data"]["leasewrap.json"])
    job_argv[job_argv.index("--config") + 1] = str(cfg)
    r = lw.run(with_flags(job_argv[1:], ["--jwt-file", str(jwt)]), env=env)
    assert r.returncode == 0, r.stderr
    assert "example" in r.stdout
    assert_all_revoked(vault, pg)
    assert_logins_revoked(vault)

    # A service account the role does not bind is refused: 77, nothing started.
    other = tmp_path / "other"
    service_account_jwt(other, sa["namespace"], "someone-else")
    r = lw.run(with_flags(argv[1:], ["--jwt-file", str(other)]) + ["true"], env=env)
    assert r.returncode == lw.EXIT_NOPERM, r.stderr
    assert_all_revoked(vault, pg)


# --------------------------------------------------------------------------
# systemd

def test_systemd_unit_settings():
    svc = unit("myapp.service")
    assert unit_value(svc, "Service", "ExecStart") == \
        "/usr/local/bin/leasewrap --config /etc/leasewrap/myapp.json -- /usr/local/bin/myapp"
    assert unit_value(svc, "Service", "KillMode") in ("mixed", "process")
    assert unit_value(svc, "Service", "Restart") == "on-failure"
    with open(os.path.join(EX, "systemd", "myapp.json")) as f:
        cfg = json.load(f)
    # Stopping may take the app's shutdown, kill_timeout and a revocation (30s).
    assert seconds(unit_value(svc, "Service", "TimeoutStopSec")) >= \
        seconds(cfg["kill_timeout"]) + 30
    for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                      ("PrivateTmp", "yes"), ("ProtectHome", "yes")):
        assert unit_value(svc, "Service", key) == want, key
    assert unit_value(svc, "Install", "WantedBy") == "multi-user.target"

    job = unit("leasewrap-job.service")
    assert unit_value(job, "Service", "Type") == "oneshot"
    assert unit_value(job, "Service", "KillMode") in ("mixed", "process")
    argv = shlex.split(unit_value(job, "Service", "ExecStart"))
    assert argv[0] == "/usr/local/bin/leasewrap" and "--" in argv
    timeout = seconds(argv[argv.index("--timeout") + 1])
    assert seconds(unit_value(job, "Service", "TimeoutStartSec")) > timeout
    assert unit_value(job, "Service", "ReadWritePaths") == \
        unit_environment(job)["BACKUP_DIR"]
    timer = unit("leasewrap-job.timer")
    assert unit_value(timer, "Timer", "OnCalendar")
    assert unit_value(timer, "Install", "WantedBy") == "timers.target"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    # verify wants the ExecStart programs to exist: point them at real files.
    subst = {"/usr/local/bin/leasewrap": lw.BINARY, "/usr/local/bin/myapp": "/bin/true",
             "/usr/local/bin/backup.sh": BACKUP_SH}
    names = ["myapp.service", "leasewrap-job.service", "leasewrap-job.timer"]
    for name in names:
        text = read("systemd", name)
        for a, b in subst.items():
            text = text.replace(a, b)
        (tmp_path / name).write_text(text)
    r = subprocess.run([tool, "--man=no", "verify"] + [str(tmp_path / n) for n in names],
                       capture_output=True, text=True, timeout=lw.TIMEOUT * 2)
    assert r.returncode == 0, r.stderr
    for word in ("Unknown", "ignoring", "Failed", "rror"):
        assert word not in r.stderr, r.stderr


def unit_env(name, pg, database, **extra):
    env = unit_environment(unit(name))
    env.update(pg_env(pg, database))
    env.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C", "HOME": "/nonexistent"})
    env.update(extra)
    return env


def login_or_token(vault, role, folder, env):
    """AppRole files for the example's config (False), or, on an emulator without
    AppRole, a token in env (True: override the config's auth on the command line)."""
    if approle_login(vault, role, "app-ro", folder):
        return False
    note("%s: the emulator has no AppRole yet; logged in with a token instead" % role)
    env["VAULT_TOKEN"] = vault.root_token
    return True


def test_systemd_service_execstart_runs(vault, pg, database, tmp_path):
    need_curl()
    run_setup(vault, pg, tmp_path, database)
    etc = tmp_path / "etc"
    etc.mkdir()
    config = installed_config(os.path.join(EX, "systemd", "myapp.json"), etc, vault)
    app = tmp_path / "myapp"
    app.write_text("#!/bin/sh\npsql -X -tAc 'select current_user' || exit 9\nexit 3\n")
    app.chmod(0o755)
    env = unit_env("myapp.service", pg, database)
    token = login_or_token(vault, "myapp", str(etc), env)
    subst = {"/usr/local/bin/leasewrap": lw.BINARY, "/etc/leasewrap/myapp.json": config,
             "/usr/local/bin/myapp": str(app)}
    sections = unit("myapp.service")
    argv = [subst.get(a, a) for a in shlex.split(unit_value(sections, "Service", "ExecStart"))]
    if token:
        argv = with_flags(argv, ["--auth", "token"])
    r = lw.run_cmd(argv, env=env)
    # myapp's exit code is the unit's: Restart=on-failure sees it.
    assert r.returncode == 3, r.stderr
    user = r.stdout.strip()
    assert user.startswith("v-"), r.stdout
    assert_all_revoked(vault, pg, user)
    if not token:
        assert_logins_revoked(vault)
    lw.assert_no_secret(r.stderr, vault)


def backup_config(vault, tmp_path, env):
    """examples/cron/backup.json installed with its AppRole files (used by the
    systemd job too); returns (config path, whether a token stands in)."""
    etc = tmp_path / "etc"
    etc.mkdir(exist_ok=True)
    config = installed_config(os.path.join(EX, "cron", "backup.json"), etc, vault)
    return config, login_or_token(vault, "backup", str(etc), env)


def test_systemd_timer_job_execstart_runs(vault, pg, database, tmp_path):
    need_curl()
    run_setup(vault, pg, tmp_path, database)
    backups = tmp_path / "backups"
    env = unit_env("leasewrap-job.service", pg, database, BACKUP_DIR=str(backups))
    config, token = backup_config(vault, tmp_path, env)
    subst = {"/usr/local/bin/leasewrap": lw.BINARY, "/etc/leasewrap/backup.json": config,
             "/usr/local/bin/backup.sh": BACKUP_SH}
    argv = [subst.get(a, a) for a in
            shlex.split(unit_value(unit("leasewrap-job.service"), "Service", "ExecStart"))]
    if token:
        argv = with_flags(argv, ["--auth", "token"])
    r = lw.run_cmd(argv, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    dumps = [p for p in os.listdir(str(backups)) if p.endswith(".dump")]
    assert len(dumps) == 1 and dumps[0].startswith(database + "-"), dumps
    assert_all_revoked(vault, pg)
    if not token:
        assert_logins_revoked(vault)


# --------------------------------------------------------------------------
# cron

def crontab():
    """(variables, schedule, command) of the crontab's one job line."""
    env, jobs = {}, []
    for line in read("cron", "crontab").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z_]\w*)\s*=\s*(.*)", line)
        if m:
            env[m.group(1)] = m.group(2)
            continue
        fields = line.split(None, 5)
        jobs.append((fields[:5], fields[5]))
    assert len(jobs) == 1
    return env, jobs[0][0], jobs[0][1]


def test_cron_line_runs_and_passes_the_exit_code(vault, pg, database, tmp_path):
    need_curl()
    run_setup(vault, pg, tmp_path, database)
    variables, schedule, command = crontab()
    assert schedule == ["0", "3", "*", "*", "*"]
    assert command.startswith("leasewrap --timeout 2h --config /etc/leasewrap/backup.json -- ")
    backups = tmp_path / "backups"
    log = tmp_path / "backup.log"
    env = dict(variables)
    env.update(pg_env(pg, database))
    env.update({"BACKUP_DIR": str(backups), "HOME": str(tmp_path), "LOGNAME": "backup",
                "SHELL": "/bin/sh", "LANG": "C",
                # The binary under test comes first, where cron's line finds "leasewrap".
                "PATH": bin_dir(tmp_path) + ":" + variables["PATH"]})
    config, token = backup_config(vault, tmp_path, env)
    line = (command.replace("/etc/leasewrap/backup.json", config)
            .replace("/usr/local/bin/backup.sh", BACKUP_SH)
            .replace("/var/log/backup.log", str(log)))
    if token:
        line = line.replace(" -- ", " --auth token -- ", 1)

    # As cron runs it: /bin/sh -c, output appended to the log, where leasewrap's
    # lines meet backup.sh's (which names its user: the command's, not scanned).
    r = lw.run_cmd(["/bin/sh", "-c", line], env=env)
    text = log.read_text()
    lw.record_log_lines(text, "backup.log of " + line)
    assert r.returncode == 0, text
    assert "backup: " + database in text and "bytes" in text
    dumps = sorted(p for p in os.listdir(str(backups)) if p.endswith(".dump"))
    assert len(dumps) == 1, dumps
    listing = subprocess.run(["pg_restore", "--list", str(backups / dumps[0])],
                             capture_output=True, text=True, timeout=lw.TIMEOUT)
    assert listing.returncode == 0 and "TABLE public example" in listing.stdout
    assert_all_revoked(vault, pg)
    assert_no_password(text, vault)

    # A failing pg_dump: its exit code (1) is leasewrap's, and the user is gone too.
    r = lw.run_cmd(["/bin/sh", "-c", line], env=dict(env, PGDATABASE=database + "_nope"))
    lw.record_log_lines(log.read_text()[len(text):], "backup.log of " + line)
    assert r.returncode == 1, log.read_text()
    assert not [p for p in os.listdir(str(backups)) if p.endswith(".partial")]
    assert_all_revoked(vault, pg)
    if not token:
        assert_logins_revoked(vault)


# --------------------------------------------------------------------------
# legacy

def test_legacy_readme_commands_run_as_written(vault, pg, db_role, tmp_path):
    db_role("ro")
    readme = read("legacy", "README.md")
    lines = [l.strip() for l in readme.splitlines()
             if "leasewrap" in l and l.strip().endswith("./legacy-report.sh")]
    assert lines[0] == ("leasewrap -s PGUSER=database/creds/ro#username "
                        "-s PGPASSWORD=database/creds/ro#password -- ./legacy-report.sh")
    assert len(lines) == 2
    env = lw.base_env(vault, pg)
    env["PATH"] = bin_dir(tmp_path) + ":" + env["PATH"]
    for line in lines:
        r = lw.run_cmd(["/bin/sh", "-c", line], env=env, cwd=os.path.join(EX, "legacy"))
        assert r.returncode == 0, r.stderr
        out = dict(l.split(": ", 1) for l in r.stdout.splitlines()[1:])
        assert r.stdout.startswith("report: postgres on %s:%d" % (pg.host, pg.port))
        user = out["connected as"]
        assert user.startswith("v-")
        assert_all_revoked(vault, pg, user)
        assert_no_password(r.stdout + r.stderr, vault)

    # Without leasewrap it has no login and says so.
    r = subprocess.run([os.path.join(EX, "legacy", "legacy-report.sh")],
                       env=lw.base_env(None, pg), capture_output=True, text=True,
                       timeout=lw.TIMEOUT)
    assert r.returncode == 2 and "PGUSER and PGPASSWORD" in r.stderr
