#!/usr/bin/env bash
# The full benchmarks behind the README's results table (about 40 minutes on 2 cores; pyBKT's fit is most of it).
set -euo pipefail
OUT="${1:-benchmarks/results}"
warmstart bench coldstart --preset default --seed 0 --out "$OUT"
warmstart bench coldstart --preset hard --seed 0 --out "$OUT"
warmstart bench speed --seed 0 --out "$OUT"
warmstart bench kt --data assistments2009 --out "$OUT"
warmstart bench tutoring --out "$OUT"
warmstart report "$OUT"
python benchmarks/update_readme.py "$OUT"
