"""Black-box tests of a --token-file that another process rotates (issue 10 item 7;
a Vault Agent file sink, vault#6395): leasewrap notices the new token, uses it from then
on, and replaces the credentials leased under the old token before that token ends."""
import os
import signal

import lw

RO = ["-s", "PGUSER=database/creds/ro#username",
      "-s", "PGPASSWORD=database/creds/ro#password"]


def write_like_an_agent_sink(path, token):
    """Vault Agent's file sink writes "<name>.tmp.<id>" and renames it over the sink
    (V:command/agentproxyshared/sink/file/file_sink.go@18bf11d WriteToken)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(token)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def start_on_sink(vault, pg, tmp_path, token, args):
    """A sink file holding token, and leasewrap reading RO with --token-file on it."""
    vault.create_db_role("ro", default_ttl=60, max_ttl=300)
    sink = str(tmp_path / "agent-token")
    write_like_an_agent_sink(sink, token)
    env = lw.base_env(None, pg, VAULT_ADDR=vault.addr)
    return sink, lw.start(["--token-file", sink] + args + RO +
                          ["--", "sh", "-c", "exec sleep 60"], env=env)


def by(vault, accessor, path=None):
    return [e for e in vault.journal() if e.get("kind") == "request"
            and e.get("token_accessor") == accessor and (path is None or e["path"] == path)]


def test_rotated_token_file_is_followed(vault, pg, tmp_path):
    """Token A ends in 12 s and cannot be renewed, so its lease would die with it (on the
    old code: exit 79 before then). The file gets token B: leasewrap switches to B, reads
    new credentials under B before A ends, and outlives A."""
    a = vault.create_token_auth(policies=["root"], ttl="12s", renewable=False)
    b = vault.create_token_auth(policies=["root"], ttl="1h")
    sink, p = start_on_sink(vault, pg, tmp_path, a["client_token"], ["--kill-timeout", "1s"])
    try:
        lw.wait_for(lambda: by(vault, a["accessor"], "database/creds/ro"), what="read under A")
        write_like_an_agent_sink(sink, b["client_token"] + "\n")
        lw.wait_for(lambda: by(vault, b["accessor"], "database/creds/ro"),
                    timeout=lw.TIMEOUT, what="new credentials read under B")
        assert by(vault, b["accessor"], "auth/token/lookup-self")
        # A expires; leasewrap and its command go on.
        lw.wait_for(lambda: a["accessor"] not in {t["accessor"] for t in vault.tokens()},
                    timeout=lw.TIMEOUT, what="token A expired")
        assert p.poll() is None, p.stderr.read()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 143, err
    assert "holds a new token" in lw.log_text(err)
    lw.assert_no_lease_left(vault, pg)


def test_token_file_with_the_same_token_changes_nothing(vault, pg, tmp_path):
    """Rewriting the file with the same token is not a new token."""
    a = vault.create_token_auth(policies=["root"], ttl="1h")
    sink, p = start_on_sink(vault, pg, tmp_path, a["client_token"], ["--timeout", "4s"])
    try:
        lw.wait_for(lambda: by(vault, a["accessor"], "database/creds/ro"), what="read")
        write_like_an_agent_sink(sink, a["client_token"] + "\n")
        _, err = p.communicate(timeout=lw.TIMEOUT)
    finally:
        lw.kill_quietly(p)
    assert p.returncode == 124, err
    assert "holds a new token" not in lw.log_text(err)
    assert len([e for e in vault.journal() if e.get("kind") == "request"
                and e["path"] == "database/creds/ro"]) == 1
