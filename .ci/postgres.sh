#!/usr/bin/env bash
# Start a local PostgreSQL for the `postgres`-marked tests and print the URL to export.
#   eval "$(bash .ci/postgres.sh)"   # sets CODESUGGEST_TEST_POSTGRES_URL
# Needs root (apt-get, pg_ctlcluster). Idempotent: an installed, running cluster is reused.
set -euo pipefail
exec 3>&1 1>&2   # progress on stderr; only the export line goes to stdout

ROLE=${CODESUGGEST_PG_ROLE:-codesuggest}
PASSWORD=${CODESUGGEST_PG_PASSWORD:-codesuggest}
DB=${CODESUGGEST_PG_DB:-codesuggest_test}

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main"' | grep -q .; then
    pg_createcluster "$VERSION" main
fi
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    # The server outlives this script: start it with every descriptor above 2 closed (Python's
    # subprocess does that), or it keeps fd 3 -- the pipe of the caller's "$(...)" -- open and
    # `eval "$(bash .ci/postgres.sh)"` waits for ever (a fresh CI machine hung here).
    python3 -c 'import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL).returncode)' \
        pg_ctlcluster "$VERSION" main start
fi
PORT=$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')

for _ in $(seq 1 30); do
    su postgres -c "pg_isready -q -p $PORT" && break
    sleep 1
done

psql_admin() { su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -qtA $*"; }
if [ -z "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'\"")" ]; then
    psql_admin "-c \"CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'\""
fi
if [ -z "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"")" ]; then
    psql_admin "-c \"CREATE DATABASE $DB OWNER $ROLE\""
fi

echo "PostgreSQL $VERSION on 127.0.0.1:$PORT, database $DB" >&2
echo "export CODESUGGEST_TEST_POSTGRES_URL=postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB" >&3
