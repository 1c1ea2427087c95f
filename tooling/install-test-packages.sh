#!/usr/bin/env bash
# Installs the Debian packages the tests run for real, each only when missing (one apt-get update at most). Called by
# `npm run setup` and by .ci/run. Without apt-get, it lists what is missing and which tests need it.
# - pgbouncer: the tests that run through a pooler start their own (tooling/test-services/pgbouncer.ts);
# - redis-sentinel: the cache's Sentinel tests start their own sentinels (tooling/test-services/redis-sentinel.ts);
# - postgresql (initdb, pg_basebackup, pg_ctl): the cluster tests start a primary and streaming replicas;
# - prometheus (promtool) checks the /metrics text, chromium loads the dashboard (packages/observability);
# - tmux: the CLI's tests check its progress bar and colours in a pseudo-terminal.
# DynamoDB Local (the dynamo and cli tests) needs Java 17 (`java` on the PATH), which this script does not install.
set -euo pipefail
missing=()
has_command() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
has_command pgbouncer || missing+=(pgbouncer)
has_command redis-sentinel || missing+=(redis-sentinel)
{ has_command pg_config && [ -x "$(pg_config --bindir)/initdb" ]; } || missing+=(postgresql)
has_command promtool || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
has_command tmux || missing+=(tmux)
has_command java || echo "java (17) is missing: the dynamo and cli tests start DynamoDB Local with it" >&2
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing for the tests (install them with your package manager): ${missing[*]}" >&2
  exit 0
fi
as_root=""
if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
$as_root apt-get update
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
