#!/usr/bin/env bash
# Builds every plugin under plugins/ into its drop-in form: OUT/<id>/plugin.json and
# OUT/<id>/plugin.wasm (a wasm32-wasip2 component). Rust plugins (a Cargo.toml) are built
# with cargo; Python plugins (an app.py and no Cargo.toml) with componentize-py 0.25.1 on
# the Python guest SDK (guest-sdk-python/), for the world `capture-plugin`, or
# `capture-plugin-http` when their plugin.json requires "net-http"; remote plugins (a
# plugin.json and nothing to build) are copied as they are.
#
#   scripts/build-plugins.sh [--test] [OUT]     OUT defaults to target/plugins
#   scripts/build-plugins.sh --crate DIR        a stand-alone plugin folder (a Rust crate or a
#                                               Python plugin, such as one made by
#                                               `openclone plugins new`), built in place:
#                                               DIR/plugin.wasm next to DIR/plugin.json
#
# --test also builds the test plugins under tests/plugins/ (the hostile components the
# end-to-end tests drop in). A folder's plugin.json goes to OUT/<its id>; a manifest under
# a folder's dropins/<name>/plugin.json goes to OUT/<name>, with the folder's component
# (so two folders may build components of the same id). Cargo builds into target/wasm (or
# $PLUGIN_TARGET_DIR), apart from the host's target folder, so it can run while a host
# build or test run holds that. componentize-py runs from the virtualenv $PYTHON_VENV
# (default target/python-venv), which is created with `python3 -m venv` and given
# componentize-py from PyPI when it lacks that version; a Python component is kept in
# target/wasm/python under a hash of its sources, the SDK, the WIT and the world, and
# reused while they are unchanged.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
with_tests=false
if [ "${1:-}" = "--test" ]; then with_tests=true; shift; fi
out="${1:-$root/target/plugins}"
target_dir="${PLUGIN_TARGET_DIR:-$root/target/wasm}"

venv="${PYTHON_VENV:-$root/target/python-venv}"

need_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2 >&2
}

# componentize-py 0.25.1 in $venv, installed from PyPI when it is not there.
need_componentize_py() {
  if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -qx 'componentize-py 0\.25\.1'; then
    echo "installing componentize-py 0.25.1 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check componentize-py==0.25.1 >&2
  fi
}

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# python_world DIR: the world to build the Python plugin DIR for: `capture-plugin-http`
# (which adds wasi:http/outgoing-handler) if its plugin.json, or one under dropins/, lists
# "net-http" in requires_permissions; `capture-plugin` otherwise.
python_world() {
  python3 - "$1"/plugin.json "$1"/dropins/*/plugin.json <<'PY'
import json, os, sys
wants = any(
    "net-http" in json.load(open(path)).get("requires_permissions", [])
    for path in sys.argv[1:]
    if os.path.isfile(path)
)
print("capture-plugin-http" if wants else "capture-plugin")
PY
}

# build_python DIR WASM: the component of the Python plugin DIR (module `app`), quiet unless
# it fails. Its sources and the SDK are staged in a scratch folder first: componentize-py
# writes __pycache__ into every folder on its path, and tests/ and dropins/ have no place in
# the component.
build_python() {
  local dir="$1" wasm="$2" stage="$scratch/stage" log world
  world="$(python_world "$dir")"
  need_componentize_py
  rm -rf "$stage"
  mkdir -p "$stage/app" "$stage/sdk"
  tar -C "$dir" --exclude=./tests --exclude=./dropins --exclude=__pycache__ --exclude='*.wasm' -cf - . | tar -C "$stage/app" -xf -
  tar -C "$root/guest-sdk-python" --exclude=__pycache__ -cf - openclone_guest | tar -C "$stage/sdk" -xf -
  # componentize-py's output is not byte-reproducible, and a new sha256 means a new compile
  # in the host: an unchanged plugin (same sources, SDK, WIT and world) reuses its build.
  local key built
  key="$( (cd "$stage" && find . -type f | LC_ALL=C sort | xargs sha256sum; \
           find "$root/wit" -type f | LC_ALL=C sort | xargs sha256sum; \
           echo "$world componentize-py 0.25.1") | sha256sum | cut -c1-32)"
  built="$target_dir/python/$key.wasm"
  if [ ! -f "$built" ]; then
    mkdir -p "$target_dir/python"
    if ! log="$("$venv/bin/componentize-py" -q -d "$root/wit" -w "$world" componentize -p "$stage/app" -p "$stage/sdk" app -o "$built.tmp" 2>&1)"; then
      echo "$log" >&2
      echo "componentize-py failed for $dir" >&2
      rm -f "$built.tmp"
      return 1
    fi
    mv "$built.tmp" "$built"
  fi
  cp "$built" "$wasm"
}

if [ "${1:-}" = "--crate" ]; then
  # One plugin folder: what `openclone plugins build` does (it reads plugin.json and
  # Cargo.toml with the host's own parsers and picks the world).
  exec cargo run --quiet --manifest-path "$root/Cargo.toml" -p openclone-host -- plugins build "${2:?--crate needs a folder}"
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
  need_wasm_target
  (cd "$root" && cargo build --quiet --profile plugin --target wasm32-wasip2 --target-dir "$target_dir" "${packages[@]}")
fi

for d in "${dirs[@]}"; do
  d="${d%/}"
  python_wasm=""
  if [ ! -f "$d/Cargo.toml" ] && [ -f "$d/app.py" ]; then
    python_wasm="$scratch/plugin.wasm"
    build_python "$d" "$python_wasm"
  fi
  for manifest in "$d"/plugin.json "$d"/dropins/*/plugin.json; do
    [ -f "$manifest" ] || continue
    if [ "$manifest" = "$d/plugin.json" ]; then
      name="$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1)"
    else
      name="$(basename "$(dirname "$manifest")")"
    fi
    dest="$out/$name"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$manifest" "$dest/plugin.json"
    if [ -f "$d/Cargo.toml" ]; then
      crate="$(sed -n 's/^name = "\(.*\)"/\1/p' "$d/Cargo.toml" | head -n 1)"
      cp "$target_dir/wasm32-wasip2/plugin/${crate//-/_}.wasm" "$dest/plugin.wasm"
    elif [ -n "$python_wasm" ]; then
      cp "$python_wasm" "$dest/plugin.wasm"
    fi
  done
done
echo "plugins built into $out" >&2
