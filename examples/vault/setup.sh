#!/bin/sh
# setup.sh: the Vault side of the leasewrap examples, from start to end, with
# curl against Vault's HTTP API (no vault CLI needed; each step shows the
# equivalent `vault` command).  Safe to run again: every step is an update,
# and engines or auth methods already mounted are left as they are.
#
#   VAULT_ADDR=https://vault.example.com:8200 VAULT_TOKEN=... \
#   PG_HOST=db.example.com PG_ADMIN_USER=vault PG_ADMIN_PASSWORD=... \
#   sh examples/vault/setup.sh
#
# It creates:
#   database/                   the database secrets engine (if not mounted)
#   database/config/postgres    the PostgreSQL connection, roles ro and rw allowed
#   database/roles/ro           SELECT on the tables (and sequences) of PG_SCHEMA
#   database/roles/rw           SELECT, INSERT, UPDATE, DELETE there, and sequences
#   policies app-ro, app-rw     read database/creds/ro (rw), renew and revoke leases
#   auth/kubernetes/            the Kubernetes auth method (if not enabled) and its config
#   auth/kubernetes/role/app    service account "app" in namespace "default" -> app-ro
set -eu

# --- settings (environment) ------------------------------------------------
: "${VAULT_ADDR:?set VAULT_ADDR, like https://vault.example.com:8200}"
if [ -z "${VAULT_TOKEN:-}" ] && [ -r "${HOME:-/nonexistent}/.vault-token" ]; then
	VAULT_TOKEN=$(cat "$HOME/.vault-token")
fi
: "${VAULT_TOKEN:?set VAULT_TOKEN to a token allowed to configure Vault (mounts, policies, auth)}"
VAULT_CACERT=${VAULT_CACERT:-}		# a CA file to trust for Vault's certificate
VAULT_NAMESPACE=${VAULT_NAMESPACE:-}	# Vault Enterprise namespace

: "${PG_HOST:?set PG_HOST, the PostgreSQL host as Vault reaches it}"
PG_PORT=${PG_PORT:-5432}
PG_DATABASE=${PG_DATABASE:-postgres}
PG_SSLMODE=${PG_SSLMODE:-require}	# disable only for a database on a trusted network
PG_SCHEMA=${PG_SCHEMA:-public}
: "${PG_ADMIN_USER:?set PG_ADMIN_USER, a PostgreSQL role with CREATEROLE that Vault uses}"
: "${PG_ADMIN_PASSWORD:?set PG_ADMIN_PASSWORD}"

DB_MOUNT=${DB_MOUNT:-database}
DB_CONNECTION=${DB_CONNECTION:-postgres}
DB_DEFAULT_TTL=${DB_DEFAULT_TTL:-1h}	# each database user lives this long unless renewed
DB_MAX_TTL=${DB_MAX_TTL:-24h}		# and never longer than this; leasewrap rotates before

SKIP_KUBERNETES=${SKIP_KUBERNETES:-0}
K8S_MOUNT=${K8S_MOUNT:-kubernetes}
K8S_HOST=${K8S_HOST:-https://kubernetes.default.svc}
K8S_CA_CERT_FILE=${K8S_CA_CERT_FILE:-}		# needed when Vault runs outside the cluster
K8S_TOKEN_REVIEWER_JWT_FILE=${K8S_TOKEN_REVIEWER_JWT_FILE:-}	# likewise
K8S_ROLE=${K8S_ROLE:-app}
K8S_SERVICE_ACCOUNT=${K8S_SERVICE_ACCOUNT:-app}
K8S_NAMESPACE=${K8S_NAMESPACE:-default}
K8S_POLICY=${K8S_POLICY:-app-ro}
TOKEN_TTL=${TOKEN_TTL:-1h}
TOKEN_MAX_TTL=${TOKEN_MAX_TTL:-24h}

# --- helpers ----------------------------------------------------------------
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/leasewrap-setup.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The token goes in a curl config file, not in argv where ps(1) shows it.
{
	printf 'header = "X-Vault-Token: %s"\n' "$VAULT_TOKEN"
	[ -n "$VAULT_NAMESPACE" ] && printf 'header = "X-Vault-Namespace: %s"\n' "$VAULT_NAMESPACE"
	[ -n "$VAULT_CACERT" ] && printf 'cacert = "%s"\n' "$VAULT_CACERT"
	printf 'connect-timeout = 10\nmax-time = 60\n'
} >"$work/curlrc"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

# json STRING: STRING as a JSON string literal (quotes, backslashes, tabs, newlines).
json() {
	printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' |
	    awk 'BEGIN { ORS = ""; print "\"" } NR > 1 { print "\\n" } { print } END { print "\"" }'
}

# call METHOD PATH [JSON]: sets $status; the response body is in $work/out.
call() {
	_method=$1 _path=$2
	if [ $# -ge 3 ]; then
		printf '%s' "$3" >"$work/body"	# may hold a password: a file, not argv
		set -- -H 'Content-Type: application/json' --data-binary "@$work/body"
	else
		set --
	fi
	status=$(curl -sS -K "$work/curlrc" -X "$_method" -o "$work/out" \
	    -w '%{http_code}' "$@" "$VAULT_ADDR/v1/$_path") ||
	    die "$_method $_path: cannot reach Vault at $VAULT_ADDR"
	rm -f "$work/body"
}

# api METHOD PATH [JSON]: call, and stop unless Vault answered 200 or 204.
api() {
	call "$@"
	case $status in
	200 | 204) ;;
	*) die "$1 $2: HTTP $status: $(cut -c1-400 "$work/out")" ;;
	esac
}

# mounted LISTPATH KEY: is KEY (like "database/") among the mounts Vault lists?
mounted() {
	api GET "$1"
	grep -qF "\"$2\"" "$work/out"
}

# enable_once LISTPATH ENABLEPATH KEY TYPE: mount TYPE at KEY unless something is there.
enable_once() {
	if mounted "$1" "$3"; then
		say "$3 is already enabled"
		return 0
	fi
	say "enabling $4 at $3"
	call POST "$2" "{\"type\": $(json "$4")}"
	case $status in
	200 | 204) ;;
	400) grep -q 'path is already in use' "$work/out" ||
		die "POST $2: HTTP 400: $(cut -c1-400 "$work/out")" ;;
	*) die "POST $2: HTTP $status: $(cut -c1-400 "$work/out")" ;;
	esac
}

q() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }	# SQL identifier
DB=$(q "$PG_DATABASE")
SCHEMA=$(q "$PG_SCHEMA")

# --- 1. the database secrets engine ----------------------------------------
# vault secrets enable -path=database database
enable_once sys/mounts "sys/mounts/$DB_MOUNT" "$DB_MOUNT/" database

# --- 2. the PostgreSQL connection --------------------------------------------
# vault write database/config/postgres plugin_name=postgresql-database-plugin \
#     connection_url='postgresql://{{username}}:{{password}}@HOST:5432/postgres?sslmode=require' \
#     username=vault password=... allowed_roles=ro,rw
# Vault fills in {{username}} and {{password}}: the password is never in the URL.
# Afterwards, `vault write -f database/rotate-root/postgres` makes the admin
# password known to Vault alone (do it once you no longer need that password).
say "configuring $DB_MOUNT/config/$DB_CONNECTION ($PG_HOST:$PG_PORT/$PG_DATABASE)"
url="postgresql://{{username}}:{{password}}@$PG_HOST:$PG_PORT/$PG_DATABASE?sslmode=$PG_SSLMODE"
api POST "$DB_MOUNT/config/$DB_CONNECTION" "{
  \"plugin_name\": \"postgresql-database-plugin\",
  \"connection_url\": $(json "$url"),
  \"username\": $(json "$PG_ADMIN_USER"),
  \"password\": $(json "$PG_ADMIN_PASSWORD"),
  \"allowed_roles\": \"ro,rw\",
  \"verify_connection\": true
}"

# --- 3. roles: what a database user from database/creds/ro or rw may do -------
# vault write database/roles/ro db_name=postgres default_ttl=1h max_ttl=24h \
#     creation_statements=@ro-create.sql revocation_statements=@ro-revoke.sql
# The revocation statements undo the grants, end the user's open sessions,
# then drop the user.  Vault runs only these statements: without the
# pg_terminate_backend line, sessions opened by a revoked user keep running
# after DROP ROLE.  Ending them needs PG_ADMIN_USER to hold pg_signal_backend
# (GRANT pg_signal_backend TO vault;); leave the line out to let them finish.
login="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT CONNECT ON DATABASE $DB TO \"{{name}}\";
GRANT USAGE ON SCHEMA $SCHEMA TO \"{{name}}\";"
revoke="REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA $SCHEMA FROM \"{{name}}\";
REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA $SCHEMA FROM \"{{name}}\";
REVOKE USAGE ON SCHEMA $SCHEMA FROM \"{{name}}\";
REVOKE CONNECT ON DATABASE $DB FROM \"{{name}}\";
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';
DROP ROLE IF EXISTS \"{{name}}\";"

say "writing $DB_MOUNT/roles/ro (SELECT in schema $PG_SCHEMA; ttl $DB_DEFAULT_TTL, max $DB_MAX_TTL)"
api POST "$DB_MOUNT/roles/ro" "{
  \"db_name\": $(json "$DB_CONNECTION"),
  \"creation_statements\": $(json "$login
GRANT SELECT ON ALL TABLES IN SCHEMA $SCHEMA TO \"{{name}}\";
GRANT SELECT ON ALL SEQUENCES IN SCHEMA $SCHEMA TO \"{{name}}\";"),
  \"revocation_statements\": $(json "$revoke"),
  \"default_ttl\": $(json "$DB_DEFAULT_TTL"),
  \"max_ttl\": $(json "$DB_MAX_TTL")
}"

say "writing $DB_MOUNT/roles/rw (SELECT, INSERT, UPDATE, DELETE in schema $PG_SCHEMA)"
api POST "$DB_MOUNT/roles/rw" "{
  \"db_name\": $(json "$DB_CONNECTION"),
  \"creation_statements\": $(json "$login
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA $SCHEMA TO \"{{name}}\";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA $SCHEMA TO \"{{name}}\";"),
  \"revocation_statements\": $(json "$revoke"),
  \"default_ttl\": $(json "$DB_DEFAULT_TTL"),
  \"max_ttl\": $(json "$DB_MAX_TTL")
}"

# --- 4. policies ---------------------------------------------------------------
# vault policy write app-ro app-ro.hcl
# Vault's default policy lets a token renew its leases (sys/leases/renew) but
# not revoke them: without "update" on sys/leases/revoke leasewrap cannot
# revoke at exit, and the users live until their TTL runs out.  (The default
# policy also grants what leasewrap reads besides: auth/token/lookup-self,
# renew-self, revoke-self and sys/internal/ui/mounts/*.)
policy() {	# policy NAME DBROLE
	say "writing policy $1"
	api PUT "sys/policies/acl/$1" "{\"policy\": $(json "path \"$DB_MOUNT/creds/$2\" {
  capabilities = [\"read\"]
}
path \"sys/leases/renew\" {
  capabilities = [\"update\"]
}
path \"sys/leases/revoke\" {
  capabilities = [\"update\"]
}
")}"
}
policy app-ro ro
policy app-rw rw

# --- 5. Kubernetes auth: pods log in with their service account token -------------
if [ "$SKIP_KUBERNETES" = 1 ]; then
	say "SKIP_KUBERNETES=1: not setting up Kubernetes auth"
	say "done"
	exit 0
fi
# vault auth enable kubernetes
enable_once sys/auth "sys/auth/$K8S_MOUNT" "$K8S_MOUNT/" kubernetes

# vault write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc
# With Vault running in the cluster, it reviews tokens with its own service
# account and CA; from outside, give K8S_CA_CERT_FILE and K8S_TOKEN_REVIEWER_JWT_FILE.
say "configuring auth/$K8S_MOUNT/config ($K8S_HOST)"
extra=""
if [ -n "$K8S_CA_CERT_FILE" ]; then
	extra="$extra, \"kubernetes_ca_cert\": $(json "$(cat "$K8S_CA_CERT_FILE")")"
fi
if [ -n "$K8S_TOKEN_REVIEWER_JWT_FILE" ]; then
	extra="$extra, \"token_reviewer_jwt\": $(json "$(cat "$K8S_TOKEN_REVIEWER_JWT_FILE")")"
fi
api POST "auth/$K8S_MOUNT/config" "{\"kubernetes_host\": $(json "$K8S_HOST")$extra}"

# vault write auth/kubernetes/role/app bound_service_account_names=app \
#     bound_service_account_namespaces=default token_policies=app-ro \
#     token_ttl=1h token_max_ttl=24h
say "writing auth/$K8S_MOUNT/role/$K8S_ROLE ($K8S_NAMESPACE/$K8S_SERVICE_ACCOUNT -> $K8S_POLICY)"
api POST "auth/$K8S_MOUNT/role/$K8S_ROLE" "{
  \"bound_service_account_names\": [$(json "$K8S_SERVICE_ACCOUNT")],
  \"bound_service_account_namespaces\": [$(json "$K8S_NAMESPACE")],
  \"token_policies\": [$(json "$K8S_POLICY")],
  \"token_ttl\": $(json "$TOKEN_TTL"),
  \"token_max_ttl\": $(json "$TOKEN_MAX_TTL")
}"
say "done"
