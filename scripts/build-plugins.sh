#!/usr/bin/env bash
# Builds every plugin under plugins/ (with --test also the test plugins under tests/plugins/)
# into drop-in folders OUT/<id>/ (default target/plugins): `openclone plugins build --out`,
# which reads each plugin.json and Cargo.toml with the host's own parsers, builds the Rust
# ones in one cargo call (profile `plugin`, into $PLUGIN_TARGET_DIR, default target/wasm,
# apart from the host's target folder) and the Python ones with componentize-py 0.25.1 from
# the virtualenv $PYTHON_VENV (default target/python-venv). `--crate DIR` builds one folder
# in place. Runs $OPENCLONE_BIN when set, else the host from this checkout.
#
#   scripts/build-plugins.sh [--test] [OUT]  |  scripts/build-plugins.sh --crate DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${OPENCLONE_BIN:-}" ]; then run=("$OPENCLONE_BIN"); else run=(cargo run --quiet --manifest-path "$root/Cargo.toml" -p openclone-host --); fi
if [ "${1:-}" = "--crate" ]; then exec "${run[@]}" plugins build "${2:?--crate needs a folder}"; fi
dirs=("$root"/plugins/*/)
if [ "${1:-}" = "--test" ]; then dirs+=("$root"/tests/plugins/*/); shift; fi
exec "${run[@]}" plugins build --profile plugin --target-dir "${PLUGIN_TARGET_DIR:-$root/target/wasm}" \
  --python-venv "${PYTHON_VENV:-$root/target/python-venv}" --out "${1:-$root/target/plugins}" "${dirs[@]}"
