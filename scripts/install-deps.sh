#!/usr/bin/env bash
# Install everything `make test` and `make gameday` need, on Debian 12 (or an
# Ubuntu with PostgreSQL 15), as root. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  postgresql-15 etcd-server etcd-client haproxy redis-server
  nftables iproute2 util-linux python3-venv wrk
  nats-server  # the event brokers (JetStream), the stand-in for MSK + MirrorMaker 2
  postgresql-15-pglogical  # ADR-037's multi-writer topology: logical replication both ways
  chromium  # the report test opens the HTML report headless
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done

if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}; run 'sudo make deps'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # The sandbox runs its own PostgreSQL clusters; Debian would otherwise create
  # a default 'main' cluster on port 5432 of the host. Turn that off first.
  installed postgresql-common || apt-get install -y -qq postgresql-common >/dev/null
  sed -i -E 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # The sandbox runs its own brokers in its namespaces; Debian's unit would
  # start one more on every address of the host. Turn it off where systemd runs.
  if [ -d /run/systemd/system ]; then systemctl disable --now nats-server.service >/dev/null 2>&1 || true; fi
fi

# The harness's virtualenv, from Debian's Python so it does not depend on a
# per-user interpreter.
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  /usr/bin/python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'

# Patroni runs as the postgres user. When postgres cannot read this checkout
# (a private home directory), it gets its own copy of the same pinned release
# where it can; aftershock.sandbox.postgres.patroni_bin() decides which.
if ! .venv/bin/python -c 'import sys
from aftershock.sandbox.postgres import PROJECT_PATRONI, patroni_bin
sys.exit(patroni_bin() != PROJECT_PATRONI)'; then
  patroni_req=$(.venv/bin/python -c 'import tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(next(d for d in deps if d.startswith("patroni")))')
  psycopg_req=$(.venv/bin/python -c 'import tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(next(d for d in deps if d.startswith("psycopg[")))')
  echo "postgres cannot read $(pwd): installing $patroni_req in /opt/aftershock/patroni"
  [ -x /opt/aftershock/patroni/bin/python ] || /usr/bin/python3 -m venv /opt/aftershock/patroni
  /opt/aftershock/patroni/bin/pip install -q --disable-pip-version-check "$patroni_req" "$psycopg_req"
fi

# The example service in another language (examples/services/orders-api, Node.js):
# its npm packages, from its lock file. Building a service is its own step, not the
# harness's; this one is the project's, so the project's files do it.
ORDERS_API=examples/services/orders-api
if command -v npm >/dev/null 2>&1; then
  if [ ! -d "$ORDERS_API/node_modules" ] || [ "$ORDERS_API/package-lock.json" -nt "$ORDERS_API/node_modules" ]; then
    echo "installing the npm packages of $ORDERS_API"
    (cd "$ORDERS_API" && npm ci --no-audit --no-fund --omit=dev --loglevel=error >/dev/null)
    touch "$ORDERS_API/node_modules"
  fi
else
  echo "note: no npm on this machine: the example service $ORDERS_API cannot run" >&2
fi
