// Builds a ModelGraph (the user's model, from the static analysis) as TensorFlow.js
// variables and a forward function, for "Probe This Model". Plain ops, as model.ts does
// for the CIFAR family, so that each layer's weights are at hand for the gradient-flow
// chart.
//
// Layout: the graph's shapes are the source framework's (PyTorch NCHW, Keras NHWC); the
// tensors here are channels-last wherever a convolution, pool or norm runs. Each value
// carries `perm`, the logical axis held by each physical axis, so that permutes cost
// nothing and a transpose happens only where an op needs a given order (a flatten in
// PyTorch's element order, a linear layer on the logical last axis).
//
// Initialisation is the source framework's default (GraphInit), drawn from the core's
// seeded generator, one stream per layer name: a model and its plain twin start from
// the same weights in every layer they share.
import type * as tfc from '@tensorflow/tfjs';
import { isWeightedOp, type GraphInit, type GraphNode, type GraphOp, type ModelGraph } from '../core/modelGraph/graph';
import { describeGraph, type GraphDescription } from '../core/probe/network';
import type { ProbeLayer } from '../core/probe/protocol';
import { gaussian, mixSeed, seededRandom } from '../core/probe/synthetic';
import type { TensorFlow } from './backend';
import { hasNormActKernels, normAct } from './normKernels';

/** A graph the builder cannot run; the message names the node and the reason. */
export class GraphBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphBuildError';
  }
}

/** A tensor with the logical axis each physical axis holds. */
interface Value {
  t: tfc.Tensor;
  perm: number[];
}

interface NodeWeights {
  /** What the chart's norms are taken over (kernels; every projection of an attention). */
  kernels: tfc.Variable[];
  tensors: Record<string, tfc.Variable | tfc.Tensor>;
}

/** What train.ts needs from a model, CIFAR family or graph. */
export interface TrainableModel {
  layers: ProbeLayer[];
  params: number;
  trainingFlopsPerSample: number;
  variables: tfc.Variable[];
  /** Per layer of `layers`: the variables its gradient and weight norms are taken over. */
  layerWeights: tfc.Variable[][];
  /** Logits as [rows, classes] (a sequence model's positions become rows). Pushes each layer's output to `collect`. */
  forward(inputs: tfc.Tensor[], collect?: tfc.Tensor[]): tfc.Tensor2D;
  dispose(): void;
}

/** How the model wants each input: physical shape (batch first) and which physical axis holds the channels. */
export interface GraphInputLayout {
  kind: 'float' | 'tokens';
  /** Physical shape without the batch. */
  shape: number[];
  /** Physical axis (batch excluded) of the channels, for the teacher's features. */
  channelAxis: number;
  vocabulary?: number;
}

export interface GraphModel extends TrainableModel {
  description: GraphDescription;
  inputLayouts: GraphInputLayout[];
}

function hashText(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const identity = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);
/** NC(spatial) held as N(spatial)C. */
const channelsLastOf = (rank: number): number[] => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
const samePerm = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const sameShape = samePerm;
const product = (values: number[]): number => values.reduce((a, b) => a * b, 1);
const invert = (perm: number[]): number[] => {
  const inverse = new Array<number>(perm.length);
  perm.forEach((logical, physical) => (inverse[logical] = physical));
  return inverse;
};
const normaliseAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** The logical axis of the channels: 1 for channels-first tensors of rank 3 or more, else the last. */
/** A depthwise conv (one group per input channel) of 1 or 2 spatial axes runs as tf.depthwiseConv2d. */
function isDepthwise(op: Extract<GraphOp, { op: 'conv' }>): boolean {
  return op.groups > 1 && op.groups === op.inChannels && op.spatialDims <= 2;
}

function channelAxisOf(node: GraphNode, rank: number): number {
  return node.layout === 'channels-first' && rank >= 3 ? 1 : rank - 1;
}

export function buildGraphModel(tf: TensorFlow, graph: ModelGraph, seed: number, variantId: string): GraphModel {
  const description = describeGraph(graph);
  const nodes = graph.nodes;
  const graphBatch = nodes[graph.inputs[0]?.node ?? 0]?.shape[0] ?? 1;
  const variables: tfc.Variable[] = [];
  const constants: tfc.Tensor[] = [];
  const prefix = `${variantId}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  const fail = (node: GraphNode, why: string): never => {
    throw new GraphBuildError(`${node.name} (${node.op.op}): ${why}`);
  };

  const variable = (node: GraphNode, name: string, values: Float32Array, shape: number[]): tfc.Variable => {
    // The variable takes its own reference to the data: the initial tensor is not needed after.
    const initial = tf.tensor(values, shape);
    const v = tf.variable(initial, true, `${prefix}.${node.id}.${name}`);
    initial.dispose();
    variables.push(v);
    return v;
  };
  const constant = (values: Float32Array, shape: number[]): tfc.Tensor => {
    const c = tf.keep(tf.tensor(values, shape));
    constants.push(c);
    return c;
  };
  /** A constant made during a forward pass (a pool's divisor map, a causal mask): made once, kept until dispose. */
  const cached = new Map<string, tfc.Tensor>();
  const cachedConstant = (key: string, make: () => Float32Array, shape: number[]): tfc.Tensor => {
    const full = `${key}:${shape.join('x')}`;
    let c = cached.get(full);
    if (!c) cached.set(full, (c = constant(make(), shape)));
    return c;
  };

  const uniform = (random: () => number, n: number, bound: number): Float32Array => Float32Array.from({ length: n }, () => (2 * random() - 1) * bound);
  const filled = (n: number, value: number): Float32Array => new Float32Array(n).fill(value);

  /** Kernel and bias values by the framework's default initialiser. */
  const initialise = (init: GraphInit, random: () => number, size: number, fanIn: number, fanOut: number, biasSize: number): { kernel: Float32Array; bias: Float32Array } => {
    switch (init) {
      case 'torch-default': {
        const bound = 1 / Math.sqrt(Math.max(1, fanIn));
        return { kernel: uniform(random, size, bound), bias: uniform(random, biasSize, bound) };
      }
      case 'glorot-uniform':
        return { kernel: uniform(random, size, Math.sqrt(6 / Math.max(1, fanIn + fanOut))), bias: new Float32Array(biasSize) };
      case 'normal':
        return { kernel: Float32Array.from({ length: size }, () => gaussian(random)), bias: new Float32Array(biasSize) };
      case 'uniform-0.05':
        return { kernel: uniform(random, size, 0.05), bias: new Float32Array(biasSize) };
    }
  };

  const createWeights = (node: GraphNode): NodeWeights | undefined => {
    const op = node.op;
    const random = seededRandom(mixSeed(seed, hashText(node.name)));
    switch (op.op) {
      case 'conv': {
        if (op.inChannels % op.groups !== 0 || op.outChannels % op.groups !== 0) fail(node, `${op.inChannels} in and ${op.outChannels} out channels do not split into ${op.groups} groups`);
        const perGroupIn = op.inChannels / op.groups;
        const receptive = product(op.kernel);
        const size = receptive * perGroupIn * op.outChannels;
        const { kernel, bias } = initialise(op.init, random, size, receptive * perGroupIn, (receptive * op.outChannels) / op.groups, op.outChannels);
        if (isDepthwise(op)) {
          // One [k..., channels, multiplier] kernel for tf.depthwiseConv2d.
          const depthwise = variable(node, 'depthwise', kernel, [...op.kernel, op.inChannels, op.outChannels / op.inChannels]);
          return { kernels: [depthwise], tensors: { depthwise, ...(op.bias ? { bias: variable(node, 'bias', bias, [op.outChannels]) } : {}) } };
        }
        // One kernel per group, [k..., in/groups, out/groups]: groups run as separate convs.
        const perGroupOut = op.outChannels / op.groups;
        const kernels: tfc.Variable[] = [];
        const groupSize = size / op.groups;
        for (let g = 0; g < op.groups; g++) kernels.push(variable(node, `kernel${g}`, kernel.subarray(g * groupSize, (g + 1) * groupSize), [...op.kernel, perGroupIn, perGroupOut]));
        const tensors: Record<string, tfc.Variable> = {};
        kernels.forEach((k, g) => (tensors[`kernel${g}`] = k));
        if (op.bias) tensors['bias'] = variable(node, 'bias', bias, [op.outChannels]);
        return { kernels, tensors };
      }
      case 'linear': {
        const { kernel, bias } = initialise(op.init, random, op.inFeatures * op.outFeatures, op.inFeatures, op.outFeatures, op.outFeatures);
        const k = variable(node, 'kernel', kernel, [op.inFeatures, op.outFeatures]);
        return { kernels: [k], tensors: { kernel: k, ...(op.bias ? { bias: variable(node, 'bias', bias, [op.outFeatures]) } : {}) } };
      }
      case 'embedding': {
        const { kernel } = initialise(op.init, random, op.vocabulary * op.features, op.vocabulary, op.features, 0);
        const table = variable(node, 'table', kernel, [op.vocabulary, op.features]);
        return { kernels: [table], tensors: { table } };
      }
      case 'batchnorm':
      case 'groupnorm': {
        const c = op.channels;
        if (!op.affine) return { kernels: [], tensors: { gamma: constant(filled(c, 1), [c]), beta: constant(new Float32Array(c), [c]) } };
        return { kernels: [], tensors: { gamma: variable(node, 'gamma', filled(c, 1), [c]), beta: variable(node, 'beta', new Float32Array(c), [c]) } };
      }
      case 'layernorm': {
        const size = product(op.normalizedShape);
        if (!op.affine) return { kernels: [], tensors: {} };
        return {
          kernels: [],
          tensors: {
            gamma: variable(node, 'gamma', filled(size, 1), op.normalizedShape),
            ...(op.bias ? { beta: variable(node, 'beta', new Float32Array(size), op.normalizedShape) } : {}),
          },
        };
      }
      case 'attention': {
        const { embedDim: e, heads: h, keyDim: k, valueDim: v } = op;
        // PyTorch: in_proj xavier-uniform over [3e, e], biases 0, out_proj the Linear default (its bias then set to 0); Keras: glorot everywhere.
        const torch = op.init === 'torch-default';
        const glorot = (fanIn: number, fanOut: number, size: number): Float32Array => uniform(random, size, Math.sqrt(6 / (fanIn + fanOut)));
        const inFanOut = torch ? 2 * h * k + h * v : h * k;
        const query = variable(node, 'query', glorot(e, inFanOut, e * h * k), [e, h * k]);
        const key = variable(node, 'key', glorot(e, torch ? inFanOut : h * k, e * h * k), [e, h * k]);
        const value = variable(node, 'value', glorot(e, torch ? inFanOut : h * v, e * h * v), [e, h * v]);
        const output = variable(node, 'output', torch ? uniform(random, h * v * e, 1 / Math.sqrt(h * v)) : glorot(h * v, e, h * v * e), [h * v, e]);
        const tensors: Record<string, tfc.Variable> = { query, key, value, output };
        if (op.bias) {
          tensors['queryBias'] = variable(node, 'queryBias', new Float32Array(h * k), [h * k]);
          tensors['keyBias'] = variable(node, 'keyBias', new Float32Array(h * k), [h * k]);
          tensors['valueBias'] = variable(node, 'valueBias', new Float32Array(h * v), [h * v]);
          tensors['outputBias'] = variable(node, 'outputBias', new Float32Array(e), [e]);
        }
        return { kernels: [query, key, value, output], tensors };
      }
      default:
        return undefined;
    }
  };

  // Weights, in node order; a repeat call reuses its first call's.
  const weights: (NodeWeights | undefined)[] = [];
  for (const node of nodes) {
    if (node.sharesWeightsWith !== undefined) {
      // A repeat call of a layer: its weights are the first call's (ops without weights, such as a layer's activation, have none to share).
      const owner = weights[node.sharesWeightsWith];
      if (!owner && isWeightedOp(node.op)) fail(node, `shares weights with node ${node.sharesWeightsWith}, which has none`);
      weights.push(owner ?? createWeights(node));
    } else weights.push(createWeights(node));
  }

  // The layers of the chart: weighted nodes that own their weights, in node order.
  const layerOfNode = new Map<number, number>();
  const layerWeights: tfc.Variable[][] = [];
  description.layers.forEach((_, index) => {
    const nodeId = description.layerNodes[index]!;
    layerOfNode.set(nodeId, index);
    layerWeights.push(weights[nodeId]!.kernels);
  });

  // Fusion: a BatchNorm whose only reader is a ReLU (or a residual add that only a ReLU
  // reads) runs as one kernel (normKernels.ts); the intermediate values are never needed.
  const fusedNorm = hasNormActKernels(tf.getBackend());
  const readers = nodes.map(() => 0);
  for (const node of nodes) for (const input of node.inputs) readers[input]!++;
  readers[graph.output]!++;
  const isRelu = (node: GraphNode | undefined): boolean => node?.op.op === 'activation' && node.op.fn === 'relu';
  const soleReader = new Map<number, number>();
  for (const node of nodes) for (const input of node.inputs) if (readers[input] === 1) soleReader.set(input, node.id);
  /** For a BatchNorm node: the add it absorbs (the other operand, by node id) and whether a ReLU follows; where the fused node's value lands. */
  interface Fusion {
    residual?: number;
    relu: boolean;
    /** The node whose value the fused op produces (the ReLU, the add, or the norm itself). */
    lands: number;
  }
  const fusions = new Map<number, Fusion>();
  const skipped = new Set<number>();
  /** add node id -> the BatchNorm evaluated in its place. */
  const fusedAt = new Map<number, number>();
  if (fusedNorm) {
    for (const node of nodes) {
      if (node.op.op !== 'batchnorm') continue;
      const next = soleReader.get(node.id);
      if (next === undefined) continue;
      const nextNode = nodes[next]!;
      if (isRelu(nextNode)) {
        fusions.set(node.id, { relu: true, lands: next });
        skipped.add(next);
        continue;
      }
      if (nextNode.op.op === 'add' && nextNode.inputs.length === 2 && nextNode.inputs[0] !== nextNode.inputs[1] && !fusedAt.has(next)) {
        const other = nextNode.inputs[0] === node.id ? nextNode.inputs[1]! : nextNode.inputs[0]!;
        if (!sameShape(nodes[other]!.shape, node.shape) || !sameShape(nextNode.shape, node.shape)) continue;
        const after = soleReader.get(next);
        const relu = after !== undefined && isRelu(nodes[after]);
        // Runs where the add is, once both operands exist (a shortcut is often traced after the norm).
        fusions.set(node.id, { residual: other, relu, lands: relu ? after! : next });
        skipped.add(node.id);
        fusedAt.set(next, node.id);
        if (relu) skipped.add(after!);
      }
    }
  }

  const toPerm = (v: Value, target: number[]): Value => {
    if (samePerm(v.perm, target)) return v;
    const shape = v.t.shape;
    const position = invert(v.perm);
    const axes = target.map((logical) => position[logical]!);
    // Only size-1 axes move: a reshape keeps the element order.
    const moved = axes.filter((a) => shape[a] !== 1);
    const ordered = moved.every((a, i) => i === 0 || a > moved[i - 1]!);
    const t = ordered ? tf.reshape(v.t, axes.map((a) => shape[a]!)) : tf.transpose(v.t, axes);
    return { t, perm: target };
  };
  const logical = (v: Value): Value => toPerm(v, identity(v.perm.length));
  /** Channels on the last physical axis. */
  const channelsLast = (v: Value, channelAxis: number): Value => {
    const rank = v.perm.length;
    if (v.perm[rank - 1] === channelAxis) return v;
    if (channelAxis === rank - 1) return logical(v);
    return toPerm(v, [...identity(rank).filter((a) => a !== channelAxis), channelAxis]);
  };
  const physicalAxis = (v: Value, axis: number): number => invert(v.perm)[normaliseAxis(axis, v.perm.length)]!;
  const shapeOf = (v: Value): number[] => {
    const logicalShape = new Array<number>(v.perm.length);
    v.perm.forEach((l, p) => (logicalShape[l] = v.t.shape[p]!));
    return logicalShape;
  };

  const activation = (x: tfc.Tensor, op: Extract<GraphOp, { op: 'activation' }>, v: Value): tfc.Tensor => {
    switch (op.fn) {
      case 'relu':
        return tf.relu(x);
      case 'relu6':
        return tf.relu6(x);
      case 'leaky_relu':
        return tf.leakyRelu(x, op.alpha ?? 0.01);
      case 'elu':
        return (op.alpha ?? 1) === 1 ? tf.elu(x) : tf.add(tf.relu(x), tf.mul(op.alpha!, tf.sub(tf.exp(tf.minimum(x, 0)), 1)));
      case 'gelu':
        return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
      case 'gelu_tanh':
        return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
      case 'silu':
        return tf.mul(x, tf.sigmoid(x));
      case 'sigmoid':
        return tf.sigmoid(x);
      case 'tanh':
        return tf.tanh(x);
      case 'softmax':
        return softmaxOnAxis(x, physicalAxis(v, op.axis ?? -1));
      case 'hardswish':
        return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
      case 'hardsigmoid':
        return tf.div(tf.relu6(tf.add(x, 3)), 6);
      case 'softplus':
        return tf.softplus(x);
      case 'mish':
        return tf.mul(x, tf.tanh(tf.softplus(x)));
    }
  };
  const softmaxOnAxis = (x: tfc.Tensor, axis: number): tfc.Tensor => {
    const last = x.rank - 1;
    if (axis === last) return tf.softmax(x);
    const axes = identity(x.rank);
    axes[axis] = last;
    axes[last] = axis;
    return tf.transpose(tf.softmax(tf.transpose(x, axes)), axes);
  };

  /** Dilation as a zero-stuffed kernel: tfjs has no conv gradient for dilation > 1. */
  const dilateKernel = (kernel: tfc.Tensor, dilation: number[]): tfc.Tensor => {
    let k = kernel;
    dilation.forEach((d, axis) => {
      if (d === 1) return;
      const shape = k.shape;
      const size = shape[axis]!;
      // [.., size, ..] -> [.., size, 1, ..] padded to [.., size, d, ..] -> [.., size*d, ..] -> first (size-1)*d+1
      const expanded = tf.expandDims(k, axis + 1);
      const pads = expanded.shape.map((_, i): [number, number] => (i === axis + 1 ? [0, d - 1] : [0, 0]));
      const stuffed = tf.reshape(tf.pad(expanded, pads), shape.map((s, i) => (i === axis ? s * d : s)));
      k = tf.slice(stuffed, shape.map(() => 0), shape.map((s, i) => (i === axis ? (size - 1) * d + 1 : s)));
    });
    return k;
  };

  const conv = (node: GraphNode, op: Extract<GraphOp, { op: 'conv' }>, input: Value, w: NodeWeights): Value => {
    const rank = input.perm.length;
    if (rank !== op.spatialDims + 2) fail(node, `expects a ${op.spatialDims + 2}-D input, got ${rank}-D`);
    const channelAxis = channelAxisOf(node, rank);
    const v = channelsLast(input, channelAxis);
    let x = v.t;
    // Explicit 2-D padding goes to the conv itself (a separate pad costs a copy and a slice
    // in the backward pass); 3-D convs take only 'same'/'valid', so they are padded first.
    let padding: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] = 'valid';
    if (op.padding === 'same' || op.padding === 'valid') padding = op.padding;
    else if (op.padding.some((p) => p > 0)) {
      if (op.spatialDims === 3) x = tf.pad(x, [[0, 0], ...op.padding.map((p): [number, number] => [p, p]), [0, 0]]);
      else {
        const [ph, pw] = op.spatialDims === 1 ? [0, op.padding[0]!] : op.padding;
        padding = [[0, 0], [ph!, ph!], [pw!, pw!], [0, 0]];
      }
    }
    if (op.spatialDims === 1) x = tf.expandDims(x, 1);
    const stride = op.spatialDims === 1 ? [1, op.stride[0]!] : op.stride;
    const dilation = op.spatialDims === 1 ? [1, op.dilation[0]!] : op.dilation;
    const dilated = dilation.some((d) => d !== 1);
    if (isDepthwise(op)) {
      let k: tfc.Tensor = w.tensors['depthwise']!;
      if (op.spatialDims === 1) k = tf.expandDims(k, 0);
      if (dilated) k = dilateKernel(k, dilation);
      let y = depthwiseConv(x as tfc.Tensor4D, k as tfc.Tensor4D, stride as [number, number], padding);
      if (op.spatialDims === 1) y = tf.squeeze(y, [1]);
      if (w.tensors['bias']) y = tf.add(y, w.tensors['bias']);
      return { t: y, perm: v.perm };
    }
    const groupInputs = op.groups === 1 ? [x] : tf.split(x, op.groups, x.rank - 1);
    const outputs = groupInputs.map((gx, g) => {
      let k: tfc.Tensor = w.tensors[`kernel${g}`]!;
      if (op.spatialDims === 1) k = tf.expandDims(k, 0);
      if (dilated) k = dilateKernel(k, dilation);
      if (op.spatialDims === 3) return tf.conv3d(gx as tfc.Tensor5D, k as tfc.Tensor5D, stride as [number, number, number], padding === 'same' ? 'same' : 'valid');
      return tf.conv2d(gx as tfc.Tensor4D, k as tfc.Tensor4D, stride as [number, number], padding);
    });
    let y = outputs.length === 1 ? outputs[0]! : tf.concat(outputs, outputs[0]!.rank - 1);
    if (op.spatialDims === 1) y = tf.squeeze(y, [1]);
    if (w.tensors['bias']) y = tf.add(y, w.tensors['bias']);
    return { t: y, perm: v.perm };
  };

  /**
   * Depthwise conv: the wasm backend has the forward kernel but neither gradient, so both
   * are computed here over the typed arrays (x NHWC, filter [kh, kw, C, multiplier]).
   */
  const depthwiseConv = (x: tfc.Tensor4D, filter: tfc.Tensor4D, stride: [number, number], padding: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]): tfc.Tensor4D => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, stride, 1, padding, undefined, true);
    const run = tf.customGrad(((input: tfc.Tensor4D, kernel: tfc.Tensor4D, save: (tensors: tfc.Tensor[]) => void) => {
      save([input, kernel]);
      return {
        value: tf.depthwiseConv2d(input, kernel, stride, padding),
        gradFunc: (dy: tfc.Tensor | tfc.Tensor[], saved: tfc.Tensor[]) => {
          const g = (Array.isArray(dy) ? dy[0]! : dy).dataSync() as Float32Array;
          const xs = saved[0]!.dataSync() as Float32Array;
          const ws = saved[1]!.dataSync() as Float32Array;
          const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
          const multiplier = info.outChannels / inChannels;
          const top = info.padInfo.top;
          const left = info.padInfo.left;
          const dx = new Float32Array(xs.length);
          const dw = new Float32Array(ws.length);
          for (let b = 0; b < batchSize; b++)
            for (let oh = 0; oh < outHeight; oh++)
              for (let ow = 0; ow < outWidth; ow++) {
                const outBase = ((b * outHeight + oh) * outWidth + ow) * info.outChannels;
                for (let kh = 0; kh < filterHeight; kh++) {
                  const ih = oh * strideHeight - top + kh;
                  if (ih < 0 || ih >= inHeight) continue;
                  for (let kw = 0; kw < filterWidth; kw++) {
                    const iw = ow * strideWidth - left + kw;
                    if (iw < 0 || iw >= inWidth) continue;
                    const inBase = ((b * inHeight + ih) * inWidth + iw) * inChannels;
                    const filterBase = (kh * filterWidth + kw) * inChannels * multiplier;
                    for (let c = 0; c < inChannels; c++) {
                      const xv = xs[inBase + c]!;
                      let sum = 0;
                      for (let m = 0; m < multiplier; m++) {
                        const o = c * multiplier + m;
                        const gv = g[outBase + o]!;
                        sum += gv * ws[filterBase + o]!;
                        dw[filterBase + o]! += gv * xv;
                      }
                      dx[inBase + c]! += sum;
                    }
                  }
                }
              }
          return [tf.tensor(dx, saved[0]!.shape), tf.tensor(dw, saved[1]!.shape)];
        },
      };
    }) as unknown as Parameters<TensorFlow['customGrad']>[0]);
    return run(x, filter) as tfc.Tensor4D;
  };

  /** Pooling windows as PyTorch computes them: padding, ceil mode, the average's divisor. */
  const pool = (node: GraphNode, op: Extract<GraphOp, { op: 'pool' }>, input: Value): Value => {
    const rank = input.perm.length;
    if (rank !== op.spatialDims + 2) fail(node, `expects a ${op.spatialDims + 2}-D input, got ${rank}-D`);
    const v = channelsLast(input, channelAxisOf(node, rank));
    let x = v.t;
    const spatial = x.shape.slice(1, -1);
    const kernel = op.kernel;
    const stride = op.stride;
    let padding: 'same' | 'valid' = 'valid';
    let divisor: Float32Array | undefined;
    if (op.padding === 'same' || op.padding === 'valid') padding = op.padding;
    else {
      const pads = op.padding;
      const outSizes = spatial.map((size, i) => {
        const span = size + 2 * pads[i]! - kernel[i]!;
        let out = (op.ceilMode ? Math.ceil(span / stride[i]!) : Math.floor(span / stride[i]!)) + 1;
        // PyTorch: the last window must start inside the input or the left padding.
        if (op.ceilMode && (out - 1) * stride[i]! >= size + pads[i]!) out--;
        return out;
      });
      const after = spatial.map((size, i) => Math.max(0, (outSizes[i]! - 1) * stride[i]! + kernel[i]! - size - pads[i]!));
      if (pads.some((p) => p > 0) || after.some((a, i) => a > pads[i]!)) {
        const padValue = op.kind === 'max' ? -3.4e38 : 0;
        x = tf.pad(x, [[0, 0], ...pads.map((p, i): [number, number] => [p, after[i]!]), [0, 0]], padValue);
        if (op.kind === 'avg') {
          // Divisor per output position (PyTorch's avg_pool2d): windows clipped to input + padding, or to the input without count_include_pad.
          const cells = product(outSizes);
          divisor = new Float32Array(cells);
          const full = product(kernel);
          let varies = false;
          for (let index = 0; index < cells; index++) {
            let rest = index;
            let withPad = 1;
            let inside = 1;
            for (let axis = spatial.length - 1; axis >= 0; axis--) {
              const o = rest % outSizes[axis]!;
              rest = Math.floor(rest / outSizes[axis]!);
              const start = o * stride[axis]! - pads[axis]!;
              const end = Math.min(start + kernel[axis]!, spatial[axis]! + pads[axis]!);
              withPad *= end - start;
              inside *= Math.min(end, spatial[axis]!) - Math.max(start, 0);
            }
            divisor[index] = full / (op.countIncludePad ? withPad : inside);
            if (divisor[index] !== 1) varies = true;
          }
          if (!varies) divisor = undefined;
        }
      }
    }
    const run = (t: tfc.Tensor): tfc.Tensor => {
      if (op.spatialDims === 3) {
        const t5 = t as tfc.Tensor5D;
        const k3 = kernel as [number, number, number];
        const s3 = stride as [number, number, number];
        return op.kind === 'max' ? tf.maxPool3d(t5, k3, s3, padding) : tf.avgPool3d(t5, k3, s3, padding);
      }
      const k2 = (op.spatialDims === 1 ? [1, kernel[0]!] : kernel) as [number, number];
      const s2 = (op.spatialDims === 1 ? [1, stride[0]!] : stride) as [number, number];
      const t4 = (op.spatialDims === 1 ? tf.expandDims(t, 1) : t) as tfc.Tensor4D;
      const y = op.kind === 'max' ? tf.maxPool(t4, k2, s2, padding) : tf.avgPool(t4, k2, s2, padding);
      return op.spatialDims === 1 ? tf.squeeze(y, [1]) : y;
    };
    let y = run(x);
    if (divisor) {
      const map = divisor;
      y = tf.mul(y, cachedConstant(`divisor${node.id}`, () => map, [...y.shape.slice(1, -1), 1]));
    }
    return { t: y, perm: v.perm };
  };

  /** PyTorch's adaptive pooling: output cell i covers [floor(i*in/out), ceil((i+1)*in/out)) on each axis. */
  const adaptivePool = (node: GraphNode, op: Extract<GraphOp, { op: 'adaptive-pool' }>, input: Value): Value => {
    const rank = input.perm.length;
    if (rank !== op.spatialDims + 2) fail(node, `expects a ${op.spatialDims + 2}-D input, got ${rank}-D`);
    const v = channelsLast(input, channelAxisOf(node, rank));
    let x = v.t;
    const reduce = (t: tfc.Tensor, axes: number | number[]): tfc.Tensor => (op.kind === 'max' ? tf.max(t, axes, true) : tf.mean(t, axes, true));
    if (op.outputSize.every((s) => s === 1)) return { t: reduce(x, identity(op.spatialDims).map((a) => a + 1)), perm: v.perm };
    for (let axis = 1; axis <= op.spatialDims; axis++) {
      const size = x.shape[axis]!;
      const out = op.outputSize[axis - 1]!;
      if (out === size) continue;
      if (size % out === 0) {
        // Equal windows: a reshape and a reduction.
        const shape = [...x.shape];
        shape.splice(axis, 1, out, size / out);
        x = tf.squeeze(reduce(tf.reshape(x, shape), axis + 1), [axis + 1]);
        continue;
      }
      if (out > 64) fail(node, `adaptive pooling from ${size} to ${out} (not a divisor) is limited to 64 output cells per axis`);
      const cells: tfc.Tensor[] = [];
      for (let i = 0; i < out; i++) {
        const start = Math.floor((i * size) / out);
        const end = Math.ceil(((i + 1) * size) / out);
        const begin = x.shape.map((_, a) => (a === axis ? start : 0));
        const extent = x.shape.map((s, a) => (a === axis ? end - start : s));
        cells.push(reduce(tf.slice(x, begin, extent), axis));
      }
      x = tf.concat(cells, axis);
    }
    return { t: x, perm: v.perm };
  };

  const batchNorm = (node: GraphNode, op: Extract<GraphOp, { op: 'batchnorm' }>, input: Value, w: NodeWeights, fusion: Fusion | undefined, residual: Value | undefined): Value => {
    const rank = input.perm.length;
    const v = channelsLast(input, channelAxisOf(node, rank));
    const gamma = w.tensors['gamma']! as tfc.Tensor1D;
    const beta = w.tensors['beta']! as tfc.Tensor1D;
    if (fusedNorm) {
      const r = residual ? toPerm(residual, v.perm).t : undefined;
      return { t: normAct(tf, v.t as tfc.Tensor4D, gamma, beta, r as tfc.Tensor4D | undefined, { epsilon: op.epsilon, relu: fusion?.relu ?? false }), perm: v.perm };
    }
    const axes = identity(rank - 1);
    const { mean, variance } = tf.moments(v.t, axes);
    return { t: tf.batchNorm(v.t, mean, variance, beta, gamma, op.epsilon), perm: v.perm };
  };

  const layerNorm = (node: GraphNode, op: Extract<GraphOp, { op: 'layernorm' }>, input: Value, w: NodeWeights): Value => {
    const rank = input.perm.length;
    const k = op.normalizedShape.length;
    if (k > rank - 1) fail(node, `normalises ${k} axes of a ${rank}-D tensor`);
    // The normalised axes must be the physical last ones, in order.
    const tail = input.perm.slice(rank - k);
    const v = tail.every((a, i) => a === rank - k + i) ? input : logical(input);
    const axes = identity(k).map((i) => rank - k + i);
    const { mean, variance } = tf.moments(v.t, axes, true);
    let y = tf.mul(tf.sub(v.t, mean), tf.rsqrt(tf.add(variance, op.epsilon)));
    if (w.tensors['gamma']) y = tf.mul(y, w.tensors['gamma']);
    if (w.tensors['beta']) y = tf.add(y, w.tensors['beta']);
    return { t: y, perm: v.perm };
  };

  const groupNorm = (node: GraphNode, op: Extract<GraphOp, { op: 'groupnorm' }>, input: Value, w: NodeWeights): Value => {
    const rank = input.perm.length;
    const v = channelsLast(input, channelAxisOf(node, rank));
    const shape = v.t.shape;
    const channels = shape[rank - 1]!;
    if (channels % op.groups !== 0) fail(node, `${channels} channels do not split into ${op.groups} groups`);
    const grouped = tf.reshape(v.t, [shape[0]!, product(shape.slice(1, -1)), op.groups, channels / op.groups]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const normalised = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, op.epsilon))), shape);
    return { t: tf.add(tf.mul(normalised, w.tensors['gamma']!), w.tensors['beta']!), perm: v.perm };
  };

  const linear = (node: GraphNode, op: Extract<GraphOp, { op: 'linear' }>, input: Value, w: NodeWeights): Value => {
    const rank = input.perm.length;
    const v = input.perm[rank - 1] === rank - 1 ? input : logical(input);
    const shape = v.t.shape;
    if (shape[rank - 1] !== op.inFeatures) fail(node, `expects ${op.inFeatures} input features, got ${shape[rank - 1]}`);
    const rows = tf.reshape(v.t, [-1, op.inFeatures]) as tfc.Tensor2D;
    let y: tfc.Tensor = tf.matMul(rows, w.tensors['kernel'] as tfc.Tensor2D);
    if (w.tensors['bias']) y = tf.add(y, w.tensors['bias']);
    return { t: tf.reshape(y, [...shape.slice(0, -1), op.outFeatures]), perm: v.perm };
  };

  const embedding = (node: GraphNode, op: Extract<GraphOp, { op: 'embedding' }>, input: Value, w: NodeWeights): Value => {
    const tokens = logical(input).t;
    if (tokens.dtype !== 'int32') fail(node, 'reads token ids, but its input is not a token input of the model');
    // Position embeddings look up 0..T-1, T the token sequence's length.
    const ids = op.positions ? tf.range(0, tokens.shape[1] ?? 0, 1, 'int32') : tokens;
    const table = w.tensors['table'] as tfc.Variable;
    const flatIds = tf.reshape(ids, [-1]);
    // Read now: the ids tensor is gone by the time the gradient runs.
    const idList = Int32Array.from(flatIds.dataSync() as Int32Array);
    if (idList.some((id) => id < 0 || id >= op.vocabulary)) fail(node, `token ids must be in 0..${op.vocabulary - 1}`);
    // Gather's stock gradient needs UnsortedSegmentSum, which the wasm backend lacks: the table's gradient is summed here.
    const lookup = tf.customGrad(((t: tfc.Tensor) => ({
      value: tf.gather(t, flatIds),
      gradFunc: (dy: tfc.Tensor | tfc.Tensor[]) => {
        const d = (Array.isArray(dy) ? dy[0]! : dy).dataSync() as Float32Array;
        const grad = new Float32Array(op.vocabulary * op.features);
        for (let row = 0; row < idList.length; row++) {
          const target = idList[row]! * op.features;
          const source = row * op.features;
          for (let f = 0; f < op.features; f++) grad[target + f]! += d[source + f]!;
        }
        return [tf.tensor(grad, [op.vocabulary, op.features])];
      },
    })) as unknown as Parameters<TensorFlow["customGrad"]>[0]);
    const rows = lookup(table);
    return { t: tf.reshape(rows, [...ids.shape, op.features]), perm: identity(ids.rank + 1) };
  };

  const attention = (node: GraphNode, op: Extract<GraphOp, { op: 'attention' }>, inputs: Value[], w: NodeWeights): Value => {
    const [q, k, v] = inputs.map((value) => {
      let t = logical(value).t;
      if (t.rank !== 3) fail(node, `attention inputs must be 3-D (batch, sequence, features), got ${t.rank}-D`);
      if (!op.batchFirst) t = tf.transpose(t, [1, 0, 2]);
      if (t.shape[2] !== op.embedDim) fail(node, `attention inputs must have ${op.embedDim} features (key and value dims other than the embedding dim are not built), got ${t.shape[2]}`);
      return t;
    }) as [tfc.Tensor3D, tfc.Tensor3D, tfc.Tensor3D];
    const { heads: h, keyDim, valueDim, embedDim } = op;
    const project = (x: tfc.Tensor3D, kernel: string, bias: string, size: number): tfc.Tensor => {
      const [n, len] = x.shape;
      let y: tfc.Tensor = tf.matMul(tf.reshape(x, [-1, embedDim]) as tfc.Tensor2D, w.tensors[kernel] as tfc.Tensor2D);
      if (w.tensors[bias]) y = tf.add(y, w.tensors[bias]);
      return tf.transpose(tf.reshape(y, [n, len, h, size]), [0, 2, 1, 3]);
    };
    const query = project(q, 'query', 'queryBias', keyDim);
    const key = project(k, 'key', 'keyBias', keyDim);
    const value = project(v, 'value', 'valueBias', valueDim);
    const scores = tf.mul(tf.matMul(query as tfc.Tensor4D, key as tfc.Tensor4D, false, true), 1 / Math.sqrt(keyDim));
    const attended = tf.matMul(tf.softmax(scores), value as tfc.Tensor4D);
    const [n, , len] = attended.shape;
    const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [-1, h * valueDim]) as tfc.Tensor2D;
    let out: tfc.Tensor = tf.matMul(merged, w.tensors['output'] as tfc.Tensor2D);
    if (w.tensors['outputBias']) out = tf.add(out, w.tensors['outputBias']);
    out = tf.reshape(out, [n!, len!, embedDim]);
    if (!op.batchFirst) out = tf.transpose(out, [1, 0, 2]);
    return { t: out, perm: identity(3) };
  };

  /** Basic slicing with steps: tfjs's StridedSlice has no gradient, so a step is a reshape and a slice. */
  const slice = (node: GraphNode, op: Extract<GraphOp, { op: 'slice' }>, input: Value): Value => {
    if (op.ranges.length > input.perm.length) fail(node, `slices ${op.ranges.length} axes of a ${input.perm.length}-D tensor`);
    let t = input.t;
    op.ranges.forEach((range, axis) => {
      if (axis === 0) {
        // The graph's own batch size stands for the whole batch here.
        if (range.start === 0 && range.step === 1 && range.stop >= graphBatch) return;
        fail(node, 'slicing the batch axis is not built (the probe trains on its own batch size)');
      }
      const p = physicalAxis(input, axis);
      const size = t.shape[p]!;
      const start = Math.max(0, Math.min(size, range.start));
      const stop = Math.max(start, Math.min(size, range.stop));
      const step = Math.max(1, range.step);
      if (start === 0 && stop === size && step === 1) return;
      const count = Math.ceil((stop - start) / step);
      const span = count * step;
      const begin = t.shape.map((_, a) => (a === p ? start : 0));
      const extent = t.shape.map((s, a) => (a === p ? Math.min(span, size - start) : s));
      let piece = tf.slice(t, begin, extent);
      if (step > 1) {
        if (piece.shape[p]! < span) piece = tf.pad(piece, piece.shape.map((_, a): [number, number] => (a === p ? [0, span - piece.shape[p]!] : [0, 0])));
        // As [outer, count, step, inner]: a 4-D slice (wasm's Slice is slow on higher ranks).
        const outer = product(piece.shape.slice(0, p));
        const inner = product(piece.shape.slice(p + 1));
        const taken = tf.slice(tf.reshape(piece, [outer, count, step, inner]), [0, 0, 0, 0], [outer, count, 1, inner]);
        piece = tf.reshape(taken, piece.shape.map((s, a) => (a === p ? count : s)));
      }
      t = piece;
    });
    return { t, perm: input.perm };
  };

  const binary = (node: GraphNode, kind: 'add' | 'sub' | 'mul' | 'div', a: Value, b: Value): Value => {
    let [x, y] = [a, b];
    if (x.perm.length === y.perm.length) y = toPerm(y, x.perm);
    else {
      x = logical(x);
      y = logical(y);
    }
    const f = kind === 'add' ? tf.add : kind === 'sub' ? tf.sub : kind === 'mul' ? tf.mul : tf.div;
    try {
      return { t: f(x.t, y.t), perm: x.perm.length >= y.perm.length ? x.perm : y.perm };
    } catch (err) {
      return fail(node, `operands ${JSON.stringify(shapeOf(a))} and ${JSON.stringify(shapeOf(b))} do not broadcast (${err instanceof Error ? err.message : String(err)})`);
    }
  };

  /** The target shape of a reshape or flatten, with the probe's batch in place of the graph's. */
  const targetShape = (node: GraphNode, size: number): number[] => {
    const rest = product(node.shape.slice(1));
    if (rest === 0 || size % rest !== 0) fail(node, `cannot reshape ${size} values to ${JSON.stringify(node.shape)} with another batch size`);
    return [size / rest, ...node.shape.slice(1)];
  };

  const evaluate = (node: GraphNode, args: Value[], values: (Value | undefined)[], inputTensors: tfc.Tensor[]): Value => {
    const op = node.op;
    const [a, b] = args;
    const w = weights[node.id];
    switch (op.op) {
      case 'input': {
        const index = graph.inputs.findIndex((i) => i.node === node.id);
        const t = inputTensors[index];
        if (!t) fail(node, `no data for model input ${index}`);
        return { t: t!, perm: inputPerm(index) };
      }
      case 'conv':
        return conv(node, op, a!, w!);
      case 'linear':
        return linear(node, op, a!, w!);
      case 'embedding':
        return embedding(node, op, a!, w!);
      case 'batchnorm': {
        const fusion = fusions.get(node.id);
        return batchNorm(node, op, a!, w!, fusion, fusion?.residual !== undefined ? values[fusion.residual] : undefined);
      }
      case 'layernorm':
        return layerNorm(node, op, a!, w!);
      case 'groupnorm':
        return groupNorm(node, op, a!, w!);
      case 'activation':
        return { t: activation(a!.t, op, a!), perm: a!.perm };
      case 'dropout':
      case 'identity':
        return a!;
      case 'pool':
        return pool(node, op, a!);
      case 'adaptive-pool':
        return adaptivePool(node, op, a!);
      case 'reduce': {
        const rank = a!.perm.length;
        const axes = op.axes.map((axis) => normaliseAxis(axis, rank));
        const physical = axes.map((axis) => physicalAxis(a!, axis));
        const f = op.kind === 'mean' ? tf.mean : op.kind === 'sum' ? tf.sum : tf.max;
        const t = f(a!.t, physical, op.keepDims);
        if (op.keepDims) return { t, perm: a!.perm };
        const kept = a!.perm.filter((l) => !axes.includes(l));
        return { t, perm: kept.map((l) => l - axes.filter((r) => r < l).length) };
      }
      case 'flatten':
      case 'reshape': {
        const x = logical(a!).t;
        return { t: tf.reshape(x, targetShape(node, x.size)), perm: identity(node.shape.length) };
      }
      case 'permute': {
        const rank = a!.perm.length;
        const axes = op.axes.map((axis) => normaliseAxis(axis, rank));
        if (axes.length !== rank || new Set(axes).size !== rank) fail(node, `permutation ${JSON.stringify(op.axes)} does not fit a ${rank}-D tensor`);
        const newAxisOf = invert(axes);
        return { t: a!.t, perm: a!.perm.map((l) => newAxisOf[l]!) };
      }
      case 'add':
      case 'sub':
      case 'mul':
      case 'div':
        if (args.length !== 2) fail(node, `needs two operands, got ${args.length}`);
        return binary(node, op.op, a!, b!);
      case 'scale': {
        let t = a!.t;
        if (op.factor !== 1) t = tf.mul(t, op.factor);
        if (op.offset !== 0) t = tf.add(t, op.offset);
        return { t, perm: a!.perm };
      }
      case 'concat': {
        const first = args[0]!;
        const aligned = args.map((v) => toPerm(v, first.perm));
        return { t: tf.concat(aligned.map((v) => v.t), physicalAxis(first, op.axis)), perm: first.perm };
      }
      case 'matmul': {
        const x = logical(a!).t;
        const y = logical(b!).t;
        return { t: tf.matMul(x as tfc.Tensor3D, y as tfc.Tensor3D), perm: identity(Math.max(x.rank, y.rank)) };
      }
      case 'pad': {
        const rank = a!.perm.length;
        if (op.pads.length > rank) fail(node, `pads ${op.pads.length} axes of a ${rank}-D tensor`);
        const physicalPads = a!.perm.map((l): [number, number] => op.pads[l] ?? [0, 0]);
        if (physicalPads.some(([before, after]) => before < 0 || after < 0)) fail(node, 'negative padding (cropping) is not built');
        return { t: tf.pad(a!.t, physicalPads), perm: a!.perm };
      }
      case 'slice':
        return slice(node, op, a!);
      case 'split-take': {
        const p = physicalAxis(a!, op.axis);
        const begin = a!.t.shape.map((_, i) => (i === p ? op.index * op.size : 0));
        const size = a!.t.shape.map((s, i) => (i === p ? Math.min(op.size, s - op.index * op.size) : s));
        if (size[p]! <= 0) fail(node, `piece ${op.index} of size ${op.size} is beyond the axis (${a!.t.shape[p]})`);
        return { t: tf.slice(a!.t, begin, size), perm: a!.perm };
      }
      case 'upsample': {
        const rank = a!.perm.length;
        if (rank !== op.spatialDims + 2 || op.spatialDims === 3) fail(node, `upsampling is built for 1-D and 2-D inputs, got ${rank}-D`);
        const v = channelsLast(a!, channelAxisOf(node, rank));
        const x = (op.spatialDims === 1 ? tf.expandDims(v.t, 1) : v.t) as tfc.Tensor4D;
        const scales = op.spatialDims === 1 ? [1, op.scale[0]!] : op.scale;
        const size: [number, number] = [Math.floor(x.shape[1] * scales[0]!), Math.floor(x.shape[2] * scales[1]!)];
        const y = op.mode === 'nearest' ? tf.image.resizeNearestNeighbor(x, size) : tf.image.resizeBilinear(x, size, false, true);
        return { t: op.spatialDims === 1 ? tf.squeeze(y, [1]) : y, perm: v.perm };
      }
      case 'causal-mask': {
        const x = logical(a!).t;
        const [rows, columns] = x.shape.slice(-2) as [number, number];
        const makeMask = (): Float32Array => {
          const mask = new Float32Array(rows * columns);
          for (let i = 0; i < rows; i++) for (let j = i + 1; j < columns; j++) mask[i * columns + j] = -1e9;
          return mask;
        };
        return { t: tf.add(x, cachedConstant('causal', makeMask, [rows, columns])), perm: identity(x.rank) };
      }
      case 'attention':
        if (args.length !== 3) fail(node, `attention needs query, key and value, got ${args.length} inputs`);
        return attention(node, op, args, w!);
    }
  };

  /**
   * A PyTorch image input arrives channels-last when a channel op (conv, pool, norm) reads
   * it, so that the first conv needs no transpose; a sequence [N, T, E] stays as it is.
   */
  const channelOps = new Set<GraphOp['op']>(['conv', 'pool', 'adaptive-pool', 'batchnorm', 'groupnorm', 'upsample']);
  const inputPerm = (index: number): number[] => {
    const input = graph.inputs[index]!;
    const node = nodes[input.node]!;
    const rank = node.shape.length;
    if (input.kind !== 'float' || node.layout !== 'channels-first' || rank < 3) return identity(rank);
    const readByChannelOp = nodes.some((reader) => reader.inputs.includes(node.id) && channelOps.has(reader.op.op) && reader.layout === 'channels-first');
    return readByChannelOp ? channelsLastOf(rank) : identity(rank);
  };

  const forwardValues = (inputTensors: tfc.Tensor[], collect?: tfc.Tensor[]): Value => {
    const values: (Value | undefined)[] = new Array(nodes.length);
    const layerOutputs: (tfc.Tensor | undefined)[] = new Array(layerWeights.length);
    for (const visited of nodes) {
      if (skipped.has(visited.id)) continue;
      const node = nodes[fusedAt.get(visited.id) ?? visited.id]!;
      const args = node.inputs.map((id) => {
        const value = values[id];
        if (!value) fail(node, `input node ${id} has no value (inputs must come before the node)`);
        return value!;
      });
      const value = evaluate(node, args, values, inputTensors);
      const fusion = fusions.get(node.id);
      // The graph's shapes come from another process: what an op gives must be what the node
      // says (batch aside), or the sizes the plan was checked against mean nothing.
      const landed = nodes[fusion ? fusion.lands : node.id]!;
      const actual = shapeOf(value);
      if (actual.length !== landed.shape.length || actual.some((d, i) => i > 0 && d !== landed.shape[i])) {
        fail(landed, `gives shape ${JSON.stringify(actual.slice(1))} (batch aside) where the graph says ${JSON.stringify(landed.shape.slice(1))}`);
      }
      values[fusion ? fusion.lands : node.id] = value;
      const layer = layerOfNode.get(node.id);
      if (collect && layer !== undefined) layerOutputs[layer] = value.t;
    }
    if (collect) for (const t of layerOutputs) if (t) collect.push(t);
    const output = values[graph.output];
    if (!output) throw new GraphBuildError(`the output node ${graph.output} has no value`);
    return logical(output);
  };

  const forward = (inputTensors: tfc.Tensor[], collect?: tfc.Tensor[]): tfc.Tensor2D => {
    const out = forwardValues(inputTensors, collect).t;
    return tf.reshape(out, [-1, out.shape[out.rank - 1]!]) as tfc.Tensor2D;
  };

  const inputLayouts: GraphInputLayout[] = graph.inputs.map((input) => {
    const node = nodes[input.node]!;
    const rank = node.shape.length;
    if (input.kind === 'tokens') return { kind: 'tokens', shape: node.shape.slice(1), channelAxis: rank - 2, ...(input.vocabulary ? { vocabulary: input.vocabulary } : {}) };
    const perm = inputPerm(graph.inputs.indexOf(input));
    return { kind: 'float', shape: perm.slice(1).map((l) => node.shape[l]!), channelAxis: rank - 2 };
  });

  return {
    description,
    inputLayouts,
    layers: description.layers,
    params: description.params,
    trainingFlopsPerSample: description.trainingFlopsPerSample,
    variables,
    layerWeights,
    forward,
    dispose: () => {
      variables.forEach((v) => v.dispose());
      constants.forEach((c) => c.dispose());
    },
  };
}
