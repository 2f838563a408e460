// BatchNorm (batch statistics) + optional residual add + optional ReLU as one op with
// its own gradient, for the wasm and cpu backends. The stock tf.moments/tf.batchNorm
// pair costs about 15 small ops forward and backward per layer, and the stock
// FusedBatchNorm gradient tiles per-channel values to the full activation shape (Tile
// was the most expensive kernel of a training step, measured with tf.profile). Here the
// forward is two passes over the activation and the backward two more.
//
//   forward:  y = act(gamma * (x - mean) / sqrt(var + eps) + beta [+ residual])
//   backward: g = dy masked where y <= 0 (ReLU), xhat = (x - mean) * invStd
//             dbeta = sum(g), dgamma = sum(g * xhat)
//             dx = gamma * invStd * (g - dbeta / M - xhat * dgamma / M),  dresidual = g
import * as tf from '@tensorflow/tfjs';

export const normActKernelName = 'ProbeNormAct';
export const normActGradKernelName = 'ProbeNormActGrad';

export interface NormActAttrs {
  epsilon: number;
  relu: boolean;
  residual: boolean;
}

/** Forward on flat NHWC data: writes y, mean and invStd; returns nothing. */
export function normActForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  residual: Float32Array | undefined,
  attrs: NormActAttrs,
  y: Float32Array,
  mean: Float32Array,
  invStd: Float32Array,
): void {
  const channels = gamma.length;
  const rows = x.length / channels;
  const scale = new Float32Array(channels);
  const shift = new Float32Array(channels);
  const n = x.length;
  for (let c = 0; c < channels; c++) {
    // One channel at a time with the sums in registers: strided reads of an activation
    // that fits in L2 cost less than a store per element into per-channel accumulators.
    let sum = 0;
    let squares = 0;
    for (let i = c; i < n; i += channels) {
      const v = x[i]!;
      sum += v;
      squares += v * v;
    }
    const m = sum / rows;
    const variance = Math.max(0, squares / rows - m * m);
    const s = 1 / Math.sqrt(variance + attrs.epsilon);
    mean[c] = m;
    invStd[c] = s;
    scale[c] = gamma[c]! * s;
    shift[c] = beta[c]! - m * gamma[c]! * s;
  }
  if (residual) {
    for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < channels; c++, i++) y[i] = x[i]! * scale[c]! + shift[c]! + residual[i]!;
  } else {
    for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < channels; c++, i++) y[i] = x[i]! * scale[c]! + shift[c]!;
  }
  // ReLU on the float bits, without a branch: signs are random, and a mispredicted branch
  // (which Math.max and a ternary both compile to) per element tripled this loop's time.
  if (attrs.relu) {
    const bits = bitsOf(y);
    for (let i = 0; i < bits.length; i++) bits[i] = bits[i]! & ~(bits[i]! >> 31);
  }
}

const bitsOf = (a: Float32Array): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.length);

/** Backward: writes dx, dgamma, dbeta and (with a residual) dresidual. */
export function normActBackward(
  dy: Float32Array,
  x: Float32Array,
  y: Float32Array,
  gamma: Float32Array,
  mean: Float32Array,
  invStd: Float32Array,
  attrs: NormActAttrs,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
  dresidual: Float32Array | undefined,
): void {
  const channels = gamma.length;
  const rows = x.length / channels;
  const sumG = new Float64Array(channels);
  const sumGX = new Float64Array(channels);
  const n = x.length;
  // The masked gradient g goes to dresidual, or to dx's buffer as scratch when there is none.
  // Masked on the bits: y >= 0 after a ReLU, so its bits are > 0 exactly where y > 0.
  const gradient = attrs.relu ? (dresidual ?? dx) : dy;
  if (attrs.relu) {
    const g = bitsOf(gradient);
    const d = bitsOf(dy);
    const yb = bitsOf(y);
    for (let i = 0; i < g.length; i++) g[i] = d[i]! & (-yb[i]! >> 31);
  } else if (dresidual) dresidual.set(dy);
  for (let c = 0; c < channels; c++) {
    let sg = 0;
    let sgx = 0;
    const m = mean[c]!;
    for (let i = c; i < n; i += channels) {
      const g = gradient[i]!;
      sg += g;
      sgx += g * (x[i]! - m);
    }
    sumG[c] = sg;
    sumGX[c] = sgx;
  }
  const a = new Float32Array(channels);
  const b = new Float32Array(channels);
  const k = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = invStd[c]!;
    dbeta[c] = sumG[c]!;
    dgamma[c] = sumGX[c]! * s;
    // dx = gamma*s*(g - sumG/M - (x-mean)*s*dgamma/M) = a*g + b*(x-mean) + k
    a[c] = gamma[c]! * s;
    b[c] = (-a[c]! * s * dgamma[c]!) / rows;
    k[c] = (-a[c]! * sumG[c]!) / rows;
  }
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++, i++) dx[i] = a[c]! * gradient[i]! + b[c]! * (x[i]! - mean[c]!) + k[c]!;
  }
}

interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface CpuBackendInternals {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Allocates outputs and gives typed-array views of inputs and outputs, per backend. */
interface Memory {
  output(shape: number[]): tf.TensorInfo;
  /** Views; call after every output is allocated (a wasm heap can move when it grows). */
  view(info: tf.TensorInfo): Float32Array;
  /** For backends whose outputs are created from finished arrays. */
  finish(infos: tf.TensorInfo[]): tf.TensorInfo[];
}

function wasmMemory(backend: unknown): Memory {
  const wasm = backend as WasmBackendInternals;
  return { output: (shape) => wasm.makeOutput(shape, 'float32'), view: (info) => wasm.typedArrayFromHeap(info), finish: (infos) => infos };
}

function cpuMemory(backend: unknown): Memory {
  const cpu = backend as CpuBackendInternals;
  const pending = new Map<tf.TensorInfo, Float32Array>();
  return {
    output: (shape) => {
      const info: tf.TensorInfo = { dataId: {}, shape, dtype: 'float32' };
      pending.set(info, new Float32Array(shape.reduce((a, b) => a * b, 1)));
      return info;
    },
    view: (info) => pending.get(info) ?? cpu.data.get(info.dataId).values,
    finish: (infos) => infos.map((info) => cpu.makeTensorInfo(info.shape, 'float32', pending.get(info)!)),
  };
}

function makeKernels(backendName: 'wasm' | 'cpu'): tf.KernelConfig[] {
  const memoryOf = backendName === 'wasm' ? wasmMemory : cpuMemory;
  const forward = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const a = attrs as unknown as NormActAttrs;
    const memory = memoryOf(backend);
    const x = inputs['x']!;
    const channels = x.shape[x.shape.length - 1]!;
    const y = memory.output(x.shape);
    const mean = memory.output([channels]);
    const invStd = memory.output([channels]);
    const residual = a.residual ? memory.view(inputs['residual']!) : undefined;
    normActForward(memory.view(x), memory.view(inputs['gamma']!), memory.view(inputs['beta']!), residual, a, memory.view(y), memory.view(mean), memory.view(invStd));
    return memory.finish([y, mean, invStd]);
  };
  const backward = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const a = attrs as unknown as NormActAttrs;
    const memory = memoryOf(backend);
    const x = inputs['x']!;
    const channels = x.shape[x.shape.length - 1]!;
    const dx = memory.output(x.shape);
    const dgamma = memory.output([channels]);
    const dbeta = memory.output([channels]);
    const dresidual = a.residual ? memory.output(x.shape) : undefined;
    normActBackward(
      memory.view(inputs['dy']!),
      memory.view(x),
      memory.view(inputs['y']!),
      memory.view(inputs['gamma']!),
      memory.view(inputs['mean']!),
      memory.view(inputs['invStd']!),
      a,
      memory.view(dx),
      memory.view(dgamma),
      memory.view(dbeta),
      dresidual ? memory.view(dresidual) : undefined,
    );
    return memory.finish(dresidual ? [dx, dgamma, dbeta, dresidual] : [dx, dgamma, dbeta]);
  };
  return [
    { kernelName: normActKernelName, backendName, kernelFunc: forward as unknown as tf.KernelFunc },
    { kernelName: normActGradKernelName, backendName, kernelFunc: backward as unknown as tf.KernelFunc },
  ];
}

const registeredFor = new Set<string>();

/**
 * The gradient of the forward kernel, registered like tfjs's own: the engine saves x,
 * gamma and the three outputs. The backward kernel runs once, eagerly (the engine calls
 * each input's closure in its own scope, so a lazily shared result would be disposed).
 */
const normActGradient: tf.GradConfig = {
  kernelName: normActKernelName,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [true, true, true],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x, gamma, y, mean, invStd] = saved;
    const dy = Array.isArray(dys) ? dys[0]! : dys;
    const grads = tf.engine().runKernel(normActGradKernelName, { dy, x: x!, y: y!, gamma: gamma!, mean: mean!, invStd: invStd! }, attrs) as tf.Tensor[];
    return {
      x: () => grads[0]!,
      gamma: () => grads[1]!,
      beta: () => grads[2]!,
      ...((attrs as unknown as NormActAttrs).residual ? { residual: () => grads[3]! } : {}),
    };
  },
};

export function registerNormActKernels(backendName: 'wasm' | 'cpu'): void {
  if (registeredFor.has(backendName)) return;
  for (const config of makeKernels(backendName)) if (!tf.getKernel(config.kernelName, backendName)) tf.registerKernel(config);
  if (!tf.getGradient(normActKernelName)) tf.registerGradient(normActGradient);
  registeredFor.add(backendName);
}

export function hasNormActKernels(backendName: string): boolean {
  return tf.getKernel(normActKernelName, backendName) !== undefined;
}

type T4 = tf.Tensor4D;
type T1 = tf.Tensor1D;

/**
 * The differentiable op over the kernels. `tfx` is the tf namespace in use (the kernels
 * are found through its engine). Call only where hasNormActKernels(backend) is true.
 */
export function normAct(tfx: typeof tf, x: T4, gamma: T1, beta: T1, residual: T4 | undefined, attrs: Omit<NormActAttrs, 'residual'>): T4 {
  const full: NormActAttrs = { ...attrs, residual: residual !== undefined };
  const inputs: tf.NamedTensorMap = { x, gamma, beta, ...(residual ? { residual } : {}) };
  const [y] = tfx.engine().runKernel(normActKernelName, inputs, full as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return y as T4;
}
