// Keras and TF.js layers → model-graph ops. One table for both APIs: TF.js copies Keras's
// layers, defaults included (BatchNormalization epsilon 1e-3, LeakyReLU 0.3, Glorot-uniform
// kernels, zero biases). A layer's arguments arrive by Keras parameter name (TF.js options
// are snake_cased by the interpreter). Anything the probe cannot build faithfully is a
// reason, never a guessed op.
import { type Dim, isConcrete } from '../../shapes/dim';
import type { ShapeDim } from '../../shapes/shape';
import type { Value } from '../../keras/values';
import type { ActivationFn, GraphOp } from '../graph';

/** Keras's batch dim is symbolic: graphs carry this placeholder, the probe uses its own batch size. */
export const placeholderBatch = 1;

/** One node a layer becomes; `suffix` names the extra nodes (`conv1.activation`), the node without one carries the layer's name. */
export interface PlannedNode {
  op: GraphOp;
  suffix?: string;
  /** The node's shape when it is not the layer's output shape (the depthwise half of a separable conv). */
  shape?: ShapeDim[];
}

export type LayerPlan = { nodes: PlannedNode[] } | { reason: string };

/** Keras's positional parameter order, for the layers the probe builds. */
const convOrder = ['filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'groups', 'activation', 'use_bias'];
const poolOrder = ['pool_size', 'strides', 'padding', 'data_format'];
export const positionalOrder: ReadonlyMap<string, string[]> = new Map([
  ...['Conv1D', 'Conv2D', 'Conv3D'].map((t): [string, string[]] => [t, convOrder]),
  ['DepthwiseConv1D', ['kernel_size', 'strides', 'padding', 'depth_multiplier', 'data_format', 'dilation_rate', 'activation', 'use_bias']],
  ['DepthwiseConv2D', ['kernel_size', 'strides', 'padding', 'depth_multiplier', 'data_format', 'dilation_rate', 'activation', 'use_bias']],
  ['SeparableConv1D', ['filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'depth_multiplier', 'activation', 'use_bias']],
  ['SeparableConv2D', ['filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'depth_multiplier', 'activation', 'use_bias']],
  ['Dense', ['units', 'activation', 'use_bias']],
  ['Activation', ['activation']],
  ['Dropout', ['rate']], ['SpatialDropout1D', ['rate']], ['SpatialDropout2D', ['rate']], ['SpatialDropout3D', ['rate']],
  ['BatchNormalization', ['axis', 'momentum', 'epsilon', 'center', 'scale']],
  ['LayerNormalization', ['axis', 'epsilon', 'center', 'scale']],
  ['GroupNormalization', ['groups', 'axis', 'epsilon', 'center', 'scale']],
  ['ReLU', ['max_value', 'negative_slope', 'threshold']],
  ['LeakyReLU', ['negative_slope']],
  ['ELU', ['alpha']],
  ['Softmax', ['axis']],
  ...['MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D'].map((t): [string, string[]] => [t, poolOrder]),
  ...['GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalAveragePooling3D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'GlobalMaxPooling3D'].map((t): [string, string[]] => [t, ['data_format', 'keepdims']]),
  ['ZeroPadding1D', ['padding']], ['ZeroPadding2D', ['padding', 'data_format']], ['ZeroPadding3D', ['padding', 'data_format']],
  ['Cropping1D', ['cropping']], ['Cropping2D', ['cropping', 'data_format']], ['Cropping3D', ['cropping', 'data_format']],
  ['UpSampling1D', ['size']], ['UpSampling2D', ['size', 'data_format', 'interpolation']], ['UpSampling3D', ['size', 'data_format']],
  ['Flatten', ['data_format']],
  ['Reshape', ['target_shape']],
  ['Permute', ['dims']],
  ['Embedding', ['input_dim', 'output_dim']],
  ['MultiHeadAttention', ['num_heads', 'key_dim', 'value_dim', 'dropout', 'use_bias', 'output_shape']],
  ['Rescaling', ['scale', 'offset']],
  ['Concatenate', ['axis']],
  ['Identity', []],
]);

/** The arguments of one layer construction by parameter name. */
export type LayerArgs = ReadonlyMap<string, Value>;

export function layerArgs(type: string, positional: Value[], keywords: Map<string, Value>): Map<string, Value> {
  const args = new Map<string, Value>();
  const order = positionalOrder.get(type) ?? [];
  positional.forEach((v, i) => {
    const name = order[i];
    if (name) args.set(name, v);
  });
  for (const [k, v] of keywords) args.set(k, v);
  return args;
}

// ---- reading argument values ----

/** A size: a concrete number or a symbolic dim (checked once the graph is finished); undefined when unreadable. */
export function readDim(v: Value | undefined): Dim | undefined {
  if (!v) return undefined;
  if (v.t === 'int') return v.v;
  if (v.t === 'float' && Number.isInteger(v.v)) return v.v;
  return undefined;
}

export function readNumber(v: Value | undefined): number | undefined {
  if (!v) return undefined;
  if (v.t === 'int' && isConcrete(v.v)) return v.v;
  if (v.t === 'float') return v.v;
  return undefined;
}

function readBool(v: Value | undefined): boolean | undefined {
  if (!v) return undefined;
  if (v.t === 'bool' && typeof v.v === 'boolean') return v.v;
  return undefined;
}

function readString(v: Value | undefined): string | undefined {
  return v?.t === 'str' ? v.v : undefined;
}

function isNone(v: Value | undefined): boolean {
  return v === undefined || v.t === 'none';
}

/** `3` or `(3, 3)`: one size per spatial axis. */
function readPerAxis(v: Value | undefined, n: number): Dim[] | undefined {
  if (!v) return undefined;
  if (v.t === 'list' || v.t === 'tuple') {
    if (v.items.length !== n) return undefined;
    const dims = v.items.map(readDim);
    return dims.every((d) => d !== undefined) ? (dims as Dim[]) : undefined;
  }
  const d = readDim(v);
  return d === undefined ? undefined : Array.from({ length: n }, () => d);
}

/** A flag: the argument, its default when absent, undefined when the file computes it out of reach. */
function flag(args: LayerArgs, name: string, fallback: boolean): boolean | undefined {
  const v = args.get(name);
  return v === undefined ? fallback : readBool(v);
}

function numberOr(args: LayerArgs, name: string, fallback: number): number | undefined {
  const v = args.get(name);
  return isNone(v) ? fallback : readNumber(v);
}

// ---- activations ----

const activationNames: ReadonlyMap<string, { fn: ActivationFn; alpha?: number } | null> = new Map<string, { fn: ActivationFn; alpha?: number } | null>([
  ['linear', null],
  ['relu', { fn: 'relu' }], ['relu6', { fn: 'relu6' }], ['elu', { fn: 'elu', alpha: 1 }],
  // keras.activations.gelu and TF.js 'gelu' are the exact (erf) form; TF.js 'gelu_new' the tanh one.
  ['gelu', { fn: 'gelu' }], ['gelu_new', { fn: 'gelu_tanh' }],
  ['sigmoid', { fn: 'sigmoid' }], ['tanh', { fn: 'tanh' }], ['softmax', { fn: 'softmax' }],
  ['swish', { fn: 'silu' }], ['silu', { fn: 'silu' }], ['softplus', { fn: 'softplus' }], ['mish', { fn: 'mish' }],
  // keras.activations.leaky_relu: negative_slope=0.2.
  ['leaky_relu', { fn: 'leaky_relu', alpha: 0.2 }],
  // Keras 3's hard_silu / hard_swish: x * relu6(x + 3) / 6.
  ['hard_silu', { fn: 'hardswish' }], ['hard_swish', { fn: 'hardswish' }],
]);

/** The activation op for a name (`'relu'`), null for none (`'linear'`, None), or a reason. */
export function activationOp(v: Value | undefined): GraphOp | null | { reason: string } {
  if (isNone(v)) return null;
  // `activation=tf.nn.relu` / `keras.activations.gelu`: the function's own name.
  const name = v?.t === 'ns' && /^(?:tf\.nn|tf\.math|keras\.activations|keras\.ops|tf)\.\w+$/.test(v.path) ? v.path.split('.').pop() : readString(v);
  if (name === undefined) return { reason: 'its activation is not a name the analyser can read' };
  const known = activationNames.get(name);
  if (known === undefined) return { reason: `activation '${name}' is not one the probe builds` };
  if (known === null) return null;
  return { op: 'activation', fn: known.fn, ...(known.alpha !== undefined ? { alpha: known.alpha } : {}), ...(known.fn === 'softmax' ? { axis: -1 } : {}) };
}

/** `tf.nn.relu(x)`, `keras.activations.gelu(x)`: the library functions the interpreter passes a tensor through. */
export function libraryActivation(path: string): GraphOp | null | undefined {
  if (path === 'tf.identity') return { op: 'identity' };
  const m = /^(?:tf\.nn|keras\.ops|keras\.activations)\.(\w+)$/.exec(path);
  if (!m) return undefined;
  const found = activationNames.get(m[1]!);
  if (!found) return found === null ? null : undefined;
  return { op: 'activation', fn: found.fn, ...(found.alpha !== undefined ? { alpha: found.alpha } : {}), ...(found.fn === 'softmax' ? { axis: -1 } : {}) };
}

// ---- layers ----

function withActivation(nodes: PlannedNode[], args: LayerArgs): LayerPlan {
  const activation = activationOp(args.get('activation'));
  if (activation && 'reason' in activation) return activation;
  return { nodes: activation ? [...nodes, { op: activation, suffix: 'activation' }] : nodes };
}

function channelsFirstReason(args: LayerArgs): string | undefined {
  const format = readString(args.get('data_format'));
  if (format === 'channels_first' || format === 'channelsFirst') return 'channels_first layout: the probe builds channels-last models';
  if (args.has('data_format') && !isNone(args.get('data_format')) && format === undefined) return 'its data_format is not a value the analyser can read';
  return undefined;
}

function paddingMode(args: LayerArgs): 'same' | 'valid' | { reason: string } {
  const v = args.get('padding');
  if (v === undefined) return 'valid';
  const p = readString(v)?.toLowerCase();
  if (p === 'same' || p === 'valid') return p;
  return { reason: p === undefined ? 'its padding is not a value the analyser can read' : `padding='${p}' is not one the probe builds` };
}

const spatialDimsOf: Record<string, number> = { '1D': 1, '2D': 2, '3D': 3 };

/**
 * The nodes of one layer applied to an input of `inputShape` giving `outputShape`
 * (interpreter shapes, batch first, channels last).
 */
export function planLayer(type: string, args: LayerArgs, inputShape: ShapeDim[], outputShape: ShapeDim[], framework: 'keras' | 'tfjs'): LayerPlan {
  const rank = inputShape.length;
  const channels = inputShape[rank - 1] ?? null;
  const n = spatialDimsOf[type.slice(-2)] ?? 0;
  const formatReason = channelsFirstReason(args);
  if (formatReason) return { reason: formatReason };
  switch (type) {
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D':
    case 'DepthwiseConv1D':
    case 'DepthwiseConv2D': {
      const depthwise = type.startsWith('Depthwise');
      const kernel = readPerAxis(args.get('kernel_size'), n);
      const stride = readPerAxis(args.get('strides') ?? { t: 'int', v: 1 }, n);
      const dilation = readPerAxis(args.get('dilation_rate') ?? { t: 'int', v: 1 }, n);
      const causal = type === 'Conv1D' && readString(args.get('padding'))?.toLowerCase() === 'causal';
      if (causal && framework === 'tfjs') return { reason: "padding='causal': TF.js's conv1d does not implement it (it throws when run)" };
      const padding = causal ? 'valid' : paddingMode(args);
      const bias = flag(args, 'use_bias', true);
      const groups = depthwise ? channels : readDim(args.get('groups') ?? { t: 'int', v: 1 });
      const multiplier = depthwise ? readDim(args.get('depth_multiplier') ?? { t: 'int', v: 1 }) : 1;
      const filters = depthwise ? (channels === null || multiplier === undefined ? undefined : outputShape[outputShape.length - 1]) : readDim(args.get('filters'));
      if (typeof padding === 'object') return padding;
      if (!kernel || !stride || !dilation || bias === undefined || groups === undefined || groups === null || filters === undefined || filters === null || channels === null) {
        return { reason: 'its sizes are not values the analyser can read' };
      }
      const conv: PlannedNode = { op: { op: 'conv', spatialDims: n, inChannels: channels as number, outChannels: filters as number, kernel: kernel as number[], stride: stride as number[], padding, dilation: dilation as number[], groups: groups as number, bias, init: 'glorot-uniform' } };
      if (!causal) return withActivation([conv], args);
      // Keras's causal convolution: zeros before the sequence, then a valid convolution.
      const left = (dilation[0]! as number) * ((kernel[0]! as number) - 1);
      const length = inputShape[1];
      if (length === null || length === undefined || !isConcrete(length)) return { reason: 'its input length is not known' };
      return withActivation([{ op: { op: 'pad', pads: [[0, 0], [left, 0], [0, 0]] }, suffix: 'causal_pad', shape: [inputShape[0]!, length + left, channels] }, conv], args);
    }
    case 'SeparableConv1D':
    case 'SeparableConv2D': {
      const kernel = readPerAxis(args.get('kernel_size'), n);
      const stride = readPerAxis(args.get('strides') ?? { t: 'int', v: 1 }, n);
      const dilation = readPerAxis(args.get('dilation_rate') ?? { t: 'int', v: 1 }, n);
      const padding = paddingMode(args);
      const bias = flag(args, 'use_bias', true);
      const multiplier = readNumber(args.get('depth_multiplier') ?? { t: 'int', v: 1 });
      const filters = readDim(args.get('filters'));
      if (typeof padding === 'object') return padding;
      if (!kernel || !stride || !dilation || bias === undefined || multiplier === undefined || filters === undefined || channels === null || !isConcrete(channels)) {
        return { reason: 'its sizes are not values the analyser can read' };
      }
      const depthwiseShape = [...outputShape.slice(0, -1), channels * multiplier];
      return withActivation([
        { op: { op: 'conv', spatialDims: n, inChannels: channels, outChannels: channels * multiplier, kernel: kernel as number[], stride: stride as number[], padding, dilation: dilation as number[], groups: channels, bias: false, init: 'glorot-uniform' }, suffix: 'depthwise', shape: depthwiseShape },
        { op: { op: 'conv', spatialDims: n, inChannels: channels * multiplier, outChannels: filters as number, kernel: Array.from({ length: n }, () => 1), stride: Array.from({ length: n }, () => 1), padding: 'valid', dilation: Array.from({ length: n }, () => 1), groups: 1, bias, init: 'glorot-uniform' } },
      ], args);
    }
    case 'Dense': {
      const units = readDim(args.get('units'));
      const bias = flag(args, 'use_bias', true);
      if (units === undefined || bias === undefined || channels === null) return { reason: 'its sizes are not values the analyser can read' };
      return withActivation([{ op: { op: 'linear', inFeatures: channels as number, outFeatures: units as number, bias, init: 'glorot-uniform' } }], args);
    }
    case 'Embedding': {
      const vocabulary = readDim(args.get('input_dim'));
      const features = readDim(args.get('output_dim'));
      if (vocabulary === undefined || features === undefined) return { reason: 'its sizes are not values the analyser can read' };
      return { nodes: [{ op: { op: 'embedding', vocabulary: vocabulary as number, features: features as number, init: 'uniform-0.05' } }] };
    }
    case 'BatchNormalization': {
      const axis = numberOr(args, 'axis', -1);
      if (axis === undefined || (axis !== -1 && axis !== rank - 1)) return { reason: axis === undefined ? 'its axis is not a value the analyser can read' : `it normalises axis ${axis}, not the channel axis` };
      const epsilon = numberOr(args, 'epsilon', 1e-3);
      const center = flag(args, 'center', true);
      const scale = flag(args, 'scale', true);
      if (epsilon === undefined || center === undefined || scale === undefined || channels === null) return { reason: 'its arguments are not values the analyser can read' };
      if (center !== scale) return { reason: 'center and scale differ: the probe builds BatchNorm with both or neither' };
      return { nodes: [{ op: { op: 'batchnorm', channels: channels as number, affine: center, epsilon } }] };
    }
    case 'LayerNormalization': {
      const axisValue = args.get('axis');
      const axis = axisValue && (axisValue.t === 'list' || axisValue.t === 'tuple') && axisValue.items.length === 1 ? readNumber(axisValue.items[0]) : numberOr(args, 'axis', -1);
      if (axis === undefined || (axis !== -1 && axis !== rank - 1)) return { reason: 'it normalises other axes than the last' };
      const epsilon = numberOr(args, 'epsilon', 1e-3);
      const center = flag(args, 'center', true);
      const scale = flag(args, 'scale', true);
      if (epsilon === undefined || center === undefined || scale === undefined || channels === null) return { reason: 'its arguments are not values the analyser can read' };
      if (center && !scale) return { reason: 'center without scale is not a LayerNorm the probe builds' };
      return { nodes: [{ op: { op: 'layernorm', normalizedShape: [channels as number], affine: scale, bias: center, epsilon } }] };
    }
    case 'GroupNormalization': {
      const groups = numberOr(args, 'groups', 32);
      const axis = numberOr(args, 'axis', -1);
      const epsilon = numberOr(args, 'epsilon', 1e-3);
      const center = flag(args, 'center', true);
      const scale = flag(args, 'scale', true);
      if (groups === undefined || axis === undefined || epsilon === undefined || center === undefined || scale === undefined || channels === null) return { reason: 'its arguments are not values the analyser can read' };
      if (axis !== -1 && axis !== rank - 1) return { reason: `it normalises axis ${axis}, not the channel axis` };
      if (center !== scale) return { reason: 'center and scale differ: the probe builds GroupNorm with both or neither' };
      return { nodes: [{ op: { op: 'groupnorm', groups, channels: channels as number, affine: center, epsilon } }] };
    }
    case 'Activation': {
      const activation = activationOp(args.get('activation'));
      if (activation && 'reason' in activation) return activation;
      return { nodes: [{ op: activation ?? { op: 'identity' } }] };
    }
    case 'ReLU': {
      const maxValue = args.get('max_value');
      const slope = numberOr(args, 'negative_slope', 0);
      const threshold = numberOr(args, 'threshold', 0);
      const max = isNone(maxValue) ? null : readNumber(maxValue);
      if (slope === undefined || threshold === undefined || max === undefined) return { reason: 'its arguments are not values the analyser can read' };
      if (threshold !== 0) return { reason: 'a ReLU threshold is not one the probe builds' };
      if (max === null) return { nodes: [{ op: slope === 0 ? { op: 'activation', fn: 'relu' } : { op: 'activation', fn: 'leaky_relu', alpha: slope } }] };
      if (max === 6 && slope === 0) return { nodes: [{ op: { op: 'activation', fn: 'relu6' } }] };
      return { reason: `ReLU(max_value=${max}) is not one the probe builds` };
    }
    case 'LeakyReLU': {
      // Keras 3 says negative_slope, Keras 2 and TF.js alpha; the default is 0.3 in all three.
      const slope = args.has('negative_slope') ? readNumber(args.get('negative_slope')) : numberOr(args, 'alpha', 0.3);
      if (slope === undefined) return { reason: 'its slope is not a value the analyser can read' };
      return { nodes: [{ op: { op: 'activation', fn: 'leaky_relu', alpha: slope } }] };
    }
    case 'ELU': {
      const alpha = numberOr(args, 'alpha', 1);
      if (alpha === undefined) return { reason: 'its alpha is not a value the analyser can read' };
      return { nodes: [{ op: { op: 'activation', fn: 'elu', alpha } }] };
    }
    case 'Softmax': {
      const axis = numberOr(args, 'axis', -1);
      if (axis === undefined) return { reason: 'its axis is not a value the analyser can read' };
      return { nodes: [{ op: { op: 'activation', fn: 'softmax', axis } }] };
    }
    case 'Dropout':
    case 'SpatialDropout1D':
    case 'SpatialDropout2D':
    case 'SpatialDropout3D': {
      const rate = readNumber(args.get('rate'));
      if (rate === undefined) return { reason: 'its rate is not a value the analyser can read' };
      return { nodes: [{ op: { op: 'dropout', rate } }] };
    }
    case 'Identity':
      return { nodes: [{ op: { op: 'identity' } }] };
    case 'MaxPooling1D':
    case 'MaxPooling2D':
    case 'MaxPooling3D':
    case 'AveragePooling1D':
    case 'AveragePooling2D':
    case 'AveragePooling3D': {
      const kernel = readPerAxis(args.get('pool_size') ?? { t: 'int', v: 2 }, n);
      const stride = isNone(args.get('strides')) ? kernel : readPerAxis(args.get('strides'), n);
      const padding = paddingMode(args);
      if (typeof padding === 'object') return padding;
      if (!kernel || !stride) return { reason: 'its sizes are not values the analyser can read' };
      // Keras averages over the window's real entries only where 'same' pads.
      return { nodes: [{ op: { op: 'pool', kind: type.startsWith('Max') ? 'max' : 'avg', spatialDims: n, kernel: kernel as number[], stride: stride as number[], padding, ceilMode: false, countIncludePad: false } }] };
    }
    case 'GlobalAveragePooling1D':
    case 'GlobalAveragePooling2D':
    case 'GlobalAveragePooling3D':
    case 'GlobalMaxPooling1D':
    case 'GlobalMaxPooling2D':
    case 'GlobalMaxPooling3D': {
      const keepDims = flag(args, 'keepdims', false);
      if (keepDims === undefined) return { reason: 'its keepdims is not a value the analyser can read' };
      return { nodes: [{ op: { op: 'reduce', kind: type.startsWith('GlobalMax') ? 'max' : 'mean', axes: Array.from({ length: n }, (_, i) => i + 1), keepDims } }] };
    }
    case 'ZeroPadding1D':
    case 'ZeroPadding2D':
    case 'ZeroPadding3D':
    case 'Cropping1D':
    case 'Cropping2D':
    case 'Cropping3D': {
      const cropping = type.startsWith('Cropping');
      const sides = readSides(args.get(cropping ? 'cropping' : 'padding'), n, cropping ? 0 : 1);
      if (!sides) return { reason: `its ${cropping ? 'cropping' : 'padding'} is not a value the analyser can read` };
      if (!cropping) return { nodes: [{ op: { op: 'pad', pads: [[0, 0], ...sides, [0, 0]] } }] };
      const ranges = inputShape.map((d, axis) => {
        // The whole batch, whatever size the probe trains with.
        if (axis === 0) return { start: 0, stop: d !== null && isConcrete(d) ? d : placeholderBatch, step: 1 };
        const side = axis <= n ? sides[axis - 1]! : ([0, 0] as [number, number]);
        return { start: side[0], stop: (d as number) - side[1], step: 1 };
      });
      return { nodes: [{ op: { op: 'slice', ranges } }] };
    }
    case 'UpSampling1D':
    case 'UpSampling2D':
    case 'UpSampling3D': {
      const size = readPerAxis(args.get('size') ?? { t: 'int', v: 2 }, n);
      const interpolation = readString(args.get('interpolation') ?? { t: 'str', v: 'nearest' });
      if (!size || (interpolation !== 'nearest' && interpolation !== 'bilinear')) return { reason: 'its size or interpolation is not one the probe builds' };
      return { nodes: [{ op: { op: 'upsample', spatialDims: n, scale: size as number[], mode: interpolation } }] };
    }
    case 'Flatten':
      return { nodes: [{ op: { op: 'flatten', startDim: 1, endDim: -1 } }] };
    case 'Reshape':
      return { nodes: [{ op: { op: 'reshape' } }] };
    case 'Permute': {
      const dims = args.get('dims');
      const order = dims && (dims.t === 'list' || dims.t === 'tuple') ? dims.items.map(readNumber) : undefined;
      if (!order || order.some((d) => d === undefined)) return { reason: 'its dims are not values the analyser can read' };
      return { nodes: [{ op: { op: 'permute', axes: [0, ...(order as number[])] } }] };
    }
    case 'Rescaling': {
      const scale = readNumber(args.get('scale'));
      const offset = numberOr(args, 'offset', 0);
      if (scale === undefined || offset === undefined) return { reason: 'its scale is not a value the analyser can read' };
      return { nodes: [{ op: { op: 'scale', factor: scale, offset } }] };
    }
    default:
      return { reason: `${type} is not a layer the probe builds` };
  }
}

/** ZeroPadding / Cropping: `1`, `(1, 2)` (symmetric per axis) or `((top, bottom), (left, right))`. */
function readSides(v: Value | undefined, n: number, fallback: number): [number, number][] | undefined {
  const value: Value = v ?? { t: 'int', v: fallback };
  const pair = (x: Value): [number, number] | undefined => {
    if (x.t === 'list' || x.t === 'tuple') {
      const [a, b] = x.items.map(readNumber);
      return x.items.length === 2 && a !== undefined && b !== undefined ? [a, b] : undefined;
    }
    const d = readNumber(x);
    return d === undefined ? undefined : [d, d];
  };
  if (value.t !== 'list' && value.t !== 'tuple') {
    const p = pair(value);
    return p ? Array.from({ length: n }, () => p) : undefined;
  }
  // 1D: (left, right) pads the one axis.
  if (n === 1) {
    const p = pair(value);
    return p ? [p] : undefined;
  }
  if (value.items.length !== n) return undefined;
  const sides = value.items.map(pair);
  return sides.every((s) => s !== undefined) ? (sides as [number, number][]) : undefined;
}
