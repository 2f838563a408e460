// Shape functions of the Keras layers (tf.keras, Keras 3) and of TF.js's layers API,
// which copies them: channels-last by default, batch first, `same`/`valid`/`causal`
// padding. Keyed by the Keras class name; TF.js names map onto these.
// Formulas: keras/src/utils/conv_utils.py (conv_output_length, deconv_output_length)
// and tfjs-layers/src/utils/conv_utils.ts (convOutputLength), which agree.
import { type Dim, add, floorDiv, isConcrete, mul, sub } from './dim';
import { type Shape, type ShapeDim, product, reshape } from './shape';
import type { LayerParams, ParamValue } from './layers';

export interface ChannelsLastSpec {
  /** Constructor parameters in Keras's positional order, with their defaults (snake_case). */
  params: [string, ParamValue][];
  output: (p: LayerParams, input: Shape) => Shape;
  /** The rank an input of unknown rank must have for this layer (a helper's parameter). */
  inputRank?: (p: LayerParams) => number | undefined;
  /** Output is the input, unchanged (normalisation, activation, dropout). */
  preservesShape?: boolean;
}

function dimOf(v: ParamValue): ShapeDim {
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  return null;
}

/** `3` or `(3, 3)` → one dim per spatial axis; undefined when it cannot be read. */
function perAxis(v: ParamValue, n: number): ShapeDim[] | undefined {
  if (Array.isArray(v)) return v.length === n ? v.map(dimOf) : undefined;
  if (v === undefined || typeof v === 'string' || typeof v === 'boolean') return undefined;
  const d = dimOf(v);
  return Array.from({ length: n }, () => d);
}

function channelsFirst(p: LayerParams): boolean {
  return p.data_format === 'channels_first' || p.data_format === 'channelsFirst';
}

/** The spatial axes and the channel axis of a rank-(n+2) input. */
function axes(input: Shape, n: number, p: LayerParams): { spatial: number[]; channel: number } | undefined {
  if (!input || input.length !== n + 2) return undefined;
  return channelsFirst(p)
    ? { spatial: Array.from({ length: n }, (_, i) => i + 2), channel: 1 }
    : { spatial: Array.from({ length: n }, (_, i) => i + 1), channel: n + 1 };
}

/** conv_output_length: `same`/`causal` keep L, `valid` loses the dilated kernel; then ceil(L / stride). */
export function convOutputLength(length: ShapeDim, kernel: ShapeDim, padding: ParamValue, stride: ShapeDim, dilation: ShapeDim): ShapeDim {
  if (length === null || kernel === null || stride === null || dilation === null) return null;
  // Keras lower-cases the padding argument (keras.applications writes 'SAME').
  if (typeof padding === 'string') padding = padding.toLowerCase();
  const dilatedKernel = add(mul(dilation, sub(kernel, 1)), 1);
  let out: Dim;
  if (padding === 'same' || padding === 'causal') out = length;
  else if (padding === 'valid') out = add(sub(length, dilatedKernel), 1);
  else if (padding === 'full') out = sub(add(length, dilatedKernel), 1);
  else return null;
  if (isConcrete(out) && out < 0) return null;
  return floorDiv(add(out, sub(stride, 1)), stride);
}

/** deconv_output_length of Conv*Transpose. */
export function deconvOutputLength(length: ShapeDim, kernel: ShapeDim, padding: ParamValue, outputPadding: ShapeDim | undefined, stride: ShapeDim, dilation: ShapeDim): ShapeDim {
  if (length === null || kernel === null || stride === null || dilation === null) return null;
  const k = add(mul(dilation, sub(kernel, 1)), 1);
  if (outputPadding === undefined) {
    if (padding === 'same') return mul(length, stride);
    if (padding === 'valid') {
      const extra = sub(k, stride);
      if (!isConcrete(extra)) return null;
      return add(mul(length, stride), Math.max(extra, 0));
    }
    if (padding === 'full') return sub(mul(length, stride), add(stride, sub(k, 2)));
    return null;
  }
  if (outputPadding === null) return null;
  const pad = padding === 'same' ? floorDiv(kernel, 2) : padding === 'valid' ? 0 : padding === 'full' ? sub(kernel, 1) : null;
  if (pad === null) return null;
  return add(sub(add(mul(sub(length, 1), stride), k), mul(2, pad)), outputPadding);
}

function convSpec(n: number, kind: 'conv' | 'depthwise' | 'separable' | 'transpose'): ChannelsLastSpec {
  const params: [string, ParamValue][] =
    kind === 'depthwise'
      ? [['kernel_size', undefined], ['strides', 1], ['padding', 'valid'], ['depth_multiplier', 1], ['data_format', null], ['dilation_rate', 1]]
      : kind === 'separable'
        ? [['filters', undefined], ['kernel_size', undefined], ['strides', 1], ['padding', 'valid'], ['data_format', null], ['dilation_rate', 1], ['depth_multiplier', 1]]
        : kind === 'transpose'
          ? [['filters', undefined], ['kernel_size', undefined], ['strides', 1], ['padding', 'valid'], ['output_padding', null], ['data_format', null], ['dilation_rate', 1]]
          : [['filters', undefined], ['kernel_size', undefined], ['strides', 1], ['padding', 'valid'], ['data_format', null], ['dilation_rate', 1], ['groups', 1]];
  return {
    params,
    inputRank: () => n + 2,
    output: (p, input) => {
      const ax = axes(input, n, p);
      if (!input || !ax) return null;
      const out = [...input];
      const channels = kind === 'depthwise' ? (input[ax.channel] === null || dimOf(p.depth_multiplier) === null ? null : mul(input[ax.channel]!, dimOf(p.depth_multiplier)!)) : dimOf(p.filters);
      out[ax.channel] = channels;
      const k = perAxis(p.kernel_size, n);
      const s = perAxis(p.strides, n);
      const d = perAxis(p.dilation_rate, n);
      const op = kind === 'transpose' && p.output_padding !== null ? perAxis(p.output_padding, n) : undefined;
      ax.spatial.forEach((axis, i) => {
        if (!k || !s || !d) out[axis] = null;
        else if (kind === 'transpose') out[axis] = deconvOutputLength(input[axis]!, k[i]!, p.padding, p.output_padding === null ? undefined : op ? op[i]! : null, s[i]!, d[i]!);
        else out[axis] = convOutputLength(input[axis]!, k[i]!, p.padding, s[i]!, d[i]!);
      });
      return out;
    },
  };
}

function poolSpec(n: number): ChannelsLastSpec {
  return {
    params: [['pool_size', n === 1 ? 2 : Array.from({ length: n }, () => 2)], ['strides', null], ['padding', 'valid'], ['data_format', null]],
    inputRank: () => n + 2,
    output: (p, input) => {
      const ax = axes(input, n, p);
      if (!input || !ax) return null;
      const k = perAxis(p.pool_size, n);
      const s = p.strides === null ? k : perAxis(p.strides, n);
      const out = [...input];
      ax.spatial.forEach((axis, i) => {
        out[axis] = k && s ? convOutputLength(input[axis]!, k[i]!, p.padding, s[i]!, 1) : null;
      });
      return out;
    },
  };
}

function globalPoolSpec(n: number): ChannelsLastSpec {
  return {
    params: [['data_format', null], ['keepdims', false]],
    inputRank: () => n + 2,
    output: (p, input) => {
      const ax = axes(input, n, p);
      if (!input || !ax) return null;
      if (p.keepdims === true) return input.map((d, i) => (ax.spatial.includes(i) ? 1 : d));
      if (p.keepdims !== false) return null;
      return [input[0]!, input[ax.channel]!];
    },
  };
}

function paddingSpec(n: number, sign: 1 | -1, param: 'padding' | 'cropping'): ChannelsLastSpec {
  return {
    params: [[param, n === 1 ? 1 : Array.from({ length: n }, () => (param === 'padding' ? 1 : 0))], ['data_format', null]],
    inputRank: () => n + 2,
    output: (p, input) => {
      const ax = axes(input, n, p);
      if (!input || !ax) return null;
      const v = p[param];
      // 1, (1, 2) or ((top, bottom), (left, right)); Conv1D-style (left, right) for 1D.
      const perSide: ShapeDim[] | undefined =
        n === 1 && Array.isArray(v) && v.length === 2 && !Array.isArray(v[0])
          ? [sumOrNull(dimOf(v[0]!), dimOf(v[1]!))]
          : Array.isArray(v) && v.length === n
            ? v.map((side) => (Array.isArray(side) ? (side.length === 2 ? sumOrNull(dimOf(side[0]!), dimOf(side[1]!)) : null) : dimOrDouble(side)))
            : Array.isArray(v) ? undefined : Array.from({ length: n }, () => dimOrDouble(v));
      const out = [...input];
      ax.spatial.forEach((axis, i) => {
        const total = perSide?.[i] ?? null;
        out[axis] = total === null || input[axis] === null ? null : add(input[axis]!, mul(sign, total));
      });
      return out;
    },
  };
}

function sumOrNull(a: ShapeDim, b: ShapeDim): ShapeDim {
  return a === null || b === null ? null : add(a, b);
}

function dimOrDouble(v: ParamValue): ShapeDim {
  const d = dimOf(v);
  return d === null ? null : mul(2, d);
}

function upsamplingSpec(n: number): ChannelsLastSpec {
  return {
    params: [['size', n === 1 ? 2 : Array.from({ length: n }, () => 2)], ['data_format', null]],
    inputRank: () => n + 2,
    output: (p, input) => {
      const ax = axes(input, n, p);
      if (!input || !ax) return null;
      const size = perAxis(p.size, n);
      const out = [...input];
      ax.spatial.forEach((axis, i) => {
        const s = size?.[i] ?? null;
        out[axis] = s === null || input[axis] === null ? null : mul(input[axis]!, s);
      });
      return out;
    },
  };
}

const preserving: ChannelsLastSpec = { params: [], output: (_p, input) => input, preservesShape: true };

const dense: ChannelsLastSpec = {
  params: [['units', undefined]],
  output: (p, input) => (input && input.length >= 2 ? [...input.slice(0, -1), dimOf(p.units)] : null),
};

const flattenLayer: ChannelsLastSpec = {
  params: [['data_format', null]],
  output: (_p, input) => (input && input.length >= 1 ? [input[0]!, input.length === 1 ? 1 : product(input.slice(1))] : null),
};

const reshapeLayer: ChannelsLastSpec = {
  params: [['target_shape', undefined]],
  output: (p, input) => {
    if (!input || !Array.isArray(p.target_shape)) return null;
    const target = p.target_shape.map(dimOf);
    if (target.some((d) => d === null)) return [input[0]!, ...target];
    const rest = reshape(input.slice(1), target);
    return rest ? [input[0]!, ...rest] : null;
  },
};

const embedding: ChannelsLastSpec = {
  params: [['input_dim', undefined], ['output_dim', undefined]],
  output: (p, input) => (input ? [...input, dimOf(p.output_dim)] : null),
};

const permute: ChannelsLastSpec = {
  params: [['dims', undefined]],
  output: (p, input) => {
    if (!input || !Array.isArray(p.dims) || p.dims.length !== input.length - 1) return null;
    const order = p.dims.map((d) => (typeof d === 'number' ? d : -1));
    if (order.some((d) => d < 1 || d >= input.length)) return null;
    return [input[0]!, ...order.map((d) => input[d]!)];
  },
};

const repeatVector: ChannelsLastSpec = {
  params: [['n', undefined]],
  output: (p, input) => (input && input.length === 2 ? [input[0]!, dimOf(p.n), input[1]!] : null),
};

const preservingNames = [
  'BatchNormalization', 'LayerNormalization', 'GroupNormalization', 'UnitNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU',
  'Softmax', 'ThresholdedReLU', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout',
  'AlphaDropout', 'Identity', 'Rescaling', 'Normalization', 'Masking', 'ActivityRegularization',
];

export const channelsLastLayers: ReadonlyMap<string, ChannelsLastSpec> = new Map<string, ChannelsLastSpec>([
  ['Conv1D', convSpec(1, 'conv')], ['Conv2D', convSpec(2, 'conv')], ['Conv3D', convSpec(3, 'conv')],
  ['Conv1DTranspose', convSpec(1, 'transpose')], ['Conv2DTranspose', convSpec(2, 'transpose')], ['Conv3DTranspose', convSpec(3, 'transpose')],
  ['DepthwiseConv1D', convSpec(1, 'depthwise')], ['DepthwiseConv2D', convSpec(2, 'depthwise')],
  ['SeparableConv1D', convSpec(1, 'separable')], ['SeparableConv2D', convSpec(2, 'separable')],
  ['MaxPooling1D', poolSpec(1)], ['MaxPooling2D', poolSpec(2)], ['MaxPooling3D', poolSpec(3)],
  ['AveragePooling1D', poolSpec(1)], ['AveragePooling2D', poolSpec(2)], ['AveragePooling3D', poolSpec(3)],
  ['GlobalAveragePooling1D', globalPoolSpec(1)], ['GlobalAveragePooling2D', globalPoolSpec(2)], ['GlobalAveragePooling3D', globalPoolSpec(3)],
  ['GlobalMaxPooling1D', globalPoolSpec(1)], ['GlobalMaxPooling2D', globalPoolSpec(2)], ['GlobalMaxPooling3D', globalPoolSpec(3)],
  ['ZeroPadding1D', paddingSpec(1, 1, 'padding')], ['ZeroPadding2D', paddingSpec(2, 1, 'padding')], ['ZeroPadding3D', paddingSpec(3, 1, 'padding')],
  ['Cropping1D', paddingSpec(1, -1, 'cropping')], ['Cropping2D', paddingSpec(2, -1, 'cropping')], ['Cropping3D', paddingSpec(3, -1, 'cropping')],
  ['UpSampling1D', upsamplingSpec(1)], ['UpSampling2D', upsamplingSpec(2)], ['UpSampling3D', upsamplingSpec(3)],
  ['Dense', dense], ['Flatten', flattenLayer], ['Reshape', reshapeLayer], ['Embedding', embedding], ['Permute', permute], ['RepeatVector', repeatVector],
  ...preservingNames.map((name): [string, ChannelsLastSpec] => [name, preserving]),
]);

/** Keras's other spellings of the same classes. */
export const kerasAliases: ReadonlyMap<string, string> = new Map([
  ['MaxPool1D', 'MaxPooling1D'], ['MaxPool2D', 'MaxPooling2D'], ['MaxPool3D', 'MaxPooling3D'],
  ['AvgPool1D', 'AveragePooling1D'], ['AvgPool2D', 'AveragePooling2D'], ['AvgPool3D', 'AveragePooling3D'],
  ['GlobalAvgPool1D', 'GlobalAveragePooling1D'], ['GlobalAvgPool2D', 'GlobalAveragePooling2D'], ['GlobalAvgPool3D', 'GlobalAveragePooling3D'],
  ['GlobalMaxPool1D', 'GlobalMaxPooling1D'], ['GlobalMaxPool2D', 'GlobalMaxPooling2D'], ['GlobalMaxPool3D', 'GlobalMaxPooling3D'],
  ['Convolution1D', 'Conv1D'], ['Convolution2D', 'Conv2D'], ['Convolution3D', 'Conv3D'], ['Deconvolution2D', 'Conv2DTranspose'],
  ['SeparableConvolution2D', 'SeparableConv2D'], ['DepthwiseConvolution2D', 'DepthwiseConv2D'],
]);

/** TF.js `tf.layers.*` factory names → Keras class names. */
export const tfjsLayerNames: ReadonlyMap<string, string> = new Map([
  ['conv1d', 'Conv1D'], ['conv2d', 'Conv2D'], ['conv3d', 'Conv3D'], ['conv2dTranspose', 'Conv2DTranspose'], ['conv3dTranspose', 'Conv3DTranspose'],
  ['depthwiseConv2d', 'DepthwiseConv2D'], ['separableConv2d', 'SeparableConv2D'],
  ['batchNormalization', 'BatchNormalization'], ['layerNormalization', 'LayerNormalization'], ['activation', 'Activation'], ['reLU', 'ReLU'],
  ['leakyReLU', 'LeakyReLU'], ['prelu', 'PReLU'], ['elu', 'ELU'], ['softmax', 'Softmax'], ['thresholdedReLU', 'ThresholdedReLU'],
  ['dense', 'Dense'], ['dropout', 'Dropout'], ['spatialDropout1d', 'SpatialDropout1D'], ['gaussianNoise', 'GaussianNoise'], ['gaussianDropout', 'GaussianDropout'],
  ['alphaDropout', 'AlphaDropout'], ['rescaling', 'Rescaling'], ['masking', 'Masking'],
  ['maxPooling1d', 'MaxPooling1D'], ['maxPooling2d', 'MaxPooling2D'], ['maxPooling3d', 'MaxPooling3D'], ['maxPool1d', 'MaxPooling1D'], ['maxPool2d', 'MaxPooling2D'],
  ['averagePooling1d', 'AveragePooling1D'], ['averagePooling2d', 'AveragePooling2D'], ['averagePooling3d', 'AveragePooling3D'],
  ['avgPool1d', 'AveragePooling1D'], ['avgPool2d', 'AveragePooling2D'], ['avgPool3d', 'AveragePooling3D'],
  ['avgPooling1d', 'AveragePooling1D'], ['avgPooling2d', 'AveragePooling2D'], ['avgPooling3d', 'AveragePooling3D'],
  ['globalAveragePooling1d', 'GlobalAveragePooling1D'], ['globalAveragePooling2d', 'GlobalAveragePooling2D'],
  ['globalMaxPooling1d', 'GlobalMaxPooling1D'], ['globalMaxPooling2d', 'GlobalMaxPooling2D'], ['globalMaxPool1d', 'GlobalMaxPooling1D'], ['globalMaxPool2d', 'GlobalMaxPooling2D'],
  ['zeroPadding2d', 'ZeroPadding2D'], ['cropping2D', 'Cropping2D'], ['flatten', 'Flatten'], ['reshape', 'Reshape'], ['upSampling2d', 'UpSampling2D'],
  ['embedding', 'Embedding'], ['permute', 'Permute'], ['repeatVector', 'RepeatVector'],
  ['concatenate', 'Concatenate'], ['add', 'Add'], ['multiply', 'Multiply'], ['average', 'Average'], ['maximum', 'Maximum'], ['minimum', 'Minimum'],
]);

/** Merge layers: they take a list of tensors. Add is the residual one. */
export const mergeLayers = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate']);

/** `Concatenate(axis)`: the joined axis is the sum, the others are the first input's. */
export function concatenateShapes(shapes: Shape[], axis: number): Shape {
  const first = shapes[0];
  if (!first || shapes.some((s) => !s || s.length !== first.length)) return null;
  const a = axis < 0 ? axis + first.length : axis;
  if (a < 0 || a >= first.length) return null;
  const out = [...first];
  out[a] = shapes.reduce<ShapeDim>((total, s) => (total === null || s![a] === null ? null : add(total, s![a]!)), 0);
  return out;
}

/**
 * Keras's and tfjs-layers' merge layers (Add, Multiply, ...) line up inputs of different
 * ranks by inserting size-1 axes after the batch axis (`expand_dims(x, 1)`), not by numpy's
 * right alignment that includes the batch: `(None, C)` and `(None, H, W, C)` merge.
 */
export function alignForMerge(a: Shape, b: Shape): [Shape, Shape] {
  if (!a || !b || a.length === b.length || a.length === 0 || b.length === 0) return [a, b];
  const expand = (s: ShapeDim[], rank: number): ShapeDim[] => [s[0]!, ...Array.from({ length: rank - s.length }, () => 1), ...s.slice(1)];
  return a.length < b.length ? [expand(a, b.length), b] : [a, expand(b, a.length)];
}
