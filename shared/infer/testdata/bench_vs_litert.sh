#!/bin/sh
# Side-by-side latency of person_detect.tflite (int8, one thread) on
# `mega tflite bench` and on the official native runtime (ai-edge-litert,
# XNNPACK, num_threads=1), alternating ROUNDS times in one run on the same
# input. Needs: pip install ai-edge-litert numpy.
#
#   shared/infer/testdata/bench_vs_litert.sh [MODEL INPUT.bin] [N] [ROUNDS]
#
# Prints each measurement as JSON and the ratio of the medians (mega / LiteRT).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
data=${MEGA_TFLITE_TESTDATA:-$root/../shared/testdata/tflite}
model=${1:-$data/person_detect.tflite}
input=${2:-$data/person_image_int8.bin}
n=${3:-1000}
rounds=${4:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/mega
# Build the committed tree (git archive HEAD), so that other people's
# uncommitted edits in the work tree cannot break or change the binary.
(cd "$root" && git archive HEAD | tar -x -C "$tmp" && cd "$tmp" && GOEXPERIMENT=simd go build -o "$bin" ./cmd/mega)
mega_ms=""
lite_ms=""
i=0
while [ "$i" -lt "$rounds" ]; do
	m=$(GOMAXPROCS=1 "$bin" tflite bench "$model" --in "0=$input" --n "$n" --json | tr -d '\n ')
	l=$(python3 "$here/litert_bench.py" "$model" "$input" "$n" 2>/dev/null)
	echo "mega:   $m"
	echo "litert: $l"
	mega_ms="$mega_ms $(echo "$m" | sed 's/.*"median_ms":\([0-9.e-]*\).*/\1/')"
	lite_ms="$lite_ms $(echo "$l" | sed 's/.*"median_ms": \([0-9.e-]*\).*/\1/')"
	i=$((i + 1))
done
python3 - "$mega_ms" "$lite_ms" <<'PY'
import statistics, sys
m = [float(x) for x in sys.argv[1].split()]
l = [float(x) for x in sys.argv[2].split()]
print(f"median of round medians: mega {statistics.median(m):.3f} ms, litert {statistics.median(l):.3f} ms, "
      f"ratio {statistics.median(m) / statistics.median(l):.2f}x (best rounds: {min(m):.3f} vs {min(l):.3f}, {min(m)/min(l):.2f}x)")
PY
