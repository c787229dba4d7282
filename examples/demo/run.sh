#!/bin/sh
# The leasewrap demo: a throwaway PostgreSQL and the Vault API emulator start,
# leasewrap hands a small script a dynamic database user, and once the script
# exits that user no longer exists.  Run it with `make demo`.
#
# It reads in order: the command as it is run, the script's lines as it
# prints them (not captured), leasewrap's revocation, then the check that the
# user is gone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3
state=$(mktemp -d "${TMPDIR:-/tmp}/leasewrap-demo.XXXXXX")
cleanup() {
	$PY "$top/tests/harness.py" down --state-dir "$state" >/dev/null 2>&1 || true
	rm -rf "$state"
}
trap cleanup EXIT INT TERM

echo "== starting PostgreSQL and the Vault emulator"
$PY "$top/tests/harness.py" up --state-dir "$state" >/dev/null
# shellcheck disable=SC1091
. "$state/env"
export VAULT_ADDR VAULT_TOKEN PGHOST PGPORT PGDATABASE
# whoami.sh leaves the user's name here for the check after leasewrap exits.
DEMO_USER_FILE=$state/user
export DEMO_USER_FILE

# The command, echoed exactly as it runs (from the top of the checkout).
cd "$top"
set -- ./leasewrap --log-level info \
	-s PGUSER=database/creds/ro#username \
	-s PGPASSWORD=database/creds/ro#password \
	-- examples/demo/whoami.sh
echo "== $*"
"$@"
user=$(cat "$DEMO_USER_FILE")

echo "== after leasewrap exited: is $user still in pg_roles?"
left=$(PGUSER=$LW_PG_SUPERUSER PGPASSWORD=$LW_PG_PASSWORD \
	psql -tAc "select count(*) from pg_roles where rolname = '$user'")
if [ "$left" = "0" ]; then
	echo "no: the lease was revoked and the user is gone"
else
	echo "yes: the user is still there (this is a bug)" >&2
	exit 1
fi
