// The messages between the extension (or CLI) and a probe process, one child per
// variant. JSON over Node's IPC channel for the TensorFlow.js worker, JSON lines on
// stdout for the Python runner. The panel consumes the same messages, so this file
// is shared by Node code and the browser bundle: no Node or DOM imports here.

import type { ModelGraph } from '../modelGraph/graph';

export const probeProtocolVersion = 1;

export type Architecture = 'plain' | 'residual';
/** The ResNet paper's shortcut options: A zero-pads a subsampled identity, B projects with a 1x1 conv. */
export type ShortcutOption = 'A' | 'B';
export type OptimizerName = 'adam' | 'sgd';
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** One network to train: the CIFAR-style family, depth 6n+2, stages of width w, 2w, 4w. */
export interface VariantSpec {
  /** Stable id, unique within a plan, e.g. `residual-20`. */
  id: string;
  /** What the user reads in legends, e.g. `residual-20 (B)`. */
  label: string;
  architecture: Architecture;
  depth: number;
  shortcut: ShortcutOption;
  batchNorm: boolean;
  width: number;
  /**
   * "Probe this model": build this graph (from the user's code) instead of the CIFAR
   * family; architecture says whether it is the model or its plain twin, and depth and
   * width are the graph's weighted-layer count and first width, for labels only.
   */
  graph?: ModelGraph;
}

/**
 * The synthetic task of a graph plan. Classification: inputs N(0, 1) of the model's input
 * shape, labels from a fixed random teacher; next-token: sequences of a synthetic
 * grammar, the loss at every position. The CIFAR family uses the texture task.
 */
export type ProbeTask =
  | { kind: 'classification'; classes: number }
  | { kind: 'next-token'; vocabulary: number; sequenceLength: number };

export interface ProbePlan {
  version: typeof probeProtocolVersion;
  variants: VariantSpec[];
  /** Input height and width (square), and channels. */
  inputSize: number;
  inputChannels: number;
  classes: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** SGD momentum; ignored by Adam. */
  momentum: number;
  steps: number;
  /** Stops a variant early when set; 0 means no budget. */
  timeBudgetMs: number;
  /** Gradient statistics at init (step 0) and every k steps. */
  gradientEvery: number;
  seed: number;
  backend: BackendPreference;
  /** Set for graph plans (every variant has a graph); inputSize and inputChannels then describe the graph's input for messages only. */
  task?: ProbeTask;
  /** What the user should read about this plan before its results: where the probed model differs from the source, a small batch. */
  notes?: string[];
}

/** A layer with weights, in forward order; index is the x axis of the gradient-flow chart. */
export interface ProbeLayer {
  index: number;
  /** Source-like name, e.g. `stage2.block0.conv1`, or `layer2.0.conv1` for a user model. */
  name: string;
  kind: 'conv' | 'dense' | 'norm';
  params: number;
  /** True when a residual addition follows this layer (marked on the chart). */
  residualAddAfter: boolean;
  /** Where the layer is defined, for "probe this model" (0-based line). */
  sourceLine?: number;
  /** The file of sourceLine (a URI in the editor, a path from the CLI). */
  sourceUri?: string;
}

export type ProbeErrorCode = 'diverged' | 'out-of-memory' | 'crashed' | 'backend' | 'invalid-plan' | 'timeout';

/** From a probe process to its host. Every message names its variant. */
export type ProbeMessage =
  | {
      type: 'started';
      variant: string;
      backend: string;
      device: string;
      params: number;
      layers: ProbeLayer[];
      /** Why this backend: fallbacks taken, depth rounding, anything the user should read. */
      notes?: string[];
      /** Floating-point operations of one training step (forward and backward), for GFLOP/s. */
      flopsPerStep?: number;
    }
  | { type: 'step'; variant: string; step: number; loss: number; accuracy: number; ms: number }
  | {
      type: 'gradients';
      variant: string;
      step: number;
      /** Per layer (by index): L2 norm of the weight gradient. */
      gradNorms: number[];
      /** Per layer: L2 norm of the weights. */
      weightNorms: number[];
      /** Per layer: |update| / |weight| of the last optimizer step; null at init. */
      updateRatios: (number | null)[];
      /** Gradient norm of the first conv kernel over that of the last conv kernel. */
      firstToLastRatio?: number;
    }
  | { type: 'activations'; variant: string; step: number; means: number[]; stds: number[] }
  | {
      type: 'done';
      variant: string;
      steps: number;
      /** Mean training loss of the last 10 steps. */
      finalLoss: number;
      finalAccuracy: number;
      msPerStep: number;
      reason: 'completed' | 'time-budget' | 'cancelled';
      /** CPU time the probe process used in all (start-up included): wall time depends on other load, this less. */
      cpuMs?: number;
    }
  | { type: 'error'; variant: string; code: ProbeErrorCode; message: string; step?: number };

/**
 * From the host to a probe process. With `holdAfterInit` the process reports its init
 * profile (step 0) and then waits for `resume`: every variant's gradient-flow profile
 * arrives within seconds while only as many variants train as there are cores.
 */
export type ProbeCommand = { type: 'run'; plan: ProbePlan; variant: string; holdAfterInit?: boolean } | { type: 'resume' } | { type: 'cancel' };
