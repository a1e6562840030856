#!/usr/bin/env bash
# The full benchmarks behind the README's results table (about 20-30 minutes on 2 cores).
set -euo pipefail
OUT="${1:-benchmarks/results}"
warmstart bench coldstart --preset default --seed 0 --out "$OUT"
warmstart bench coldstart --preset hard --seed 0 --out "$OUT"
warmstart bench speed --seed 0 --out "$OUT"
warmstart report "$OUT"
python benchmarks/update_readme.py "$OUT"
