#!/usr/bin/env bash
# make demo: the main job on the embedded default config.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: not wired yet" >&2
exit 1
