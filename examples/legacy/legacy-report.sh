#!/bin/sh
# legacy-report.sh: stands for a program you cannot change that takes its
# database login from the environment: PGUSER and PGPASSWORD, with PGHOST,
# PGPORT and PGDATABASE (every libpq program reads these).  It knows nothing
# about Vault; leasewrap gives it a database user that exists only while it
# runs.  It never prints the password.
set -eu
if [ -z "${PGUSER:-}" ] || [ -z "${PGPASSWORD:-}" ]; then
	echo "legacy-report: PGUSER and PGPASSWORD must be set" >&2
	exit 2
fi
echo "report: ${PGDATABASE:-$PGUSER} on ${PGHOST:-localhost}:${PGPORT:-5432}"
psql -X -q -v ON_ERROR_STOP=1 -tA -F ': ' <<'SQL'
select 'connected as', current_user;
select 'server version', current_setting('server_version');
select 'sessions', count(*) from pg_stat_activity where datname = current_database();
SQL
