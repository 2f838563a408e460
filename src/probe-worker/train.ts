// The training loop of one variant: synthetic batches, softmax cross-entropy, Adam or
// SGD with momentum, and the probe's measurements as ProbeMessages. Runs in the child
// process (main.ts); the benchmark and the tests call it in-process too.
import type * as tfc from '@tensorflow/tfjs';
import { firstToLastRatio, lossDiverged, meanOfLast } from '../core/probe/metrics';
import type { ProbeMessage, ProbePlan } from '../core/probe/protocol';
import { SyntheticTextureTask } from '../core/probe/synthetic';
import type { SelectedBackend } from './backend';
import { buildModel } from './model';
import { ArrayOptimizer } from './optimizer';

export interface RunControls {
  emit(message: ProbeMessage): void;
  /** Checked at the top of every step, after yielding to the event loop. */
  cancelled(): boolean;
  /** Awaited after step 0 (the init profile) before training goes on; a cancel must settle it too. */
  afterInit?(): Promise<void>;
  /** Tensors allowed to accumulate between steps before the run is stopped as a leak. */
  leakTolerance?: number;
  notes?: string[];
}

/** Thrown for a run that cannot continue; main.ts turns it into an `error` message. */
export class ProbeRunError extends Error {
  constructor(
    readonly code: 'diverged' | 'out-of-memory' | 'invalid-plan',
    message: string,
    readonly step?: number,
  ) {
    super(message);
  }
}

function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function runVariant(backend: SelectedBackend, plan: ProbePlan, variantId: string, controls: RunControls): Promise<void> {
  const { tf } = backend;
  const spec = plan.variants.find((v) => v.id === variantId);
  if (!spec) throw new ProbeRunError('invalid-plan', `the plan has no variant '${variantId}'`);
  const model = buildModel(tf, plan, spec);
  const { network } = model;
  const task = new SyntheticTextureTask(plan.seed, plan.inputSize, plan.inputChannels, plan.classes);
  const optimizer = new ArrayOptimizer(tf, model.variables, plan.optimizer, plan.learningRate, plan.momentum);
  const kernelIndex = model.layerKernels.map((kernel) => model.variables.indexOf(kernel));
  const flopsPerStep = network.trainingFlopsPerSample * plan.batchSize;
  controls.emit({
    type: 'started',
    variant: spec.id,
    backend: backend.name,
    device: backend.device,
    params: network.params,
    layers: network.layers,
    notes: [...backend.notes, ...(controls.notes ?? [])],
    flopsPerStep,
  });

  const losses: number[] = [];
  const accuracies: number[] = [];
  // Time spent training, without the wait for a free core after the init profile.
  let trainingMs = 0;
  let tensorBaseline: number | undefined;
  let reason: 'completed' | 'time-budget' | 'cancelled' = 'completed';
  let step = 0;
  try {
    for (; step < plan.steps; step++) {
      await yieldToEventLoop();
      if (controls.cancelled()) {
        reason = 'cancelled';
        break;
      }
      if (plan.timeBudgetMs > 0 && step > 0 && trainingMs > plan.timeBudgetMs) {
        reason = 'time-budget';
        break;
      }
      const stepStart = performance.now();
      const report = step % plan.gradientEvery === 0;
      const batch = task.batch(step, plan.batchSize);
      const result = tf.tidy(() => {
        const images = tf.tensor4d(batch.images, [plan.batchSize, plan.inputSize, plan.inputSize, plan.inputChannels]);
        const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), plan.classes);
        const collected: tfc.Tensor[] = [];
        let activationStats: tfc.Tensor | undefined;
        let correct: tfc.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.forward(images, step === 0 ? collected : undefined);
          if (step === 0) {
            // mean and std of each layer's output at init, packed as [layers, 2]
            activationStats = tf.keep(tf.stack(collected.map((t) => { const m = tf.moments(t); return tf.stack([m.mean, tf.sqrt(m.variance)]); })));
          }
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)), 'float32')));
          return tf.losses.softmaxCrossEntropy(labels, logits) as tfc.Scalar;
        }, model.variables);
        return { value, grads, correct: correct!, activationStats };
      });
      const norms = optimizer.apply(result.grads);
      const loss = result.value.dataSync()[0]!;
      const accuracy = result.correct.dataSync()[0]! / plan.batchSize;
      const activationStats = result.activationStats?.dataSync();
      tf.dispose([result.value, result.correct, ...Object.values(result.grads), ...(result.activationStats ? [result.activationStats] : [])]);

      if (activationStats) {
        const count = activationStats.length / 2;
        const means = Array.from({ length: count }, (_, i) => activationStats[2 * i]!);
        const stds = Array.from({ length: count }, (_, i) => activationStats[2 * i + 1]!);
        controls.emit({ type: 'activations', variant: spec.id, step, means, stds });
      }
      if (report) {
        const layerNorms = kernelIndex.map((i) => norms[i]!);
        const gradNorms = layerNorms.map((n) => n.gradNorm);
        const weightNorms = layerNorms.map((n) => n.weightNorm);
        // At init the probe shows the state before training: no update yet to compare.
        const updateRatios = layerNorms.map((n) => (step > 0 && n.weightNorm > 0 ? n.updateNorm / n.weightNorm : null));
        const ratio = firstToLastRatio(network.layers, gradNorms);
        controls.emit({ type: 'gradients', variant: spec.id, step, gradNorms, weightNorms, updateRatios, ...(ratio !== undefined ? { firstToLastRatio: ratio } : {}) });
      }
      if (lossDiverged(loss)) {
        const what = Number.isFinite(loss) ? `reached ${loss.toExponential(1)}` : `became ${loss}`;
        throw new ProbeRunError('diverged', `diverged at step ${step}: the loss ${what}`, step);
      }
      losses.push(loss);
      accuracies.push(accuracy);
      const stepMs = performance.now() - stepStart;
      trainingMs += stepMs;
      controls.emit({ type: 'step', variant: spec.id, step, loss, accuracy, ms: stepMs });

      // The optimizer creates its slots on the first update; from the second step on the
      // number of live tensors must stay flat, or something leaks each step.
      if (step === 0 && controls.afterInit) await controls.afterInit();

      const live = tf.memory().numTensors;
      if (step === 1) tensorBaseline = live;
      else if (tensorBaseline !== undefined && live > tensorBaseline + (controls.leakTolerance ?? 64)) {
        throw new ProbeRunError('out-of-memory', `tensor leak: ${live - tensorBaseline} tensors more than after step 1; stopped before memory runs out`, step);
      }
    }
  } finally {
    model.dispose();
  }
  controls.emit({
    type: 'done',
    variant: spec.id,
    steps: losses.length,
    finalLoss: meanOfLast(losses),
    finalAccuracy: meanOfLast(accuracies),
    msPerStep: losses.length ? trainingMs / losses.length : 0,
    reason,
    cpuMs: processCpuMs(),
  });
}
