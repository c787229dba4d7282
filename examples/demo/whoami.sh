#!/bin/sh
# Connects with the credentials leasewrap put in PGUSER and PGPASSWORD.
# It never prints the password.
set -eu
echo "connected as $(psql -tAc 'select current_user')"
echo "PGPASSWORD is set: $( [ -n "${PGPASSWORD:-}" ] && echo yes || echo no)"
echo "VAULT_TOKEN is set: $( [ -n "${VAULT_TOKEN:-}" ] && echo yes || echo no)"
