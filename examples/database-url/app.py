#!/usr/bin/env python3
"""An application that reads its database from one DATABASE_URL, as Rails,
Django's dj-database-url, Prisma and Heroku-style apps do (README.md).

usage: DATABASE_URL=postgresql://USER:PASSWORD@HOST:PORT/DB app.py

It connects, says whom it connected as, and exits.  It never prints the URL
(it holds the password).  Python 3 and psycopg2 (Debian: python3-psycopg2).
"""
import os
import sys
import urllib.parse

import psycopg2


def hide(text, url):
    """text without the URL or its password (libpq may quote a bad URL)."""
    raw = urllib.parse.urlsplit(url).password
    for s in (url, raw, raw and urllib.parse.unquote(raw)):
        if s:
            text = text.replace(s, "***")
    return text


def main():
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("app.py: DATABASE_URL is not set; run me under leasewrap -T (README.md)")
    # libpq parses the URL and percent-decodes the user and password.
    try:
        conn = psycopg2.connect(url, connect_timeout=10)
    except psycopg2.Error as e:
        sys.exit("app.py: cannot connect: %s" % hide(str(e).strip().splitlines()[0], url))
    try:
        with conn.cursor() as cur:
            cur.execute("select current_user, current_database()")
            user, database = cur.fetchone()
    finally:
        conn.close()
    print("app.py: connected to %s as %s" % (database, user))
    return 0


if __name__ == "__main__":
    sys.exit(main())
