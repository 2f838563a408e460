// The training loop of one variant: synthetic batches, softmax cross-entropy, Adam or
// SGD with momentum, and the probe's measurements as ProbeMessages. Runs in the child
// process (main.ts); the benchmark and the tests call it in-process too.
import type * as tfc from '@tensorflow/tfjs';
import { firstToLastRatio, lossDiverged, meanOfLast } from '../core/probe/metrics';
import type { ModelGraph } from '../core/modelGraph/graph';
import type { ProbeMessage, ProbePlan, VariantSpec } from '../core/probe/protocol';
import { SyntheticClassificationTask, SyntheticSequenceTask, SyntheticTextureTask, type SyntheticGraphTask } from '../core/probe/synthetic';
import type { SelectedBackend, TensorFlow } from './backend';
import { buildGraphModel, GraphBuildError, type GraphModel, type TrainableModel } from './graphModel';
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

/** A model and its data for the common training loop: the CIFAR family or a user's graph. */
interface TrainingSetup {
  model: TrainableModel;
  classes: number;
  /** Per model input: tensor shape (batch first) and dtype. */
  inputShapes: { shape: number[]; dtype: 'float32' | 'int32' }[];
  batch(step: number): { inputs: (Float32Array | Int32Array)[]; labels: Int32Array };
  /** What the user should know about this model's run (the synthetic task, dropout off). */
  notes?: string[];
  dispose(): void;
}

function cifarSetup(tf: TensorFlow, plan: ProbePlan, spec: VariantSpec): TrainingSetup {
  const model = buildModel(tf, plan, spec);
  const { network } = model;
  const task = new SyntheticTextureTask(plan.seed, plan.inputSize, plan.inputChannels, plan.classes);
  return {
    model: {
      layers: network.layers,
      params: network.params,
      trainingFlopsPerSample: network.trainingFlopsPerSample,
      variables: model.variables,
      layerWeights: model.layerKernels.map((kernel) => [kernel]),
      forward: (inputs, collect) => model.forward(inputs[0] as tfc.Tensor4D, collect),
      dispose: () => model.dispose(),
    },
    classes: plan.classes,
    inputShapes: [{ shape: [plan.batchSize, plan.inputSize, plan.inputSize, plan.inputChannels], dtype: 'float32' }],
    batch: (step) => {
      const batch = task.batch(step, plan.batchSize);
      return { inputs: [batch.images], labels: batch.labels };
    },
    dispose: () => model.dispose(),
  };
}

function graphSetup(tf: TensorFlow, plan: ProbePlan, spec: VariantSpec, graph: ModelGraph): TrainingSetup {
  if (!plan.task) throw new ProbeRunError('invalid-plan', `${spec.id}: a graph plan needs a task (classification or next-token)`);
  let model: GraphModel;
  try {
    model = buildGraphModel(tf, graph, plan.seed, spec.id);
  } catch (err) {
    if (err instanceof GraphBuildError) throw new ProbeRunError('invalid-plan', `${spec.id}: ${err.message}`);
    throw err;
  }
  const layouts = model.inputLayouts;
  const task: SyntheticGraphTask =
    plan.task.kind === 'next-token'
      ? new SyntheticSequenceTask(plan.seed, plan.task.vocabulary, plan.task.sequenceLength, layouts)
      : new SyntheticClassificationTask(plan.seed, layouts, plan.task.classes);
  const output = graph.nodes[graph.output]!.shape;
  const classes = output[output.length - 1]!;
  const expected = plan.task.kind === 'next-token' ? plan.task.vocabulary : plan.task.classes;
  if (plan.task.kind === 'classification' ? classes !== expected : expected > classes) {
    model.dispose();
    throw new ProbeRunError('invalid-plan', `${spec.id}: the model outputs ${classes} values per ${plan.task.kind === 'classification' ? 'sample' : 'position'}, the task has ${expected} ${plan.task.kind === 'classification' ? 'classes' : 'tokens'}`);
  }
  const notes = [
    plan.task.kind === 'next-token'
      ? `synthetic task: next token of a seeded random Markov chain over ${plan.task.vocabulary} tokens (up to 4 successors each), ${plan.task.sequenceLength} positions, batch ${plan.batchSize}`
      : `synthetic task: ${classes}-class labels of N(0, 1) inputs from a fixed random teacher, batch ${plan.batchSize}`,
  ];
  if (graph.nodes.some((n) => n.op.op === 'dropout')) notes.push('dropout is off during the probe (it compares gradient flow, not regularisation)');
  return {
    model,
    classes,
    notes,
    inputShapes: layouts.map((layout) => ({ shape: [plan.batchSize, ...layout.shape], dtype: layout.kind === 'tokens' ? 'int32' : 'float32' })),
    batch: (step) => task.batch(step, plan.batchSize),
    dispose: () => model.dispose(),
  };
}

export async function runVariant(backend: SelectedBackend, plan: ProbePlan, variantId: string, controls: RunControls): Promise<void> {
  const { tf } = backend;
  const spec = plan.variants.find((v) => v.id === variantId);
  if (!spec) throw new ProbeRunError('invalid-plan', `the plan has no variant '${variantId}'`);
  const setup = spec.graph ? graphSetup(tf, plan, spec, spec.graph) : cifarSetup(tf, plan, spec);
  const { model, classes } = setup;
  let optimizer: ArrayOptimizer;
  try {
    optimizer = new ArrayOptimizer(tf, model.variables, plan.optimizer, plan.learningRate, plan.momentum);
  } catch (err) {
    setup.dispose();
    throw err;
  }
  const layerIndices = model.layerWeights.map((list) => list.map((v) => model.variables.indexOf(v)));
  const flopsPerStep = model.trainingFlopsPerSample * plan.batchSize;
  controls.emit({
    type: 'started',
    variant: spec.id,
    backend: backend.name,
    device: backend.device,
    params: model.params,
    layers: model.layers,
    notes: [...backend.notes, ...(setup.notes ?? []), ...(controls.notes ?? [])],
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
      const batch = setup.batch(step);
      const rows = batch.labels.length;
      const trainStep = () => tf.tidy(() => {
        const inputs = batch.inputs.map((values, i) => tf.tensor(values, setup.inputShapes[i]!.shape, setup.inputShapes[i]!.dtype));
        const labels = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes);
        const collected: tfc.Tensor[] = [];
        let activationStats: tfc.Tensor | undefined;
        let correct: tfc.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.forward(inputs, step === 0 ? collected : undefined);
          if (step === 0) {
            // mean and std of each layer's output at init, packed as [layers, 2]
            activationStats = tf.keep(tf.stack(collected.map((t) => { const m = tf.moments(t); return tf.stack([m.mean, tf.sqrt(m.variance)]); })));
          }
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)), 'float32')));
          return tf.losses.softmaxCrossEntropy(labels, logits) as tfc.Scalar;
        }, model.variables);
        return { value, grads, correct: correct!, activationStats };
      });
      let result: ReturnType<typeof trainStep>;
      try {
        result = trainStep();
      } catch (err) {
        // A graph the builder refuses, or one TensorFlow.js cannot run, is a bad plan, not a crash.
        if (err instanceof GraphBuildError) throw new ProbeRunError('invalid-plan', `${spec.id}: ${err.message}`, step);
        if (spec.graph && step === 0 && !/memory|allocat/i.test(String(err))) {
          throw new ProbeRunError('invalid-plan', `${spec.id}: TensorFlow.js could not run the model: ${err instanceof Error ? err.message : String(err)}`, step);
        }
        throw err;
      }
      const norms = optimizer.apply(result.grads);
      const loss = result.value.dataSync()[0]!;
      const accuracy = result.correct.dataSync()[0]! / rows;
      const activationStats = result.activationStats?.dataSync();
      tf.dispose([result.value, result.correct, ...Object.values(result.grads), ...(result.activationStats ? [result.activationStats] : [])]);

      if (activationStats) {
        const count = activationStats.length / 2;
        const means = Array.from({ length: count }, (_, i) => activationStats[2 * i]!);
        const stds = Array.from({ length: count }, (_, i) => activationStats[2 * i + 1]!);
        controls.emit({ type: 'activations', variant: spec.id, step, means, stds });
      }
      if (report) {
        // A layer with several weight tensors (an attention's projections): norms over all of them.
        const layerNorms = layerIndices.map((indices) => {
          let grad = 0;
          let weight = 0;
          let update = 0;
          for (const i of indices) {
            const n = norms[i]!;
            grad += n.gradNorm ** 2;
            weight += n.weightNorm ** 2;
            update += n.updateNorm ** 2;
          }
          return { gradNorm: Math.sqrt(grad), weightNorm: Math.sqrt(weight), updateNorm: Math.sqrt(update) };
        });
        const gradNorms = layerNorms.map((n) => n.gradNorm);
        const weightNorms = layerNorms.map((n) => n.weightNorm);
        // At init the probe shows the state before training: no update yet to compare.
        const updateRatios = layerNorms.map((n) => (step > 0 && n.weightNorm > 0 ? n.updateNorm / n.weightNorm : null));
        const ratio = firstToLastRatio(model.layers, gradNorms);
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
    setup.dispose();
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
