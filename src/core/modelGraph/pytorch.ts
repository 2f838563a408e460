// The PyTorch front end of "Probe This Model": runs the shape checker's interpreter on
// one nn.Module class at the instantiation the file reaches (module code and
// `__main__`, factory functions, constructor defaults) with a graph recorder, on a
// concrete input, and returns its ModelGraph, plus shallower and deeper versions where
// a block-count parameter sets the depth.
import type { SourceDocument } from '../analysis';
import type { Grammars } from '../parse/grammars';
import { type PyNode, nodeText, toPyAst } from '../parse/python-ast';
import { formatDim, isConcrete } from '../shapes/dim';
import { type CallArgs, type RunLimits, BudgetExhausted, Interpreter, PathAborted, findMethod } from '../pytorch/interpreter';
import { allParamsDefaulted, freshFile, loadAst, modulePathCandidates, parameterNameAndDefault, parseInputComments, unwrapDecorated } from '../pytorch/checker';
import { type FileInfo, type InstanceValue, type TensorValue, type Value, Scope, inputTensor, intValue } from '../pytorch/values';
import type { ModelCandidate, ModelExtractionRequest, ModelGraphFrontEnd } from './extract';
import { type DepthParameter, type GraphNode, type GraphSource, type ModelExtraction, type ModelGraph, type ModelGraphVariant, type UnsupportedOperation, isWeightedOp } from './graph';
import { CaptureComplete, type DepthOverride, PyTorchGraphRecorder, type RecordedNode } from './pytorch/recorder';

/** The batch of the graph's input when the file does not give one (the probe sets its own). */
export const defaultBatch = 8;

interface ParsedFile {
  document: SourceDocument;
  root: PyNode;
}

interface RunContext {
  file: ParsedFile;
  grammars: Grammars;
  request: ModelExtractionRequest;
  deadline: number;
  log: (line: string) => void;
  /** Imported files, parsed once for all runs of one extraction. */
  asts: Map<string, { source: string; root: PyNode; uri: string } | null>;
  /** How the first run found the model: the variants need not run the file's `__main__` when it did not build it. */
  rootFoundBy?: 'module code' | 'factory or defaults';
}

interface DepthCandidate {
  index: number;
  name: string;
  field?: string;
  value: number | number[];
  tuple: boolean;
}

type RunOutcome =
  | { error: string }
  | { needsInputShape: string[] }
  | { retryWithInput: number[] }
  | {
      graph?: ModelGraph;
      unsupported: UnsupportedOperation[];
      prefixOnly: boolean;
      inputShape: number[];
      depth: DepthCandidate[];
      notes: string[];
    };

export const pytorchModelGraph: ModelGraphFrontEnd = {
  framework: 'pytorch',
  listModels(document: SourceDocument, grammars: Grammars): ModelCandidate[] {
    const file = parse(document, grammars);
    return file ? listModuleClasses(file) : [];
  },
  extract(request: ModelExtractionRequest, grammars: Grammars): ModelExtraction | { error: string } {
    return extractPyTorch(request, grammars);
  },
};

function parse(document: SourceDocument, grammars: Grammars): ParsedFile | undefined {
  if (document.grammar !== 'python') return undefined;
  const tree = grammars.parse('python', document.text);
  try {
    return { document, root: toPyAst(tree, document.text) };
  } finally {
    tree.delete();
  }
}

// ---- listing ---------------------------------------------------------------------

function classDefinitions(root: PyNode): PyNode[] {
  return root.children.map(unwrapDecorated).filter((n) => n.type === 'class_definition' && n.fields.name);
}

/** Module classes by a fixpoint over base names: nn.Module, torch.nn.Module, LightningModule, or a module class of the file. */
function moduleClassNodes(root: PyNode, source: string): PyNode[] {
  const classes = classDefinitions(root);
  const modules = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const c of classes) {
      const name = c.fields.name!.text;
      if (modules.has(name)) continue;
      const bases = (c.fields.superclasses?.children ?? []).filter((b) => b.type !== 'keyword_argument').map((b) => nodeText(b, source).replace(/\s+/g, ''));
      const hasForward = (c.fields.body?.children ?? []).some((s) => unwrapDecorated(s).type === 'function_definition' && unwrapDecorated(s).fields.name?.text === 'forward');
      const isModule = bases.some((b) => /(^|\.)(Module|LightningModule)$/.test(b) || modules.has(b)) || (hasForward && bases.length > 0 && !bases.every((b) => b === 'object'));
      if (isModule) {
        modules.add(name);
        changed = true;
      }
    }
  }
  return classes.filter((c) => modules.has(c.fields.name!.text));
}

function listModuleClasses(file: ParsedFile): ModelCandidate[] {
  const { root } = file;
  const source = file.document.text;
  const modules = moduleClassNodes(root, source);
  const names = new Set(modules.map((c) => c.fields.name!.text));
  const usedInside = new Set<string>();
  const instantiated = new Set<string>();
  const passedAround = new Set<string>();
  for (const c of modules) {
    const own = c.fields.name!.text;
    for (const id of identifiers(c.fields.body)) if (names.has(id.text) && id.text !== own) usedInside.add(id.text);
  }
  const moduleSet = new Set(modules);
  for (const stmt of root.children) {
    const def = unwrapDecorated(stmt);
    if (moduleSet.has(def)) continue;
    visit(stmt, (n, parent) => {
      if (n.type !== 'identifier' || !names.has(n.text)) return;
      if (parent?.type === 'call' && parent.fields.function === n) instantiated.add(n.text);
      else if (!(parent?.type === 'argument_list' && def.type === 'class_definition')) passedAround.add(n.text);
    });
  }
  return modules.map((c) => {
    const name = c.fields.name!.text;
    const line = c.startRow;
    return {
      framework: 'pytorch',
      name,
      source: { uri: file.document.uri, line, character: c.startCol },
      endLine: c.endRow,
      topLevel: instantiated.has(name) || (!usedInside.has(name) && !passedAround.has(name)),
    };
  });
}

function identifiers(node: PyNode | undefined): PyNode[] {
  const out: PyNode[] = [];
  if (node) visit(node, (n) => n.type === 'identifier' && out.push(n));
  return out;
}

function visit(node: PyNode, fn: (n: PyNode, parent: PyNode | undefined) => void, parent?: PyNode, depth = 0): void {
  if (depth > 200) return;
  fn(node, parent);
  for (const c of node.children) visit(c, fn, node, depth + 1);
}

// ---- extraction --------------------------------------------------------------------

function extractPyTorch(request: ModelExtractionRequest, grammars: Grammars): ModelExtraction | { error: string } {
  const started = performance.now();
  const log = request.log ?? (() => {});
  const file = parse(request.document, grammars);
  if (!file) return { error: `${fileName(request.document.uri)} is not a Python file` };
  const classNode = moduleClassNodes(file.root, file.document.text).find((c) => c.fields.name!.text === request.modelName);
  if (!classNode) {
    const exists = classDefinitions(file.root).some((c) => c.fields.name!.text === request.modelName);
    return { error: exists ? `${request.modelName} is not an nn.Module subclass` : `no class ${request.modelName} in ${fileName(request.document.uri)}` };
  }
  if (request.inputShape && (request.inputShape.length < 2 || request.inputShape.some((d) => !Number.isInteger(d) || d <= 0 || d > 1 << 20))) {
    return { error: `the input shape (${request.inputShape.join(', ')}) must be whole positive numbers, batch first` };
  }
  const source: GraphSource = { uri: request.document.uri, line: classNode.startRow, character: classNode.startCol };
  const context: RunContext = { file, grammars, request, deadline: started + request.options.budgetMs, log, asts: new Map() };
  let outcome = runOnce(context, undefined, request.inputShape);
  if ('retryWithInput' in outcome) outcome = runOnce(context, undefined, outcome.retryWithInput);
  const base = { framework: 'pytorch' as const, modelName: request.modelName, source };
  if ('error' in outcome) return { error: outcome.error };
  if ('needsInputShape' in outcome) return { ...base, variants: [], unsupported: [], needsInputShape: outcome.needsInputShape };
  if ('retryWithInput' in outcome) return { error: `${request.modelName}: the input shape could not be settled` };
  const extraction: ModelExtraction = { ...base, variants: [], unsupported: outcome.unsupported, inputShape: outcome.inputShape };
  if (outcome.notes.length) extraction.notes = outcome.notes;
  if (outcome.prefixOnly) extraction.prefixOnly = true;
  if (!outcome.graph) return extraction;
  const depth = outcome.depth[0];
  extraction.variants.push({ role: 'model', label: variantLabel(request.modelName, depth, depth?.value), graph: outcome.graph });
  if (depth) {
    extraction.depthParameter = { name: depth.field ?? depth.name, value: formatDepth(depth.value) } satisfies DepthParameter;
    const weighted = weightedCount(outcome.graph);
    for (const role of ['shallower', 'deeper'] as const) {
      const variant = depthVariant(context, depth, role, weighted, outcome.inputShape, outcome.prefixOnly);
      if (variant) extraction.variants.push(variant);
    }
  }
  log(`${request.document.uri}: ${request.modelName}: ${extraction.variants.length} graph(s) in ${Math.round(performance.now() - started)} ms`);
  return extraction;
}

function depthVariant(context: RunContext, depth: DepthCandidate, role: 'shallower' | 'deeper', weighted: number, inputShape: number[], prefixOnly: boolean): ModelGraphVariant | undefined {
  const candidates: (number | number[])[] = [];
  if (Array.isArray(depth.value)) {
    const changed = depth.value.map((v) => (role === 'shallower' ? Math.max(1, Math.floor(v / 2)) : v * 2));
    if (changed.some((v, i) => v !== (depth.value as number[])[i])) candidates.push(changed);
  } else {
    const d = depth.value;
    const target = role === 'shallower' ? d / 2 : d * 2;
    const [lo, hi] = role === 'shallower' ? [1, d - 1] : [d + 1, d * 4];
    // A formula such as depth = 6n + 2 accepts only some values: try the nearest ones.
    const tries: number[] = [];
    for (let off = 0; tries.length < 8 && off <= d * 2; off++) {
      for (const c of off === 0 ? [Math.round(target)] : [Math.round(target) - off, Math.round(target) + off]) {
        if (c >= lo && c <= hi && !tries.includes(c)) tries.push(c);
      }
    }
    candidates.push(...tries);
  }
  for (const value of candidates) {
    if (performance.now() > context.deadline) {
      context.log(`${context.request.document.uri}: ${context.request.modelName}: time budget spent before the ${role} version`);
      return undefined;
    }
    const override: DepthOverride = {
      index: depth.index,
      name: depth.name,
      ...(depth.field ? { field: depth.field } : {}),
      value: Array.isArray(value) ? { t: depth.tuple ? 'tuple' : 'list', items: value.map((v) => intValue(v)) } : intValue(value),
    };
    const outcome = runOnce(context, override, inputShape);
    if (!('graph' in outcome) || !outcome.graph || outcome.prefixOnly !== prefixOnly) continue;
    const count = weightedCount(outcome.graph);
    if (role === 'shallower' ? count >= weighted : count <= weighted) continue;
    return { role, label: variantLabel(context.request.modelName, depth, value), graph: outcome.graph };
  }
  return undefined;
}

function variantLabel(modelName: string, depth: DepthCandidate | undefined, value: number | number[] | undefined): string {
  if (!depth || value === undefined) return modelName;
  if (Array.isArray(value)) return `${modelName} ${formatDepth(value)}`;
  return `${modelName} ${depth.field ?? depth.name}=${value}`;
}

function formatDepth(value: number | number[]): string {
  return Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
}

function weightedCount(graph: ModelGraph): number {
  return graph.nodes.filter((n) => isWeightedOp(n.op)).length;
}

/** One interpretation of the file with the recorder: finds the instance, runs its forward, builds the graph. */
function runOnce(context: RunContext, override: DepthOverride | undefined, requestShape: number[] | undefined): RunOutcome {
  const { file, request } = context;
  const document = file.document;
  const modelName = request.modelName;
  const logLines: string[] = [];
  const log = (line: string): void => {
    logLines.push(line);
    context.log(line);
  };
  const recorder = new PyTorchGraphRecorder({ name: modelName, uri: document.uri }, override);
  // The file's own code (a training loop in `__main__`) may run long: it gets part of the budget, the forward the rest.
  const captureDeadline = performance.now() + Math.max(0, context.deadline - performance.now()) * 0.6;
  const limits: RunLimits = { steps: 2_000_000, deadline: captureDeadline, callDepth: 24, loopIterations: 1024, decisions: 10 };
  const files = new Map<string, FileInfo>();
  const holder: { interp?: Interpreter } = {};
  const interp = new Interpreter(limits, [], (from, moduleName, level) => resolveImport(context, files, holder.interp!, from, moduleName, level), log);
  holder.interp = interp;
  interp.recorder = recorder;
  const mainAst = { source: document.text, root: file.root, uri: document.uri };
  const main = freshFile(mainAst);
  main.inputComments = parseInputComments(document.text);
  const noArgs = (): CallArgs => ({ positional: [], keywords: new Map() });
  const frame = { scope: new Scope(), file: main, inForward: false };

  try {
    // 1. The file's own code: module level and __main__ (definitions only for a depth variant of a model the file does not build itself).
    interp.execFile(main, context.rootFoundBy === 'factory or defaults');
    if (recorder.root) context.rootFoundBy ??= 'module code';
    // 2. Factory functions that take no arguments (`def resnet20(): return ResNet(...)`).
    for (const def of main.root.children.map(unwrapDecorated)) {
      if (recorder.root) break;
      if (def.type !== 'function_definition' || !allParamsDefaulted(def, false)) continue;
      const fn = main.globals.vars.get(def.fields.name?.text ?? '');
      if (fn?.t === 'function') guarded(() => interp.callFunction(fn, noArgs()));
    }
    // 3. Constructor defaults: the class itself, then the classes that may build it.
    const classes = [...main.globals.vars.values()].filter((v): v is Extract<Value, { t: 'class' }> => v.t === 'class' && v.cls.isModule && v.cls.file === main);
    classes.sort((a, b) => (a.cls.name === modelName ? -1 : b.cls.name === modelName ? 1 : 0));
    for (const value of classes) {
      if (recorder.root) break;
      const init = findMethod(value.cls, '__init__');
      if (init && !allParamsDefaulted(init.def, true)) continue;
      guarded(() => interp.instantiate(value.cls, noArgs()));
    }
  } catch (err) {
    if (!(err instanceof BudgetExhausted)) throw err;
    if (err instanceof CaptureComplete) context.rootFoundBy ??= 'module code';
    else if (!recorder.root) return { error: `${modelName}: the analysis ran out of its time budget before it found how the file builds the model (${err.message})` };
    else log(`${document.uri}: ${modelName}: the file's own code was cut short (${err.message}); the model it built is used`);
  }
  context.rootFoundBy ??= 'factory or defaults';
  limits.deadline = context.deadline;
  interp.steps = 0;
  const root = recorder.root;
  if (!root) return { error: `${modelName} is never built with concrete arguments: the constructor needs ${requiredParams(main, modelName)}. Add a factory function (\`def make_model(): return ${modelName}(...)\`) or a \`__main__\` block that builds it` };
  if (root.incomplete) return { error: `${modelName}'s constructor could not be followed to its end${firstReason(logLines)}` };
  // A module that builds itself (directly or through others) has no end in PyTorch either.
  if (logLines.some((l) => /nested deeper than .* at __init__/.test(l))) return { error: `${modelName}'s constructor nests modules deeper than ${limits.callDepth} calls: does a module build itself?` };

  // The input: the request, the class's `# residual-lens: input=` comment, the file's own call, or one its first layer shapes.
  let input: TensorValue;
  const comment = main.inputComments.get(modelName);
  const known = interp.concreteInputs.get(root.cls);
  const needs: string[] = [];
  let lazy = false;
  if (requestShape) input = inputTensor(requestShape, false);
  else if (comment) {
    const dims = comment.map((d, axis) => {
      if (/^\d+$/.test(d)) return Number(d);
      if (axis === 0) return defaultBatch;
      needs.push(d);
      return 0;
    });
    if (needs.length) return { needsInputShape: needs };
    input = inputTensor(dims, false);
  } else if (known && known.every((d) => typeof d === 'number')) input = inputTensor(known, false);
  else {
    input = interp.lazyInput();
    lazy = true;
  }

  // forward(self, x, y): only the first input is made; the others would be unknown tensors.
  const forward = findMethod(root.cls, 'forward');
  const extraInputs = (forward?.def.fields.parameters?.children ?? []).slice(2).filter((p) => p.type === 'identifier' || p.type === 'typed_parameter').map((p) => (p.type === 'identifier' ? p.text : p.children[0]?.text ?? '?'));
  if (extraInputs.length) return { error: `${modelName}.forward takes more than one input (${extraInputs.map((n) => `\`${n}\``).join(', ')}); only models with one input are probed` };
  const linesBeforeForward = logLines.length;
  const traced = recorder.start(root, input);
  let out: Value;
  try {
    out = interp.callModule(root, { positional: [traced], keywords: new Map() }, undefined, frame);
  } catch (err) {
    if (err instanceof BudgetExhausted) return { error: `${modelName}: the analysis ran out of its time budget in forward (${err.message})` };
    if (!(err instanceof PathAborted)) throw err;
    out = { t: 'unknown' };
    recorder.unsupported.push({ what: `${modelName}.forward`, reason: 'it raises (a `raise` or a failed `assert`) on this input' });
  }
  if (logLines.slice(linesBeforeForward).some((l) => /nested deeper than/.test(l))) return { error: `${modelName}: its forward nests calls deeper than ${limits.callDepth} levels: does it call itself?` };
  const inputShape = input.cell.lazy ? null : input.cell.shape;
  if (lazy) {
    if (!inputShape) return { error: `${modelName}: its forward never uses its input in a layer that tells the input's shape; give one (\`# residual-lens: input=(N, 3, 32, 32)\` above the class)` };
    const symbolic = inputShape.slice(1).filter((d) => d === null || !isConcrete(d));
    // The file makes an input of that rank somewhere (`net(torch.randn(2, 3, 32, 32))` on a net the analyser cannot name).
    const made = fileInputShapes(file.root, document.text).find((s) => s.length === inputShape.length && s.every((d, i) => i === 0 || inputShape[i] === null || inputShape[i] === undefined || !isConcrete(inputShape[i]!) || inputShape[i] === d));
    if (made && symbolic.length) return { retryWithInput: made };
    if (symbolic.length) return { needsInputShape: symbolic.map((d) => (d === null ? '?' : formatDim(d))) };
    return { retryWithInput: [defaultBatch, ...(inputShape.slice(1) as number[])] };
  }
  if (!inputShape || !inputShape.every((d): d is number => typeof d === 'number')) return { error: `${modelName}: the input shape is not known` };
  const built = buildGraph(recorder, out, modelName, inputShape, logLines);
  // Weight tying across layers (an embedding and the output head) has no place in the graph: trained untied, and said so.
  const notes = recorder.tiesIn(recorder.nodes).map((text) => `\`${text} = …\` ties two layers' weights; the probe trains them untied (more parameters than PyTorch counts)`);
  return { ...built, depth: depthCandidates(root, recorder.rootArgs ?? noArgs()), inputShape, notes };
}

/** Shapes of `torch.randn(2, 3, 32, 32)` (and rand, zeros, ones, randint) outside the classes, in file order. */
function fileInputShapes(root: PyNode, source: string): number[][] {
  const shapes: number[][] = [];
  for (const stmt of root.children) {
    if (unwrapDecorated(stmt).type === 'class_definition') continue;
    visit(stmt, (n) => {
      if (n.type !== 'call' || !n.fields.function || !n.fields.arguments) return;
      const callee = nodeText(n.fields.function, source);
      const m = /^torch\.(randn|rand|zeros|ones|randint|empty)$/.exec(callee);
      if (!m) return;
      let args = n.fields.arguments.children.filter((c) => c.type !== 'keyword_argument' && c.type !== 'comment');
      if (m[1] === 'randint') args = args.filter((c) => c.type === 'tuple' || c.type === 'list');
      if (args.length === 1 && (args[0]!.type === 'tuple' || args[0]!.type === 'list')) args = args[0]!.children;
      const dims = args.map((a) => (a.type === 'integer' ? Number(a.text) : NaN));
      if (dims.length >= 2 && dims.every((d) => Number.isInteger(d) && d > 0)) shapes.push(dims);
    });
  }
  return shapes;
}

function guarded(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof PathAborted)) throw err;
  }
}

function resolveImport(context: RunContext, files: Map<string, FileInfo>, interp: Interpreter, from: FileInfo, moduleName: string, level: number): FileInfo | undefined {
  const read = context.request.options.readWorkspaceFile;
  if (!read) return undefined;
  for (const path of modulePathCandidates(from.uri, moduleName, level)) {
    const existing = files.get(path);
    if (existing) return existing;
    let ast = context.asts.get(path);
    if (ast === undefined) {
      ast = loadAst(path, read, context.grammars);
      context.asts.set(path, ast);
    }
    if (!ast) continue;
    if (files.size >= 12) return undefined;
    const imported = freshFile(ast);
    files.set(path, imported);
    interp.execFile(imported, true);
    return imported;
  }
  return undefined;
}

function requiredParams(main: FileInfo, modelName: string): string {
  const value = main.globals.vars.get(modelName);
  if (value?.t !== 'class') return 'arguments';
  const init = findMethod(value.cls, '__init__');
  const names = (init?.def.fields.parameters?.children ?? []).slice(1)
    .filter((p) => p.type === 'identifier' || p.type === 'typed_parameter')
    .map((p) => (p.type === 'identifier' ? p.text : p.children[0]?.text ?? '?'));
  return names.length ? names.map((n) => `\`${n}\``).join(', ') : 'arguments';
}

function firstReason(lines: string[]): string {
  const line = lines.find((l) => /could not be followed|syntax error|nested deeper|too long/.test(l));
  return line ? ` (${line.replace(/^[^:]*:\s*/, '')})` : '';
}

/** The recorded nodes as a graph: the output's ancestors, renumbered; or the prefix before the first unsupported op. */
function buildGraph(recorder: PyTorchGraphRecorder, out: Value, modelName: string, inputShape: number[], logLines: string[]): { graph?: ModelGraph; unsupported: UnsupportedOperation[]; prefixOnly: boolean } {
  const inputNode = recorder.nodes[0];
  if (inputNode) inputNode.pendingShape = inputShape;
  const output = outputNode(out);
  const strip = (u: UnsupportedOperation & { inputNode?: number }): UnsupportedOperation => ({ what: u.what, reason: u.reason, ...(u.source ? { source: u.source } : {}) });
  if (output !== undefined) {
    const graph = pruneTo(recorder.nodes, output, modelName);
    if ('unsupported' in graph) return { unsupported: [graph.unsupported], prefixOnly: false };
    // Unsupported ops that the output does not depend on (a loss branch, unused values) do not matter.
    return { graph, unsupported: [], prefixOnly: false };
  }
  const unsupported = recorder.unsupported.map(strip);
  if (unsupported.length === 0) {
    unsupported.push({ what: `${modelName}.forward`, reason: `its result could not be followed to a tensor${firstReason(logLines)}` });
    return { unsupported, prefixOnly: false };
  }
  // The buildable prefix: what feeds the first unsupported op, when most of the model comes before it.
  const first = recorder.unsupported[0]!;
  if (first.inputNode === undefined) return { unsupported, prefixOnly: false };
  const prefix = pruneTo(recorder.nodes, first.inputNode, modelName);
  if ('unsupported' in prefix) return { unsupported, prefixOnly: false };
  const weighted = weightedCount(prefix);
  if (weighted === 0 || weighted < recorder.skippedWeighted) return { unsupported, prefixOnly: false };
  return { graph: prefix, unsupported, prefixOnly: true };
}

function outputNode(v: Value): number | undefined {
  if (v.t === 'tensor') return v.trace?.kind === 'node' ? v.trace.node : undefined;
  if (v.t === 'tuple' || v.t === 'list') {
    const first = v.items.find((i) => i.t === 'tensor');
    return first ? outputNode(first) : undefined;
  }
  if (v.t === 'dict') {
    const first = [...v.entries.values()].find((i) => i.t === 'tensor');
    return first ? outputNode(first) : undefined;
  }
  return undefined;
}

function pruneTo(nodes: RecordedNode[], output: number, modelName: string): ModelGraph | { unsupported: UnsupportedOperation } {
  const keep = new Set<number>([0]);
  const stack = [output];
  while (stack.length) {
    const n = stack.pop()!;
    if (keep.has(n) && n !== 0) continue;
    keep.add(n);
    for (const i of nodes[n]!.inputs) if (!keep.has(i)) stack.push(i);
  }
  const ids = [...keep].sort((a, b) => a - b);
  const renumber = new Map(ids.map((old, i) => [old, i]));
  const owners = new Map<object, number>();
  const graphNodes: GraphNode[] = [];
  for (const old of ids) {
    const n = nodes[old]!;
    const shape = n.pendingShape;
    if (!shape || !shape.every((d): d is number => typeof d === 'number' && d >= 0)) {
      return { unsupported: { what: n.name, reason: `its output shape is not known (${shape ? shape.map((d) => (d === null ? '?' : formatDim(d))).join(', ') : 'unknown rank'})`, ...(n.source ? { source: n.source } : {}) } };
    }
    const id = renumber.get(old)!;
    const node: GraphNode = { id, name: n.name, op: n.op, inputs: n.inputs.map((i) => renumber.get(i)!), shape: shape as number[], layout: n.layout, ...(n.source ? { source: n.source } : {}) };
    if (n.weightsOf) {
      const owner = owners.get(n.weightsOf);
      if (owner !== undefined) node.sharesWeightsWith = owner;
      else owners.set(n.weightsOf, id);
    }
    graphNodes.push(node);
  }
  const input = graphNodes[0]!;
  const consumers = graphNodes.filter((n) => n.inputs.includes(0));
  const tokenEmbeddings = consumers.flatMap((n) => (n.op.op === 'embedding' && !n.op.positions ? [n.op.vocabulary] : []));
  const spatialConsumer = consumers.some((n) => ['conv', 'batchnorm', 'pool', 'adaptive-pool', 'groupnorm', 'upsample'].includes(n.op.op));
  input.layout = spatialConsumer || (input.shape.length >= 3 && !consumers.some((n) => n.op.op === 'linear' || n.op.op === 'layernorm')) && input.shape.length >= 4 ? 'channels-first' : 'channels-last';
  return {
    framework: 'pytorch',
    modelName,
    inputs: [tokenEmbeddings.length ? { node: 0, kind: 'tokens', vocabulary: Math.min(...tokenEmbeddings) } : { node: 0, kind: 'float' }],
    output: renumber.get(output)!,
    nodes: graphNodes,
  };
}

// ---- depth parameters ---------------------------------------------------------------

const listDepthName = /block|layer|depth|stage|repeat|num|units/i;
const intDepthName = /^(depth|n_?layers?|num_?layers|num_?blocks|n_?blocks|blocks|layers|num_?res_?blocks|n_?res_?blocks|num_hidden_layers|blocks_per_stage|num_stages|n_stages)$/i;

/** Constructor parameters that set the depth: a list of block counts, or an int such as depth / n_layer (also a config object's field). */
function depthCandidates(root: InstanceValue, args: CallArgs): DepthCandidate[] {
  const init = findMethod(root.cls, '__init__');
  if (!init) return [];
  const lists: DepthCandidate[] = [];
  const ints: DepthCandidate[] = [];
  const fields: DepthCandidate[] = [];
  const params = (init.def.fields.parameters?.children ?? []).slice(1);
  params.forEach((p, index) => {
    const { name, defaultNode: fallback } = parameterNameAndDefault(p);
    if (!name) return;
    const value = index < args.positional.length ? args.positional[index] : args.keywords.get(name) ?? (fallback ? literal(fallback) : undefined);
    if (!value) return;
    const counts = intItems(value);
    if (counts && listDepthName.test(name)) lists.push({ index, name, value: counts, tuple: value.t === 'tuple' });
    else if (value.t === 'int' && isConcrete(value.v) && value.v > 0 && intDepthName.test(name)) ints.push({ index, name, value: value.v, tuple: false });
    else if ((value.t === 'instance' && !value.cls.isModule) || value.t === 'dict') {
      for (const [field, v] of value.t === 'dict' ? value.entries : value.attrs) {
        const fieldCounts = intItems(v);
        if (fieldCounts && listDepthName.test(field)) fields.push({ index, name, field, value: fieldCounts, tuple: v.t === 'tuple' });
        else if (v.t === 'int' && isConcrete(v.v) && v.v > 0 && intDepthName.test(field)) fields.push({ index, name, field, value: v.v, tuple: false });
      }
    }
  });
  return [...lists, ...ints, ...fields];
}

function intItems(v: Value): number[] | undefined {
  if (v.t !== 'list' && v.t !== 'tuple') return undefined;
  if (v.items.length === 0 || v.items.length > 8) return undefined;
  const out: number[] = [];
  for (const item of v.items) {
    if (item.t !== 'int' || !isConcrete(item.v) || item.v < 1 || item.v > 1000) return undefined;
    out.push(item.v);
  }
  return out;
}

/** A default value written as a literal: `20`, `[2, 2, 2, 2]`, `(3, 4, 6, 3)`. */
function literal(node: PyNode): Value | undefined {
  if (node.type === 'integer') {
    const n = Number(node.text.replace(/_/g, ''));
    return Number.isSafeInteger(n) ? intValue(n) : undefined;
  }
  if (node.type === 'list' || node.type === 'tuple') {
    const items = node.children.map(literal);
    return items.every((i): i is Value => i !== undefined) ? { t: node.type, items } : undefined;
  }
  return undefined;
}

function fileName(uri: string): string {
  return decodeURIComponent(uri.split(/[\\/]/).pop() ?? uri);
}
