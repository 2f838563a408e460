// Probe plans: what the user asks for (depths, sizes, optimizer) turned into a list of
// variants the worker can build, with depths rounded to the CIFAR family's 6n+2 and
// sizes checked against limits before any process starts.
import { trainingSettings, validateGraphPlan } from './graphPlan';
import { describeNetwork } from './network';
import {
  probeProtocolVersion,
  type Architecture,
  type BackendPreference,
  type OptimizerName,
  type ProbePlan,
  type ShortcutOption,
  type VariantSpec,
} from './protocol';

export interface ProbeOptions {
  depths: number[];
  architectures: Architecture[];
  shortcut: ShortcutOption;
  batchNorm: boolean;
  width: number;
  inputSize: number;
  inputChannels: number;
  classes: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  momentum: number;
  steps: number;
  timeBudgetMs: number;
  gradientEvery: number;
  seed: number;
  backend: BackendPreference;
}

/**
 * Defaults chosen so that the default probe (plain and residual at depths 20 and 56)
 * shows plain-56 stuck near chance while the others learn, within the 90 s on
 * two cores with the wasm backend (bench/probe-speed.ts measures the step times).
 * Width 8 rather than the paper's 16: a step costs about 2.5x less CPU (68 vs 152 ms at
 * depth 20, 160 vs 480 ms at depth 56), and on the synthetic task the verdict held for
 * seeds 1-4 at 100 steps: plain-56 removed 5-40% as much loss from chance as plain-20
 * (degradation below 50%), residual-56 85% or more of residual-20 (or beat it). Adam at
 * 1e-3: with SGD only the depth-20 pair separated in short runs (docs/probe-backends).
 */
export const defaultProbeOptions: ProbeOptions = {
  depths: [20, 56],
  architectures: ['plain', 'residual'],
  shortcut: 'A',
  batchNorm: true,
  width: 8,
  inputSize: 16,
  inputChannels: 3,
  classes: 10,
  batchSize: 32,
  optimizer: 'adam',
  learningRate: 1e-3,
  momentum: 0.9,
  steps: 100,
  timeBudgetMs: 0,
  gradientEvery: 20,
  seed: 1,
  backend: 'auto',
};

/** Sizes beyond these are refused: they would not finish in a probe's time or memory. */
export const probeLimits = {
  minDepth: 8,
  maxDepth: 110,
  maxVariants: 12,
  minWidth: 2,
  maxWidth: 64,
  minInputSize: 4,
  maxInputSize: 64,
  maxInputChannels: 4,
  maxClasses: 100,
  maxBatchSize: 256,
  maxSteps: 100_000,
  maxTimeBudgetMs: 60 * 60 * 1000,
  /** Float32 values kept alive for the backward pass of one step, summed over layers. */
  maxActivationBytes: 1.5e9,
};

export class ProbePlanError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'ProbePlanError';
  }
}

/** The CIFAR ResNet family has depth 6n+2 (n blocks per stage, two convs each, plus stem and classifier). */
export function roundDepth(requested: number): { depth: number; note?: string } {
  const n = Math.max(1, Math.round((requested - 2) / 6));
  const depth = 6 * n + 2;
  if (depth === requested) return { depth };
  return { depth, note: `depth ${requested} is not of the form 6n+2 (8, 14, 20, 26, ..., 56, ..., 110): using ${depth}` };
}

export function variantId(architecture: Architecture, depth: number): string {
  return `${architecture}-${depth}`;
}

function variantLabel(architecture: Architecture, depth: number, shortcut: ShortcutOption, batchNorm: boolean): string {
  const base = variantId(architecture, depth);
  const parts = [architecture === 'residual' ? `(${shortcut})` : '', batchNorm ? '' : 'no BN'].filter(Boolean);
  return parts.length ? `${base} ${parts.join(' ')}` : base;
}

/** Builds a plan from options; throws ProbePlanError listing every problem. Rounding notes are returned. */
export function planProbe(partial: Partial<ProbeOptions> = {}): { plan: ProbePlan; notes: string[] } {
  const options: ProbeOptions = { ...defaultProbeOptions, ...partial };
  const notes: string[] = [];
  const problems: string[] = [];
  const depths: number[] = [];
  for (const requested of options.depths) {
    if (!Number.isFinite(requested) || !Number.isInteger(requested)) {
      problems.push(`depth '${requested}' is not a whole number`);
      continue;
    }
    if (requested < probeLimits.minDepth - 3 || requested > probeLimits.maxDepth + 3) {
      problems.push(`depth ${requested} is outside ${probeLimits.minDepth}..${probeLimits.maxDepth}`);
      continue;
    }
    const { depth, note } = roundDepth(requested);
    if (note) notes.push(note);
    if (!depths.includes(depth)) depths.push(depth);
  }
  if (options.depths.length === 0) problems.push('no depths given');
  if (options.architectures.length === 0) problems.push('no architectures given');
  depths.sort((a, b) => a - b);
  const variants: VariantSpec[] = [];
  for (const architecture of options.architectures) {
    for (const depth of depths) {
      variants.push({
        id: variantId(architecture, depth),
        label: variantLabel(architecture, depth, options.shortcut, options.batchNorm),
        architecture,
        depth,
        shortcut: options.shortcut,
        batchNorm: options.batchNorm,
        width: options.width,
      });
    }
  }
  const plan: ProbePlan = {
    version: probeProtocolVersion,
    variants,
    inputSize: options.inputSize,
    inputChannels: options.inputChannels,
    classes: options.classes,
    batchSize: options.batchSize,
    ...trainingSettings(options),
  };
  problems.push(...validateProbePlan(plan));
  if (problems.length) throw new ProbePlanError(problems);
  return { plan, notes };
}

function checkRange(problems: string[], name: string, value: number, min: number, max: number, integer = true): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    problems.push(`${name} must be a ${integer ? 'whole ' : ''}number, not ${String(value)}`);
  } else if (value < min || value > max) {
    problems.push(`${name} ${value} is outside the limit ${min}..${max}`);
  }
}

/** Every problem of a plan, empty when it can run. The worker checks again what it receives. */
export function validateProbePlan(plan: ProbePlan): string[] {
  const problems: string[] = [];
  if (plan.version !== probeProtocolVersion) problems.push(`plan version ${String(plan.version)} is not ${probeProtocolVersion}`);
  if (!Array.isArray(plan.variants) || plan.variants.length === 0) problems.push('the plan has no variants');
  else if (plan.variants.length > probeLimits.maxVariants) problems.push(`${plan.variants.length} variants is over the limit of ${probeLimits.maxVariants}`);
  // "Probe This Model": the graphs set the sizes (checked in validateGraphPlan).
  const graphPlan = Array.isArray(plan.variants) && plan.variants.some((v) => v?.graph !== undefined);
  if (!graphPlan) {
    checkRange(problems, 'input size', plan.inputSize, probeLimits.minInputSize, probeLimits.maxInputSize);
    if (Number.isInteger(plan.inputSize) && plan.inputSize % 4 !== 0) problems.push(`input size ${plan.inputSize} must be a multiple of 4 (two stride-2 stages)`);
    checkRange(problems, 'input channels', plan.inputChannels, 1, probeLimits.maxInputChannels);
    checkRange(problems, 'classes', plan.classes, 2, probeLimits.maxClasses);
  }
  checkRange(problems, 'batch size', plan.batchSize, 1, probeLimits.maxBatchSize);
  checkRange(problems, 'steps', plan.steps, 1, probeLimits.maxSteps);
  checkRange(problems, 'time budget (ms)', plan.timeBudgetMs, 0, probeLimits.maxTimeBudgetMs);
  checkRange(problems, 'gradient interval', plan.gradientEvery, 1, probeLimits.maxSteps);
  checkRange(problems, 'seed', plan.seed, 0, 2 ** 32 - 1);
  checkRange(problems, 'learning rate', plan.learningRate, 0, 1e6, false);
  if (!(plan.learningRate > 0)) problems.push('learning rate must be above 0');
  checkRange(problems, 'momentum', plan.momentum, 0, 1, false);
  if (plan.optimizer !== 'adam' && plan.optimizer !== 'sgd') problems.push(`optimizer must be adam or sgd, not '${String(plan.optimizer)}'`);
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(plan.backend)) problems.push(`backend must be auto, tensorflow, wasm or cpu, not '${String(plan.backend)}'`);
  const ids = new Set<string>();
  if (graphPlan) {
    for (const variant of plan.variants) {
      if (typeof variant.id !== 'string' || typeof variant.label !== 'string') problems.push('every variant needs a string id and label');
      if (ids.has(variant.id)) problems.push(`variant id '${variant.id}' appears twice`);
      ids.add(variant.id);
      if (variant.architecture !== 'plain' && variant.architecture !== 'residual') problems.push(`${variant.id}: architecture must be plain or residual`);
    }
    if (problems.length === 0) problems.push(...validateGraphPlan(plan));
    return problems;
  }
  for (const variant of plan.variants ?? []) {
    if (ids.has(variant.id)) problems.push(`variant id '${variant.id}' appears twice`);
    ids.add(variant.id);
    if (variant.architecture !== 'plain' && variant.architecture !== 'residual') problems.push(`${variant.id}: architecture must be plain or residual`);
    if (variant.shortcut !== 'A' && variant.shortcut !== 'B') problems.push(`${variant.id}: shortcut must be A or B`);
    checkRange(problems, `${variant.id}: depth`, variant.depth, probeLimits.minDepth, probeLimits.maxDepth);
    if (Number.isInteger(variant.depth) && (variant.depth - 2) % 6 !== 0) problems.push(`${variant.id}: depth ${variant.depth} is not 6n+2`);
    checkRange(problems, `${variant.id}: width`, variant.width, probeLimits.minWidth, probeLimits.maxWidth);
    if (variant.shortcut === 'A' && variant.width % 2 !== 0 && variant.architecture === 'residual') {
      problems.push(`${variant.id}: option A shortcuts need an even width (the zero padding splits evenly)`);
    }
  }
  if (problems.length === 0) {
    for (const variant of plan.variants) {
      const bytes = describeNetwork(variant, plan).activationFloatsPerSample * 4 * plan.batchSize;
      if (bytes > probeLimits.maxActivationBytes) {
        problems.push(
          `${variant.id}: about ${(bytes / 1e9).toFixed(1)} GB of activations per step is over the limit of ${(probeLimits.maxActivationBytes / 1e9).toFixed(1)} GB (lower the batch, width or input size)`,
        );
      }
    }
  }
  return problems;
}
