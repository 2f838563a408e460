// Runs a probe plan as child processes, one per variant, at most `maxParallel` at a
// time, and streams their ProbeMessages to the caller. Used by the CLI and by the
// extension host alike: never trains in the calling process, so a native TensorFlow
// crash or an out-of-memory kill costs one variant, not the host.
//
// Guarantees: every variant ends with exactly one `done` or `error` message (a child that
// dies without saying so gets a `crashed`/`out-of-memory` error; a variant cancelled
// before or while running gets `done` with reason 'cancelled'); no child outlives
// cancel(): a `cancel` message first, SIGTERM after `cancelGraceMs`, SIGKILL after
// another `cancelGraceMs`; and children exit by themselves when the IPC channel
// closes, should this process die without cancelling.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { meanOfLast } from '../core/probe/metrics';
import type { ProbeCommand, ProbeMessage, ProbePlan } from '../core/probe/protocol';
import { spawnTorchRunner, type TorchRunnerOptions } from '../torch/torchEngine';

export interface ProbeSupervisorOptions {
  plan: ProbePlan;
  /** Every message from every child, in arrival order. */
  onMessage(message: ProbeMessage): void;
  /** A line a child wrote to stdout or stderr (tfjs warnings, crash traces). */
  onLog?(variant: string, line: string): void;
  /** The bundled worker; defaults to probe-worker.js next to the calling bundle (dist/). */
  workerPath?: string;
  /** Variants training at a time; defaults to the number of cores. */
  maxParallel?: number;
  /**
   * Children alive at a time (default: every variant, up to 8). When every variant has
   * a child, all compute their init profile (step 0) at once and wait until every
   * profile is in; then maxParallel of them train and the rest wait for a free core.
   */
  maxProcesses?: number;
  /** V8 heap cap of each child (--max-old-space-size). */
  maxOldSpaceMb?: number;
  /**
   * Watchdog: a child that sends no message for this long while it should be working
   * (not while held after its init profile) is killed and its variant ends with a
   * `timeout` error; the others go on. Default 120 s: one step of a big model on a busy CPU.
   */
  stallTimeoutMs?: number;
  /** Wait after the cancel message before SIGTERM, and after SIGTERM before SIGKILL. */
  cancelGraceMs?: number;
  /** The runtime: process.execPath (in VS Code that is Electron, run as Node). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  /** A folder holding @tensorflow/tfjs-node(-gpu) (setting residualLens.probe.tfjsNodePath). */
  tfjsNodePath?: string;
  /** Forces a backend in every child, over the plan's preference (RESIDUAL_LENS_BACKEND). */
  backend?: 'tensorflow' | 'wasm' | 'cpu';
  /** Set to train every variant in the Python runner with PyTorch instead of the TF.js worker. */
  torch?: TorchRunnerOptions;
}

export type VariantEnd = 'done' | 'cancelled' | 'error';

export interface ProbeRun {
  /** Resolves when every variant has ended, with how each ended. */
  readonly finished: Promise<Map<string, VariantEnd>>;
  /** Stops every child (cancel message, SIGTERM, SIGKILL); resolves when all have exited. */
  cancel(): Promise<void>;
  /** Process ids of the children alive now, by variant. */
  pids(): Map<string, number>;
}

interface ChildState {
  variant: string;
  child: ChildProcess;
  ended: boolean;
  losses: number[];
  accuracies: number[];
  msTotal: number;
  stderrTail: string[];
  /** The first line of a fatal error (V8 prints a long stack after it, which would push it out of the tail). */
  fatalLine?: string;
  outOfMemory: boolean;
  exited: Promise<void>;
  watchdog?: NodeJS.Timeout;
}

export const defaultMaxOldSpaceMb = 2048;
export const defaultStallTimeoutMs = 120_000;

export function startProbe(options: ProbeSupervisorOptions): ProbeRun {
  const { plan } = options;
  const workerPath = options.workerPath ?? join(__dirname, 'probe-worker.js');
  const maxParallel = Math.max(1, options.maxParallel ?? availableParallelism());
  const maxProcesses = Math.max(maxParallel, options.maxProcesses ?? Math.min(plan.variants.length, 8));
  const grace = options.cancelGraceMs ?? 1500;
  const stallTimeoutMs = options.stallTimeoutMs ?? defaultStallTimeoutMs;
  const queue = plan.variants.map((v) => v.id);
  const running = new Map<string, ChildState>();
  const training = new Set<string>();
  const held: string[] = [];
  /** Variants whose init profile (step 0) has arrived, or that ended before it. */
  const initDone = new Set<string>();
  // When every variant has a process, all of them hold after their init profile until
  // every profile is in: training would otherwise slow the others' first step.
  const allAtOnce = maxProcesses >= plan.variants.length;
  const ends = new Map<string, VariantEnd>();
  let cancelling = false;
  let resolveFinished!: (ends: Map<string, VariantEnd>) => void;
  const finished = new Promise<Map<string, VariantEnd>>((resolve) => (resolveFinished = resolve));

  const end = (variant: string, how: VariantEnd, message: ProbeMessage): void => {
    if (ends.has(variant)) return;
    ends.set(variant, how);
    options.onMessage(message);
  };

  const cancelledDone = (state: Pick<ChildState, 'variant' | 'losses' | 'accuracies' | 'msTotal'>): ProbeMessage => ({
    type: 'done',
    variant: state.variant,
    steps: state.losses.length,
    finalLoss: meanOfLast(state.losses),
    finalAccuracy: meanOfLast(state.accuracies),
    msPerStep: state.losses.length ? state.msTotal / state.losses.length : 0,
    reason: 'cancelled',
  });

  const checkFinished = (): void => {
    if (ends.size === plan.variants.length && running.size === 0) resolveFinished(ends);
  };

  /** (Re)starts the watchdog of a child that owes us a message; one held after its init profile owes none. */
  const armWatchdog = (state: ChildState): void => {
    clearTimeout(state.watchdog);
    state.watchdog = undefined;
    if (state.ended || (held.includes(state.variant) && initDone.has(state.variant))) return;
    state.watchdog = setTimeout(() => {
      if (cancelling || state.ended) return;
      state.ended = true;
      const step = state.losses.length;
      end(state.variant, 'error', {
        type: 'error',
        variant: state.variant,
        code: 'timeout',
        message: `the probe process for ${state.variant} sent nothing for ${Math.round(stallTimeoutMs / 1000)} s at step ${step} (a hung step) and was stopped`,
        step,
      });
      // A hung step does not read its IPC channel, so a cancel message would go unheard.
      state.child.kill('SIGKILL');
    }, stallTimeoutMs);
    state.watchdog.unref();
  };

  const launch = (variant: string, holdAfterInit: boolean): void => {
    const child = options.torch
      ? spawnTorchRunner(options.torch, options.env ?? process.env, maxParallel)
      : fork(workerPath, [], {
          execPath: options.execPath ?? process.execPath,
          execArgv: [`--max-old-space-size=${options.maxOldSpaceMb ?? defaultMaxOldSpaceMb}`],
          env: {
            ...(options.env ?? process.env),
            ELECTRON_RUN_AS_NODE: '1',
            ...(options.tfjsNodePath ? { RESIDUAL_LENS_TFJS_NODE_PATH: options.tfjsNodePath } : {}),
            ...(options.backend ? { RESIDUAL_LENS_BACKEND: options.backend } : {}),
          },
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          serialization: 'json',
        });
    let exitedResolve!: () => void;
    const state: ChildState = {
      variant,
      child,
      ended: false,
      losses: [],
      accuracies: [],
      msTotal: 0,
      stderrTail: [],
      outOfMemory: false,
      exited: new Promise((resolve) => (exitedResolve = resolve)),
    };
    running.set(variant, state);
    const logLines = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        if (/heap out of memory|Allocation failed|Cannot enlarge memory|Out of memory/i.test(line)) state.outOfMemory = true;
        if (!state.fatalLine && /FATAL ERROR|^\w*Error:/.test(line.trim())) state.fatalLine = line.trim();
        state.stderrTail.push(line);
        if (state.stderrTail.length > 20) state.stderrTail.shift();
        options.onLog?.(variant, line);
      }
    };
    // The torch runner's stdout carries its messages (spawnTorchRunner reads it).
    if (!options.torch) child.stdout?.on('data', logLines);
    child.stderr?.on('data', logLines);
    child.on('message', (raw: unknown) => {
      const message = raw as ProbeMessage;
      if (typeof message !== 'object' || message === null || typeof message.type !== 'string' || message.variant !== variant) return;
      if (message.type === 'gradients' && message.step === 0 && !initDone.has(variant)) {
        initDone.add(variant);
        queueMicrotask(next);
      }
      if (message.type !== 'done' && message.type !== 'error') armWatchdog(state);
      if (message.type === 'step') {
        state.losses.push(message.loss);
        state.accuracies.push(message.accuracy);
        state.msTotal += message.ms;
      }
      if (message.type === 'done' || message.type === 'error') {
        state.ended = true;
        end(variant, message.type === 'done' ? (message.reason === 'cancelled' ? 'cancelled' : 'done') : 'error', message);
        return;
      }
      if (!ends.has(variant)) options.onMessage(message);
    });
    child.on('error', (err) => {
      end(variant, 'error', { type: 'error', variant, code: 'crashed', message: `could not run the probe process: ${err.message}` });
      if (child.pid === undefined) {
        // never started, so no 'exit' will follow
        running.delete(variant);
        training.delete(variant);
        initDone.add(variant);
        exitedResolve();
        next();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(state.watchdog);
      running.delete(variant);
      training.delete(variant);
      if (held.includes(variant)) held.splice(held.indexOf(variant), 1);
      initDone.add(variant);
      if (!state.ended) {
        if (cancelling) end(variant, 'cancelled', cancelledDone(state));
        else {
          const { outOfMemory } = state;
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const step = state.losses.length;
          const detail = state.fatalLine ?? state.stderrTail.slice(-3).join(' | ');
          const limit = outOfMemory ? ` (out of memory; the heap limit per probe process is ${options.maxOldSpaceMb ?? defaultMaxOldSpaceMb} MB)` : '';
          end(variant, 'error', {
            type: 'error',
            variant,
            code: outOfMemory ? 'out-of-memory' : 'crashed',
            message: `the probe process for ${variant} ${how} at step ${step}${limit}${detail ? `: ${detail}` : ''}`,
            step,
          });
        }
      }
      exitedResolve();
      next();
    });
    const command: ProbeCommand = { type: 'run', plan, variant, ...(holdAfterInit ? { holdAfterInit } : {}) };
    child.send(command);
    if (holdAfterInit) held.push(variant);
    else training.add(variant);
    armWatchdog(state);
  };

  const next = (): void => {
    const profilesIn = !allAtOnce || (queue.length === 0 && [...running.keys()].every((v) => initDone.has(v)));
    while (!cancelling && profilesIn && training.size < maxParallel && held.length) {
      const variant = held.shift()!;
      training.add(variant);
      const state = running.get(variant);
      if (state?.child.connected) state.child.send({ type: 'resume' } satisfies ProbeCommand);
      if (state) armWatchdog(state);
    }
    while (!cancelling && running.size < maxProcesses && queue.length) launch(queue.shift()!, allAtOnce || training.size >= maxParallel);
    checkFinished();
  };

  const stopChild = async (state: ChildState): Promise<void> => {
    const { child } = state;
    const alive = (): boolean => child.exitCode === null && child.signalCode === null;
    const waitExit = (ms: number): Promise<boolean> =>
      Promise.race([state.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
    if (!alive()) return state.exited;
    if (child.connected) child.send({ type: 'cancel' } satisfies ProbeCommand, () => undefined);
    if (await waitExit(grace)) return;
    if (alive()) child.kill('SIGTERM');
    if (await waitExit(grace)) return;
    if (alive()) child.kill('SIGKILL');
    await state.exited;
  };

  const cancel = async (): Promise<void> => {
    cancelling = true;
    for (const variant of queue.splice(0)) end(variant, 'cancelled', cancelledDone({ variant, losses: [], accuracies: [], msTotal: 0 }));
    await Promise.all([...running.values()].map(stopChild));
    checkFinished();
  };

  const pids = (): Map<string, number> => {
    const map = new Map<string, number>();
    for (const [variant, state] of running) if (state.child.pid !== undefined) map.set(variant, state.child.pid);
    return map;
  };

  if (options.torch && plan.variants.some((v) => v.graph)) {
    // The Python runner trains the CIFAR family only; a model graph is built in TensorFlow.js.
    for (const variant of queue.splice(0)) {
      end(variant, 'error', { type: 'error', variant, code: 'invalid-plan', message: torchGraphRefusal });
    }
  }
  next();
  return { finished, cancel, pids };
}

/** Why a "Probe This Model" plan does not run on the PyTorch engine; hosts choose the TF.js engine for these (or say this). */
export const torchGraphRefusal =
  'the PyTorch engine trains the built-in CIFAR networks only; "Probe This Model" builds your model in TensorFlow.js: use the engine tfjs or auto (residualLens.probe.engine, --engine)';
