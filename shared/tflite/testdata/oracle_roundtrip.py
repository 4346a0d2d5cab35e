#!/usr/bin/env python3
"""Re-writes every conformance model with `mega tflite rewrite` and runs each case of
oracle/oracle_results.json on the re-written file with the official runtime (tflite-oracle),
comparing output sha256 with the recorded official outputs of the original file.

usage: python3 shared/tflite/testdata/oracle_roundtrip.py ORACLE_DIR [TESTDATA_DIR]
  ORACLE_DIR: a writable copy of ../shared/tools/tflite-oracle after `npm install`
  TESTDATA_DIR: default ../shared/testdata/tflite (relative to the repo root)
Run from the repository root. Exit status 1 if any output differs.
"""
import hashlib, json, os, subprocess, sys, tempfile

oracle = sys.argv[1]
td = sys.argv[2] if len(sys.argv) > 2 else os.environ.get('MEGA_TFLITE_TESTDATA', '../shared/testdata/tflite')
work = tempfile.mkdtemp()
mega = os.path.join(work, 'mega')
subprocess.run(['go', 'build', '-o', mega, './cmd/mega'], check=True)
cases = json.load(open(os.path.join(td, 'oracle', 'oracle_results.json')))
same = diff = 0
for name, c in sorted(cases.items()):
    rewritten = os.path.join(work, c['model'])
    if not os.path.exists(rewritten):
        subprocess.run([mega, 'tflite', 'rewrite', os.path.join(td, c['model']), '-o', rewritten], check=True,
                       stdout=subprocess.DEVNULL)
    args, it = [], iter(c['inputs'])
    for flag in it:
        val = next(it)
        if flag == '--in':
            i, p = val.split('=', 1)
            val = i + '=' + os.path.join(td, p)
        args += [flag, val]
    out = tempfile.mkdtemp(dir=work)
    r = subprocess.run(['node', os.path.join(oracle, 'tflite_oracle.cjs'), rewritten, *args, '--out-dir', out],
                       capture_output=True, text=True)
    ok = r.returncode == 0 and all(
        hashlib.sha256(open(os.path.join(out, 'output_%d.bin' % o['index']), 'rb').read()).hexdigest() == o['sha256']
        for o in c['outputs'])
    print('%-40s %-50s %s' % (name, c['model'], 'same' if ok else 'DIFFERENT ' + r.stderr[-200:]))
    same += ok
    diff += not ok
print('same %d, different %d' % (same, diff))
sys.exit(1 if diff else 0)
