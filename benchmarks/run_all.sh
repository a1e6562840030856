#!/usr/bin/env bash
# The full benchmarks behind the README's results table (about 50 minutes on 2 cores; pyBKT's fit is most of it).
set -euo pipefail
OUT="${1:-benchmarks/results}"
warmstart bench coldstart --preset default --seed 0 --out "$OUT"
warmstart bench coldstart --preset hard --seed 0 --out "$OUT"
warmstart bench speed --seed 0 --out "$OUT"
warmstart bench kt --data assistments2009 --out "$OUT"
warmstart bench tutoring --out "$OUT"
warmstart bench service --out "$OUT"
warmstart bench responsible --out "$OUT"
warmstart bench replay --data assistments2009 --out "$OUT/replay-assistments2009"
warmstart simulate --users 3000 --events 30 --seed 0 --out "$OUT/replay-sim/events.csv"
warmstart bench replay --log "$OUT/replay-sim/events.csv" --out "$OUT/replay-sim"
rm "$OUT/replay-sim/events.csv"
warmstart ope --campaign all --out "$OUT/ope-obd.json"
.venv-obp/bin/python benchmarks/peers/obp_check.py --json "$OUT/obp-check.json"
warmstart report "$OUT"
python benchmarks/update_readme.py "$OUT"
