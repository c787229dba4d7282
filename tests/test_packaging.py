"""Packages: packaging/build-deb and packaging/build-rpm build them, and what is inside.

Each package is built once per module into pytest's tmp_path, unpacked, and its
binary run.  The tools are installed first by packaging/ensure-debs (the Makefile's
PKG_DEBS, also in TEST_DEBS); the tests are skipped, with the reason, only if a
tool is still missing after that.
"""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = "0.1.0"
BUILD_TIMEOUT = 900

DEB_TOOLS = ["dpkg-buildpackage", "dpkg-deb", "dh", "lintian", "fakeroot"]
RPM_TOOLS = ["rpmbuild", "rpm2cpio", "cpio", "rpm"]


def pkg_debs():
    """The Makefile's PKG_DEBS, expanded."""
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", ROOT,
         "--eval", "lw-print-pkg-debs: ; @echo $(PKG_DEBS)", "lw-print-pkg-debs"],
        capture_output=True, text=True, check=True).stdout
    return out.split()


def require(tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        subprocess.run(["sh", os.path.join(ROOT, "packaging", "ensure-debs")] + pkg_debs(),
                       check=False)
        missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip("packaging tools missing after packaging/ensure-debs: " + " ".join(missing))


def build(script, out):
    proc = subprocess.run(["sh", os.path.join(ROOT, "packaging", script), str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (script, proc.stdout, proc.stderr)
    return proc


def only(paths, what):
    assert len(paths) == 1, "expected one %s, found %r" % (what, paths)
    return paths[0]


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    require(DEB_TOOLS)
    out = tmp_path_factory.mktemp("deb")
    build("build-deb", out)
    path = only([p for p in out.iterdir() if p.suffix == ".deb"], ".deb")
    tree = tmp_path_factory.mktemp("deb-tree")
    subprocess.run(["dpkg-deb", "-x", str(path), str(tree)], check=True)
    return {"path": path, "tree": tree, "lintian": out / "lintian.log"}


@pytest.fixture(scope="module")
def rpm(tmp_path_factory):
    require(RPM_TOOLS)
    out = tmp_path_factory.mktemp("rpm")
    build("build-rpm", out)
    path = only([p for p in out.iterdir() if p.suffix == ".rpm"], ".rpm")
    tree = tmp_path_factory.mktemp("rpm-tree")
    with open(path, "rb") as f:
        cpio = subprocess.run(["rpm2cpio"], stdin=f, capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=cpio, cwd=tree, check=True)
    return {"path": path, "tree": tree}


def check_tree(tree):
    binary = tree / "usr" / "bin" / "leasewrap"
    assert binary.is_file() and os.access(binary, os.X_OK)
    man = [p.name for p in (tree / "usr" / "share" / "man" / "man1").iterdir()]
    assert any(n in ("leasewrap.1", "leasewrap.1.gz") for n in man), man
    proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "leasewrap " + VERSION


def test_deb_has_binary_and_man_page_and_runs(deb):
    assert deb["path"].name.startswith("leasewrap_%s-1_" % VERSION)
    check_tree(deb["tree"])


def test_deb_depends_on_the_runtime_libraries(deb):
    depends = subprocess.run(["dpkg-deb", "-f", str(deb["path"]), "Depends"],
                             capture_output=True, text=True, check=True).stdout
    names = {d.strip().split()[0] for d in depends.replace("|", ",").split(",") if d.strip()}
    for lib in ("libcurl4", "libjansson4", "libev4", "libmicrohttpd12"):
        assert lib in names, depends


def test_deb_lintian_reports_no_errors(deb):
    report = deb["lintian"].read_text()
    errors = [line for line in report.splitlines() if line.startswith("E:")]
    assert not errors, report


def test_rpm_has_binary_and_man_page_and_runs(rpm):
    assert rpm["path"].name.startswith("leasewrap-%s-1" % VERSION)
    check_tree(rpm["tree"])
    requires = subprocess.run(["rpm", "-qpR", str(rpm["path"])], capture_output=True,
                              text=True, check=True).stdout
    for lib in ("libcurl.so.4", "libjansson.so.4", "libev.so.4", "libmicrohttpd.so.12"):
        assert lib in requires, requires
