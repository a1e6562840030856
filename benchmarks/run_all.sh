#!/usr/bin/env bash
# The full benchmarks behind the results tables (every target in docs/results.md, the headline rows in the README).
# How long each step takes on 2 cores: docs/results.md, the "How long it takes" table, the one place for those
# durations; this script records every step's wall time in $OUT/durations.tsv and update_readme.py writes them into
# that table.
set -euo pipefail
OUT="${1:-benchmarks/results}"
mkdir -p "$OUT"
DURATIONS="$OUT/durations.tsv"
printf 'seconds\tcommand\n' > "$DURATIONS"

# run a step and append its wall time (seconds) and its command (with $OUT written as DIR) to $DURATIONS
timed() {
    local start=$SECONDS
    "$@"
    local shown="$*"
    printf '%s\t%s\n' "$((SECONDS - start))" "${shown//$OUT/DIR}" >> "$DURATIONS"
}

timed warmstart bench coldstart --preset default --seed 0 --out "$OUT"
timed warmstart bench coldstart --preset hard --seed 0 --out "$OUT"
timed warmstart bench speed --seed 0 --out "$OUT"
timed warmstart bench kt --data assistments2009 --out "$OUT"
timed warmstart bench tutoring --out "$OUT"
timed warmstart bench service --out "$OUT"
timed warmstart bench responsible --out "$OUT"
timed warmstart bench dynamics --out "$OUT"
timed warmstart bench scale --out "$OUT"
timed warmstart bench sparse --jobs 2 --seed 0 --out "$OUT"
timed warmstart bench replay --data assistments2009 --out "$OUT/replay-assistments2009"
timed warmstart bench replay --data movielens --out "$OUT/replay-movielens-rating"
timed warmstart bench replay --data movielens --liked-at 4 --out "$OUT/replay-movielens-liked"
timed warmstart bench replay --data movielens --liked-at 4 --genres --out "$OUT/replay-movielens-genres"
# the same command on other 0/1 logs of the same data (liked at 3, 3.5, 4.5, 5 stars): nothing is chosen on them
for stars in 3 3.5 4.5 5; do
  timed warmstart bench replay --data movielens --liked-at "$stars" --out "$OUT/replay-movielens-liked${stars/./}"
done
timed warmstart simulate --users 3000 --events 30 --seed 0 --out "$OUT/replay-sim/events.csv"
timed warmstart bench replay --log "$OUT/replay-sim/events.csv" --out "$OUT/replay-sim"
rm "$OUT/replay-sim/events.csv"
timed warmstart bench fit-log --out "$OUT"
timed warmstart bench refine --out "$OUT"
timed warmstart ope --campaign all --out "$OUT/ope-obd.json"
timed .venv-obp/bin/python benchmarks/peers/obp_check.py --json "$OUT/obp-check.json"
timed warmstart report "$OUT"
python benchmarks/update_readme.py "$OUT"
