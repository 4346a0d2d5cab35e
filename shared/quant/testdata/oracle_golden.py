#!/usr/bin/env python3
"""Runs the quantized golden-case models on the official TFLite runtime and writes golden.json.

    go test ./shared/quant -run TestGoldenOfficialRuntime -quant.export /tmp/qgold
    python3 shared/quant/testdata/oracle_golden.py ORACLE_DIR /tmp/qgold

ORACLE_DIR is a writable copy of ../shared/tools/tflite-oracle after `npm install`. Each case runs on
both of the oracle's backends (tfjs = TFLite C++ interpreter compiled to wasm; litert = LiteRT.js); the
script fails if they disagree. The outputs recorded are the official runtime's, for models this project
made, so they may be committed.
"""
import hashlib, json, os, subprocess, sys

oracle, src = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
cases = json.load(open(os.path.join(src, 'cases.json')))
out = {'runtime': 'tflite-oracle backend tfjs (@tensorflow/tfjs-tflite 0.0.1-alpha.10), '
                  'checked equal to backend litert (@litertjs/core 2.5.3)', 'cases': {}}
for c in cases:
    model = os.path.join(src, c['model'])
    args = []
    for i, f in enumerate(c['inputs']):
        args += ['--in', '%d=%s' % (i, os.path.join(src, f))]
    results = {}
    for backend in ('tfjs', 'litert'):
        r = subprocess.run(['node', os.path.join(oracle, 'tflite_oracle.cjs'), model, *args, '--backend', backend],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit('%s (%s): %s' % (c['name'], backend, r.stderr[-500:]))
        results[backend] = json.loads(r.stdout)['outputs']
    a, b = results['tfjs'], results['litert']
    for x, y in zip(a, b):
        if x['dtype'] == 'int8' and x['values'] != y['values']:
            sys.exit('%s: backends disagree on int8 output' % c['name'])
        if x['dtype'] == 'float32' and max(abs(p - q) for p, q in zip(x['values'], y['values'])) > 1e-6:
            sys.exit('%s: backends disagree on float output' % c['name'])
    out['cases'][c['name']] = {
        'model_sha256': hashlib.sha256(open(model, 'rb').read()).hexdigest(),
        'inputs_sha256': [hashlib.sha256(open(os.path.join(src, f), 'rb').read()).hexdigest() for f in c['inputs']],
        'outputs': [{'dtype': o['dtype'], 'shape': o['shape'], 'values': o['values']} for o in a],
    }
    print('%-28s %s %s' % (c['name'], [o['dtype'] for o in a], [o['shape'] for o in a]))
with open(os.path.join(here, 'golden.json'), 'w') as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write('\n')
print('wrote', os.path.join(here, 'golden.json'), len(out['cases']), 'cases')
