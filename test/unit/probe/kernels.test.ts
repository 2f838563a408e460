import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerCpuConvGradientKernels, registerWasmConvGradientKernels } from '../../../src/probe-worker/kernels';
import { seededRandom, gaussian } from '../../../src/core/probe/synthetic';

type Pad = 'same' | 'valid';

function randomArray(length: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => gaussian(random));
}

/** Gradients of sum(conv2d(x, w) * r) with respect to x and w, on the named backend. */
async function convGradients(backend: string, xShape: number[], wShape: number[], stride: number, pad: Pad) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(randomArray(xShape.reduce((a, b) => a * b), 1), xShape as [number, number, number, number]);
    const w = tf.tensor4d(randomArray(wShape.reduce((a, b) => a * b), 2), wShape as [number, number, number, number]);
    const y = tf.conv2d(x, w, stride, pad);
    const r = tf.tensor(randomArray(y.size, 3), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), r)))([x, w]);
    return { dx: Float32Array.from(dx!.dataSync()), dw: Float32Array.from(dw!.dataSync()) };
  });
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff / Math.max(norm, 1e-30));
}

const cases: { name: string; x: number[]; w: number[]; stride: number; pad: Pad }[] = [
  { name: '3x3 stride 1 same', x: [2, 8, 8, 3], w: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3x3 stride 2 same (even input)', x: [2, 8, 8, 4], w: [3, 3, 4, 8], stride: 2, pad: 'same' },
  { name: '3x3 stride 2 same (odd input)', x: [1, 7, 9, 2], w: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { name: '3x3 stride 1 valid', x: [2, 6, 7, 3], w: [3, 3, 3, 2], stride: 1, pad: 'valid' },
  { name: '3x3 stride 2 valid', x: [2, 9, 8, 3], w: [3, 3, 3, 5], stride: 2, pad: 'valid' },
  { name: '1x1 stride 2 projection', x: [3, 8, 8, 4], w: [1, 1, 4, 8], stride: 2, pad: 'same' },
];

test('wasm backend lacks Conv2DBackpropFilter until the probe kernels are registered', async () => {
  await tf.setBackend('wasm');
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    await assert.rejects(convGradients('wasm', [1, 4, 4, 1], [3, 3, 1, 1], 1, 'same'), /Conv2DBackpropFilter/);
  }
  registerWasmConvGradientKernels();
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
});

for (const c of cases) {
  test(`conv gradients on wasm match the cpu backend: ${c.name}`, async () => {
    registerWasmConvGradientKernels();
    const expected = await convGradients('cpu', c.x, c.w, c.stride, c.pad);
    const actual = await convGradients('wasm', c.x, c.w, c.stride, c.pad);
    const dxError = relativeError(actual.dx, expected.dx);
    const dwError = relativeError(actual.dw, expected.dw);
    assert.ok(dxError < 1e-5, `input gradient relative error ${dxError}`);
    assert.ok(dwError < 1e-5, `filter gradient relative error ${dwError}`);
  });
}

// Last: replaces the cpu backend's stock kernel, the reference of the tests above.
test('the im2col filter gradient on the cpu backend matches the stock cpu kernel', async () => {
  const expected = await Promise.all(cases.map((c) => convGradients('cpu', c.x, c.w, c.stride, c.pad)));
  registerCpuConvGradientKernels();
  for (const [i, c] of cases.entries()) {
    const actual = await convGradients('cpu', c.x, c.w, c.stride, c.pad);
    const dwError = relativeError(actual.dw, expected[i]!.dw);
    assert.ok(dwError < 1e-5, `${c.name}: filter gradient relative error ${dwError}`);
  }
});
