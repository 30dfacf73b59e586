#!/bin/bash
# One database and one login role per service, made once, when the PostgreSQL
# data volume is first initialised (mounted into /docker-entrypoint-initdb.d/).
#
# Each service's role owns its own database and nothing else, and PUBLIC may not
# connect to any of them: a service cannot read another service's tables even by
# mistake (DESIGN.md: no service reads another service's database).
# The password of service <name> comes from <NAME>_DB_PASSWORD; a missing one
# stops the initialisation, rather than creating a role anyone could guess.
#
# Works both sourced (not executable) and executed by the image's entrypoint:
# no `exit`, no `set -u`.
set -e

REVLINE_DATABASES="quote contract order billing ledger"

for name in $REVLINE_DATABASES; do
    password_var="$(echo "$name" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    password="$(printenv "$password_var" || true)"
    if [ -z "$password" ]; then
        echo "revline init: $password_var is not set; refusing to create role $name" >&2
        false
    fi
    echo "revline init: database and role $name"
    # psql's :"name" and :'password' quote an identifier and a literal ("order" is reserved).
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
