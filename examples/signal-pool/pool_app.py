#!/usr/bin/python3
"""A program with a psycopg2 connection pool that follows leasewrap's
rotations in signal mode: on SIGHUP it re-reads its env file, opens a new
pool with the new user and password, and closes the old pool, so no
connection is left on a user that is about to be dropped.

usage: pool_app.py ENV_FILE [LOG_FILE]

Run it under leasewrap with --on-change signal:SIGHUP --env-file ENV_FILE
(README.md).  It runs "select current_user" every POOL_QUERY_INTERVAL
seconds (default 0.1) and prints one JSON line per event (the pool opened or
swapped, each query, its exit) to stdout or LOG_FILE.  It never prints a password.
"""
import signal

# First thing, before any slow import: catch SIGHUP.  A SIGHUP that comes
# before a handler exists takes its default action, which ends the program
# (tests/pgprobe.py does the same).  The handler only notes the signal; the
# main loop swaps the pool between two queries.
_reload = []
_stop = []
signal.signal(signal.SIGHUP, lambda sig, frame: _reload.append(sig))
signal.signal(signal.SIGTERM, lambda sig, frame: _stop.append(sig))
signal.signal(signal.SIGINT, lambda sig, frame: _stop.append(sig))

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import psycopg2  # noqa: E402
from dotenv import dotenv_values  # noqa: E402
from psycopg2.pool import SimpleConnectionPool  # noqa: E402

INTERVAL = float(os.environ.get("POOL_QUERY_INTERVAL", "0.1"))


def usage():
    sys.exit("usage: pool_app.py ENV_FILE [LOG_FILE]")


def say(out, event, **fields):
    fields.update(event=event, t=round(time.time(), 3))
    out.write(json.dumps(fields) + "\n")
    out.flush()


def open_pool(env_file):
    """A pool on the credentials in env_file (host, port and database come
    from PGHOST, PGPORT and PGDATABASE, as libpq reads them)."""
    creds = dotenv_values(env_file)
    pool = SimpleConnectionPool(1, 4, user=creds["PGUSER"],
                                password=creds["PGPASSWORD"],
                                connect_timeout=5)
    return pool, creds["PGUSER"]


def query(pool):
    """One query on a pooled connection; the connection goes back to the
    pool, or is closed if it failed."""
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("select current_user")
            user = cur.fetchone()[0]
        conn.rollback()  # end the read-only transaction
    except psycopg2.Error:
        pool.putconn(conn, close=True)
        raise
    pool.putconn(conn)
    return user


def main(argv):
    if len(argv) not in (2, 3):
        usage()
    env_file = argv[1]
    out = open(argv[2], "a") if len(argv) == 3 else sys.stdout
    pool, user = open_pool(env_file)
    generation = 1
    say(out, "pool", generation=generation, user=user)
    while not _stop:
        if _reload:
            del _reload[:]
            try:
                new, user = open_pool(env_file)
            except (OSError, KeyError, psycopg2.Error) as e:
                # Keep the old pool: it works until its user is dropped.
                say(out, "swap_failed", error=str(e).strip().splitlines()[0])
            else:
                old, pool = pool, new
                old.closeall()
                generation += 1
                say(out, "swap", generation=generation, user=user)
        try:
            say(out, "query", ok=True, user=query(pool))
        except psycopg2.Error as e:
            say(out, "query", ok=False, error=str(e).strip().splitlines()[0])
        time.sleep(INTERVAL)
    pool.closeall()
    say(out, "exit", generation=generation)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
