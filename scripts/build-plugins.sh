#!/usr/bin/env bash
# Builds every plugin under plugins/ into its drop-in form: OUT/<id>/plugin.json and
# OUT/<id>/plugin.wasm (a wasm32-wasip2 component). Remote plugins (a plugin.json and no
# Cargo.toml) are copied as they are.
#
#   scripts/build-plugins.sh [--test] [OUT]     OUT defaults to target/plugins
#   scripts/build-plugins.sh --crate DIR        a stand-alone plugin crate (such as one made by
#                                               `openclone plugins new`), built in place:
#                                               DIR/plugin.wasm next to DIR/plugin.json
#
# --test also builds the test plugins under tests/plugins/ (the hostile components the
# end-to-end tests drop in). Cargo builds into target/wasm (or $PLUGIN_TARGET_DIR), apart
# from the host's target folder, so it can run while a host build or test run holds that.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
with_tests=false
if [ "${1:-}" = "--test" ]; then with_tests=true; shift; fi
out="${1:-$root/target/plugins}"
target_dir="${PLUGIN_TARGET_DIR:-$root/target/wasm}"

rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2 >&2

if [ "${1:-}" = "--crate" ]; then
  dir="$(cd "${2:?--crate needs a folder}" && pwd)"
  crate="$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n 1)"
  cargo build --quiet --release --target wasm32-wasip2 --manifest-path "$dir/Cargo.toml" --target-dir "$target_dir/standalone"
  cp "$target_dir/standalone/wasm32-wasip2/release/${crate//-/_}.wasm" "$dir/plugin.wasm"
  echo "built $dir/plugin.wasm" >&2
  exit 0
fi

dirs=("$root"/plugins/*/)
if $with_tests; then dirs+=("$root"/tests/plugins/*/); fi

packages=()
for d in "${dirs[@]}"; do
  if [ -f "$d/Cargo.toml" ]; then
    packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$d/Cargo.toml" | head -n 1)")
  fi
done
if [ ${#packages[@]} -gt 0 ]; then
  (cd "$root" && cargo build --quiet --profile plugin --target wasm32-wasip2 --target-dir "$target_dir" "${packages[@]}")
fi

for d in "${dirs[@]}"; do
  d="${d%/}"
  for manifest in "$d"/plugin.json "$d"/dropins/*/plugin.json; do
    [ -f "$manifest" ] || continue
    id="$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1)"
    dest="$out/$id"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$manifest" "$dest/plugin.json"
    if [ -f "$d/Cargo.toml" ]; then
      crate="$(sed -n 's/^name = "\(.*\)"/\1/p' "$d/Cargo.toml" | head -n 1)"
      cp "$target_dir/wasm32-wasip2/plugin/${crate//-/_}.wasm" "$dest/plugin.wasm"
    fi
  done
done
echo "plugins built into $out" >&2
