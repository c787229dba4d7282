#!/bin/sh
# Connects with the credentials leasewrap put in PGUSER and PGPASSWORD.
# It never prints the password.  The demo (run.sh) sets DEMO_USER_FILE to
# learn the user's name for its check after leasewrap exits.
set -eu
user=$(psql -tAc 'select current_user')
echo "connected as $user"
echo "PGPASSWORD is set: $( [ -n "${PGPASSWORD:-}" ] && echo yes || echo no)"
echo "VAULT_TOKEN is set: $( [ -n "${VAULT_TOKEN:-}" ] && echo yes || echo no)"
if [ -n "${DEMO_USER_FILE:-}" ]; then
	printf '%s\n' "$user" >"$DEMO_USER_FILE"
fi
