// "Probe This Model" for the layers APIs (Keras in Python, TF.js in TS/JS): run the file's
// module code with a graph recorder, then the model's builder (as the file calls it, else
// with its defaults) or its module-level model variable, and keep the graph its output
// depends on. Depth variants re-run the same code with a block count changed.
import type { FunctionDef, Program } from '../../keras/syntax';
import { GraphSession } from '../../keras/interpreter';
import { type Value, intValue } from '../../keras/values';
import { type DepthParameter, type GraphFramework, type ModelExtraction, type ModelGraph, type ModelGraphVariant, isWeightedOp } from '../graph';
import type { ModelExtractionRequest } from '../extract';
import { type LayersModelCandidate, builtInputShape, layersModelCandidates } from './candidates';
import { type FinishedGraph, finishGraph, sourceOf } from './finishGraph';
import { type ArgumentBinding, LayersGraphRecorder } from './recorder';
import { type DepthChoice, depthOverrides, depthScales, findDepthParameter } from './depth';

type LayersFramework = Exclude<GraphFramework, 'pytorch'>;

interface ModelRun {
  finished: FinishedGraph;
  bindings: ArgumentBinding[];
  moduleAssignments: LayersGraphRecorder['moduleAssignments'];
  builderDef?: FunctionDef;
}

export function extractLayersModel(
  framework: LayersFramework,
  program: Program,
  request: ModelExtractionRequest,
): ModelExtraction | { error: string } {
  const uri = request.document.uri;
  const log = request.log ?? ((): void => undefined);
  const budgetMs = request.options.budgetMs ?? 2000;
  const started = performance.now();
  const candidates = layersModelCandidates(program, framework, uri);
  const candidate = candidates.find((c) => c.name === request.modelName);
  if (!candidate) {
    const known = candidates.map((c) => c.name);
    return { error: `${request.modelName} is not a model this file builds${known.length ? ` (its models: ${known.join(', ')})` : ' (no keras.Model, Sequential or tf.model found)'}` };
  }
  const inputShape = request.inputShape;
  if (inputShape && (inputShape.length < 2 || inputShape.some((d) => !Number.isInteger(d) || d < 1))) {
    return { error: `input shape [${inputShape.join(', ')}] must be positive whole numbers, batch first` };
  }
  const base = runModel(framework, program, candidate, inputShape, new Map(), started + budgetMs, log);
  if ('error' in base) return base;
  const { finished } = base;
  if (finished.error) return { error: finished.error };
  const extraction: ModelExtraction = {
    framework,
    modelName: candidate.name,
    source: candidate.source,
    variants: [],
    unsupported: finished.unsupported,
    ...(finished.prefixOnly ? { prefixOnly: true } : {}),
    ...(finished.needsInputShape ? { needsInputShape: finished.needsInputShape } : {}),
    ...(finished.inputShape ? { inputShape: finished.inputShape } : {}),
    ...(finished.notes ? { notes: finished.notes } : {}),
  };
  if (!finished.graph) return extraction;

  // A module-level model has no builder: its depth can only be a helper's loop count.
  const depth = findDepthParameter(base.builderDef, base.bindings, candidate.kind === 'variable' ? { statements: program.body, assignments: base.moduleAssignments } : undefined);
  const label = (choice: DepthChoice | undefined, value: string | undefined): string => (choice && value ? `${candidate.name} ${choice.param}=${value}` : candidate.name);
  extraction.variants.push({ role: 'model', label: label(depth, depth?.valueText), graph: finished.graph });
  if (!depth) return extraction;
  const depthParameter: DepthParameter = { name: depth.param, value: depth.valueText };
  extraction.depthParameter = depthParameter;
  for (const role of ['shallower', 'deeper'] as const) {
    const variant = buildVariant(role, depth, (overrides, deadline) => runModel(framework, program, candidate, inputShape, overrides, deadline, log), finished.graph, started + budgetMs, log);
    if (variant) extraction.variants.push({ ...variant, label: label(depth, variant.label) });
  }
  return extraction;
}

/**
 * The shallower or deeper version: the first scaling whose graph builds completely, differs
 * from the model, and has unique layer names (Keras and TF.js refuse a model without them).
 */
function buildVariant(
  role: 'shallower' | 'deeper',
  depth: DepthChoice,
  run: (overrides: ReadonlyMap<string, Value>, deadline: number) => ModelRun | { error: string },
  model: ModelGraph,
  deadline: number,
  log: (line: string) => void,
): ModelGraphVariant | undefined {
  for (const factor of depthScales[role]) {
    const overrides = depthOverrides(depth, factor);
    if (!overrides) continue;
    const left = deadline - performance.now();
    if (left <= 0) {
      log(`${model.modelName}: no time left for the ${role} version`);
      return undefined;
    }
    // The shallower version leaves half of what is left to the deeper one.
    const result = run(overrides.values, performance.now() + (role === 'shallower' ? left / 2 : left));
    let problem: string | undefined;
    if ('error' in result) problem = result.error;
    else if (!result.finished.graph || result.finished.unsupported.length > 0) problem = 'it could not be built completely';
    else if (result.finished.graph.nodes.length === model.nodes.length) problem = 'it is the same network';
    else if (residualAdds(result.finished.graph) === 0 && residualAdds(model) > 0) problem = 'it has no residual block left';
    else problem = duplicateName(result.finished.graph);
    if (!problem && !('error' in result) && result.finished.graph) return { role, label: overrides.text, graph: result.finished.graph };
    log(`${model.modelName}: ${role} version ${depth.param}=${overrides.text} left out: ${problem}`);
  }
  return undefined;
}

function residualAdds(graph: ModelGraph): number {
  return graph.nodes.filter((n) => n.op.op === 'add' && n.op.residual).length;
}

function duplicateName(graph: ModelGraph): string | undefined {
  const seen = new Set<string>();
  for (const node of graph.nodes) {
    // Repeats of one layer object share its name; two layers with one name are what Keras refuses.
    if (node.sharesWeightsWith !== undefined || !isWeightedOp(node.op)) continue;
    if (seen.has(node.name)) return `two layers are named ${node.name}`;
    seen.add(node.name);
  }
  return undefined;
}

function runModel(
  framework: LayersFramework,
  program: Program,
  candidate: LayersModelCandidate,
  inputShape: number[] | undefined,
  overrides: ReadonlyMap<string, Value>,
  deadline: number,
  log: (line: string) => void,
): ModelRun | { error: string } {
  const recorder = new LayersGraphRecorder(program, framework, inputShape, overrides);
  const session = new GraphSession(program, deadline, recorder, log);
  session.runModule();
  let value: Value | undefined;
  let builderDef: ModelRun['builderDef'];
  if (candidate.kind === 'function') {
    const fn = session.lookup(candidate.name);
    if (!fn || fn.t !== 'function') return { error: `${candidate.name} could not be followed by the analyser` };
    builderDef = fn.def;
    value = recorder.returns.get(fn.def);
    if (!value) {
      // The file never builds it: as a fresh session that calls it with its defaults.
      recorder.resetNames();
      const result = session.callWithDefaults(fn);
      if (result && 'missing' in result) {
        return { error: `${candidate.name} needs ${result.missing.join(', ')}, which the file never gives: call it in the file (for example under if __name__ == "__main__":) or give defaults` };
      }
      value = result;
    }
  } else if (candidate.kind === 'class') {
    const cls = session.lookup(candidate.name);
    if (!cls || cls.t !== 'class') return { error: `${candidate.name} could not be followed by the analyser` };
    builderDef = cls.cls.methods.get('__init__');
    value = recorder.instanceOf(cls.cls);
    if (!value) {
      recorder.resetNames();
      const result = session.instantiateWithDefaults(cls);
      if (result && 'missing' in result) {
        return { error: `${candidate.name} needs ${result.missing.join(', ')}, which the file never gives: instantiate it in the file or give defaults` };
      }
      value = result;
    }
  } else value = session.lookup(candidate.name);
  if (session.incomplete) return { error: `${candidate.name}: the analysis ran out of time (budget) before the model was built` };
  if (!value) return { error: `${candidate.name}: the analyser could not follow the code that builds it` };
  const model = recorder.modelOf(value) ?? sequentialModel(session, recorder, value) ?? subclassedModel(session, program, candidate, value);
  if (!model) {
    // What stopped it is more use than "could not follow": the operations it could not build.
    const causes = recorder.unsupportedCauses(builderDef);
    if (causes.length === 0) return { error: `${candidate.name} does not give a model the analyser could follow` };
    const unsupported = causes.map((node) => {
      const source = sourceOf(candidate.source.uri, node.span);
      return { what: node.unsupported!.what, reason: node.unsupported!.reason, ...(source ? { source } : {}) };
    });
    return { finished: { unsupported }, bindings: [], moduleAssignments: [] };
  }
  if ('error' in model) return model;
  const finished = finishGraph(recorder, model, candidate.name, candidate.source.uri);
  return { finished, bindings: builderDef ? recorder.bindingsOfFirstCall(builderDef) : recorder.bindings, moduleAssignments: recorder.moduleAssignments, ...(builderDef ? { builderDef } : {}) };
}

/**
 * A subclassed model the file never applies: applied here to a new input, of the shape the
 * file gives `model.build(...)`, else the request's, else symbolic (then the user is asked).
 */
function subclassedModel(session: GraphSession, program: Program, candidate: LayersModelCandidate, value: Value): { inputs: Value; outputs: Value } | { error: string } | undefined {
  if (value.t !== 'instance' || candidate.kind !== 'class') return undefined;
  const built = builtInputShape(program, candidate.name);
  const dims = built && (built.k === 'tuple' || built.k === 'list') ? built.items.map((e) => (e.k === 'num' && e.integer ? intValue(e.value) : undefined)) : undefined;
  const shape: Value | undefined = dims && dims.every((d) => d !== undefined) ? { t: 'tuple', items: dims as Value[] } : undefined;
  const result = session.applyToNewInput(value, shape);
  if (!result) return { error: 'the analysis ran out of time before the model was built' };
  return { inputs: result.input, outputs: result.output };
}

/**
 * A Sequential applied to its input: the `keras.Input` listed first, else the first layer's
 * `input_shape` / `batch_input_shape` (TF.js `inputShape` / `batchInputShape`), else the
 * request's shape or a symbolic one (then the user is asked for it).
 */
function sequentialModel(session: GraphSession, recorder: LayersGraphRecorder, value: Value): { inputs: Value; outputs: Value } | { error: string } | undefined {
  if (value.t !== 'layer' || value.layer.kind !== 'sequential') return undefined;
  const items = value.layer.layers;
  if (items.length === 0) return { error: 'the Sequential model has no layers' };
  const first = items[0]!;
  if (first.t === 'tensor') {
    const rest: Value = { t: 'layer', layer: { kind: 'sequential', layers: items.slice(1) } };
    const outputs = session.applyToTensor(rest, first);
    return outputs ? { inputs: first, outputs } : { error: 'the analysis ran out of time before the model was built' };
  }
  let shape: Value | undefined;
  if (first.t === 'layer' && first.layer.kind === 'builtin') {
    const args = recorder.argsOf(first.layer);
    const inputShape = args?.get('input_shape');
    const batchShape = args?.get('batch_input_shape');
    if (inputShape && (inputShape.t === 'list' || inputShape.t === 'tuple')) shape = inputShape;
    else if (batchShape && (batchShape.t === 'list' || batchShape.t === 'tuple')) shape = { t: 'tuple', items: batchShape.items.slice(1) };
  }
  const result = session.applyToNewInput(value, shape);
  if (!result) return { error: 'the analysis ran out of time before the model was built' };
  return { inputs: result.input, outputs: result.output };
}
