// The layer shape table against real PyTorch: every case is built both ways and the
// output shapes must be equal. Symbolic sizes are checked by evaluating them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { bindLayerParams, layerTable, type ParamValue } from '../../../src/core/shapes/layers';
import { evaluate, isConcrete, symbol } from '../../../src/core/shapes/dim';
import type { ShapeDim } from '../../../src/core/shapes/shape';

interface Case {
  layer: string;
  args: ParamValue[];
  kwargs?: Record<string, ParamValue>;
  input: number[];
}

const cases: Case[] = [
  { layer: 'Conv1d', args: [4, 8, 3], input: [2, 4, 17] },
  { layer: 'Conv1d', args: [4, 8, 5], kwargs: { stride: 2, padding: 2, dilation: 2 }, input: [2, 4, 31] },
  { layer: 'Conv2d', args: [3, 16, 7, 2, 3], input: [1, 3, 224, 224] },
  { layer: 'Conv2d', args: [3, 16, 3], kwargs: { padding: 'same', dilation: 2 }, input: [1, 3, 15, 17] },
  { layer: 'Conv2d', args: [3, 16, [3, 5]], kwargs: { stride: [2, 1], padding: [1, 2] }, input: [1, 3, 33, 20] },
  { layer: 'Conv2d', args: [8, 8, 3], kwargs: { groups: 4, padding: 1, stride: 2 }, input: [1, 8, 9, 9] },
  { layer: 'Conv2d', args: [8, 8, 3], kwargs: { padding: 'valid' }, input: [1, 8, 9, 9] },
  { layer: 'Conv3d', args: [2, 4, 3], kwargs: { stride: 2, padding: 1 }, input: [1, 2, 7, 9, 11] },
  { layer: 'ConvTranspose2d', args: [8, 4, 2], kwargs: { stride: 2 }, input: [1, 8, 7, 7] },
  { layer: 'ConvTranspose2d', args: [8, 4, 3], kwargs: { stride: 2, padding: 1, output_padding: 1 }, input: [1, 8, 5, 5] },
  { layer: 'ConvTranspose1d', args: [2, 2, 4], kwargs: { stride: 3, dilation: 2 }, input: [1, 2, 6] },
  { layer: 'MaxPool2d', args: [3, 2, 1], input: [1, 4, 112, 112] },
  { layer: 'MaxPool2d', args: [2], input: [1, 4, 33, 33] },
  { layer: 'MaxPool2d', args: [3, 2], kwargs: { ceil_mode: true }, input: [1, 4, 33, 32] },
  { layer: 'MaxPool1d', args: [3], kwargs: { stride: 2, dilation: 2 }, input: [1, 2, 30] },
  { layer: 'AvgPool2d', args: [2], kwargs: { ceil_mode: true }, input: [1, 4, 33, 33] },
  { layer: 'AvgPool2d', args: [3], kwargs: { stride: 1, padding: 1 }, input: [1, 4, 10, 11] },
  { layer: 'AvgPool1d', args: [4], input: [1, 2, 30] },
  { layer: 'AvgPool3d', args: [2], input: [1, 2, 5, 6, 7] },
  { layer: 'AdaptiveAvgPool2d', args: [[1, 1]], input: [2, 4, 7, 9] },
  { layer: 'AdaptiveAvgPool2d', args: [[3, null]], input: [2, 4, 7, 9] },
  { layer: 'AdaptiveMaxPool1d', args: [5], input: [2, 4, 30] },
  { layer: 'Flatten', args: [], input: [2, 3, 4, 5] },
  { layer: 'Flatten', args: [0, 2], input: [2, 3, 4, 5] },
  { layer: 'Linear', args: [10, 7], input: [2, 5, 10] },
  { layer: 'Embedding', args: [100, 16], input: [2, 7] },
  { layer: 'Upsample', args: [], kwargs: { scale_factor: 2 }, input: [1, 3, 5, 7] },
  { layer: 'Upsample', args: [], kwargs: { size: [9, 11] }, input: [1, 3, 5, 7] },
  { layer: 'PixelShuffle', args: [2], input: [1, 16, 5, 5] },
  { layer: 'BatchNorm2d', args: [3], input: [2, 3, 5, 5] },
  { layer: 'GroupNorm', args: [2, 4], input: [2, 4, 5, 5] },
  { layer: 'LayerNorm', args: [6], input: [2, 3, 6] },
  { layer: 'MultiheadAttention', args: [16, 4], input: [5, 2, 16] },
  { layer: 'Dropout', args: [0.5], input: [2, 3] },
  { layer: 'GELU', args: [], input: [2, 3, 4] },
];

const pythonScript = `
import json, sys, torch, torch.nn as nn
out = []
for c in json.load(sys.stdin):
    layer = getattr(nn, c["layer"])(*[tuple(a) if isinstance(a, list) else a for a in c["args"]], **{k: tuple(v) if isinstance(v, list) else v for k, v in c.get("kwargs", {}).items()})
    x = torch.zeros(*c["input"], dtype=torch.long) if c["layer"] == "Embedding" else torch.zeros(*c["input"])
    y = layer(x, x, x)[0] if c["layer"] == "MultiheadAttention" else layer(x)
    out.append(list(y.shape))
print(json.dumps(out))
`;

function ours(c: Case, input: ShapeDim[]): ShapeDim[] | null {
  const spec = layerTable.get(c.layer);
  assert.ok(spec, c.layer);
  const params = bindLayerParams(spec, c.args, new Map(Object.entries(c.kwargs ?? {})));
  assert.ok(params, `${c.layer} arguments`);
  return spec.output(params, input);
}

test('layer shape functions agree with PyTorch on every case', () => {
  const run = spawnSync('/usr/bin/python3', ['-c', pythonScript], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `/usr/bin/python3 with torch is needed (apt-get install python3-torch): ${run.stderr}`);
  const expected = JSON.parse(run.stdout) as number[][];
  cases.forEach((c, i) => {
    assert.deepEqual(ours(c, c.input), expected[i], `${c.layer}(${JSON.stringify(c.args)}, ${JSON.stringify(c.kwargs ?? {})}) on ${JSON.stringify(c.input)}`);
  });
});

test('symbolic sizes evaluate to the concrete ones', () => {
  for (const c of cases) {
    if (c.input.length < 3 || ['Flatten', 'Linear', 'LayerNorm', 'MultiheadAttention', 'Embedding', 'Dropout', 'GELU'].includes(c.layer)) continue;
    const names = c.input.map((_, i) => (i < 2 ? undefined : `S${i}`));
    const symbolic = ours(c, c.input.map((d, i) => (names[i] ? symbol(names[i]!) : d)));
    const concrete = ours(c, c.input);
    const env = new Map(names.flatMap((n, i) => (n ? [[n, c.input[i]!] as [string, number]] : [])));
    assert.deepEqual(symbolic?.map((d) => (d === null ? null : isConcrete(d) ? d : evaluate(d, env))), concrete, c.layer);
  }
});
