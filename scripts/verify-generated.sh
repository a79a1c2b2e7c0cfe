#!/usr/bin/env bash
# make verify-generated: regenerate zz_generated/ for the given DPDK versions and
# fail when the result differs from what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for v in "$@"; do args+=(-dpdk "$v"); done
go run ./gen "${args[@]}"
if ! git diff --exit-code --stat -- zz_generated || [ -n "$(git ls-files -o --exclude-standard zz_generated)" ]; then
	git ls-files -o --exclude-standard zz_generated | sed 's/^/untracked: /'
	echo "verify-generated: zz_generated/ is out of date: run make generate and commit the result" >&2
	exit 1
fi
echo "verify-generated: zz_generated/ matches the generator for DPDK $*"
