// From the recorder's draft nodes to one model's graph: what the output depends on,
// renumbered in order, with concrete shapes (the symbolic batch becomes a placeholder:
// the probe sets its own batch size), the skip operand of every residual addition, and
// the operations the probe cannot build; the buildable prefix when those are at the end.
import { isConcrete, symbol } from '../../shapes/dim';
import type { ShapeDim } from '../../shapes/shape';
import type { Span } from '../../keras/syntax';
import type { Value } from '../../keras/values';
import { type GraphNode, type GraphOp, type GraphSource, type ModelGraph, type UnsupportedOperation, isWeightedOp } from '../graph';
import { placeholderBatch } from './layerOps';
import type { DraftNode, LayersGraphRecorder } from './recorder';

export interface FinishedGraph {
  graph?: ModelGraph;
  notes?: string[];
  unsupported: UnsupportedOperation[];
  prefixOnly?: boolean;
  needsInputShape?: string[];
  inputShape?: number[];
  error?: string;
}


const batchKey = symbol('batch').key;

export function sourceOf(uri: string, span: Span | undefined): GraphSource | undefined {
  return span ? { uri, line: span.range.start.line, character: span.range.start.character } : undefined;
}

function ancestors(nodes: readonly { inputs: readonly number[] }[], roots: number[]): Set<number> {
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...nodes[id]!.inputs);
  }
  return seen;
}

function tensorsIn(value: Value | undefined): Value[] {
  if (!value) return [];
  if (value.t === 'list' || value.t === 'tuple') return value.items;
  if (value.t === 'dict') return [...value.entries.values()];
  return [value];
}

export function finishGraph(recorder: LayersGraphRecorder, model: { inputs: Value | undefined; outputs: Value | undefined }, modelName: string, uri: string): FinishedGraph {
  const drafts = recorder.nodes;
  const outputs = tensorsIn(model.outputs);
  if (outputs.length === 0 || outputs.some((o) => o.t === 'guarded')) {
    return { unsupported: [], error: `the output of ${modelName} depends on a condition the analyser could not decide, or is missing` };
  }
  const notes: string[] = [];
  if (outputs.length > 1) notes.push(`${modelName} has ${outputs.length} outputs; the probe trains the first`);
  const output = recorder.nodeFor(outputs[0]!);
  if (output === undefined) {
    return { unsupported: [{ what: `the output of ${modelName}`, reason: 'it comes from code the analyser could not follow' }] };
  }
  const declaredInputs = tensorsIn(model.inputs).map((v) => recorder.nodeFor(v)).filter((id): id is number => id !== undefined);

  let outputId = output;
  let live = ancestors(drafts, [outputId, ...declaredInputs]);
  const unsupportedIds = [...live].filter((id) => drafts[id]!.op === undefined).sort((a, b) => a - b);
  // An operation that fails only because its input did is not news: report the causes.
  const causes = unsupportedIds.filter((id) => !drafts[id]!.consequence || !unsupportedIds.some((other) => other < id && ancestors(drafts, [id]).has(other)));
  const seen = new Set<string>();
  const unsupported = causes.filter((id) => {
    const key = `${drafts[id]!.unsupported!.what}@${drafts[id]!.span?.start ?? -1}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).map((id): UnsupportedOperation => {
    const node = drafts[id]!;
    const source = sourceOf(uri, node.span);
    return { what: node.unsupported!.what, reason: node.unsupported!.reason, ...(source ? { source } : {}) };
  });
  let prefixOnly = false;
  if (unsupportedIds.length > 0) {
    const prefixEnd = buildablePrefixEnd(drafts, unsupportedIds, live);
    if (prefixEnd === undefined) return { unsupported };
    outputId = prefixEnd;
    live = ancestors(drafts, [outputId, ...declaredInputs.filter((id) => ancestors(drafts, [prefixEnd]).has(id))]);
    prefixOnly = true;
  }

  const order = [...live].sort((a, b) => a - b);
  const newId = new Map(order.map((id, i) => [id, i]));
  const symbolic = new Set<number>();
  const nodes: GraphNode[] = [];
  for (const id of order) {
    const draft = drafts[id]!;
    const raw = draft.tensor?.cell.shape ?? draft.shape ?? null;
    if (!raw) return { unsupported: [...unsupported, { what: draft.name, reason: 'its shape could not be inferred', ...(draft.span ? { source: sourceOf(uri, draft.span)! } : {}) }] };
    const shape = raw.map((d, axis) => concreteDim(d, axis));
    if (shape.some((d) => d === undefined) || hasSymbol(draft.op)) symbolic.add(id);
    const source = sourceOf(uri, draft.span);
    const sharing = draft.sharesWeightsWith !== undefined ? newId.get(draft.sharesWeightsWith) : undefined;
    nodes.push({
      id: newId.get(id)!,
      name: draft.name,
      op: draft.op!,
      inputs: draft.inputs.map((i) => newId.get(i)!),
      shape: shape as number[],
      layout: 'channels-last',
      ...(source ? { source } : {}),
      ...(sharing !== undefined ? { sharesWeightsWith: sharing } : {}),
    });
  }
  const inputIds = (declaredInputs.length > 0 ? declaredInputs.filter((id) => live.has(id)) : order.filter((id) => drafts[id]!.isInput)).map((id) => newId.get(id)!);
  if (symbolic.size > 0) {
    const first = inputIds[0] !== undefined ? order[inputIds[0]] : undefined;
    const shape = first !== undefined ? drafts[first]!.tensor?.cell.shape : undefined;
    const tokens = first !== undefined && drafts.some((d) => d.inputs.includes(first) && d.op?.op === 'embedding');
    return { unsupported, needsInputShape: shape ? inputAxisNames(shape, tokens) : ['N', '...'] };
  }
  for (const node of nodes) {
    if (node.op.op === 'add' && node.op.residual) {
      const skip = skipOperand(nodes, node, drafts[order[node.id]!]!.operandTexts);
      node.op = skip === undefined ? { op: 'add', residual: true } : { op: 'add', residual: true, skipInput: skip };
    }
  }
  const graph: ModelGraph = {
    framework: recorder.framework,
    modelName,
    inputs: inputIds.map((id) => {
      const consumer = nodes.find((n) => n.inputs.includes(id) && n.op.op === 'embedding');
      return consumer && consumer.op.op === 'embedding' ? { node: id, kind: 'tokens' as const, vocabulary: consumer.op.vocabulary } : { node: id, kind: 'float' as const };
    }),
    output: newId.get(outputId)!,
    nodes,
  };
  const inputShape = inputIds[0] !== undefined ? nodes[inputIds[0]]!.shape : undefined;
  notes.push(...layerNotes(order.map((id) => drafts[id]!)));
  return { graph, unsupported, ...(prefixOnly ? { prefixOnly } : {}), ...(inputShape ? { inputShape } : {}), ...(notes.length ? { notes } : {}) };
}

/** One line per kind of difference, naming the first layers it concerns. */
function layerNotes(nodes: DraftNode[]): string[] {
  const byNote = new Map<string, string[]>();
  for (const node of nodes) if (node.note) byNote.set(node.note, [...(byNote.get(node.note) ?? []), node.name]);
  return [...byNote].map(([note, names]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}: ${note}`);
}

/** What the user is asked for: the sizes the file gives, the conventional name of the others (`N, H, W, 3`). */
function inputAxisNames(shape: ShapeDim[], tokens: boolean): string[] {
  const rank = shape.length;
  const names = rank === 2 ? ['N', tokens ? 'T' : 'D'] : ['N', ...(rank === 3 ? ['L'] : rank === 4 ? ['H', 'W'] : rank === 5 ? ['D', 'H', 'W'] : Array.from({ length: rank - 2 }, (_, i) => `d${i + 1}`)), 'C'];
  return shape.map((d, axis) => (axis > 0 && d !== null && isConcrete(d) ? String(d) : names[axis] ?? '?'));
}

function concreteDim(d: ShapeDim, axis: number): number | undefined {
  if (d === null) return undefined;
  if (isConcrete(d)) return d;
  return axis === 0 && d.key === batchKey ? placeholderBatch : undefined;
}

/** An op whose sizes are still symbolic (a helper's input of unknown size). */
function hasSymbol(op: GraphOp | undefined): boolean {
  if (!op) return false;
  const visit = (v: unknown): boolean => {
    if (v === null || v === undefined) return false;
    if (typeof v === 'number') return !Number.isFinite(v);
    if (Array.isArray(v)) return v.some(visit);
    if (typeof v === 'object') return 'key' in (v as object) || Object.values(v as object).some(visit);
    return false;
  };
  return Object.values(op).some(visit);
}

/**
 * Where the buildable prefix ends: the input of the first unsupported operation, when every
 * other one comes after it, everything before it is buildable and nothing after it has weights.
 */
function buildablePrefixEnd(drafts: DraftNode[], unsupportedIds: number[], live: Set<number>): number | undefined {
  const first = drafts[unsupportedIds[0]!]!;
  if (first.inputs.length !== 1) return undefined;
  for (const id of unsupportedIds.slice(1)) if (!ancestors(drafts, [id]).has(first.id)) return undefined;
  // Only an end without weights may be cut: a prefix that drops layers is another model.
  for (const id of live) {
    const draft = drafts[id]!;
    const weighted = draft.op ? isWeightedOp(draft.op) : draft.weightedLayer === true;
    if (id > first.id && weighted && ancestors(drafts, [id]).has(first.id)) return undefined;
  }
  const end = first.inputs[0]!;
  const before = ancestors(drafts, [end]);
  if ([...before].some((id) => drafts[id]!.op === undefined)) return undefined;
  if (drafts[end]!.isInput) return undefined;
  return end;
}

const skipNames = /short|skip|ident|resid|proj|down|input|inp\b/i;

/**
 * The skip operand of `add(a, b)`: the one with fewer nodes between the branch point (the
 * last node both depend on) and itself; on a tie, the one the code calls a shortcut.
 */
function skipOperand(nodes: GraphNode[], add: GraphNode, operandTexts: string[] | undefined): 0 | 1 | undefined {
  const [a, b] = add.inputs as [number, number];
  const ancA = ancestors(nodes, [a]);
  const ancB = ancestors(nodes, [b]);
  let branch = -1;
  for (const id of ancA) if (ancB.has(id) && id > branch) branch = id;
  if (branch < 0) return undefined;
  const depth = (root: number, anc: Set<number>): number => {
    const dist = new Map<number, number>([[branch, 0]]);
    for (const id of [...anc].sort((x, y) => x - y)) {
      if (id <= branch) continue;
      let best = -1;
      for (const input of nodes[id]!.inputs) {
        const d = dist.get(input);
        if (d !== undefined && d + 1 > best) best = d + 1;
      }
      if (best >= 0) dist.set(id, best);
    }
    return dist.get(root) ?? Number.POSITIVE_INFINITY;
  };
  const da = depth(a, ancA);
  const db = depth(b, ancB);
  if (da < db) return 0;
  if (db < da) return 1;
  const [ta, tb] = operandTexts ?? [];
  const namedA = !!ta && skipNames.test(ta);
  const namedB = !!tb && skipNames.test(tb);
  if (namedA !== namedB) return namedA ? 0 : 1;
  return undefined;
}
