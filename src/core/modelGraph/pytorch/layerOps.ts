// torch.nn layers as model-graph ops: the layer descriptor the interpreter built (the
// arguments the shape table reads) plus the constructor's own arguments for what shapes
// do not need (eps, affine, approximate, negative_slope). Defaults are PyTorch's.
import type { CallArgs } from '../../pytorch/interpreter';
import type { Value } from '../../pytorch/values';
import type { LayerDescriptor, ParamValue } from '../../shapes/layers';
import type { ActivationFn, GraphOp } from '../graph';

type Mapped = GraphOp | { unsupported: string };

const simpleActivations: Record<string, ActivationFn> = {
  ReLU: 'relu', ReLU6: 'relu6', SiLU: 'silu', Sigmoid: 'sigmoid', Tanh: 'tanh', Hardswish: 'hardswish', Hardsigmoid: 'hardsigmoid', Mish: 'mish',
};

export function layerGraphOp(desc: LayerDescriptor, raw: CallArgs | undefined): Mapped {
  const p = desc.params;
  const arg = (index: number, name: string): Value | undefined => raw?.keywords.get(name) ?? raw?.positional[index];
  const type = desc.type;
  if (type.startsWith('unknown:')) return { unsupported: `${type.slice(8)} is not a layer the analyser knows` };
  const conv = /^Conv([123])d$/.exec(type);
  if (conv) {
    const n = Number(conv[1]);
    const inChannels = int(p.in_channels);
    const outChannels = int(p.out_channels);
    const kernel = perAxis(p.kernel_size, n);
    const stride = perAxis(p.stride, n);
    const dilation = perAxis(p.dilation, n);
    const groups = int(p.groups);
    const padding = p.padding === 'same' || p.padding === 'valid' ? p.padding : perAxis(p.padding, n);
    if (inChannels === undefined || outChannels === undefined || !kernel || !stride || !dilation || groups === undefined || !padding || typeof p.bias !== 'boolean') {
      return { unsupported: 'its arguments are not all known numbers' };
    }
    if (p.padding_mode !== 'zeros') return { unsupported: `padding_mode '${String(p.padding_mode)}' is not built (only zeros)` };
    if (padding === 'same' && stride.some((s) => s !== 1)) return { unsupported: "padding='same' with a stride is not valid PyTorch" };
    return { op: 'conv', spatialDims: n, inChannels, outChannels, kernel, stride, padding, dilation, groups, bias: p.bias, init: 'torch-default' };
  }
  if (type === 'Linear') {
    const inFeatures = int(p.in_features);
    const outFeatures = int(p.out_features);
    if (inFeatures === undefined || outFeatures === undefined || typeof p.bias !== 'boolean') return { unsupported: 'its arguments are not all known numbers' };
    return { op: 'linear', inFeatures, outFeatures, bias: p.bias, init: 'torch-default' };
  }
  if (type === 'Embedding') {
    const vocabulary = int(p.num_embeddings);
    const features = int(p.embedding_dim);
    if (vocabulary === undefined || features === undefined) return { unsupported: 'its arguments are not all known numbers' };
    return { op: 'embedding', vocabulary, features, init: 'normal' };
  }
  if (/^BatchNorm[123]d$/.test(type) || type === 'SyncBatchNorm') {
    const channels = int(p.num_features);
    const eps = num(arg(1, 'eps')) ?? 1e-5;
    const affine = bool(arg(3, 'affine')) ?? true;
    const tracking = bool(arg(4, 'track_running_stats')) ?? true;
    if (channels === undefined) return { unsupported: 'its channel count is not known' };
    if (!tracking) return { unsupported: 'track_running_stats=False is not built' };
    return { op: 'batchnorm', channels, affine, epsilon: eps };
  }
  if (type === 'LayerNorm') {
    const normalizedShape = Array.isArray(p.normalized_shape) ? p.normalized_shape.map(int) : [int(p.normalized_shape)];
    if (normalizedShape.some((d) => d === undefined)) return { unsupported: 'its normalized shape is not known' };
    const eps = typeof p.eps === 'number' ? p.eps : 1e-5;
    const affine = typeof p.elementwise_affine === 'boolean' ? p.elementwise_affine : true;
    const bias = bool(arg(3, 'bias')) ?? true;
    return { op: 'layernorm', normalizedShape: normalizedShape as number[], affine, bias: affine && bias, epsilon: eps };
  }
  if (type === 'GroupNorm') {
    const groups = int(p.num_groups);
    const channels = int(p.num_channels);
    if (groups === undefined || channels === undefined) return { unsupported: 'its arguments are not all known numbers' };
    return { op: 'groupnorm', groups, channels, affine: bool(arg(3, 'affine')) ?? true, epsilon: num(arg(2, 'eps')) ?? 1e-5 };
  }
  const simple = simpleActivations[type];
  if (simple) return { op: 'activation', fn: simple };
  if (type === 'LeakyReLU') return { op: 'activation', fn: 'leaky_relu', alpha: num(arg(0, 'negative_slope')) ?? 0.01 };
  if (type === 'ELU') return { op: 'activation', fn: 'elu', alpha: num(arg(0, 'alpha')) ?? 1 };
  if (type === 'GELU') {
    const approximate = arg(0, 'approximate');
    return { op: 'activation', fn: approximate?.t === 'str' && approximate.v === 'tanh' ? 'gelu_tanh' : 'gelu' };
  }
  if (type === 'Softplus') {
    if ((num(arg(0, 'beta')) ?? 1) !== 1) return { unsupported: 'Softplus with beta other than 1 is not built' };
    return { op: 'activation', fn: 'softplus' };
  }
  if (type === 'Softmax') {
    const dim = arg(0, 'dim');
    const axis = num(dim);
    if (axis === undefined) return { unsupported: 'Softmax without a known dim is not built' };
    return { op: 'activation', fn: 'softmax', axis };
  }
  if (type === 'Identity') return { op: 'identity' };
  if (/^Dropout[123]?d?$/.test(type) || type === 'AlphaDropout') return { op: 'dropout', rate: num(arg(0, 'p')) ?? 0.5 };
  const pool = /^(Max|Avg)Pool([123])d$/.exec(type);
  if (pool) {
    const n = Number(pool[2]);
    const kernel = perAxis(p.kernel_size, n);
    const stride = p.stride === null || (Array.isArray(p.stride) && p.stride.length === 0) ? kernel : perAxis(p.stride, n);
    const padding = perAxis(p.padding, n);
    if (!kernel || !stride || !padding || typeof p.ceil_mode !== 'boolean') return { unsupported: 'its arguments are not all known numbers' };
    if (pool[1] === 'Max' && (perAxis(p.dilation, n) ?? []).some((d) => d !== 1)) return { unsupported: 'dilated max pooling is not built' };
    if (pool[1] === 'Max' && p.return_indices === true) return { unsupported: 'return_indices is not built' };
    if (pool[1] === 'Avg' && p.divisor_override !== null && p.divisor_override !== undefined) return { unsupported: 'divisor_override is not built' };
    return {
      op: 'pool', kind: pool[1] === 'Max' ? 'max' : 'avg', spatialDims: n, kernel, stride, padding, ceilMode: p.ceil_mode,
      countIncludePad: pool[1] === 'Avg' ? p.count_include_pad !== false : true,
    };
  }
  const adaptive = /^Adaptive(Max|Avg)Pool([123])d$/.exec(type);
  if (adaptive) {
    const n = Number(adaptive[2]);
    const size = perAxis(p.output_size, n);
    if (!size) return { unsupported: 'an output size that is not whole numbers (None keeps an axis) is not built' };
    return { op: 'adaptive-pool', kind: adaptive[1] === 'Max' ? 'max' : 'avg', spatialDims: n, outputSize: size };
  }
  if (type === 'Flatten') {
    const start = int(p.start_dim);
    const end = int(p.end_dim);
    if (start === undefined || end === undefined) return { unsupported: 'its axes are not known' };
    return { op: 'flatten', startDim: start, endDim: end };
  }
  if (type === 'Upsample' || type === 'UpsamplingNearest2d' || type === 'UpsamplingBilinear2d') {
    const mode = type === 'UpsamplingBilinear2d' ? 'bilinear' : typeof p.mode === 'string' ? p.mode : 'nearest';
    if (mode !== 'nearest' && mode !== 'bilinear') return { unsupported: `upsampling mode '${mode}' is not built` };
    if (p.size !== null && p.size !== undefined) return { unsupported: 'upsampling to a fixed size is not built (use scale_factor)' };
    const scale = Array.isArray(p.scale_factor) ? p.scale_factor.map(int) : [int(p.scale_factor)];
    if (scale.some((s) => s === undefined)) return { unsupported: 'only whole scale factors are built' };
    const spatial = scale.length === 1 ? 2 : scale.length;
    return { op: 'upsample', spatialDims: spatial, scale: scale.length === 1 ? Array.from({ length: spatial }, () => scale[0]!) : (scale as number[]), mode };
  }
  if (type === 'MultiheadAttention') {
    const embedDim = int(p.embed_dim);
    const heads = int(p.num_heads);
    if (embedDim === undefined || heads === undefined || embedDim % heads !== 0) return { unsupported: 'its sizes are not known' };
    if (p.add_bias_kv === true || p.add_zero_attn === true) return { unsupported: 'add_bias_kv and add_zero_attn are not built' };
    if ((p.kdim !== null && p.kdim !== undefined && p.kdim !== embedDim) || (p.vdim !== null && p.vdim !== undefined && p.vdim !== embedDim)) return { unsupported: 'kdim and vdim other than embed_dim are not built' };
    return { op: 'attention', embedDim, heads, keyDim: embedDim / heads, valueDim: embedDim / heads, bias: p.bias !== false, batchFirst: p.batch_first === true, init: 'torch-default' };
  }
  return { unsupported: `${type} is not a layer the probe can build` };
}

/** Ops that own trainable parameters (a module applied twice shares them). */
export function opHasParameters(op: GraphOp): boolean {
  switch (op.op) {
    case 'conv': case 'linear': case 'embedding': case 'attention': return true;
    case 'batchnorm': case 'layernorm': case 'groupnorm': return op.affine;
    default: return false;
  }
}

function int(v: ParamValue): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function perAxis(v: ParamValue, n: number): number[] | undefined {
  if (Array.isArray(v)) {
    if (v.length !== n) return undefined;
    const out = v.map(int);
    return out.every((d) => d !== undefined) ? (out as number[]) : undefined;
  }
  const d = int(v);
  return d === undefined ? undefined : Array.from({ length: n }, () => d);
}

function num(v: Value | undefined): number | undefined {
  if (!v) return undefined;
  if (v.t === 'int' && typeof v.v === 'number') return v.v;
  if (v.t === 'float' && !Number.isNaN(v.v)) return v.v;
  return undefined;
}

function bool(v: Value | undefined): boolean | undefined {
  return v?.t === 'bool' && typeof v.v === 'boolean' ? v.v : undefined;
}
