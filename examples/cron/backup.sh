#!/bin/sh
# backup.sh: dump one PostgreSQL database to $BACKUP_DIR, keep $BACKUP_KEEP_DAYS
# days of dumps.  It connects as PGUSER/PGPASSWORD, which leasewrap puts in its
# environment (a database user that exists for this run only), and PGHOST,
# PGPORT, PGDATABASE (and any other PG* variable) from the crontab or unit.
# The exit code is pg_dump's: leasewrap passes it on to cron or systemd.
set -eu
: "${PGUSER:?PGUSER is not set: run me under leasewrap}"
: "${PGPASSWORD:?PGPASSWORD is not set: run me under leasewrap}"
: "${PGDATABASE:?set PGDATABASE}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/postgres}
BACKUP_KEEP_DAYS=${BACKUP_KEEP_DAYS:-14}

umask 077
mkdir -p "$BACKUP_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$BACKUP_DIR/$PGDATABASE-$stamp.dump"
tmp="$out.partial"
trap 'rm -f "$tmp"' EXIT
trap 'exit 143' TERM	# leasewrap forwards SIGTERM (and --timeout sends it)
trap 'exit 130' INT

echo "backup: $PGDATABASE on ${PGHOST:-localhost} as $PGUSER -> $out"
pg_dump --format=custom --no-owner --no-privileges --file="$tmp"
mv "$tmp" "$out"
echo "backup: $(wc -c <"$out") bytes"
find "$BACKUP_DIR" -name "$PGDATABASE-*.dump" -type f -mtime +"$BACKUP_KEEP_DAYS" -exec rm -f {} +
