"""pytest fixtures: a session PostgreSQL cluster and a fresh Vault emulator per test.

Fixtures:
  pg       session  harness.PostgresCluster (superuser lwsuper on 127.0.0.1:pg.port)
  vault    function harness.VaultEmulator, started, database/config/pg pointing at `pg`
  db_role  function factory: db_role(name="ro", default_ttl=60, max_ttl=300, **kw) -> name
  pki      session  pki.PKI: test CA, server/wrong/client certs, JWT RSA key (temp dir, removed)
  vault_tls function harness.VaultEmulator over HTTPS (https://127.0.0.1:PORT, server cert for
           127.0.0.1, client certs from pki.ca_cert accepted), database/config/pg like `vault`
"""

import os
import shutil
import signal
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import lw  # noqa: E402
import pki as pki_mod  # noqa: E402


# Private tmp_path root per run (removed at exit); SIGTERM/SIGHUP become KeyboardInterrupt
# so fixture teardown still stops everything.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if not config.option.basetemp:
        config.option.basetemp = tempfile.mkdtemp(prefix="lw-pytest-")
        config._lw_basetemp = config.option.basetemp

    # Raises KeyboardInterrupt in the main thread so pytest tears fixtures down.
    def interrupt(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


# Removes the private tmp_path root created in pytest_configure.
def pytest_unconfigure(config):
    path = getattr(config, "_lw_basetemp", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)


# Records each phase's report on the item so fixtures can tell a failed test.
@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# Records what leasewrap prints during each test (lw.record and friends); a test
# with no emulator is scanned here for the tokens it gave leasewrap, one with
# an emulator in _emulator's teardown, for every value the emulator handed out.
@pytest.fixture(autouse=True)
def leasewrap_output(request):
    lw.begin_test(request.node.nodeid)
    try:
        yield
        if not lw.scanned():
            lw.scan()
    finally:
        lw.end_test()


# Session-wide PostgreSQL 15 cluster in a temp folder; stopped and removed at the end.
@pytest.fixture(scope="session")
def pg():
    cluster = harness.PostgresCluster().start(watchdog=True)
    try:
        yield cluster
    finally:
        cluster.stop()


# A fresh emulator for each test, with database/config/pg configured against `pg`.
@pytest.fixture
def vault(pg, request):
    yield from _emulator(pg, request)


# Session-wide test PKI (tests/pki.py) in a private temp folder, removed at the end.
@pytest.fixture(scope="session")
def pki():
    directory = tempfile.mkdtemp(prefix="lw-pki-")
    try:
        yield pki_mod.make_pki(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# Like `vault`, but serving HTTPS with the test PKI's 127.0.0.1 certificate.
@pytest.fixture
def vault_tls(pg, pki, request):
    yield from _emulator(pg, request, tls=pki)


# Starts an emulator configured against `pg`; on teardown scans what leasewrap printed
# for the secrets it handed out (failing the test if one is there), stops it and drops
# leftover users.
def _emulator(pg, request, **start_kw):
    emu = harness.VaultEmulator().start(**start_kw)
    users = []
    try:
        emu.configure_postgres(pg)
        yield emu
    finally:
        try:
            users = [e["username"] for e in emu.journal()
                     if e["kind"] == "lease" and e.get("event") == "create" and e.get("username")]
        except Exception:
            pass
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            sys.stderr.write("\n--- vaultemu log tail ---\n%s\n" % emu.log_tail())
        try:
            scan_output(emu, request)
        finally:
            emu.stop()
            # Leases left alive at the end of a test would keep their users: drop them.
            if users:
                pg.drop_roles(users)


# Fails the test if leasewrap printed a value emu handed out (or the test gave it).
def scan_output(emu, request):
    secrets = emu.secrets() + [emu.root_token] if lw.recorded() else []
    lw.scan(secrets, request.node.nodeid)


# Factory creating database/roles/<name> on the test's emulator.
@pytest.fixture
def db_role(vault):
    def make(name="ro", default_ttl=60, max_ttl=300, **kw):
        vault.create_db_role(name, default_ttl, max_ttl, **kw)
        return name
    return make
