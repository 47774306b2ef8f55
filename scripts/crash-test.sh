#!/usr/bin/env bash
# The crash test at full length: 100 SIGKILL cycles under 4 concurrent clients posting new
# and resent batches, then a full resend; prints the figures (sent, acknowledged, missing,
# duplicated). CI runs the same test with 20 cycles (`cargo test`).
#
#   scripts/crash-test.sh [CYCLES]     CYCLES defaults to 100
set -euo pipefail
cd "$(dirname "$0")/.."
OPENCLONE_CRASH_CYCLES="${1:-100}" cargo test -p openclone-host --test e2e -- \
  --exact crash::sigkill_cycles_under_load_lose_nothing_and_store_nothing_twice --nocapture
