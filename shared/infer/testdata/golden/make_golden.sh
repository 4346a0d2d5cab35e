#!/bin/sh
# Regenerate the op suite: models and inputs from Go, outputs from the
# official TFLite runtime (../shared/tools/tflite-oracle, WebAssembly build).
# Run from anywhere; needs Go, Node.js >= 20 and the npm registry.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
oracle=${MEGA_TFLITE_ORACLE:-$root/../shared/tools/tflite-oracle}
rm -f "$here"/*.tflite "$here"/*.bin "$here"/cases.json
(cd "$root" && go test ./shared/infer -run 'TestGoldenOps$' -count=1 -golden-gen >/dev/null)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$oracle"/. "$work"/
chmod -R u+w "$work"
(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
python3 - "$here" "$work" <<'PY'
import json, os, shutil, subprocess, sys
here, work = sys.argv[1], sys.argv[2]
for c in json.load(open(os.path.join(here, "cases.json"))):
    args = ["node", os.path.join(work, "tflite_oracle.cjs"), os.path.join(here, c["name"] + ".tflite")]
    for k, f in enumerate(c["inputs"]):
        args += ["--in", f"{k}={os.path.join(here, f)}"]
    out = os.path.join(work, "out_" + c["name"])
    args += ["--out-dir", out, "--profile"]
    res = subprocess.run(args, capture_output=True, text=True, cwd=work)
    if res.returncode != 0:
        print(c["name"], "FAILED:", res.stderr.strip().splitlines()[-1:], file=sys.stderr)
        continue
    shutil.copy(os.path.join(out, "output_0.bin"), os.path.join(here, c["name"] + ".out0.bin"))
    doc = json.loads(res.stdout)
    print(c["name"], doc.get("profile"), file=sys.stderr)
PY
