#!/usr/bin/env bash
# Makes PostgreSQL server binaries (initdb, pg_ctl, postgres) available to the test suite.
# The tests start their own throwaway clusters; this script only installs the binaries.
# When they are absent it installs Debian's `postgresql` package (as root, or with sudo).
# Without them, PostgreSQL tests are skipped locally but fail under CI=true.
set -euo pipefail

find_initdb() {
    command -v initdb 2>/dev/null && return 0
    ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

found=$(find_initdb || true)
if [ -n "$found" ]; then
    echo "PostgreSQL server binaries: $(dirname "$found")"
    exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo); else sudo=(false); fi
    echo "PostgreSQL not found: installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    if "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null; then
        found=$(find_initdb || true)
    fi
fi

if [ -n "$found" ]; then
    echo "PostgreSQL server binaries: $(dirname "$found")"
    exit 0
fi
echo "PostgreSQL server binaries not found and could not be installed (Debian: apt-get install postgresql)." >&2
if [ "${CI:-}" = "true" ]; then
    exit 1
fi
echo "PostgreSQL tests will be skipped." >&2
