// The one place that lists the model-graph front ends ("Probe This Model"), and picks
// the ones a file needs from the frameworks it uses. The language server and the CLI
// both go through here, so a new front end is added in one line.
import type { SourceDocument } from '../analysis';
import { detectFrameworks } from '../parse/detect';
import type { Grammars } from '../parse/grammars';
import type { ModelCandidate, ModelExtractionRequest, ModelGraphFrontEnd } from './extract';
import { GraphPlanError, graphCost, planGraphProbe, type GraphProbeOptions } from '../probe/graphPlan';
import type { ProbePlan } from '../probe/protocol';
import { type ModelExtraction, type ModelGraph, type ModelGraphVariant } from './graph';
import { plainTwin } from './plainTwin';
import { kerasModelGraphs } from './keras';
import { pytorchModelGraph } from './pytorch';
import { tfjsModelGraphs } from './tfjs';

/** Every front end, in the order they are asked. */
export const modelGraphFrontEnds: readonly ModelGraphFrontEnd[] = [pytorchModelGraph, kerasModelGraphs, tfjsModelGraphs];

/** The front ends for the frameworks the file uses (a cheap text test; the front ends decide for real). */
export function frontEndsFor(document: SourceDocument): ModelGraphFrontEnd[] {
  const frameworks = detectFrameworks(document);
  return modelGraphFrontEnds.filter((f) => frameworks.includes(f.framework));
}

/** Every model the file defines, from each of its front ends; one front end's bug costs only its own models. */
export function listModels(document: SourceDocument, grammars: Grammars, log: (line: string) => void = () => {}): ModelCandidate[] {
  const models: ModelCandidate[] = [];
  for (const frontEnd of frontEndsFor(document)) {
    try {
      models.push(...frontEnd.listModels(document, grammars));
    } catch (err) {
      log(`${document.uri}: listing the ${frontEnd.framework} models failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  return models.sort((a, b) => a.source.line - b.source.line);
}

/** The innermost model whose definition holds the 0-based line, if any. */
export function modelAtLine(models: readonly ModelCandidate[], line: number): ModelCandidate | undefined {
  let best: ModelCandidate | undefined;
  for (const model of models) {
    if (line < model.source.line || line > model.endLine) continue;
    if (!best || model.endLine - model.source.line < best.endLine - best.source.line) best = model;
  }
  return best;
}

function describeModels(models: readonly ModelCandidate[]): string {
  if (models.length === 0) return 'the file defines no model this version can build (an nn.Module class, a Keras or TF.js model)';
  const names = models.map((m) => m.name);
  return `the file defines ${names.length === 1 ? '' : 'these models: '}${names.slice(0, 12).join(', ')}${names.length > 12 ? ` and ${names.length - 12} more` : ''}`;
}

export interface ModelSelection {
  modelName?: string;
  /** 0-based line; used when no name is given. */
  line?: number;
}

/**
 * Finds the model (by name, or the one around a line), and extracts its graphs with the
 * front end that listed it. Never throws: a bug in a front end is an error message.
 */
export function extractModel(
  document: SourceDocument,
  selection: ModelSelection,
  request: Omit<ModelExtractionRequest, 'document' | 'modelName'>,
  grammars: Grammars,
): ModelExtraction | { error: string; models: ModelCandidate[] } {
  const log = request.log ?? (() => {});
  const frontEnds = frontEndsFor(document);
  if (frontEnds.length === 0) {
    return { error: `${fileName(document.uri)} does not look like PyTorch, Keras or TensorFlow.js model code`, models: [] };
  }
  const models = listModels(document, grammars, log);
  let chosen: ModelCandidate | undefined;
  if (selection.modelName !== undefined) {
    chosen = models.find((m) => m.name === selection.modelName);
    if (!chosen) return { error: `no model named ${selection.modelName} in ${fileName(document.uri)}: ${describeModels(models)}`, models };
  } else if (selection.line !== undefined) {
    chosen = modelAtLine(models, selection.line);
    if (!chosen) return { error: `the cursor is not inside a model in ${fileName(document.uri)}: ${describeModels(models)}`, models };
  } else {
    return { error: 'no model named and no position given', models };
  }
  const frontEnd = frontEnds.find((f) => f.framework === chosen.framework);
  if (!frontEnd) return { error: `no front end for ${chosen.framework}`, models };
  try {
    const extracted = frontEnd.extract({ ...request, document, modelName: chosen.name }, grammars);
    return 'error' in extracted ? { error: extracted.error, models } : extracted;
  } catch (err) {
    log(`${document.uri}: extracting ${chosen.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return { error: `the ${chosen.framework} front end failed on ${chosen.name}: ${err instanceof Error ? err.message : String(err)}`, models };
  }
}

function fileName(uri: string): string {
  return decodeURIComponent(uri.split(/[\\/]/).pop() ?? uri);
}

/**
 * An example of a whole input shape (batch first) for the dims a front end could not
 * find (`needsInputShape`, e.g. `H, W`): what the prompt and the CLI message suggest.
 */
export function exampleInputShape(unknown: readonly string[]): number[] {
  const names = unknown.map((n) => n.toUpperCase());
  // The Keras and TF.js front ends name the whole shape in its own layout (`N, H, W, 3`):
  // keep its order and its known sizes, so a channels-last model gets a channels-last example.
  const wholeShape = names.length >= 2 && (/^(N|B|BATCH)$/.test(names[0]!) || names.some((n) => /^\d+$/.test(n)));
  if (wholeShape) return names.map(exampleSize);
  // The PyTorch front end names only the dims it lacks (`H, W`); its conv inputs are channels-first.
  if (names.some((n) => /^(H|W|HEIGHT|WIDTH|IMG|IMAGE|SIZE|RES)/.test(n))) return names.some((n) => /^D(EPTH)?$/.test(n)) ? [1, 3, 16, 32, 32] : [1, 3, 32, 32];
  if (names.some((n) => /^(T|L|S|SEQ|BLOCK|CTX|CONTEXT)/.test(n))) return [1, 64];
  return [1, ...unknown.map(() => 32)];
}

function exampleSize(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  if (/^(N|B|BATCH)$/.test(name)) return 1;
  if (/^(C|CH|CHANNELS?)$/.test(name)) return 3;
  if (/^D(EPTH)?$/.test(name)) return 16;
  if (/^(T|L|S|SEQ|BLOCK|CTX|CONTEXT)/.test(name)) return 64;
  return 32;
}

/** One network of a "Probe This Model" plan: a variant of the model, or its plain twin. */
export interface ModelProbeVariant {
  /** `model`, `model-plain`, `shallower`, `shallower-plain`, `deeper`, `deeper-plain`. */
  id: string;
  label: string;
  role: ModelGraphVariant['role'];
  architecture: 'residual' | 'plain';
  graph: ModelGraph;
}

/** At most this many networks per probe: each trains in its own process on a shared machine. */
export const maxModelProbeVariants = 6;

/**
 * What "Probe This Model" trains: the model and its plain twin, then the shallower and
 * deeper versions, and their twins when `depthTwins` (the caller's time budget) allows.
 * A model without residual additions gets no twin (it would be the same network).
 */
export function modelProbeVariants(extraction: ModelExtraction, options: { depthTwins: boolean } = { depthTwins: true }): { variants: ModelProbeVariant[]; notes: string[] } {
  const notes: string[] = [];
  const variants: ModelProbeVariant[] = [];
  const ordered = [...extraction.variants].sort((a, b) => roleOrder(a.role) - roleOrder(b.role));
  const twins = new Map<ModelGraphVariant, ModelProbeVariant>();
  for (const variant of ordered) {
    if (variants.length >= maxModelProbeVariants) break;
    variants.push({ id: variant.role, label: variant.label, role: variant.role, architecture: 'residual', graph: variant.graph });
    const twin = plainTwin(variant.graph);
    if (twin.undecidedAdds.length) notes.push(`${variant.label}: the plain twin keeps ${twin.undecidedAdds.join(', ')} (the analysis could not tell the skip operand)`);
    if (twin.removedAdds.length === 0) {
      if (variant.role === 'model') notes.push(`${extraction.modelName} has no residual addition the analysis recognised, so it has no plain twin to compare with`);
      continue;
    }
    twins.set(variant, { id: `${variant.role}-plain`, label: `${variant.label} plain twin`, role: variant.role, architecture: 'plain', graph: twin.graph });
  }
  // The model's twin right after it; depth variants' twins at the end, as the budget allows.
  const result: ModelProbeVariant[] = [];
  for (const variant of variants) {
    result.push(variant);
    const source = ordered.find((v) => v.role === variant.role)!;
    const twin = twins.get(source);
    if (twin && variant.role === 'model') result.push(twin);
  }
  if (options.depthTwins) {
    for (const variant of variants) {
      if (variant.role === 'model') continue;
      const twin = twins.get(ordered.find((v) => v.role === variant.role)!);
      if (twin && result.length < maxModelProbeVariants) result.push(twin);
    }
  } else if (variants.some((v) => v.role !== 'model' && twins.has(ordered.find((o) => o.role === v.role)!))) {
    notes.push('the shallower and deeper versions are trained without their plain twins');
  }
  return { variants: result.slice(0, maxModelProbeVariants), notes };
}

function roleOrder(role: ModelGraphVariant['role']): number {
  return role === 'model' ? 0 : role === 'shallower' ? 1 : 2;
}

export type ModelPlanOutcome =
  | { ok: true; plan: ProbePlan; variants: ModelProbeVariant[]; notes: string[] }
  | { ok: false; problems: string[]; suggestion?: string };

/** What "the time budget allows" means for the depth variants' twins. */
export const modelProbeBudget = {
  /** The whole probe (every variant's steps) should take about this long, or less. */
  seconds: 60,
  /** Training throughput of the machine with the wasm backend, all cores together (2 cores here: ~1 GFLOP/s each). */
  flopsPerSecond: 2e9,
};

/**
 * The probe plan of a model: its variants (modelProbeVariants) on a synthetic task of its
 * input and output shapes, with the size checks of planGraphProbe. Ids stay ours
 * (`model`, `model-plain`, ...), so the verdict and the panel can find the model's twin.
 * With `depthTwins: 'auto'` the depth variants get their twins when the estimated time
 * of the whole probe stays within modelProbeBudget.
 */
export function planModelProbe(
  extraction: ModelExtraction,
  options: Partial<GraphProbeOptions> & { steps: number; depthTwins?: boolean | 'auto'; flopsPerSecond?: number },
): ModelPlanOutcome {
  const { depthTwins = 'auto', flopsPerSecond = modelProbeBudget.flopsPerSecond, ...planOptions } = options;
  const planned = planWith(extraction, depthTwins === true, planOptions);
  if (depthTwins !== 'auto' || !planned.ok) return planned;
  const all = modelProbeVariants(extraction, { depthTwins: true }).variants;
  if (all.length === planned.variants.length) return planned;
  const flops = all.reduce((sum, v) => sum + graphCost(v.graph, planned.plan.batchSize).trainingFlopsPerStep, 0) * planned.plan.steps;
  const seconds = flops / flopsPerSecond;
  if (seconds > modelProbeBudget.seconds) {
    planned.notes.push(`with their plain twins the probe would take about ${Math.round(seconds)} s (over ${modelProbeBudget.seconds} s)`);
    return planned;
  }
  return planWith(extraction, true, planOptions);
}

function planWith(extraction: ModelExtraction, depthTwins: boolean, options: Partial<GraphProbeOptions>): ModelPlanOutcome {
  const { variants, notes } = modelProbeVariants(extraction, { depthTwins });
  if (variants.length === 0) return { ok: false, problems: [`no graph of ${extraction.modelName} to train`] };
  try {
    const planned = planGraphProbe(
      variants.map((v) => ({ label: v.label, role: v.architecture === 'plain' ? 'plain' : v.role, graph: v.graph })),
      options,
    );
    // A twin is drawn and compared at its model's depth (its main path), though it lost the projection layers.
    const depthOf = new Map(planned.plan.variants.map((spec, i) => [variants[i]!.id, spec.depth]));
    const plan: ProbePlan = {
      ...planned.plan,
      variants: planned.plan.variants.map((spec, i) => {
        const variant = variants[i]!;
        return { ...spec, id: variant.id, depth: variant.architecture === 'plain' ? (depthOf.get(variant.role) ?? spec.depth) : spec.depth };
      }),
    };
    return { ok: true, plan, variants, notes: [...notes, ...planned.notes] };
  } catch (err) {
    if (err instanceof GraphPlanError) return { ok: false, problems: err.problems, ...(err.suggestion ? { suggestion: err.suggestion } : {}) };
    throw err;
  }
}

/**
 * Smaller inputs to try when a model is too large to probe: its spatial dims (or the
 * sequence length of a token model) halved, quartered, ... while they stay at least 4.
 * Activations and FLOPs shrink with them; the weights do not, except where a flatten
 * feeds a linear layer.
 */
export function smallerInputShapes(extraction: ModelExtraction): number[][] {
  const model = extraction.variants.find((v) => v.role === 'model')?.graph;
  const input = model?.inputs[0];
  if (!model || !input || model.inputs.length !== 1) return [];
  const node = model.nodes[input.node]!;
  const shape = node.shape;
  const axes =
    input.kind === 'tokens' ? [1] : shape.length < 3 ? [] : node.layout === 'channels-first' ? shape.slice(2).map((_, i) => i + 2) : shape.slice(1, -1).map((_, i) => i + 1);
  const shapes: number[][] = [];
  for (let factor = 2; factor <= 64; factor *= 2) {
    if (axes.some((axis) => shape[axis]! / factor < 4 || shape[axis]! % factor !== 0)) break;
    shapes.push(shape.map((d, axis) => (axes.includes(axis) ? d / factor : d)));
  }
  return shapes;
}

/**
 * When a plan is refused for size: the first smaller input (smallerInputShapes) whose
 * extraction plans, as the "Scale Down" offer. `extractAt` reads the model again at an
 * input shape (the language server, or the CLI's own front end).
 */
export async function scaleDownByInput(
  extraction: ModelExtraction,
  extractAt: (inputShape: number[]) => Promise<ModelExtraction | undefined>,
  plan: (extraction: ModelExtraction) => ModelPlanOutcome,
): Promise<{ description: string; planned: Extract<ModelPlanOutcome, { ok: true }>; inputShape: number[] } | undefined> {
  const original = extraction.variants.find((v) => v.role === 'model')?.graph;
  const from = original ? original.nodes[original.inputs[0]!.node]!.shape : undefined;
  for (const inputShape of smallerInputShapes(extraction)) {
    const smaller = await extractAt(inputShape);
    if (!smaller || smaller.unsupported.length > extraction.unsupported.length || smaller.needsInputShape?.length) continue;
    const planned = plan(smaller);
    if (planned.ok) return { description: `input (${inputShape.join(', ')}) instead of (${from?.join(', ') ?? '?'})`, planned, inputShape };
  }
  return undefined;
}
