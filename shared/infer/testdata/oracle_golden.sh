#!/bin/sh
# Produce golden outputs for a .tflite model from the official TFLite runtime
# (WebAssembly build, via ../shared/tools/tflite-oracle), so that new models
# get expected outputs nobody here computed.
#
#   shared/infer/testdata/oracle_golden.sh MODEL OUT_DIR [--in IDX=FILE ...] [--backend tfjs|litert]
#
# Writes OUT_DIR/output_<i>.bin (raw little-endian, as `mega tflite run --out-dir`)
# and OUT_DIR/oracle.json (names, dtypes, shapes, values). Needs Node.js >= 20
# and the npm registry (for the first npm install). The oracle folder is
# copied to a temporary directory because ../shared is read-only.
# Compare with: mega tflite run MODEL --in ... --out-dir D && cmp D/output_0.bin OUT_DIR/output_0.bin
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 MODEL OUT_DIR [oracle flags...]" >&2
	exit 2
fi
model=$(realpath "$1")
out=$(realpath -m "$2")
shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
oracle=${MEGA_TFLITE_ORACLE:-$root/../shared/tools/tflite-oracle}
if [ ! -f "$oracle/tflite_oracle.cjs" ]; then
	echo "oracle not found at $oracle (set MEGA_TFLITE_ORACLE)" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$oracle"/. "$work"/
chmod -R u+w "$work"
(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
mkdir -p "$out"
# Resolve input file paths before changing directory.
args=""
for a in "$@"; do
	case "$a" in
	[0-9]*=*) idx=${a%%=*}; f=${a#*=}; if [ -f "$f" ]; then a="$idx=$(realpath "$f")"; fi ;;
	esac
	args="$args '$a'"
done
eval "set -- $args"
(cd "$work" && node tflite_oracle.cjs "$model" "$@" --out-dir "$out") > "$out/oracle.json"
echo "wrote $out/oracle.json and raw outputs" >&2
