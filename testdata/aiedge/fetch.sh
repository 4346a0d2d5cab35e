#!/bin/bash
# fetch.sh RUN_ID OUTDIR: download one local-stack run's artifacts (fake-gcs
# JSON API, $STORAGE_EMULATOR_HOST from `mega local env`) and dump its val/test
# rows with dumprows. Run from the repository root.
set -euo pipefail
run=$1
out=$2
mkdir -p "$out"
bucket=${MEGA_ARTIFACTS_BUCKET:-megapipe-local-artifacts}
for p in ingest/clean.mgds featurize/features.json distill/student.tflite quantize/int8.tflite train/teacher.tflite quantize/benchmark.json; do
	name=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "runs/$run/$p")
	curl -sf "$STORAGE_EMULATOR_HOST/storage/v1/b/$bucket/o/$name?alt=media" -o "$out/$(basename "$p")"
done
go run ./testdata/aiedge/dumprows "$out/features.json" "$out/clean.mgds" "$out"
sha256sum "$out"/*.tflite
