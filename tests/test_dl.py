"""libcurl, libmicrohttpd and jansson are loaded on first use (src/dl.c): a
run with no secret, no config file and no metrics server never maps them,
and a missing library is one clear line and a documented exit code, not a
loader crash."""
import os
import re
import subprocess

import pytest

import lw
from lw import free_port  # noqa: F401 (fixture)


def maps_of_running(args, env=None):
    """The shared objects a leasewrap running `sleep` has mapped."""
    p = lw.start(args + ["--", "sleep", "1000"], env=env)
    try:
        lw.wait_for(lambda: lw.child_of(p.pid), what="the command")
        with open("/proc/%d/maps" % p.pid) as f:
            maps = f.read()
    finally:
        lw.kill_quietly(p)
    return set(re.findall(r"/(lib[\w+-]+\.so[.\d]*)$", maps, re.M))


def test_plain_supervision_maps_neither_library():
    libs = maps_of_running([])
    assert not [l for l in libs if l.startswith(("libcurl", "libmicrohttpd",
                                                  "libssl", "libgnutls",
                                                  "libjansson"))], libs


def test_metrics_server_loads_libmicrohttpd_only(free_port):
    libs = maps_of_running(["--metrics-addr", "127.0.0.1:%d" % free_port])
    assert "libmicrohttpd.so.12" in {re.sub(r"(\.so\.\d+).*", r"\1", l) for l in libs}
    assert not [l for l in libs if l.startswith("libcurl")], libs


def library_path(soname):
    cache = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True,
                           text=True).stdout
    m = re.search(r"^\s*%s \(libc6,x86-64\) => (\S+)" % re.escape(soname), cache, re.M)
    assert m, soname
    return os.path.realpath(m.group(1))


def run_without(soname, args, env):
    """Run leasewrap in a private mount namespace where soname is an empty file."""
    hide = "mount --bind /dev/null %s && exec \"$@\"" % library_path(soname)
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if r.returncode != 0:
        pytest.skip("unshare -m is not allowed here (needs root): %s" % r.stderr.strip())
    return lw.run(args, env, prefix=["unshare", "-m", "sh", "-c", hide, "sh"])


def test_missing_libcurl_is_one_clear_line(vault):
    r = run_without("libcurl.so.4", ["-s", "A=secret/app#k",
                                     "--", "true"], lw.base_env(vault))
    assert r.returncode == lw.EXIT_SOFTWARE, r.stderr
    line = lw.one_line(r.stderr)
    assert lw.ERROR_LINE.match(line) and "cannot load libcurl.so.4" in line \
        and "install libcurl4" in line, line
    # Without secrets the same machine still supervises.
    r = run_without("libcurl.so.4", ["--", "sh", "-c", "exit 3"], lw.base_env())
    assert r.returncode == 3, r.stderr


def test_missing_libmicrohttpd_is_a_config_error(free_port):
    r = run_without("libmicrohttpd.so.12", ["--metrics-addr",
                                            "127.0.0.1:%d" % free_port, "--", "true"],
                    lw.base_env())
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    line = lw.one_line(r.stderr)
    assert "cannot load libmicrohttpd.so.12" in line and "install libmicrohttpd12" in line


def test_missing_libjansson_is_one_clear_line(vault, tmp_path):
    r = run_without("libjansson.so.4", ["-s", "A=secret/app#k", "--", "true"],
                    lw.base_env(vault))
    assert r.returncode == lw.EXIT_SOFTWARE, r.stderr
    line = lw.one_line(r.stderr)
    assert lw.ERROR_LINE.match(line) and "cannot load libjansson.so.4" in line \
        and "install libjansson4" in line, line
    # So with a spec's parameters, checked at config time as JSON.
    r = run_without("libjansson.so.4", ["-s", "A=secret/data/app?version=1#k",
                                        "--", "true"], lw.base_env(vault))
    assert r.returncode == lw.EXIT_SOFTWARE, r.stderr
    assert "cannot load libjansson.so.4" in lw.one_line(r.stderr), r.stderr
    # A config file is JSON too: a config error.
    conf = tmp_path / "lw.json"
    conf.write_text('{"log_level": "info"}')
    r = run_without("libjansson.so.4", ["-c", str(conf), "--", "true"], lw.base_env())
    assert r.returncode == lw.EXIT_CONFIG, r.stderr
    line = lw.one_line(r.stderr)
    assert "cannot load libjansson.so.4" in line and str(conf) in line, line
    # Without secrets or a config file the same machine still supervises.
    r = run_without("libjansson.so.4", ["--", "sh", "-c", "exit 3"], lw.base_env())
    assert r.returncode == 3, r.stderr
