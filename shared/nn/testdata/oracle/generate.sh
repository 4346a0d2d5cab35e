#!/bin/sh
# Regenerates the oracle fixtures: trains three small models (binary on breast
# cancer, multiclass on digits, regression on diabetes), exports them with the
# Go exporter, runs them on the official TFLite runtime (tflite-oracle, the
# TFLite C++ interpreter compiled to WebAssembly) and stores its outputs.
# TestOracle then checks that the Go forward pass gives the same outputs.
#
#   ORACLE=/path/to/writable/copy/of/tflite-oracle shared/nn/testdata/oracle/generate.sh
#
# Needs python3 with scikit-learn, node >= 20, and `npm install` done in $ORACLE.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${ORACLE:?set ORACLE to a writable copy of ../shared/tools/tflite-oracle with npm install done}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/diabetes.py" "$tmp/diabetes.csv"
(cd "$here/../.." && go test -count=1 -run '^TestGenerateOracleFixtures$' . -args -oracle.gen -oracle.diabetes="$tmp/diabetes.csv")
node --version > "$here/versions.txt"
(cd "$ORACLE" && npm ls --depth=0 | tail -n +2 >> "$here/versions.txt")
for name in binary multiclass regression; do
	node "$ORACLE/tflite_oracle.cjs" "$here/$name.batch.tflite" --in "0=$here/$name.in.bin" --out-dir "$tmp/$name" > /dev/null
	mv "$tmp/$name/output_0.bin" "$here/$name.out.bin"
	node "$ORACLE/tflite_oracle.cjs" "$here/$name.tflite" --in "0=$here/$name.row0.bin" --out-dir "$tmp/$name.row0" > /dev/null
	mv "$tmp/$name.row0/output_0.bin" "$here/$name.row0.out.bin"
done
echo "oracle fixtures written to $here"
