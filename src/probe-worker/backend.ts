// Picks the TensorFlow.js backend in the probe child, in the order: native
// TensorFlow (tfjs-node-gpu, then tfjs-node, loaded only if installed: they cannot be
// installed offline and are never needed to build or test), then wasm with the probe's
// own conv gradient kernels, then the plain JS cpu backend. Each candidate must pass a
// tiny conv forward+gradient smoke test checked against a direct computation; a failure
// is written into the notes and the next candidate is tried.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tfBundled from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendPreference } from '../core/probe/protocol';
import { registerCpuConvGradientKernels, registerWasmConvGradientKernels } from './kernels';
import { registerNormActKernels } from './normKernels';

export type TensorFlow = typeof tfBundled;

export interface SelectedBackend {
  tf: TensorFlow;
  /** 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** What runs the maths, e.g. 'CPU (wasm SIMD, 1 thread)' or a GPU name. */
  device: string;
  notes: string[];
}

export interface BackendOptions {
  /** A folder whose node_modules (or itself) holds @tensorflow/tfjs-node(-gpu). */
  tfjsNodePath?: string;
}

/** `RESIDUAL_LENS_BACKEND` overrides the plan's preference (for tests and bug reports). */
export function backendPreferenceFromEnv(plan: BackendPreference, env: NodeJS.ProcessEnv = process.env): BackendPreference {
  const forced = env['RESIDUAL_LENS_BACKEND'];
  return forced === 'auto' || forced === 'tensorflow' || forced === 'wasm' || forced === 'cpu' ? forced : plan;
}

/**
 * Checks conv forward and both gradients of sum(conv2d(x, w)) on a 5x5 input, stride 2,
 * 'same' padding, against a direct loop: catches a missing kernel and a wrong one.
 */
export function smokeTest(tf: TensorFlow): void {
  const [n, size, cin, cout, k, stride] = [2, 5, 2, 3, 3, 2];
  const x = Array.from({ length: n * size * size * cin }, (_, i) => Math.sin(i * 0.7));
  const w = Array.from({ length: k * k * cin * cout }, (_, i) => Math.cos(i * 0.3));
  const info = tf.backend_util.computeConv2DInfo([n, size, size, cin], [k, k, cin, cout], stride, 1, 'same');
  const expectedDx = new Float64Array(x.length);
  const expectedDw = new Float64Array(w.length);
  let expectedSum = 0;
  for (let b = 0; b < n; b++)
    for (let oh = 0; oh < info.outHeight; oh++)
      for (let ow = 0; ow < info.outWidth; ow++)
        for (let kh = 0; kh < k; kh++)
          for (let kw = 0; kw < k; kw++) {
            const ih = oh * stride + kh - info.padInfo.top;
            const iw = ow * stride + kw - info.padInfo.left;
            if (ih < 0 || ih >= size || iw < 0 || iw >= size) continue;
            for (let ci = 0; ci < cin; ci++)
              for (let co = 0; co < cout; co++) {
                const xi = ((b * size + ih) * size + iw) * cin + ci;
                const wi = ((kh * k + kw) * cin + ci) * cout + co;
                expectedSum += x[xi]! * w[wi]!;
                expectedDx[xi]! += w[wi]!;
                expectedDw[wi]! += x[xi]!;
              }
          }
  const [sum, dx, dw] = tf.tidy(() => {
    const xt = tf.tensor4d(x, [n, size, size, cin]);
    const wt = tf.tensor4d(w, [k, k, cin, cout]);
    const f = (a: tfBundled.Tensor, b: tfBundled.Tensor): tfBundled.Tensor => tf.sum(tf.conv2d(a as tfBundled.Tensor4D, b as tfBundled.Tensor4D, stride, 'same'));
    const grads = tf.grads(f)([xt, wt]);
    return [f(xt, wt).dataSync()[0]!, grads[0]!.dataSync(), grads[1]!.dataSync()] as const;
  });
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-3 * (1 + Math.abs(b));
  if (!close(sum, expectedSum)) throw new Error(`conv forward gives ${sum}, expected ${expectedSum}`);
  expectedDx.forEach((v, i) => {
    if (!close(dx[i]!, v)) throw new Error(`conv input gradient [${i}] is ${dx[i]}, expected ${v}`);
  });
  expectedDw.forEach((v, i) => {
    if (!close(dw[i]!, v)) throw new Error(`conv filter gradient [${i}] is ${dw[i]}, expected ${v}`);
  });
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 300);
}

/** Loads tfjs-node-gpu or tfjs-node if resolvable; undefined (with a note) when neither is. */
function loadNativeTensorFlow(options: BackendOptions, notes: string[]): { tf: TensorFlow; packageName: string } | undefined {
  // Never the working directory: in the editor that could be an untrusted workspace,
  // and loading a native module from it would run its code. The CLI passes its cwd.
  const searchFrom = [__dirname];
  if (options.tfjsNodePath) searchFrom.unshift(options.tfjsNodePath, join(options.tfjsNodePath, 'node_modules'));
  for (const packageName of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    for (const base of searchFrom) {
      if (!existsSync(base)) continue;
      const requireFrom = createRequire(join(base, 'noop.js'));
      let resolved: string;
      try {
        resolved = requireFrom.resolve(packageName);
      } catch {
        continue;
      }
      try {
        return { tf: requireFrom(resolved) as TensorFlow, packageName };
      } catch (err) {
        notes.push(`${packageName} found at ${resolved} but failed to load: ${errorText(err)}`);
      }
    }
  }
  notes.push('native TensorFlow (@tensorflow/tfjs-node-gpu or -node) is not installed');
  return undefined;
}

function nativeDevice(tf: TensorFlow, packageName: string): string {
  // tfjs-node-gpu silently runs on the CPU when CUDA 11.2 / cuDNN 8.1 are missing: ask the binding.
  const binding = (tf.backend() as unknown as { binding?: { isUsingGpu?: () => boolean } }).binding;
  const usingGpu = typeof binding?.isUsingGpu === 'function' ? binding.isUsingGpu() : undefined;
  if (packageName.endsWith('-gpu')) {
    if (usingGpu === false) return 'CPU (tfjs-node-gpu found no usable GPU: needs CUDA 11.2 and cuDNN 8.1)';
    return usingGpu ? 'GPU (CUDA, libtensorflow 2.9)' : 'GPU requested (CUDA; the binding does not report the device)';
  }
  return 'CPU (native libtensorflow)';
}

let wasmPathsSet = false;

function prepareWasm(): void {
  // In the bundle the .wasm files sit in dist/tfjs next to this file; unbundled (tests),
  // the package finds its own.
  const bundled = join(__dirname, 'tfjs');
  if (!wasmPathsSet && existsSync(join(bundled, 'tfjs-backend-wasm.wasm'))) {
    setWasmPaths(bundled + '/');
    wasmPathsSet = true;
  }
  registerWasmConvGradientKernels();
  registerNormActKernels('wasm');
}

async function trySelect(tf: TensorFlow, name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend '${name}' did not initialise`);
  await tf.ready();
  smokeTest(tf);
}

export async function selectBackend(preference: BackendPreference, options: BackendOptions = {}): Promise<SelectedBackend> {
  const notes: string[] = [];
  const order: Exclude<BackendPreference, 'auto'>[] = preference === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [preference];
  for (const candidate of order) {
    try {
      if (candidate === 'tensorflow') {
        const native = loadNativeTensorFlow(options, notes);
        if (!native) continue;
        await trySelect(native.tf, 'tensorflow');
        return { tf: native.tf, name: 'tensorflow', device: nativeDevice(native.tf, native.packageName), notes };
      }
      if (candidate === 'wasm') {
        prepareWasm();
        await trySelect(tfBundled, 'wasm');
        const simd = await tfBundled.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        return { tf: tfBundled, name: 'wasm', device: `CPU (WebAssembly${simd ? ' SIMD' : ''}, 1 thread per variant)`, notes };
      }
      registerNormActKernels('cpu');
      registerCpuConvGradientKernels();
      await trySelect(tfBundled, 'cpu');
      return { tf: tfBundled, name: 'cpu', device: 'CPU (plain JavaScript, slow)', notes };
    } catch (err) {
      notes.push(`${candidate} backend failed its smoke test: ${errorText(err)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend passed its smoke test: ${notes.join('; ')}`);
}
