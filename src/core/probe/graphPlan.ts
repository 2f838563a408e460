// "Probe This Model" plans: the user's model graph, its plain twin and depth variants as a
// ProbePlan with a synthetic task, after checking that they fit a probe (parameters,
// activation memory and FLOPs per step) and that each graph is well formed
// (graphValidation.ts). The probe process receives its plan over IPC and checks it again.
import type { ModelGraph, ModelGraphVariant } from '../modelGraph/graph';
import { graphLimits, isInt, isRecord, validateModelGraph } from './graphValidation';
import { scaleDownGraph, type ScaleDown } from './graphScale';
import { describeGraph, type GraphDescription } from './network';
import { probeProtocolVersion, type BackendPreference, type OptimizerName, type ProbePlan, type ProbeTask, type VariantSpec } from './protocol';

type TrainingSettings = Pick<ProbePlan, 'optimizer' | 'learningRate' | 'momentum' | 'steps' | 'timeBudgetMs' | 'gradientEvery' | 'seed' | 'backend'>;

/** How a plan trains, whatever it trains: shared by the CIFAR family and graph plans. */
export function trainingSettings(options: TrainingSettings): TrainingSettings {
  const { optimizer, learningRate, momentum, steps, timeBudgetMs, gradientEvery, seed, backend } = options;
  return { optimizer, learningRate, momentum, steps, timeBudgetMs, gradientEvery, seed, backend };
}

export interface GraphVariantRequest {
  label: string;
  /** The model itself, its plain twin, or a shallower / deeper version. */
  role: ModelGraphVariant['role'] | 'plain';
  graph: ModelGraph;
}

export interface GraphProbeOptions {
  steps: number;
  optimizer: OptimizerName;
  learningRate: number;
  momentum: number;
  timeBudgetMs: number;
  gradientEvery: number;
  seed: number;
  backend: BackendPreference;
  /** Overrides the batch size picked from the model's cost. */
  batchSize?: number;
}

export const defaultGraphProbeOptions: GraphProbeOptions = {
  steps: 100,
  optimizer: 'adam',
  learningRate: 1e-3,
  momentum: 0.9,
  timeBudgetMs: 0,
  gradientEvery: 10,
  seed: 1,
  backend: 'auto',
};

/** The synthetic task that fits a graph's output: [N, classes] → classification, [N, T, V] over token input → next-token. */
export function taskForGraph(graph: ModelGraph): ProbeTask | { error: string } {
  const output = graph.nodes[graph.output]?.shape;
  if (!output) return { error: 'the graph has no output node' };
  const tokens = graph.inputs.find((i) => i.kind === 'tokens');
  if (output.length === 2) {
    const classes = output[1]!;
    if (classes < 2) return { error: `the model outputs ${classes} value per sample; the probe's classification task needs 2 classes or more` };
    if (classes > graphLimits.maxClasses) return { error: `the model outputs ${classes} classes, over the limit of ${graphLimits.maxClasses}` };
    return { kind: 'classification', classes };
  }
  if (output.length === 3 && tokens) {
    const tokenShape = graph.nodes[tokens.node]!.shape;
    const sequenceLength = tokenShape[1] ?? 1;
    if (tokenShape.length !== 2 || output[1] !== sequenceLength) return { error: `a next-token task needs token input [N, T] and output [N, T, vocabulary]; got input ${JSON.stringify(tokenShape)} and output ${JSON.stringify(output)}` };
    const vocabulary = Math.min(output[2]!, tokens.vocabulary ?? output[2]!);
    if (vocabulary < 2) return { error: 'a next-token task needs a vocabulary of 2 tokens or more' };
    return { kind: 'next-token', vocabulary, sequenceLength };
  }
  return { error: `the model's output ${JSON.stringify(output)} is neither [N, classes] nor [N, T, vocabulary] over token input: the probe has no synthetic task for it` };
}

export interface GraphCost {
  description: GraphDescription;
  batchSize: number;
  activationBytesPerStep: number;
  trainingFlopsPerStep: number;
}

/** Costs of one graph at a batch size. */
export function graphCost(graph: ModelGraph, batchSize: number, description = describeGraph(graph)): GraphCost {
  return {
    description,
    batchSize,
    activationBytesPerStep: description.activationFloatsPerSample * 4 * batchSize,
    trainingFlopsPerStep: description.trainingFlopsPerSample * batchSize,
  };
}

/** The batch size that keeps a step near the target cost: a power of two in minBatchSize..maxBatchSize. */
export function pickBatchSize(description: GraphDescription, task: ProbeTask): number {
  const byFlops = graphLimits.targetTrainingFlopsPerStep / Math.max(1, description.trainingFlopsPerSample);
  const byMemory = graphLimits.maxActivationBytes / 4 / Math.max(1, description.activationFloatsPerSample);
  const preferred = task.kind === 'next-token' ? 16 : 32;
  let batch = graphLimits.minBatchSize;
  while (batch * 2 <= Math.min(preferred, graphLimits.maxBatchSize, byFlops, byMemory)) batch *= 2;
  return batch;
}

const formatCount = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : `${Math.round(n)}`);

/** Why a graph is too big for a probe, with the numbers; empty when it fits. */
export function graphSizeProblems(label: string, cost: GraphCost): string[] {
  const problems: string[] = [];
  const { description } = cost;
  if (description.params > graphLimits.maxParams) problems.push(`${label}: ${formatCount(description.params)} parameters is over the probe's limit of ${formatCount(graphLimits.maxParams)}`);
  if (cost.activationBytesPerStep > graphLimits.maxActivationBytes) {
    problems.push(`${label}: about ${formatCount(cost.activationBytesPerStep)}B of activations per step at batch ${cost.batchSize} is over the limit of ${formatCount(graphLimits.maxActivationBytes)}B`);
  }
  if (cost.trainingFlopsPerStep > graphLimits.maxTrainingFlopsPerStep) {
    problems.push(`${label}: about ${formatCount(cost.trainingFlopsPerStep)}FLOP per training step at batch ${cost.batchSize} is over the limit of ${formatCount(graphLimits.maxTrainingFlopsPerStep)}FLOP`);
  }
  return problems;
}

export class GraphPlanError extends Error {
  constructor(
    readonly problems: string[],
    /** Set when the model is too big: what would make it fit, in words. */
    readonly suggestion?: string,
    /** The scale-down that makes the model fit (apply scaleDownGraph to every variant and plan again). */
    readonly scaleDown?: ScaleDown,
  ) {
    super(problems.join('; ') + (suggestion ? `. ${suggestion}` : ''));
    this.name = 'GraphPlanError';
  }
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'variant';
}

/**
 * A probe plan for a model's graphs: the model, its plain twin, shallower and deeper
 * versions. Every graph must have the same synthetic task (same input and output).
 * Throws GraphPlanError listing every problem, with a scale-down suggestion when the
 * model is too big.
 */
export function planGraphProbe(variants: GraphVariantRequest[], partial: Partial<GraphProbeOptions> = {}): { plan: ProbePlan; notes: string[] } {
  const options: GraphProbeOptions = { ...defaultGraphProbeOptions, ...partial };
  const problems: string[] = [];
  const notes: string[] = [];
  if (variants.length === 0) throw new GraphPlanError(['no model graphs to probe']);
  for (const v of variants) problems.push(...validateModelGraph(v.graph, v.label));
  if (problems.length) throw new GraphPlanError(problems);
  const task = taskForGraph(variants[0]!.graph);
  if ('error' in task) throw new GraphPlanError([`${variants[0]!.label}: ${task.error}`]);
  for (const v of variants.slice(1)) {
    const other = taskForGraph(v.graph);
    if ('error' in other || JSON.stringify(other) !== JSON.stringify(task)) problems.push(`${v.label}: its output does not match the model's (${'error' in other ? other.error : JSON.stringify(other)})`);
  }
  const descriptions = variants.map((v) => describeGraph(v.graph));
  const batchSize = options.batchSize ?? Math.min(...descriptions.map((d) => pickBatchSize(d, task)));
  variants.forEach((v, i) => problems.push(...graphSizeProblems(v.label, graphCost(v.graph, batchSize, descriptions[i]))));
  if (problems.length) {
    const model = variants.find((v) => v.role === 'model') ?? variants[0]!;
    const suggestion = scaleDownSuggestion(model.graph);
    throw new GraphPlanError(problems, suggestion.text, suggestion.scale);
  }
  const ids = new Set<string>();
  const specs: VariantSpec[] = variants.map((v, i) => {
    let id = v.role === 'model' ? 'model' : v.role === 'plain' ? 'plain' : `${v.role}-${slug(v.label)}`;
    while (ids.has(id)) id = `${id}-${i}`;
    ids.add(id);
    const description = descriptions[i]!;
    const firstConv = v.graph.nodes.find((n) => n.op.op === 'conv');
    return {
      id,
      label: v.label,
      architecture: v.role === 'plain' ? 'plain' : 'residual',
      depth: description.layers.length,
      shortcut: 'B',
      batchNorm: v.graph.nodes.some((n) => n.op.op === 'batchnorm'),
      width: firstConv?.op.op === 'conv' ? firstConv.op.outChannels : 1,
      graph: v.graph,
    };
  });
  const first = variants[0]!.graph;
  const inputNode = first.nodes[first.inputs[0]!.node]!;
  const channelsFirst = inputNode.layout === 'channels-first';
  const plan: ProbePlan = {
    version: probeProtocolVersion,
    variants: specs,
    inputSize: inputNode.shape.length >= 3 ? inputNode.shape[channelsFirst ? 2 : 1]! : inputNode.shape[1] ?? 1,
    inputChannels: inputNode.shape.length >= 3 ? inputNode.shape[channelsFirst ? 1 : inputNode.shape.length - 1]! : 1,
    classes: task.kind === 'classification' ? task.classes : task.vocabulary,
    batchSize,
    ...trainingSettings(options),
    task,
  };
  if (options.batchSize === undefined && batchSize < healthyBatchSize) notes.push(smallBatchNote(variants.map((v) => v.graph), task, batchSize, options.steps));
  notes.push(`batch size ${batchSize}, ${task.kind === 'classification' ? `${task.classes}-class classification by a random teacher` : `next-token prediction over ${task.vocabulary} tokens, ${task.sequenceLength} positions`}`);
  return { plan, notes };
}

/**
 * Below this batch BatchNorm's statistics are noisy and a short probe learns little
 * (ResNet-20 at 32×32 went 2.41 → 2.11 in 100 steps at batch 4).
 */
export const healthyBatchSize = 16;

/**
 * When the FLOP target of a step (graphLimits.targetTrainingFlopsPerStep) leaves a batch
 * under healthyBatchSize: the first smaller input (÷ 2, ÷ 4) at which every graph gets a
 * batch of healthyBatchSize or more, with that input's shape (the model's, batch axis as given).
 */
export function smallBatchScaleDown(graphs: ModelGraph[], task: ProbeTask): { inputDivisor: number; batchSize: number; inputShape: number[] } | undefined {
  for (const inputDivisor of [2, 4]) {
    const scaled = graphs.map((g) => scaleDownGraph(g, { inputDivisor }));
    if (scaled.some((s) => 'error' in s)) continue;
    const scaledGraphs = scaled.map((s) => (s as { graph: ModelGraph }).graph);
    const batchSize = Math.min(...scaledGraphs.map((g) => pickBatchSize(describeGraph(g), task)));
    if (batchSize < healthyBatchSize) continue;
    const model = scaledGraphs[0]!;
    return { inputDivisor, batchSize, inputShape: model.nodes[model.inputs[0]!.node]!.shape };
  }
  return undefined;
}

function smallBatchNote(graphs: ModelGraph[], task: ProbeTask, batchSize: number, steps: number): string {
  const why = `batch size ${batchSize} only: a step is kept near ${formatCount(graphLimits.targetTrainingFlopsPerStep)}FLOP, so BatchNorm's statistics are noisy and ${steps} steps learn little`;
  const smaller = smallBatchScaleDown(graphs, task);
  if (!smaller) return `${why} (no smaller input allows batch ${healthyBatchSize}; a larger batch size or more steps help)`;
  return `${why}; Scale Down (input size ÷ ${smaller.inputDivisor}, input (${smaller.inputShape.join(', ')})) allows batch ${smaller.batchSize}`;
}

/** Checks of the graph part of a plan (the worker runs them on what it receives). */
export function validateGraphPlan(plan: ProbePlan): string[] {
  const problems: string[] = [];
  const task = plan.task;
  if (!isRecord(task) || (task.kind !== 'classification' && task.kind !== 'next-token')) problems.push('a graph plan needs a task: classification or next-token');
  else if (task.kind === 'classification' && !(isInt(task.classes) && task.classes >= 2 && task.classes <= graphLimits.maxClasses)) problems.push(`task classes must be 2..${graphLimits.maxClasses}`);
  else if (task.kind === 'next-token' && !(isInt(task.vocabulary) && task.vocabulary >= 2 && isInt(task.sequenceLength) && task.sequenceLength >= 1)) problems.push('a next-token task needs a vocabulary of 2 or more and a sequence length');
  for (const variant of plan.variants) {
    if (!variant.graph) {
      problems.push(`${variant.id}: a graph plan cannot mix in CIFAR-family variants`);
      continue;
    }
    const graphProblems = validateModelGraph(variant.graph, `${variant.id}: graph`);
    problems.push(...graphProblems);
    if (graphProblems.length) continue;
    const graphTask = taskForGraph(variant.graph);
    if ('error' in graphTask) problems.push(`${variant.id}: ${graphTask.error}`);
    else if (isRecord(task) && JSON.stringify(graphTask) !== JSON.stringify(task)) problems.push(`${variant.id}: the graph's task ${JSON.stringify(graphTask)} is not the plan's ${JSON.stringify(task)}`);
    if (plan.batchSize <= graphLimits.maxBatchSize) problems.push(...graphSizeProblems(variant.id, graphCost(variant.graph, plan.batchSize)));
  }
  if (plan.batchSize > graphLimits.maxBatchSize) problems.push(`batch size ${plan.batchSize} is over the graph probe's limit of ${graphLimits.maxBatchSize}`);
  return problems;
}

/** Scale-downs tried in order, cheapest change first. */
const scaleDownCandidates: ScaleDown[] = [
  { widthDivisor: 2 },
  { inputDivisor: 2 },
  { widthDivisor: 2, inputDivisor: 2 },
  { widthDivisor: 4 },
  { widthDivisor: 4, inputDivisor: 2 },
  { inputDivisor: 4 },
  { widthDivisor: 2, inputDivisor: 4 },
  { widthDivisor: 4, inputDivisor: 4 },
  { widthDivisor: 8, inputDivisor: 4 },
];

export function describeScaleDown(scale: ScaleDown): string {
  return [scale.widthDivisor ? `width ÷ ${scale.widthDivisor}` : '', scale.inputDivisor ? `input size ÷ ${scale.inputDivisor}` : ''].filter(Boolean).join(', ');
}

/** The first scale-down that makes a graph fit a probe, with its scaled graph and costs. */
export function findScaleDown(graph: ModelGraph): { scale: ScaleDown; graph: ModelGraph; cost: GraphCost } | undefined {
  const task = taskForGraph(graph);
  if ('error' in task) return undefined;
  for (const scale of scaleDownCandidates) {
    const scaled = scaleDownGraph(graph, scale);
    if ('error' in scaled) continue;
    const description = describeGraph(scaled.graph);
    const cost = graphCost(scaled.graph, pickBatchSize(description, task), description);
    if (graphSizeProblems('', cost).length === 0) return { scale, graph: scaled.graph, cost };
  }
  return undefined;
}

function scaleDownSuggestion(graph: ModelGraph): { text: string; scale?: ScaleDown } {
  const found = findScaleDown(graph);
  if (!found) return { text: 'No scale-down of width (÷ 2 to ÷ 8) or input size (÷ 2, ÷ 4) makes it fit: probe a smaller configuration of the model' };
  const { cost } = found;
  return {
    text: `Scaled down (${describeScaleDown(found.scale)}) it fits: ${formatCount(cost.description.params)} parameters, about ${formatCount(cost.trainingFlopsPerStep)}FLOP per step at batch ${cost.batchSize}`,
    scale: found.scale,
  };
}

export { graphLimits, validateModelGraph } from './graphValidation';
