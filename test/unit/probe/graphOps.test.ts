// Each graph op built in TF.js (channels-last inside) against a direct computation of the
// PyTorch (NCHW) or Keras definition written out with loops: layout translation, padding,
// ceil mode, count_include_pad, adaptive windows, PyTorch's flatten order, norms,
// upsampling, attention. The conv's input and weight gradients are checked too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as tfc from '@tensorflow/tfjs';
import type { GraphOp, ModelGraph } from '../../../src/core/modelGraph/graph';
import { seededRandom, gaussian } from '../../../src/core/probe/synthetic';
import { selectBackend } from '../../../src/probe-worker/backend';
import { buildGraphModel, type GraphModel } from '../../../src/probe-worker/graphModel';
import { GraphBuilder } from './graphFixtures';

const backendReady = selectBackend('wasm');

/** Row-major array with a shape. */
class Nd {
  readonly strides: number[];
  constructor(
    readonly data: Float64Array,
    readonly shape: number[],
  ) {
    this.strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  }
  static zeros(shape: number[]): Nd {
    return new Nd(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape);
  }
  index(i: number[]): number {
    return i.reduce((sum, v, a) => sum + v * this.strides[a]!, 0);
  }
  at(...i: number[]): number {
    return this.data[this.index(i)]!;
  }
}

function randomNd(shape: number[], seed: number): Nd {
  const random = seededRandom(seed);
  const nd = Nd.zeros(shape);
  for (let i = 0; i < nd.data.length; i++) nd.data[i] = gaussian(random);
  return nd;
}

/** NCHW -> NHWC (the float input the built model takes for a PyTorch 4-D input). */
function toChannelsLast(x: Nd): Float32Array {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(x.data.length);
  let i = 0;
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) for (let ch = 0; ch < c; ch++) out[i++] = x.at(b, ch, y, z);
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tolerance * (1 + Math.abs(e)))) assert.fail(`${what}: [${i}] is ${a}, expected ${e}`);
  }
}

/** Runs a graph on a batch given in the graph's own (logical) layout, fed as the model asks (inputLayouts). */
async function run(graph: ModelGraph, x: Nd): Promise<{ output: Float32Array; model: GraphModel; tf: typeof tfc }> {
  const { tf } = await backendReady;
  const model = buildGraphModel(tf, graph, 7, 'ops');
  const layout = model.inputLayouts[0]!;
  const logicalOrder = layout.shape.every((d, i) => d === x.shape[i + 1]);
  const input = logicalOrder ? tf.tensor(Float32Array.from(x.data), x.shape) : tf.tensor(toChannelsLast(x), [x.shape[0]!, ...layout.shape]);
  const y = model.forward([input]);
  const output = y.dataSync() as Float32Array;
  tf.dispose([input, y]);
  return { output, model, tf };
}

/** PyTorch conv2d on NCHW with weight [O, C/g, KH, KW]. */
function referenceConv(x: Nd, w: Nd, bias: number[] | undefined, stride: number[], pad: number[], dilation: number[], groups: number): Nd {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * pad[0]! - dilation[0]! * (kh - 1) - 1) / stride[0]!) + 1;
  const ow = Math.floor((wd + 2 * pad[1]! - dilation[1]! * (kw - 1) - 1) / stride[1]!) + 1;
  const y = Nd.zeros([n, o, oh, ow]);
  const perGroupOut = o / groups;
  void c;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / perGroupOut);
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let sum = bias ? bias[oc]! : 0;
          for (let ic = 0; ic < cg; ic++)
            for (let a = 0; a < kh; a++)
              for (let d = 0; d < kw; d++) {
                const yy = i * stride[0]! - pad[0]! + a * dilation[0]!;
                const xx = j * stride[1]! - pad[1]! + d * dilation[1]!;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                sum += x.at(b, g * cg + ic, yy, xx) * w.at(oc, ic, a, d);
              }
          y.data[y.index([b, oc, i, j])] = sum;
        }
    }
  return y;
}

/** A conv's kernel values (or their gradients, by variable name) as PyTorch's [O, C/g, KH, KW]: TF.js keeps one [KH, KW, C/g, O/g] kernel per group, or one [KH, KW, C, multiplier] for a depthwise conv. */
function torchLayout(model: GraphModel, valuesOf: (name: string) => ArrayLike<number>, groups: number, o: number, cg: number, kh: number, kw: number): Nd {
  const w = Nd.zeros([o, cg, kh, kw]);
  const depthwise = model.variables.find((v) => v.name.endsWith('.1.depthwise'));
  if (depthwise) {
    const values = valuesOf(depthwise.name);
    for (let a = 0; a < kh; a++) for (let d = 0; d < kw; d++) for (let oc = 0; oc < o; oc++) w.data[w.index([oc, 0, a, d])] = values[(a * kw + d) * o + oc]!;
    return w;
  }
  const perGroupOut = o / groups;
  for (let g = 0; g < groups; g++) {
    const kernel = valuesOf(model.variables.find((v) => v.name.endsWith(`.1.kernel${g}`))!.name);
    for (let a = 0; a < kh; a++)
      for (let d = 0; d < kw; d++)
        for (let ic = 0; ic < cg; ic++)
          for (let oo = 0; oo < perGroupOut; oo++) w.data[w.index([g * perGroupOut + oo, ic, a, d])] = kernel[((a * kw + d) * cg + ic) * perGroupOut + oo]!;
  }
  return w;
}

interface ConvCase {
  what: string;
  c: number;
  o: number;
  groups: number;
  stride: number[];
  pad: number[];
  dilation: number[];
  /** 1: a Conv1d over [N, C, L] (checked as H = 1). */
  spatialDims?: 1 | 2;
}

for (const conv of [
  { what: 'conv2d (stride 2, padding 1/2, dilation 2/1, 2 groups, bias)', c: 4, o: 6, groups: 2, stride: [2, 2], pad: [1, 2], dilation: [2, 1] },
  { what: 'depthwise conv2d (multiplier 2, stride 2, padding 1)', c: 4, o: 8, groups: 4, stride: [2, 2], pad: [1, 1], dilation: [1, 1] },
  { what: 'conv1d (stride 2, padding 1, dilation 2)', c: 3, o: 5, groups: 1, stride: [1, 2], pad: [0, 1], dilation: [1, 2], spatialDims: 1 },
] satisfies ConvCase[]) {
  test(`${conv.what} matches PyTorch, forward and both gradients`, async () => {
    const { c, o, groups, stride, pad, dilation } = conv;
    const oneD = 'spatialDims' in conv && conv.spatialDims === 1;
    const [n, h, w] = [2, oneD ? 1 : 9, 9];
    const [kh, kw] = [oneD ? 1 : 3, 3];
    const oh = Math.floor((h + 2 * pad[0]! - dilation[0]! * (kh - 1) - 1) / stride[0]!) + 1;
    const ow = Math.floor((w + 2 * pad[1]! - dilation[1]! * (kw - 1) - 1) / stride[1]!) + 1;
    const g = new GraphBuilder('pytorch');
    const pick = (values: number[]): number[] => (oneD ? [values[1]!] : values);
    const input = g.add('x', { op: 'input' }, [], oneD ? [1, c, w] : [1, c, h, w]);
    const node = g.add(
      'conv',
      { op: 'conv', spatialDims: oneD ? 1 : 2, inChannels: c, outChannels: o, kernel: oneD ? [kw] : [kh, kw], stride: pick(stride), padding: pick(pad), dilation: pick(dilation), groups, bias: true, init: 'torch-default' },
      [input],
      oneD ? [1, o, ow] : [1, o, oh, ow],
    );
    const flat = g.add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [node], [1, o * oh * ow]);
    const graph = g.graph('Conv', flat, [{ node: input, kind: 'float' }]);
    const x = randomNd([n, c, h, w], 3);
    const { tf } = await backendReady;
    const model = buildGraphModel(tf, graph, 7, 'conv');
    const layout = model.inputLayouts[0]!.shape;
    assert.equal(layout[layout.length - 1], c, 'the conv input arrives channels-last');
    const xt = tf.tensor(toChannelsLast(x), [n, ...layout]);
    const y = model.forward([xt]);
    const output = y.dataSync();
    const cg = c / groups;
    const weight = torchLayout(model, (name) => model.variables.find((v) => v.name === name)!.dataSync(), groups, o, cg, kh, kw);
    const bias = Array.from(model.variables.find((v) => v.name.endsWith('.1.bias'))!.dataSync());
    const expected = referenceConv(x, weight, bias, stride, pad, dilation, groups);
    assertClose(output, expected.data, `${conv.what} forward`);

    // d/dx and d/dw of sum(y * r) for a fixed random r: the reference by the same loops.
    const r = randomNd([n, o, oh, ow], 5);
    const rFlat = tf.tensor(Float32Array.from(r.data), [n, o * oh * ow]);
    const kernels = model.variables.filter((v) => /\.1\.(kernel\d+|depthwise)$/.test(v.name));
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.forward([xt]), rFlat)) as tfc.Scalar, kernels);
    const dx = tf.grad((inputTensor: tfc.Tensor) => tf.sum(tf.mul(model.forward([inputTensor]), rFlat)))(xt);
    const expectedDx = Nd.zeros([n, c, h, w]);
    const expectedDw = Nd.zeros([o, cg, kh, kw]);
    for (let b = 0; b < n; b++)
      for (let oc = 0; oc < o; oc++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            const gr = r.at(b, oc, i, j);
            const gIndex = Math.floor(oc / (o / groups));
            for (let ic = 0; ic < cg; ic++)
              for (let a = 0; a < kh; a++)
                for (let d = 0; d < kw; d++) {
                  const yy = i * stride[0]! - pad[0]! + a * dilation[0]!;
                  const xx = j * stride[1]! - pad[1]! + d * dilation[1]!;
                  if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                  expectedDx.data[expectedDx.index([b, gIndex * cg + ic, yy, xx])]! += gr * weight.at(oc, ic, a, d);
                  expectedDw.data[expectedDw.index([oc, ic, a, d])]! += gr * x.at(b, gIndex * cg + ic, yy, xx);
                }
          }
    assertClose(dx.dataSync(), toChannelsLast(expectedDx), `${conv.what} input gradient`);
    const builtDw = torchLayout(model, (name) => grads[name]!.dataSync(), groups, o, cg, kh, kw);
    assertClose(builtDw.data, expectedDw.data, `${conv.what} weight gradient`, 1e-3);
    tf.dispose([y, value, rFlat, xt, dx, ...Object.values(grads)]);
    model.dispose();
  });
}

/** PyTorch max/avg pool 2d with padding, ceil mode and count_include_pad. */
function referencePool(x: Nd, kind: 'max' | 'avg', k: number, s: number, p: number, ceilMode: boolean, countIncludePad: boolean): Nd {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const outSize = (size: number): number => {
    const span = size + 2 * p - k;
    let out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceilMode && (out - 1) * s >= size + p) out--;
    return out;
  };
  const oh = outSize(h);
  const ow = outSize(w);
  const y = Nd.zeros([n, c, oh, ow]);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const hs = i * s - p;
          const ws = j * s - p;
          const he = Math.min(hs + k, h + p);
          const we = Math.min(ws + k, w + p);
          const poolSize = (he - hs) * (we - ws);
          let best = -Infinity;
          let sum = 0;
          for (let yy = Math.max(hs, 0); yy < Math.min(he, h); yy++)
            for (let xx = Math.max(ws, 0); xx < Math.min(we, w); xx++) {
              best = Math.max(best, x.at(b, ch, yy, xx));
              sum += x.at(b, ch, yy, xx);
            }
          const inside = (Math.min(he, h) - Math.max(hs, 0)) * (Math.min(we, w) - Math.max(ws, 0));
          y.data[y.index([b, ch, i, j])] = kind === 'max' ? best : sum / (countIncludePad ? poolSize : inside);
        }
  return y;
}

/** Input → op → flatten (PyTorch order), compared against `expected` (an NCHW array). */
async function checkPyTorchOp(op: GraphOp, inputShape: number[], expected: Nd, what: string, seed = 11): Promise<void> {
  const x = randomNd(inputShape, seed);
  const g = new GraphBuilder('pytorch');
  const input = g.add('x', { op: 'input' }, [], [1, ...inputShape.slice(1)]);
  const node = g.add('op', op, [input], [1, ...expected.shape.slice(1)]);
  const flat = g.add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [node], [1, expected.data.length / expected.shape[0]!]);
  const graph = g.graph('Op', flat, [{ node: input, kind: 'float' }]);
  const { output, model } = await run(graph, x);
  model.dispose();
  assertClose(output, expected.data, what);
}

test('pools match PyTorch: padding, ceil mode, count_include_pad on and off', async () => {
  const shape = [2, 3, 7, 7];
  const x = randomNd(shape, 11);
  for (const [kind, k, s, p, ceilMode, countIncludePad] of [
    ['max', 3, 2, 1, false, true],
    ['max', 3, 2, 0, true, true],
    ['max', 2, 2, 1, true, true],
    ['avg', 3, 2, 1, false, true],
    ['avg', 3, 2, 1, false, false],
    ['avg', 3, 2, 1, true, true],
    ['avg', 2, 3, 0, true, false],
  ] as const) {
    const expected = referencePool(x, kind, k, s, p, ceilMode, countIncludePad);
    await checkPyTorchOp(
      { op: 'pool', kind, spatialDims: 2, kernel: [k, k], stride: [s, s], padding: [p, p], ceilMode, countIncludePad },
      shape,
      expected,
      `${kind} pool k${k} s${s} p${p} ceil=${ceilMode} include=${countIncludePad}`,
    );
  }
});

test('adaptive average and max pooling match PyTorch windows, divisible or not', async () => {
  const shape = [2, 3, 7, 6];
  const x = randomNd(shape, 11);
  for (const kind of ['avg', 'max'] as const) {
    for (const out of [[3, 2], [1, 1], [7, 4]]) {
      const [oh, ow] = out as [number, number];
      const y = Nd.zeros([2, 3, oh, ow]);
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 3; c++)
          for (let i = 0; i < oh; i++)
            for (let j = 0; j < ow; j++) {
              const [hs, he] = [Math.floor((i * 7) / oh), Math.ceil(((i + 1) * 7) / oh)];
              const [ws, we] = [Math.floor((j * 6) / ow), Math.ceil(((j + 1) * 6) / ow)];
              let sum = 0;
              let best = -Infinity;
              for (let yy = hs; yy < he; yy++)
                for (let xx = ws; xx < we; xx++) {
                  sum += x.at(b, c, yy, xx);
                  best = Math.max(best, x.at(b, c, yy, xx));
                }
              y.data[y.index([b, c, i, j])] = kind === 'max' ? best : sum / ((he - hs) * (we - ws));
            }
      await checkPyTorchOp({ op: 'adaptive-pool', kind, spatialDims: 2, outputSize: out }, shape, y, `adaptive ${kind} to ${out}`);
    }
  }
});

test('upsampling (nearest, bilinear with half-pixel centres), group norm and channel softmax match PyTorch', async () => {
  const shape = [2, 4, 3, 5];
  const x = randomNd(shape, 13);
  const near = Nd.zeros([2, 4, 6, 10]);
  const bilinear = Nd.zeros([2, 4, 6, 10]);
  for (let b = 0; b < 2; b++)
    for (let c = 0; c < 4; c++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 10; j++) {
          near.data[near.index([b, c, i, j])] = x.at(b, c, Math.floor(i / 2), Math.floor(j / 2));
          const sy = Math.max(0, (i + 0.5) / 2 - 0.5);
          const sx = Math.max(0, (j + 0.5) / 2 - 0.5);
          const [y0, x0] = [Math.floor(sy), Math.floor(sx)];
          const [y1, x1] = [Math.min(y0 + 1, 2), Math.min(x0 + 1, 4)];
          const [ly, lx] = [sy - y0, sx - x0];
          const top = x.at(b, c, y0, x0) * (1 - lx) + x.at(b, c, y0, x1) * lx;
          const bottom = x.at(b, c, y1, x0) * (1 - lx) + x.at(b, c, y1, x1) * lx;
          bilinear.data[bilinear.index([b, c, i, j])] = top * (1 - ly) + bottom * ly;
        }
  await checkPyTorchOp({ op: 'upsample', spatialDims: 2, scale: [2, 2], mode: 'nearest' }, shape, near, 'nearest upsample', 13);
  await checkPyTorchOp({ op: 'upsample', spatialDims: 2, scale: [2, 2], mode: 'bilinear' }, shape, bilinear, 'bilinear upsample', 13);

  // GroupNorm(2 groups, 4 channels) at init: gamma 1, beta 0
  const gn = Nd.zeros(shape);
  for (let b = 0; b < 2; b++)
    for (let group = 0; group < 2; group++) {
      const values: number[] = [];
      for (let c = group * 2; c < group * 2 + 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) values.push(x.at(b, c, i, j));
      const mean = values.reduce((a, v) => a + v, 0) / values.length;
      const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
      for (let c = group * 2; c < group * 2 + 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) gn.data[gn.index([b, c, i, j])] = (x.at(b, c, i, j) - mean) / Math.sqrt(variance + 1e-5);
    }
  await checkPyTorchOp({ op: 'groupnorm', groups: 2, channels: 4, affine: true, epsilon: 1e-5 }, shape, gn, 'group norm', 13);

  const softmax = Nd.zeros(shape);
  for (let b = 0; b < 2; b++)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 5; j++) {
        const e = [0, 1, 2, 3].map((c) => Math.exp(x.at(b, c, i, j)));
        const total = e.reduce((a, v) => a + v, 0);
        for (let c = 0; c < 4; c++) softmax.data[softmax.index([b, c, i, j])] = e[c]! / total;
      }
  await checkPyTorchOp({ op: 'activation', fn: 'softmax', axis: 1 }, shape, softmax, 'softmax over channels', 13);
});

test('permute, reshape, slice with steps, pad, split-take, concat and reduce keep PyTorch element order', async () => {
  // x [2, 3, 4, 4] -> permute(0, 2, 3, 1) -> reshape [2, 16, 3] -> flatten: a ViT-style patch sequence
  const x = randomNd([2, 3, 4, 4], 17);
  const g = new GraphBuilder('pytorch');
  const input = g.add('x', { op: 'input' }, [], [1, 3, 4, 4]);
  const permuted = g.add('permute', { op: 'permute', axes: [0, 2, 3, 1] }, [input], [1, 4, 4, 3]);
  const seq = g.add('reshape', { op: 'reshape' }, [permuted], [1, 16, 3]);
  const sliced = g.add('slice', { op: 'slice', ranges: [{ start: 0, stop: 1, step: 1 }, { start: 1, stop: 16, step: 3 }] }, [seq], [1, 5, 3]);
  const padded = g.add('pad', { op: 'pad', pads: [[0, 0], [0, 0], [1, 2]] }, [sliced], [1, 5, 6]);
  const piece = g.add('split', { op: 'split-take', axis: 2, size: 2, index: 1 }, [padded], [1, 5, 2]);
  const channelsPiece = g.add('split.c', { op: 'split-take', axis: 1, size: 2, index: 0 }, [input], [1, 2, 4, 4]);
  const joined = g.add('cat', { op: 'concat', axis: 1 }, [channelsPiece, input], [1, 5, 4, 4]);
  const reduced = g.add('mean', { op: 'reduce', kind: 'mean', axes: [2, 3], keepDims: false }, [joined], [1, 5]);
  const reducedUp = g.add('unsqueeze', { op: 'reshape' }, [reduced], [1, 5, 1]);
  const sum = g.add('mul', { op: 'mul' }, [piece, reducedUp], [1, 5, 2]);
  const flat = g.add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [sum], [1, 10]);
  const graph = g.graph('Order', flat, [{ node: input, kind: 'float' }]);
  const expected: number[] = [];
  for (let b = 0; b < 2; b++) {
    const sequence: number[][] = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) sequence.push([0, 1, 2].map((c) => x.at(b, c, i, j)));
    const rows = [1, 4, 7, 10, 13].map((t) => [0, ...sequence[t]!, 0, 0]);
    const channelMeans = [0, 1, 0, 1, 2].map((c) => {
      let total = 0;
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) total += x.at(b, c, i, j);
      return total / 16;
    });
    rows.forEach((row, t) => expected.push(row[2]! * channelMeans[t]!, row[3]! * channelMeans[t]!));
  }
  const { output, model } = await run(graph, x);
  model.dispose();
  assertClose(output, expected, 'order');
});

test('Keras layout: conv with same padding and stride 2, max pool same, global average: no transposes needed and Keras values', async () => {
  const [n, h, w, c, o] = [2, 5, 5, 2, 3];
  const g = new GraphBuilder('keras');
  const input = g.add('input', { op: 'input' }, [], [1, h, w, c]);
  const conv = g.add('conv2d', { op: 'conv', spatialDims: 2, inChannels: c, outChannels: o, kernel: [3, 3], stride: [2, 2], padding: 'same', dilation: [1, 1], groups: 1, bias: true, init: 'glorot-uniform' }, [input], [1, 3, 3, o]);
  const pooled = g.add('max_pooling2d', { op: 'pool', kind: 'max', spatialDims: 2, kernel: [2, 2], stride: [2, 2], padding: 'same', ceilMode: false, countIncludePad: false }, [conv], [1, 2, 2, o]);
  const flat = g.add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [pooled], [1, 2 * 2 * o]);
  const graph = g.graph('keras', flat, [{ node: input, kind: 'float' }]);
  const x = randomNd([n, h, w, c], 19);
  const { output, model } = await run(graph, x);
  const kernel = model.variables.find((v) => v.name.endsWith('.1.kernel0'))!.dataSync();
  model.dispose();
  // TF 'same' with stride 2 on 5: output 3, total padding 2 → 1 before, 1 after; bias starts at 0 (Keras)
  const conv3 = Nd.zeros([n, 3, 3, o]);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        for (let oc = 0; oc < o; oc++) {
          let sum = 0;
          for (let a = 0; a < 3; a++)
            for (let d = 0; d < 3; d++)
              for (let ic = 0; ic < c; ic++) {
                const yy = i * 2 - 1 + a;
                const xx = j * 2 - 1 + d;
                if (yy >= 0 && yy < h && xx >= 0 && xx < w) sum += x.at(b, yy, xx, ic) * kernel[((a * 3 + d) * c + ic) * o + oc]!;
              }
          conv3.data[conv3.index([b, i, j, oc])] = sum;
        }
  // max pool 2, stride 2, 'same' on 3: output 2, padding 1 after
  const expected: number[] = [];
  for (let b = 0; b < n; b++)
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        for (let oc = 0; oc < o; oc++) {
          let best = -Infinity;
          for (let yy = 2 * i; yy < Math.min(2 * i + 2, 3); yy++) for (let xx = 2 * j; xx < Math.min(2 * j + 2, 3); xx++) best = Math.max(best, conv3.at(b, yy, xx, oc));
          expected.push(best);
        }
  assertClose(output, expected, 'keras conv + pool');
});

for (const [style, framework, keyDim, valueDim] of [
  ['PyTorch nn.MultiheadAttention', 'pytorch', 2, 2],
  ['Keras MultiHeadAttention (key_dim 3, value_dim 5)', 'keras', 3, 5],
] as const) {
  test(`${style} matches the formula written out`, async () => {
    const { tf } = await backendReady;
    const [n, t, e, h] = [2, 3, 4, 2];
    const g = new GraphBuilder(framework);
    const input = g.add('x', { op: 'input' }, [], [1, t, e]);
    const init = framework === 'pytorch' ? 'torch-default' : 'glorot-uniform';
    const attn = g.add('attn', { op: 'attention', embedDim: e, heads: h, keyDim, valueDim, bias: true, batchFirst: true, init }, [input, input, input], [1, t, e]);
    const graph = g.graph('Attn', attn, [{ node: input, kind: 'float' }]);
    const x = randomNd([n, t, e], 23);
    const model = buildGraphModel(tf, graph, 3, 'attn');
    // non-zero biases, so that their place in the formula is checked too
    for (const v of model.variables.filter((v) => /Bias$/.test(v.name))) v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', 5));
    const get = (name: string): Float32Array => model.variables.find((v) => v.name.endsWith(`.${name}`))!.dataSync() as Float32Array;
    const [wq, wk, wv, wo, bq, bk, bv, bo] = ['query', 'key', 'value', 'output', 'queryBias', 'keyBias', 'valueBias', 'outputBias'].map(get) as Float32Array[];
    const xt = tf.tensor(Float32Array.from(x.data), [n, t, e]);
    const out = model.forward([xt]);
    const actual = out.dataSync();
    tf.dispose([xt, out]);
    model.dispose();
    const expected: number[] = [];
    // weight [e, columns]: x[b, pos] . weight[:, column] + bias[column]
    const project = (b: number, pos: number, weight: Float32Array, bias: Float32Array, columns: number, column: number): number => {
      let sum = bias[column]!;
      for (let f = 0; f < e; f++) sum += x.at(b, pos, f) * weight[f * columns + column]!;
      return sum;
    };
    for (let b = 0; b < n; b++) {
      const merged: number[][] = Array.from({ length: t }, () => new Array<number>(h * valueDim).fill(0));
      for (let head = 0; head < h; head++)
        for (let i = 0; i < t; i++) {
          const scores = Array.from({ length: t }, (_, j) => {
            let s = 0;
            for (let q = 0; q < keyDim; q++) s += project(b, i, wq!, bq!, h * keyDim, head * keyDim + q) * project(b, j, wk!, bk!, h * keyDim, head * keyDim + q);
            return s / Math.sqrt(keyDim);
          });
          const top = Math.max(...scores);
          const weights = scores.map((s) => Math.exp(s - top));
          const total = weights.reduce((a, v) => a + v, 0);
          for (let q = 0; q < valueDim; q++) merged[i]![head * valueDim + q] = weights.reduce((a, wgt, j) => a + (wgt / total) * project(b, j, wv!, bv!, h * valueDim, head * valueDim + q), 0);
        }
      for (let i = 0; i < t; i++)
        for (let f = 0; f < e; f++) {
          let s = bo![f]!;
          for (let m = 0; m < h * valueDim; m++) s += merged[i]![m]! * wo![m * e + f]!;
          expected.push(s);
        }
    }
    assertClose(actual, expected, 'attention', 1e-3);
  });
}

test('every activation, BatchNorm1d over [N, C] and [N, C, L], LayerNorm over two axes and a 3-D conv and pool build with finite outputs and the right sizes', async () => {
  const { tf } = await backendReady;
  const g = new GraphBuilder('pytorch');
  const input = g.add('x', { op: 'input' }, [], [1, 2, 4, 4, 4]);
  let x = g.add('conv3d', { op: 'conv', spatialDims: 3, inChannels: 2, outChannels: 4, kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], dilation: [1, 1, 1], groups: 1, bias: true, init: 'torch-default' }, [input], [1, 4, 4, 2, 2]);
  x = g.add('pool3d', { op: 'pool', kind: 'max', spatialDims: 3, kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0], ceilMode: false, countIncludePad: true }, [x], [1, 4, 2, 1, 1]);
  x = g.add('seq', { op: 'reshape' }, [x], [1, 4, 2]);
  x = g.add('bn1d', { op: 'batchnorm', channels: 4, affine: true, epsilon: 1e-5 }, [x], [1, 4, 2]);
  x = g.add('ln', { op: 'layernorm', normalizedShape: [4, 2], affine: true, bias: false, epsilon: 1e-5 }, [x], [1, 4, 2]);
  x = g.add('flat', { op: 'flatten', startDim: 1, endDim: -1 }, [x], [1, 8]);
  for (const fn of ['relu', 'relu6', 'leaky_relu', 'elu', 'gelu', 'gelu_tanh', 'silu', 'sigmoid', 'tanh', 'hardswish', 'hardsigmoid', 'softplus', 'mish', 'softmax'] as const) {
    x = g.add(fn, { op: 'activation', fn, ...(fn === 'elu' ? { alpha: 0.5 } : {}) }, [x], [1, 8]);
    x = g.add(`${fn}.scale`, { op: 'scale', factor: 3, offset: -0.2 }, [x], [1, 8]);
  }
  x = g.add('fc', { op: 'linear', inFeatures: 8, outFeatures: 3, bias: true, init: 'glorot-uniform' }, [x], [1, 3]);
  x = g.add('bn_fc', { op: 'batchnorm', channels: 3, affine: false, epsilon: 1e-5 }, [x], [1, 3]);
  const graph = g.graph('Mixed', x, [{ node: input, kind: 'float' }]);
  const model = buildGraphModel(tf, graph, 1, 'mixed');
  const xt = tf.randomNormal([3, ...model.inputLayouts[0]!.shape], 0, 1, 'float32', 1);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward([xt]))) as tfc.Scalar, model.variables);
  assert.ok(Number.isFinite(value.dataSync()[0]!));
  for (const grad of Object.values(grads)) assert.ok(Array.from(grad.dataSync()).every(Number.isFinite));
  // conv3d 2*4*27 + 4, BatchNorm1d 2*4, LayerNorm([4, 2]) without bias 8, fc 8*3 + 3; the last BatchNorm has no affine
  assert.equal(model.params, 2 * 4 * 27 + 4 + 8 + 8 + 27);
  assert.equal(model.variables.reduce((sum, v) => sum + v.size, 0), model.params);
  tf.dispose([xt, value, ...Object.values(grads)]);
  model.dispose();
});

test('a layer called twice shares one set of weights: one chart layer, gradients from both calls', async () => {
  const { tf } = await backendReady;
  const g = new GraphBuilder('pytorch');
  const input = g.add('x', { op: 'input' }, [], [1, 6]);
  const first = g.add('block', { op: 'linear', inFeatures: 6, outFeatures: 6, bias: true, init: 'torch-default' }, [input], [1, 6]);
  const act = g.add('act', { op: 'activation', fn: 'tanh' }, [first], [1, 6]);
  const second = g.add('block', { op: 'linear', inFeatures: 6, outFeatures: 6, bias: true, init: 'torch-default' }, [act], [1, 6], { sharesWeightsWith: first });
  const head = g.add('head', { op: 'linear', inFeatures: 6, outFeatures: 2, bias: false, init: 'torch-default' }, [second], [1, 2]);
  const graph = g.graph('Shared', head, [{ node: input, kind: 'float' }]);
  const model = buildGraphModel(tf, graph, 1, 'shared');
  assert.deepEqual(model.layers.map((l) => l.name), ['block', 'head']);
  assert.equal(model.params, 6 * 6 + 6 + 12);
  assert.equal(model.variables.reduce((sum, v) => sum + v.size, 0), model.params);
  // the shared kernel's gradient is the sum over both calls: compare with a copy used once per call
  const xt = tf.randomNormal([4, 6], 0, 1, 'float32', 2);
  const kernel = model.layerWeights[0]![0]!;
  const { grads } = tf.variableGrads(() => tf.sum(model.forward([xt])) as tfc.Scalar, [kernel]);
  const w = tf.clone(kernel);
  const b = tf.clone(model.variables.find((v) => v.name.endsWith('.1.bias'))!);
  const h = tf.clone(model.layerWeights[1]![0]!);
  const [g1, g2] = tf.grads((w1: tfc.Tensor, w2: tfc.Tensor) => tf.sum(tf.matMul(tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(xt, w1 as tfc.Tensor2D), b)), w2 as tfc.Tensor2D), b), h as tfc.Tensor2D)))([w, tf.clone(w)]);
  assertClose(grads[kernel.name]!.dataSync(), tf.add(g1!, g2!).dataSync(), 'shared gradient');
  model.dispose();
});

test('what the builder cannot build is refused with the node and the reason', async () => {
  const { tf } = await backendReady;
  const g = new GraphBuilder('pytorch');
  const input = g.add('x', { op: 'input' }, [], [2, 3, 4, 4]);
  const sliced = g.add('first_sample', { op: 'slice', ranges: [{ start: 0, stop: 1, step: 1 }] }, [input], [1, 3, 4, 4]);
  const flat = g.add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [sliced], [1, 48]);
  const model = buildGraphModel(tf, g.graph('BatchSlice', flat, [{ node: input, kind: 'float' }]), 1, 'refuse');
  const xt = tf.zeros([2, ...model.inputLayouts[0]!.shape]);
  assert.throws(() => model.forward([xt]), /first_sample \(slice\): slicing the batch axis is not built/);
  model.dispose();
  xt.dispose();
  const bad = new GraphBuilder('pytorch');
  const x = bad.add('x', { op: 'input' }, [], [1, 6]);
  const conv = bad.add('conv', { op: 'conv', spatialDims: 2, inChannels: 6, outChannels: 4, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 4, bias: false, init: 'torch-default' }, [x], [1, 4, 1, 1]);
  assert.throws(() => buildGraphModel(tf, bad.graph('Groups', conv, [{ node: x, kind: 'float' }]), 1, 'groups'), /conv \(conv\): 6 in and 4 out channels do not split into 4 groups/);
});
