// The channels-last shape table against the real thing: every configuration below is
// built with @tensorflow/tfjs on a symbolic input (tf.input + apply) and the table must
// give the same output shape, including symbolic sizes evaluated at the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { channelsLastLayers, convOutputLength, tfjsLayerNames } from '../../../src/core/shapes/channelsLast';
import { dimEquals, evaluate, formatDim, symbol } from '../../../src/core/shapes/dim';
import type { LayerParams, ParamValue } from '../../../src/core/shapes/layers';
import type { ShapeDim } from '../../../src/core/shapes/shape';
import { snakeCase } from '../../../src/core/keras/libraries';

interface Case {
  layer: string;
  options: Record<string, unknown>;
  input: number[];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const padding of ['same', 'valid']) {
    for (const strides of [1, 2, 3]) {
      for (const kernelSize of [1, 3, 4]) {
        for (const size of [7, 8, 15]) {
          out.push({ layer: 'conv2d', options: { filters: 5, kernelSize, strides, padding }, input: [size, size + 1, 3] });
          out.push({ layer: 'conv1d', options: { filters: 4, kernelSize, strides, padding }, input: [size * 2, 2] });
          out.push({ layer: 'depthwiseConv2d', options: { kernelSize, strides, padding, depthMultiplier: 2 }, input: [size, size, 3] });
          out.push({ layer: 'separableConv2d', options: { filters: 6, kernelSize, strides, padding }, input: [size, size, 3] });
          out.push({ layer: 'maxPooling2d', options: { poolSize: kernelSize, strides, padding }, input: [size, size + 2, 3] });
          out.push({ layer: 'averagePooling2d', options: { poolSize: [kernelSize, 2], padding }, input: [size, size, 3] });
          out.push({ layer: 'conv2dTranspose', options: { filters: 3, kernelSize, strides, padding }, input: [size, size, 2] });
        }
      }
      out.push({ layer: 'conv1d', options: { filters: 4, kernelSize: 3, dilationRate: strides, padding }, input: [20, 2] });
      out.push({ layer: 'conv2d', options: { filters: 4, kernelSize: 3, dilationRate: [strides, 1], padding }, input: [20, 19, 2] });
      out.push({ layer: 'conv1d', options: { filters: 4, kernelSize: 3, dilationRate: strides, padding: 'causal' }, input: [20, 2] });
    }
  }
  out.push({ layer: 'maxPooling1d', options: { poolSize: 3 }, input: [17, 4] });
  out.push({ layer: 'zeroPadding2d', options: { padding: 2 }, input: [5, 6, 3] });
  out.push({ layer: 'zeroPadding2d', options: { padding: [1, 3] }, input: [5, 6, 3] });
  out.push({ layer: 'zeroPadding2d', options: { padding: [[0, 1], [2, 3]] }, input: [5, 6, 3] });
  out.push({ layer: 'cropping2D', options: { cropping: [[1, 0], [2, 1]] }, input: [9, 9, 3] });
  out.push({ layer: 'upSampling2d', options: { size: [2, 3] }, input: [5, 6, 3] });
  out.push({ layer: 'upSampling2d', options: {}, input: [5, 6, 3] });
  out.push({ layer: 'globalAveragePooling2d', options: {}, input: [5, 6, 3] });
  out.push({ layer: 'globalMaxPooling1d', options: {}, input: [5, 3] });
  out.push({ layer: 'flatten', options: {}, input: [5, 6, 3] });
  out.push({ layer: 'reshape', options: { targetShape: [-1, 3] }, input: [5, 6, 3] });
  out.push({ layer: 'dense', options: { units: 7 }, input: [5, 6, 3] });
  out.push({ layer: 'dense', options: { units: 7 }, input: [11] });
  out.push({ layer: 'permute', options: { dims: [2, 1] }, input: [5, 6] });
  out.push({ layer: 'repeatVector', options: { n: 4 }, input: [6] });
  out.push({ layer: 'embedding', options: { inputDim: 50, outputDim: 8 }, input: [12] });
  for (const name of ['batchNormalization', 'layerNormalization', 'reLU', 'dropout', 'activation', 'leakyReLU', 'softmax']) {
    out.push({ layer: name, options: name === 'dropout' ? { rate: 0.5 } : name === 'activation' ? { activation: 'relu' } : {}, input: [4, 5, 3] });
  }
  return out;
}

function paramsFor(type: string, options: Record<string, unknown>): LayerParams {
  const params: LayerParams = {};
  for (const [name, fallback] of channelsLastLayers.get(type)!.params) params[name] = fallback;
  for (const [k, v] of Object.entries(options)) params[snakeCase(k)] = v as ParamValue;
  // tfjs-layers computes 'causal' like 'valid' (see the interpreter's TF.js layer creation).
  if (params.padding === 'causal') params.padding = 'valid';
  return params;
}

test('the channels-last shape table gives the shapes @tensorflow/tfjs builds', () => {
  let compared = 0;
  for (const c of cases()) {
    // Ours first: TF.js may rewrite the options object it is given (a -1 in targetShape).
    const type = tfjsLayerNames.get(c.layer)!;
    const ours = channelsLastLayers.get(type)!.output(paramsFor(type, structuredClone(c.options)), [symbol('batch'), ...c.input]);
    const factory = (tf.layers as unknown as Record<string, (o: unknown) => tf.layers.Layer>)[c.layer]!;
    let real: (number | null)[];
    try {
      real = (factory(c.options).apply(tf.input({ shape: c.input })) as tf.SymbolicTensor).shape;
    } catch {
      continue; // a configuration TF.js refuses (dilation with strides, kernel larger than the input)
    }
    // TF.js leaves a Reshape's -1 unresolved (null) whenever the batch is unknown; the size it
    // takes at run time is the one the table gives, so a null of TF.js is not compared.
    const text = (ours ?? []).map((d: ShapeDim, i) => (i === 0 || d === null || real[i] === null ? null : evaluate(d, new Map())));
    assert.deepEqual(text, real, `${c.layer}(${JSON.stringify(c.options)}) on ${JSON.stringify(c.input)}`);
    compared++;
  }
  assert.ok(compared >= 400, `only ${compared} configurations compared`);
});

test('symbolic output lengths agree with the concrete formula at every size tried', () => {
  const L = symbol('L');
  for (const padding of ['same', 'valid']) {
    for (const stride of [1, 2, 3, 4]) {
      for (const kernel of [1, 2, 3, 5]) {
        for (const dilation of [1, 2]) {
          const symbolic = convOutputLength(L, kernel, padding, stride, dilation);
          for (let size = 12; size <= 40; size++) {
            assert.equal(evaluate(symbolic!, new Map([['L', size]])), convOutputLength(size, kernel, padding, stride, dilation), `${padding} k${kernel} s${stride} d${dilation} L=${size}`);
          }
        }
      }
    }
  }
});

test('ResNetV2: MaxPooling2D(1, strides=2) and ZeroPadding2D(1) + 3x3 valid conv with stride 2 agree symbolically', () => {
  const input = [symbol('batch'), symbol('H'), symbol('W'), symbol('C')];
  const pooled = channelsLastLayers.get('MaxPooling2D')!.output(paramsFor('MaxPooling2D', { poolSize: 1, strides: 2 }), input)!;
  const padded = channelsLastLayers.get('ZeroPadding2D')!.output(paramsFor('ZeroPadding2D', { padding: [[1, 1], [1, 1]] }), input);
  const conv = channelsLastLayers.get('Conv2D')!.output(paramsFor('Conv2D', { filters: 8, kernelSize: 3, strides: 2 }), padded)!;
  assert.ok(dimEquals(pooled[1]!, conv[1]!) && dimEquals(pooled[2]!, conv[2]!), `${formatDim(pooled[1]!)} vs ${formatDim(conv[1]!)}`);
  const unpadded = channelsLastLayers.get('Conv2D')!.output(paramsFor('Conv2D', { filters: 8, kernelSize: 3, strides: 2 }), input)!;
  assert.ok(!dimEquals(pooled[1]!, unpadded[1]!), 'without the zero padding they differ');
});
