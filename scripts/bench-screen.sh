#!/usr/bin/env bash
# The screen capability's numbers (BENCHMARKS.md, "Screen"), on a 1920×1080 Xvfb desktop
# with openbox and a full-screen xterm of text (docs/CONTRACT.md):
#   1. grab + hash of the monitor, and OCR of it (cargo bench -p openclone-screen --bench grab);
#   2. three release hosts side by side for DURATION seconds (default 600), each on its own
#      display, each with its plugin compiled into the cache first (one `capture`): screen-ocr
#      at interval_s = 30 on a static screen, on a changing one (an xterm redrawing `ps`
#      output every 5 s), and a baseline running braindump-inbox (a plugin without the
#      screen) at the same interval. Each host's CPU (utime+stime from /proc, the host alone;
#      tesseract, its child, apart) over the window after a 40 s warm-up, its resident set
#      (VmHWM) at the end, and its passes (/metrics).
# Needs Xvfb, openbox, xterm, xdotool, tesseract-ocr (the packages .ci/run installs) and a
# release build (cargo build --release -p openclone-host) plus the plugins
# (scripts/build-plugins.sh; PLUGINS=DIR to use another build of them).
#
#   scripts/bench-screen.sh [DURATION]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-600}"
bin="$root/target/release/openclone"
plugins="${PLUGINS:-$root/target/plugins}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

desktop() { # desktop N: Xvfb :N + openbox + a full-screen xterm of text
    Xvfb ":$1" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 & pids+=($!)
    sleep 1
    DISPLAY=":$1" openbox >/dev/null 2>&1 & pids+=($!)
    sleep 1
    DISPLAY=":$1" xterm -geometry 210x58+0+0 -fa "DejaVu Sans Mono" -fs 11 -bg white -fg black +sb \
        -e sh -c "cat '$root/docs/CONTRACT.md'; exec sleep 100000" >/dev/null 2>&1 & pids+=($!)
    sleep 2
}

host() { # host NAME DISPLAY PLUGIN: a release host running PLUGIN every 30 s
    local dir="$work/$1"
    mkdir -p "$dir/plugins" "$dir/inbox"
    cp -r "$plugins/$3" "$dir/plugins/"
    printf '[activitywatch]\nenabled = false\n\n[plugins.%s]\nenabled = true\nscreen = true\ninterval_s = 30\npaths = ["%s"]\n' "$3" "$dir/inbox" >"$dir/openclone.toml"
    [ "$3" = screen-ocr ] && sed -i '/^paths/d' "$dir/openclone.toml"
    [ "$3" = screen-ocr ] || sed -i '/^screen = true/d' "$dir/openclone.toml"
    (cd "$dir" && DISPLAY="$2" API_KEY=bench "$bin" capture >/dev/null 2>&1)
    (cd "$dir" && DISPLAY="$2" API_KEY=bench exec "$bin" serve --listen 127.0.0.1:0 >"$dir/out.log" 2>"$dir/host.log") & pids+=($!)
    echo $! >"$dir/pid"
}

cpu() { awk '{print $14 + $15, $16 + $17}' "/proc/$1/stat"; } # host ticks, children ticks

desktop 91
echo "== grab + hash, OCR (1920x1080, text-heavy)"
DISPLAY=:91 cargo bench --quiet --manifest-path "$root/Cargo.toml" -p openclone-screen --bench grab

desktop 92
desktop 93
# The changing screen: a second xterm on :93 redraws process listings every 5 s, on top.
DISPLAY=:93 xterm -geometry 210x58+0+0 -fa "DejaVu Sans Mono" -fs 11 -bg white -fg black +sb \
    -e sh -c "while :; do clear; date; ps aux | head -50; sleep 5; done" >/dev/null 2>&1 & pids+=($!)
desktop 94
host static :92 screen-ocr
host changing :93 screen-ocr
host baseline :94 braindump-inbox
sleep 40
hz=$(getconf CLK_TCK)
declare -A before
for h in static changing baseline; do before[$h]="$(cpu "$(cat "$work/$h/pid")")"; done
start=$(date +%s.%N)
sleep "$duration"
end=$(date +%s.%N)
echo "== $duration s at interval_s = 30 (after a 40 s warm-up)"
for h in static changing baseline; do
    pid="$(cat "$work/$h/pid")"
    read -r h0 c0 <<<"${before[$h]}"
    read -r h1 c1 <<<"$(cpu "$pid")"
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    awk -v n="$h" -v h="$((h1 - h0))" -v c="$((c1 - c0))" -v hz="$hz" -v s="$start" -v e="$end" -v m="$hwm" \
        'BEGIN { w = e - s; printf "%-9s host CPU %.3f%% of a core, tesseract %.2f%%, peak RSS %.1f MiB\n", n, 100 * h / hz / w, 100 * c / hz / w, m / 1024 }'
    url=$(sed -n 's/^openclone: listening on //p' "$work/$h/out.log" | head -1)
    curl -s "$url/metrics" | grep '^openclone_plugin_passes_total' | sed "s/^/          /"
done
