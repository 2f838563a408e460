import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/probe-worker/backend';
import { normAct, registerNormActKernels } from '../../../src/probe-worker/normKernels';
import { gaussian, seededRandom } from '../../../src/core/probe/synthetic';

const shape: [number, number, number, number] = [4, 5, 6, 3];

function values(length: number, seed: number, offset = 0): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => offset + gaussian(random));
}

/** Output and gradients of sum(op(x) * r) for x, gamma, beta and the residual. */
function gradients(fused: boolean, relu: boolean, withResidual: boolean) {
  return tf.tidy(() => {
    const size = shape.reduce((a, b) => a * b);
    const x = tf.tensor4d(values(size, 1, 0.7), shape);
    const gamma = tf.tensor1d(values(3, 2, 1));
    const beta = tf.tensor1d(values(3, 3));
    const residual = tf.tensor4d(values(size, 4), shape);
    const r = tf.tensor4d(values(size, 5), shape);
    const op = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, res: tf.Tensor): tf.Tensor => {
      if (fused) return normAct(tf, a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, withResidual ? (res as tf.Tensor4D) : undefined, { epsilon: 1e-5, relu });
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      let y = tf.batchNorm(a, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5);
      if (withResidual) y = tf.add(y, res);
      return relu ? tf.relu(y) : y;
    };
    const value = op(x, gamma, beta, residual).dataSync();
    const grads = withResidual
      ? tf.grads((a, g, b, res) => tf.sum(tf.mul(op(a!, g!, b!, res!), r)))([x, gamma, beta, residual])
      : tf.grads((a, g, b) => tf.sum(tf.mul(op(a!, g!, b!, residual), r)))([x, gamma, beta]);
    return { value: Float32Array.from(value), grads: grads.map((t) => Float32Array.from(t.dataSync())) };
  });
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1e-3 + Math.abs(expected[i]!)));
  return worst;
}

for (const backendName of ['wasm', 'cpu'] as const) {
  for (const [relu, withResidual] of [[true, false], [false, false], [true, true]] as const) {
    test(`fused BatchNorm${withResidual ? ' + residual' : ''}${relu ? ' + ReLU' : ''} on ${backendName} matches the stock ops on the cpu backend`, async () => {
      await tf.setBackend('cpu');
      const expected = gradients(false, relu, withResidual);
      await selectBackend(backendName);
      registerNormActKernels(backendName);
      const actual = gradients(true, relu, withResidual);
      assert.ok(maxRelativeError(actual.value, expected.value) < 1e-4, 'forward');
      const names = ['x', 'gamma', 'beta', 'residual'];
      for (let i = 0; i < (withResidual ? 4 : 3); i++) {
        const error = maxRelativeError(actual.grads[i]!, expected.grads[i]!);
        assert.ok(error < 1e-3, `gradient of ${names[i]}: max relative error ${error}`);
      }
    });
  }
}
