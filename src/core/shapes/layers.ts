// The one table of layer shape functions: torch.nn modules by class name, and the
// torch.nn.functional calls that share their arguments. The checker, hovers, inlay
// hints and the probe builder all read shapes from here.
// Formulas: https://pytorch.org/docs/stable/nn.html (Conv2d, MaxPool2d, ... "Shape" sections).
import { type Dim, add, ceilDiv, dimKey, floorDiv, formatDim, isConcrete, mul, sub } from './dim';
import { type Shape, type ShapeDim, flatten } from './shape';

/** What a layer argument can be, as far as shapes care; undefined is unknown. */
export type ParamValue = Dim | string | boolean | null | ParamValue[] | undefined;

export type LayerParams = Record<string, ParamValue>;

export interface LayerSpec {
  /** Constructor parameters in positional order, with their defaults. */
  params: [string, ParamValue][];
  /** Output shape for an input shape; null when it cannot be told. */
  output: (p: LayerParams, input: Shape) => Shape;
  /** For an input of unknown rank (the model's first layer): the rank and the channel dim it implies. */
  inputRank?: (p: LayerParams) => { rank: number; channelAxis: number; channels: ShapeDim } | undefined;
  /** The call returns a tuple (MultiheadAttention: output, weights). */
  returnsTuple?: boolean;
  /** Short text for hovers: `Conv2d(64→128, 3x3, stride 2)`. */
  describe?: (p: LayerParams) => string;
}

export interface LayerDescriptor {
  type: string;
  params: LayerParams;
}

function dimOf(v: ParamValue): ShapeDim {
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  return null;
}

/** A per-axis argument: `3` or `(3, 3)`. */
function perAxis(v: ParamValue, n: number): ShapeDim[] | undefined {
  if (Array.isArray(v)) return v.length === n ? v.map(dimOf) : undefined;
  const d = dimOf(v);
  if (d === null && v !== undefined && typeof v !== 'number' && !(v && typeof v === 'object')) return undefined;
  // A plain loop: every conv and pool asks, and Array.from with a map function costs several times more.
  const dims: ShapeDim[] = [];
  for (let i = 0; i < n; i++) dims.push(d);
  return dims;
}

function lift2(f: (a: Dim, b: Dim) => Dim, a: ShapeDim, b: ShapeDim): ShapeDim {
  return a === null || b === null ? null : f(a, b);
}

// Symbolic sizes repeat across the blocks and entry points of a file; their polynomials are
// immutable, so results are kept (bounded) by the canonical keys of the inputs.
const windowCache = new Map<string, ShapeDim>();
const windowCacheByLength = new Map<string, Map<number, ShapeDim>>();
const isSmallCount = (d: Dim): d is number => typeof d === 'number' && Number.isInteger(d) && d >= 0 && d < 256;

/** floor((L + 2p - d(k-1) - 1) / s) + 1, or the ceil variant of pools with ceil_mode. */
export function slidingWindowSize(length: ShapeDim, kernel: ShapeDim, stride: ShapeDim, padding: ShapeDim, dilation: ShapeDim, ceilMode = false): ShapeDim {
  if (length === null || kernel === null || stride === null || padding === null || dilation === null) return null;
  if (typeof length === 'number' && typeof kernel === 'number' && typeof stride === 'number' && typeof padding === 'number' && typeof dilation === 'number') {
    return computeWindowSize(length, kernel, stride, padding, dilation, ceilMode);
  }
  // The usual case, a symbolic length with small literal kernel, stride, padding and dilation, is
  // found by the length's key and one number: no string to build on every conv and pool.
  if (typeof length !== 'number' && isSmallCount(kernel) && isSmallCount(stride) && isSmallCount(padding) && isSmallCount(dilation)) {
    const code = (((kernel * 256 + stride) * 256 + padding) * 256 + dilation) * 2 + (ceilMode ? 1 : 0);
    let byWindow = windowCacheByLength.get(length.key);
    if (byWindow === undefined) {
      if (windowCacheByLength.size > 5000) windowCacheByLength.clear();
      windowCacheByLength.set(length.key, (byWindow = new Map()));
    }
    let size = byWindow.get(code);
    if (size === undefined) {
      size = computeWindowSize(length, kernel, stride, padding, dilation, ceilMode);
      byWindow.set(code, size);
    }
    return size;
  }
  const key = `${dimKey(length)}|${dimKey(kernel)}|${dimKey(stride)}|${dimKey(padding)}|${dimKey(dilation)}|${ceilMode}`;
  let size = windowCache.get(key);
  if (size === undefined) {
    if (windowCache.size > 20000) windowCache.clear();
    size = computeWindowSize(length, kernel, stride, padding, dilation, ceilMode);
    windowCache.set(key, size);
  }
  return size;
}

function computeWindowSize(length: Dim, kernel: Dim, stride: Dim, padding: Dim, dilation: Dim, ceilMode: boolean): Dim {
  const span = add(sub(add(length, mul(2, padding)), mul(dilation, sub(kernel, 1))), -1);
  return add(ceilMode ? ceilDiv(span, stride) : floorDiv(span, stride), 1);
}

function transposedSize(length: ShapeDim, kernel: ShapeDim, stride: ShapeDim, padding: ShapeDim, dilation: ShapeDim, outputPadding: ShapeDim): ShapeDim {
  if ([length, kernel, stride, padding, dilation, outputPadding].includes(null)) return null;
  const l = length as Dim;
  return add(add(sub(mul(sub(l, 1), stride as Dim), mul(2, padding as Dim)), mul(dilation as Dim, sub(kernel as Dim, 1))), add(outputPadding as Dim, 1));
}

function replaceAxis(input: Shape, axisFromEnd: number, value: ShapeDim): Shape {
  if (!input || input.length < axisFromEnd) return null;
  const out = [...input];
  out[out.length - axisFromEnd] = value;
  return out;
}

function spatialOutput(input: Shape, n: number, perDim: (length: ShapeDim, i: number) => ShapeDim, channels?: ShapeDim): Shape {
  if (!input || input.length < n + 1) return null;
  const lead = input.slice(0, input.length - n - 1);
  const c = channels === undefined ? input[input.length - n - 1]! : channels;
  const spatial = input.slice(input.length - n).map((l, i) => perDim(l, i));
  return [...lead, c, ...spatial];
}

function convSpec(n: number): LayerSpec {
  return {
    params: [['in_channels', undefined], ['out_channels', undefined], ['kernel_size', undefined], ['stride', 1], ['padding', 0], ['dilation', 1], ['groups', 1], ['bias', true], ['padding_mode', 'zeros']],
    output: (p, input) => {
      const k = perAxis(p.kernel_size, n);
      const s = perAxis(p.stride, n);
      const d = perAxis(p.dilation, n);
      const out = dimOf(p.out_channels);
      if (!k || !s || !d) return spatialOutput(input, n, () => null, out);
      if (p.padding === 'same') return spatialOutput(input, n, (l) => l, out);
      const pad = p.padding === 'valid' ? perAxis(0, n) : perAxis(p.padding, n);
      if (!pad) return spatialOutput(input, n, () => null, out);
      return spatialOutput(input, n, (l, i) => slidingWindowSize(l, k[i]!, s[i]!, pad[i]!, d[i]!), out);
    },
    inputRank: (p) => ({ rank: n + 2, channelAxis: 1, channels: dimOf(p.in_channels) }),
    describe: (p) => `${fmt(p.in_channels)}→${fmt(p.out_channels)}, kernel ${fmt(p.kernel_size)}${p.stride !== 1 ? `, stride ${fmt(p.stride)}` : ''}`,
  };
}

function convTransposeSpec(n: number): LayerSpec {
  return {
    params: [['in_channels', undefined], ['out_channels', undefined], ['kernel_size', undefined], ['stride', 1], ['padding', 0], ['output_padding', 0], ['groups', 1], ['bias', true], ['dilation', 1]],
    output: (p, input) => {
      const k = perAxis(p.kernel_size, n);
      const s = perAxis(p.stride, n);
      const pad = perAxis(p.padding, n);
      const op = perAxis(p.output_padding, n);
      const d = perAxis(p.dilation, n);
      const out = dimOf(p.out_channels);
      if (!k || !s || !pad || !op || !d) return spatialOutput(input, n, () => null, out);
      return spatialOutput(input, n, (l, i) => transposedSize(l, k[i]!, s[i]!, pad[i]!, d[i]!, op[i]!), out);
    },
    inputRank: (p) => ({ rank: n + 2, channelAxis: 1, channels: dimOf(p.in_channels) }),
  };
}

function poolSpec(n: number, max: boolean): LayerSpec {
  const params: [string, ParamValue][] = max
    ? [['kernel_size', undefined], ['stride', null], ['padding', 0], ['dilation', 1], ['return_indices', false], ['ceil_mode', false]]
    : [['kernel_size', undefined], ['stride', null], ['padding', 0], ['ceil_mode', false], ['count_include_pad', true], ['divisor_override', null]];
  return {
    params,
    output: (p, input) => {
      const k = perAxis(p.kernel_size, n);
      const s = p.stride === null || (Array.isArray(p.stride) && p.stride.length === 0) ? k : perAxis(p.stride, n);
      const pad = perAxis(p.padding, n);
      const d = max ? perAxis(p.dilation, n) : perAxis(1, n);
      if (!k || !s || !pad || !d || typeof p.ceil_mode !== 'boolean') return spatialOutput(input, n, () => null);
      return spatialOutput(input, n, (l, i) => slidingWindowSize(l, k[i]!, s[i]!, pad[i]!, d[i]!, p.ceil_mode as boolean));
    },
    inputRank: () => ({ rank: n + 2, channelAxis: 1, channels: null }),
  };
}

function adaptivePoolSpec(n: number): LayerSpec {
  return {
    params: [['output_size', undefined]],
    output: (p, input) => {
      const size = Array.isArray(p.output_size) ? p.output_size : Array.from({ length: n }, () => p.output_size);
      if (size.length !== n) return spatialOutput(input, n, () => null);
      // None in output_size keeps that axis.
      return spatialOutput(input, n, (l, i) => (size[i] === null ? l : dimOf(size[i])));
    },
    inputRank: () => ({ rank: n + 2, channelAxis: 1, channels: null }),
  };
}

const shapePreserving: LayerSpec = { params: [], output: (_p, input) => input };

function normSpec(n: number | undefined, channelParam: string): LayerSpec {
  return {
    params: [[channelParam, undefined]],
    output: (_p, input) => input,
    inputRank: n === undefined ? undefined : (p) => ({ rank: n + 2, channelAxis: 1, channels: dimOf(p[channelParam]) }),
  };
}

const linear: LayerSpec = {
  params: [['in_features', undefined], ['out_features', undefined], ['bias', true]],
  output: (p, input) => replaceAxis(input, 1, dimOf(p.out_features)),
  inputRank: (p) => ({ rank: 2, channelAxis: 1, channels: dimOf(p.in_features) }),
  describe: (p) => `${fmt(p.in_features)}→${fmt(p.out_features)}`,
};

const layerNorm: LayerSpec = {
  params: [['normalized_shape', undefined], ['eps', 1e-5], ['elementwise_affine', true]],
  output: (_p, input) => input,
  inputRank: (p) => ({ rank: 3, channelAxis: 2, channels: dimOf(Array.isArray(p.normalized_shape) ? p.normalized_shape.at(-1) : p.normalized_shape) }),
};

const flattenLayer: LayerSpec = {
  params: [['start_dim', 1], ['end_dim', -1]],
  output: (p, input) => (typeof p.start_dim === 'number' && typeof p.end_dim === 'number' ? flatten(input, p.start_dim, p.end_dim) : null),
};

const upsample: LayerSpec = {
  params: [['size', null], ['scale_factor', null], ['mode', 'nearest'], ['align_corners', null]],
  output: (p, input) => {
    if (!input || input.length < 3) return null;
    const n = input.length - 2;
    if (p.size !== null) {
      const size = perAxis(p.size, n);
      return size ? [input[0]!, input[1]!, ...size] : spatialOutput(input, n, () => null);
    }
    const scale = perAxis(p.scale_factor, n);
    // Only whole scale factors give an exact symbolic size.
    return spatialOutput(input, n, (l, i) => (scale && scale[i] !== null && isConcrete(scale[i]!) && Number.isInteger(scale[i]) ? lift2(mul, l, scale[i]!) : null));
  },
};

const embedding: LayerSpec = {
  params: [['num_embeddings', undefined], ['embedding_dim', undefined]],
  output: (p, input) => (input ? [...input, dimOf(p.embedding_dim)] : null),
  inputRank: () => ({ rank: 2, channelAxis: -1, channels: null }),
};

const multiheadAttention: LayerSpec = {
  params: [['embed_dim', undefined], ['num_heads', undefined], ['dropout', 0], ['bias', true], ['add_bias_kv', false], ['add_zero_attn', false], ['kdim', null], ['vdim', null], ['batch_first', false]],
  output: (p, input) => replaceAxis(input, 1, dimOf(p.embed_dim)),
  inputRank: (p) => ({ rank: 3, channelAxis: 2, channels: dimOf(p.embed_dim) }),
  returnsTuple: true,
};

const pixelShuffle: LayerSpec = {
  params: [['upscale_factor', undefined]],
  output: (p, input) => {
    const r = dimOf(p.upscale_factor);
    if (!input || input.length !== 4 || r === null) return null;
    return [input[0]!, lift2(floorDiv, input[1]!, mul(r, r)), lift2(mul, input[2]!, r), lift2(mul, input[3]!, r)];
  },
};

const activations = [
  'ReLU', 'ReLU6', 'LeakyReLU', 'PReLU', 'RReLU', 'ELU', 'SELU', 'CELU', 'GELU', 'SiLU', 'Mish', 'Sigmoid', 'Tanh', 'Hardswish',
  'Hardsigmoid', 'Hardtanh', 'Softplus', 'Softsign', 'Tanhshrink', 'Softmax', 'LogSoftmax', 'Softmax2d', 'LogSigmoid', 'Threshold',
  'Identity', 'Dropout', 'Dropout1d', 'Dropout2d', 'Dropout3d', 'AlphaDropout', 'FeatureAlphaDropout', 'LocalResponseNorm',
];

export const layerTable: ReadonlyMap<string, LayerSpec> = new Map<string, LayerSpec>([
  ['Conv1d', convSpec(1)], ['Conv2d', convSpec(2)], ['Conv3d', convSpec(3)],
  ['ConvTranspose1d', convTransposeSpec(1)], ['ConvTranspose2d', convTransposeSpec(2)], ['ConvTranspose3d', convTransposeSpec(3)],
  ['BatchNorm1d', normSpec(undefined, 'num_features')], ['BatchNorm2d', normSpec(2, 'num_features')], ['BatchNorm3d', normSpec(3, 'num_features')],
  ['InstanceNorm1d', normSpec(undefined, 'num_features')], ['InstanceNorm2d', normSpec(2, 'num_features')], ['InstanceNorm3d', normSpec(3, 'num_features')],
  ['SyncBatchNorm', normSpec(undefined, 'num_features')],
  ['GroupNorm', { params: [['num_groups', undefined], ['num_channels', undefined]], output: (_p, input) => input, inputRank: (p) => ({ rank: 4, channelAxis: 1, channels: dimOf(p.num_channels) }) }],
  ['LayerNorm', layerNorm], ['RMSNorm', layerNorm],
  ['Linear', linear],
  ['MaxPool1d', poolSpec(1, true)], ['MaxPool2d', poolSpec(2, true)], ['MaxPool3d', poolSpec(3, true)],
  ['AvgPool1d', poolSpec(1, false)], ['AvgPool2d', poolSpec(2, false)], ['AvgPool3d', poolSpec(3, false)],
  ['AdaptiveAvgPool1d', adaptivePoolSpec(1)], ['AdaptiveAvgPool2d', adaptivePoolSpec(2)], ['AdaptiveAvgPool3d', adaptivePoolSpec(3)],
  ['AdaptiveMaxPool1d', adaptivePoolSpec(1)], ['AdaptiveMaxPool2d', adaptivePoolSpec(2)], ['AdaptiveMaxPool3d', adaptivePoolSpec(3)],
  ['Flatten', flattenLayer],
  ['Upsample', upsample], ['UpsamplingNearest2d', upsample], ['UpsamplingBilinear2d', upsample],
  ['Embedding', embedding],
  ['MultiheadAttention', multiheadAttention],
  ['PixelShuffle', pixelShuffle],
  ...activations.map((name): [string, LayerSpec] => [name, shapePreserving]),
]);

/** torch.nn.functional calls: the input first, then the same arguments as the module. */
export const functionalTable: ReadonlyMap<string, string> = new Map([
  ['max_pool1d', 'MaxPool1d'], ['max_pool2d', 'MaxPool2d'], ['max_pool3d', 'MaxPool3d'],
  ['avg_pool1d', 'AvgPool1d'], ['avg_pool2d', 'AvgPool2d'], ['avg_pool3d', 'AvgPool3d'],
  ['adaptive_avg_pool1d', 'AdaptiveAvgPool1d'], ['adaptive_avg_pool2d', 'AdaptiveAvgPool2d'], ['adaptive_avg_pool3d', 'AdaptiveAvgPool3d'],
  ['adaptive_max_pool1d', 'AdaptiveMaxPool1d'], ['adaptive_max_pool2d', 'AdaptiveMaxPool2d'], ['adaptive_max_pool3d', 'AdaptiveMaxPool3d'],
  ['interpolate', 'Upsample'], ['upsample', 'Upsample'], ['pixel_shuffle', 'PixelShuffle'],
  ...['relu', 'relu6', 'leaky_relu', 'elu', 'selu', 'celu', 'gelu', 'silu', 'mish', 'sigmoid', 'tanh', 'hardswish', 'hardsigmoid', 'hardtanh',
    'softplus', 'softmax', 'log_softmax', 'dropout', 'dropout1d', 'dropout2d', 'dropout3d', 'layer_norm', 'batch_norm', 'group_norm',
    'instance_norm', 'normalize', 'relu_', 'local_response_norm', 'logsigmoid'].map((f): [string, string] => [f, 'Identity']),
]);

/** Binds constructor arguments to the spec's parameter names; undefined if an argument is not a parameter. */
export function bindLayerParams(spec: LayerSpec, positional: ParamValue[], keywords: Map<string, ParamValue>): LayerParams | undefined {
  const params: LayerParams = {};
  spec.params.forEach(([name, fallback], i) => {
    params[name] = i < positional.length ? positional[i] : keywords.has(name) ? keywords.get(name) : fallback;
  });
  // Keyword arguments the shape function does not read (bias, eps, inplace, ...) are fine.
  if (positional.length > spec.params.length && spec.params.length > 0) return undefined;
  return params;
}

export function layerOutput(layer: LayerDescriptor, input: Shape): Shape {
  const spec = layerTable.get(layer.type);
  return spec ? spec.output(layer.params, input) : null;
}

function fmt(v: ParamValue): string {
  if (v === undefined) return '?';
  if (v === null) return 'None';
  if (Array.isArray(v)) return v.map(fmt).join('x');
  if (typeof v === 'object') return formatDim(v);
  return String(v);
}

export function describeLayer(layer: LayerDescriptor): string {
  const spec = layerTable.get(layer.type);
  return spec?.describe ? `${layer.type}(${spec.describe(layer.params)})` : layer.type;
}

