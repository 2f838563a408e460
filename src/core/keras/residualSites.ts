// Deciding each recorded residual addition, for Keras and TF.js: the framework's
// broadcast rule first (size-1 axes stretch, other differences are rejected), then
// a small search for values of the symbols under which the shapes disagree. The
// rule ids, severities and message shape follow the PyTorch checker.
import { type Assignment, type Dim, add, dimEquals, evaluate, floorDiv, formatDim, isConcrete, sub, symbolsOf } from '../shapes/dim';
import { type Truth, condSymbols, evaluateCond, hasOpaque } from '../shapes/condition';
import { type Shape, type ShapeDim, broadcast } from '../shapes/shape';
import { alignForMerge } from '../shapes/channelsLast';
import type { Finding, Fix, MismatchKind } from '../diagnostic';
import { describeCondition } from './conditions';
import type { AddObservation, InterpretResult } from './interpreter';
import type { BuiltinLayer, TensorValue } from './values';

export const shapeMismatchRule = 'residual-shape-mismatch';
export const silentBroadcastRule = 'residual-silent-broadcast';

export type LayersFramework = 'keras' | 'tfjs';

type Classification =
  | { verdict: 'ok' }
  | { verdict: 'unknown' }
  | { verdict: 'broadcast'; axes: number[] }
  | { verdict: 'mismatch'; definite: boolean; axes: number[]; witness: Assignment | undefined };

/** What the shortcut projection must be for one observed addition. */
export interface ProjectionPlan {
  shortcutIndex: 0 | 1;
  observation: AddObservation;
  main: TensorValue;
  shortcut: TensorValue;
  rank: number;
  inChannels: ShapeDim;
  outChannels: ShapeDim;
  /** 1 when the spatial size is unchanged; null when no single stride explains the change. */
  stride: Dim | null;
  /** The strides argument as a per-axis tuple (`strides=(1, 2, 2)`): its length. */
  stridesTupleLength: number | undefined;
  /** How the message writes the stride: `2`, `stride`, `(1, 2, 2)`. */
  strideDescription: string | undefined;
  spatialDiffers: boolean;
  /** Source text for the filters and strides arguments, from the main path's own layers. */
  filtersText: string | undefined;
  stridesText: string | undefined;
  /** The main path sets its width with a Dense layer: the projection is a Dense too. */
  dense: boolean;
  /** The main path's convolution (or Dense) and normalisation, to copy their spelling. */
  conv: BuiltinLayer | undefined;
  norm: BuiltinLayer | undefined;
}

export type FixBuilder = (plan: ProjectionPlan) => Fix[];

export function decideResidualSites(result: InterpretResult, framework: LayersFramework, language: 'python' | 'script', buildFixes: FixBuilder): Finding[] {
  const groups = new Map<string, AddObservation[]>();
  for (const ob of result.observations) {
    const key = `${ob.span.start}:${ob.span.end}`;
    const group = groups.get(key);
    if (group) group.push(ob);
    else groups.set(key, [ob]);
  }
  const findings: Finding[] = [];
  const search = new WitnessSearch(result.flags, result.loopSymbols);
  for (const group of groups.values()) {
    const usable = group.filter((ob) => ob.cond !== false && !hasOpaque(ob.cond));
    const concrete = usable.filter((ob) => ob.concrete);
    const observations = concrete.length ? concrete : usable;
    const classified = observations.map((ob) => ({ ob, c: search.classify(ob) }));
    const definite = classified.filter((x) => x.c.verdict === 'mismatch' && x.c.definite);
    const conditional = classified.filter((x) => x.c.verdict === 'mismatch' && !x.c.definite);
    const broadcasts = classified.filter((x) => x.c.verdict === 'broadcast');
    const chosen = definite[0] ?? conditional[0];
    if (chosen && chosen.c.verdict === 'mismatch') {
      // An error needs a concrete call that breaks; a helper only seen with symbolic arguments gets a warning.
      const severity = definite.length && chosen.ob.concrete ? 'error' : 'warning';
      const others = (definite.length ? definite : conditional).length - 1;
      findings.push(mismatchFinding(chosen.ob, chosen.c.axes, chosen.c.witness, severity, others, framework, language, result.flags, search, buildFixes));
    } else if (broadcasts[0] && broadcasts[0].c.verdict === 'broadcast') {
      findings.push(broadcastFinding(broadcasts[0].ob, broadcasts[0].c.axes, framework));
    }
  }
  return findings;
}

function channelAxisOf(rank: number): number {
  return rank - 1;
}

function kindOf(axes: number[], rank: number): MismatchKind {
  const channel = axes.includes(channelAxisOf(rank));
  const spatial = axes.some((a) => a > 0 && a < channelAxisOf(rank));
  if (axes.includes(0) && !channel && !spatial) return 'other';
  return channel && spatial ? 'both' : channel ? 'channels' : 'spatial';
}

export function formatLayersShape(shape: Shape, framework: LayersFramework): string {
  if (!shape) return '(?)';
  const dims = shape.map((d) => (d === null ? '?' : isBatchDim(d) ? (framework === 'keras' ? 'None' : 'null') : formatDim(d)));
  return framework === 'keras' ? `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})` : `[${dims.join(', ')}]`;
}

function isBatchDim(d: Dim): boolean {
  return !isConcrete(d) && d.terms.size === 1 && d.terms.get('batch') === 1;
}

function mismatchFinding(
  ob: AddObservation,
  axes: number[],
  witness: Assignment | undefined,
  severity: 'error' | 'warning',
  others: number,
  framework: LayersFramework,
  language: 'python' | 'script',
  flags: ReadonlySet<string>,
  search: WitnessSearch,
  buildFixes: FixBuilder,
): Finding {
  const shapes: [string, string] = [formatLayersShape(ob.leftShape, framework), formatLayersShape(ob.rightShape, framework)];
  const [alignedLeft, alignedRight] = ob.layerMerge ? alignForMerge(ob.leftShape, ob.rightShape) : [ob.leftShape, ob.rightShape];
  const left = alignedLeft!;
  const right = alignedRight!;
  const rank = Math.max(left.length, right.length);
  const kind = kindOf(axes, rank);
  const plan = projectionPlan(ob);
  const context = ob.context ? ` in \`${ob.context.text}\`${ob.context.line !== ob.span.range.start.line ? ` (line ${ob.context.line + 1})` : ''}` : '';
  const more = others > 0 ? ` and ${others} more call${others > 1 ? 's' : ''}` : '';
  const projection = plan ? ` ${describeProjection(plan, framework)}` : '';
  let message: string;
  if (severity === 'error') {
    const library = framework === 'keras' ? 'Keras' : 'TF.js';
    message = `Residual add: shapes ${shapes[0]} and ${shapes[1]} differ ${describeDifference(left, right, axes, rank)}${context}${more}; ${library} rejects it ("Operands could not be broadcast together").${projection}`;
  } else {
    const condition = mismatchCondition(ob, axes, rank, plan, flags, language, search);
    const seen = ob.concrete ? context : ob.context ? ` (\`${ob.context.text}\` is only seen with symbolic arguments)` : '';
    message = `Residual add: shapes ${shapes[0]} and ${shapes[1]} differ ${describeDifference(left, right, axes, rank)} when ${condition}${exampleText(witness, flags, language)}: a shortcut projection is missing for that case${seen}.${projection}`;
  }
  return {
    rule: shapeMismatchRule,
    severity,
    range: ob.span.range,
    message,
    kind,
    shapes,
    fixes: plan ? safeFixes(buildFixes, plan) : [],
  };
}

function safeFixes(buildFixes: FixBuilder, plan: ProjectionPlan): Fix[] {
  try {
    return buildFixes(plan);
  } catch {
    // A fix we cannot build is left out; the finding stands.
    return [];
  }
}

function broadcastFinding(ob: AddObservation, axes: number[], framework: LayersFramework): Finding {
  const shapes: [string, string] = [formatLayersShape(ob.leftShape, framework), formatLayersShape(ob.rightShape, framework)];
  const rank = Math.max(ob.leftShape?.length ?? 0, ob.rightShape?.length ?? 0);
  const library = framework === 'keras' ? 'Keras' : 'TF.js';
  const context = ob.context ? ` in \`${ob.context.text}\`` : '';
  return {
    rule: silentBroadcastRule,
    severity: 'warning',
    range: ob.span.range,
    message: `Residual add of ${shapes[0]} and ${shapes[1]} stretches a size-1 axis${context}: ${library} broadcasts it silently, so the skip connection adds one value across the whole ${kindOf(axes, rank) === 'channels' ? 'channel axis' : 'spatial extent'}.`,
    kind: kindOf(axes, rank),
    shapes,
    fixes: [],
  };
}

/** One set of argument values that breaks the addition: `, e.g. stride = 2, filters = 16`. */
function exampleText(witness: Assignment | undefined, flags: ReadonlySet<string>, language: 'python' | 'script'): string {
  if (!witness) return '';
  const parts = [...witness]
    .filter(([name]) => !/^(batch|H|W|L|D|T|d\d+)(_\d+)?$/.test(name))
    .slice(0, 4)
    .map(([name, value]) => `${name} = ${flags.has(name) ? (value ? (language === 'python' ? 'True' : 'true') : language === 'python' ? 'False' : 'false') : value}`);
  return parts.length ? `, e.g. ${parts.join(', ')}` : '';
}

function describeDifference(left: ShapeDim[], right: ShapeDim[], axes: number[], rank: number): string {
  const parts: string[] = [];
  const at = (s: ShapeDim[], i: number) => s[s.length - rank + i] ?? null;
  const text = (d: ShapeDim | undefined) => (d === null || d === undefined ? '?' : formatDim(d));
  const sized = (d: ShapeDim | undefined) => (text(d).includes(' ') ? `(${text(d)})` : text(d));
  const c = channelAxisOf(rank);
  const spatial = axes.filter((a) => a > 0 && a < c);
  if (axes.includes(c)) parts.push(`in channels (${text(at(left, c))} vs ${text(at(right, c))})`);
  if (spatial.length) {
    const all = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    parts.push(`${parts.length ? '' : 'in '}spatial size (${all.map((a) => sized(at(left, a))).join('x')} vs ${all.map((a) => sized(at(right, a))).join('x')})`);
  }
  if (axes.includes(0)) parts.push(`${parts.length ? '' : 'in '}the batch axis`);
  return parts.join(' and ') || 'in shape';
}

function describeProjection(plan: ProjectionPlan, framework: LayersFramework): string {
  const text = (d: ShapeDim) => (d === null ? '?' : formatDim(d));
  const keras = framework === 'keras';
  if (plan.rank === 2 || plan.dense) return `The shortcut needs a projection: ${keras ? 'Dense' : 'dense'}(${text(plan.outChannels)}).`;
  // A change of size that no stride explains comes from the main path's padding or kernel.
  if (plan.spatialDiffers && plan.stride === null && !plan.strideDescription) return 'No stride explains the change in size: check the padding, kernel and dilation of both paths.';
  const conv = keras ? `Conv${plan.rank - 2}D` : `conv${plan.rank - 2}d`;
  const stride = plan.strideDescription ? `, strides ${plan.strideDescription}` : '';
  const norm = plan.norm ? `, with ${keras ? 'BatchNormalization' : 'batchNormalization'}` : '';
  return `The shortcut needs a projection: 1x1 ${conv} ${text(plan.inChannels)}→${text(plan.outChannels)}${stride}${norm}.`;
}

function mismatchCondition(ob: AddObservation, axes: number[], rank: number, plan: ProjectionPlan | undefined, flags: ReadonlySet<string>, language: 'python' | 'script', search: WitnessSearch): string {
  const pieces: string[] = [];
  const [alignedLeft, alignedRight] = ob.layerMerge ? alignForMerge(ob.leftShape, ob.rightShape) : [ob.leftShape, ob.rightShape];
  const left = alignedLeft!;
  const right = alignedRight!;
  const at = (s: ShapeDim[], i: number) => s[s.length - rank + i] ?? null;
  const shortcutFirst = plan ? plan.shortcutIndex === 0 : true;
  for (const axis of axes) {
    const a = at(left, axis);
    const b = at(right, axis);
    if (a === null || b === null) continue;
    const [s, m] = shortcutFirst ? [a, b] : [b, a];
    if (axis > 0 && axis < channelAxisOf(rank)) {
      const strides = [...symbolsOf(a), ...symbolsOf(b)].filter((name) => /stride|step|subsample|^s$/i.test(name));
      if (strides.length && search.equalWhen(a, b, ob.cond, new Map(strides.map((n) => [n, 1])))) {
        for (const name of new Set(strides)) pieces.push(`${name} != 1`);
        continue;
      }
    }
    pieces.push(`${formatDim(s)} != ${formatDim(m)}`);
  }
  const unique = [...new Set(pieces)];
  const joiner = language === 'python' ? ' or ' : ' || ';
  const mismatch = unique.length > 1 ? `(${unique.join(joiner)})` : unique[0] ?? 'some values';
  if (ob.cond === true) return `\`${mismatch.replace(/^\((.*)\)$/, '$1')}\``;
  return `\`${describeCondition(ob.cond, flags, language)}\` and \`${mismatch}\``;
}

/** Which operand is the shortcut (fewer layers applied in this function), and what would project it. */
export function projectionPlan(ob: AddObservation): ProjectionPlan | undefined {
  const { leftShape, rightShape } = ob;
  if (!leftShape || !rightShape || leftShape.length !== rightShape.length) return undefined;
  const inside = (t: TensorValue) => t.trace.filter((a) => a.invocation === ob.invocation);
  const leftDepth = inside(ob.left).length;
  const rightDepth = inside(ob.right).length;
  if (leftDepth === rightDepth) return undefined;
  const shortcutIndex: 0 | 1 = leftDepth < rightDepth ? 0 : 1;
  const [shortcut, main] = shortcutIndex === 0 ? [ob.left, ob.right] : [ob.right, ob.left];
  const [sShape, mShape] = shortcutIndex === 0 ? [leftShape, rightShape] : [rightShape, leftShape];
  const rank = sShape.length;
  const mainLayers = inside(main).map((a) => a.layer);
  const convs = mainLayers.filter((l) => /^(Conv\dD|SeparableConv\dD|DepthwiseConv\dD|Dense)$/.test(l.type));
  const lastChannelLayer = [...mainLayers].reverse().find((l) => l.params.filters !== undefined || l.type === 'Dense');
  const strided = mainLayers.filter((l) => {
    const s = l.params.strides;
    if (s === undefined || s === null) return /Pooling/.test(l.type);
    const values = Array.isArray(s) ? s : [s];
    return values.some((v) => v !== 1);
  });
  let stride: Dim | null = 1;
  let stridesText: string | undefined;
  let strideDescription: string | undefined;
  let stridesTupleLength: number | undefined;
  const spatialDiffers = sShape.slice(1, -1).some((d, i) => d === null || mShape[i + 1] === null || !dimEquals(d, mShape[i + 1]!));
  if (spatialDiffers) {
    stride = null;
    if (strided.length === 1 && !/Pooling/.test(strided[0]!.type)) {
      const s = strided[0]!.params.strides;
      const values = (Array.isArray(s) ? s : [s]).map((v) => (typeof v === 'number' || (v && typeof v === 'object' && !Array.isArray(v)) ? (v as Dim) : null));
      stridesText = strided[0]!.argText.get('strides');
      if (Array.isArray(s)) stridesTupleLength = s.length;
      if (values.every((v) => v !== null && dimEquals(v, values[0]!))) stride = values[0]!;
      else if (values.every((v) => v !== null)) strideDescription = `(${values.map((v) => formatDim(v!)).join(', ')})`;
    } else stride = concreteRatio(sShape[1] ?? null, mShape[1] ?? null);
    // The projection only fits when a stride explains the whole change in size.
    if (stride !== null && !spatialMatchesStride(sShape, mShape, stride)) stride = null;
    if (stride !== null) strideDescription = stride === 1 ? undefined : stridesText && !isConcrete(stride) ? `\`${stridesText}\`` : formatDim(stride);
    if (stride === null && !strideDescription) stridesText = undefined;
  }
  return {
    shortcutIndex,
    observation: ob,
    main,
    shortcut,
    rank,
    inChannels: sShape[rank - 1] ?? null,
    outChannels: mShape[rank - 1] ?? null,
    stride,
    filtersText: lastChannelLayer?.argText.get(lastChannelLayer.type === 'Dense' ? 'units' : 'filters'),
    stridesText,
    stridesTupleLength,
    strideDescription,
    spatialDiffers,
    dense: lastChannelLayer?.type === 'Dense',
    conv: lastChannelLayer?.type === 'Dense' ? lastChannelLayer : convs.find((l) => /^Conv\dD$/.test(l.type)) ?? convs[0],
    norm: mainLayers.find((l) => l.type === 'BatchNormalization'),
  };
}

/** A 1x1 convolution with this stride takes the shortcut's spatial size to the main path's (symbolically or for small sizes). */
function spatialMatchesStride(shortcut: ShapeDim[], main: ShapeDim[], stride: Dim): boolean {
  for (let i = 1; i < shortcut.length - 1; i++) {
    const s = shortcut[i];
    const m = main[i];
    if (s === null || s === undefined || m === null || m === undefined) return false;
    const projected = floorDiv(add(s, sub(stride, 1)), stride);
    if (dimEquals(projected, m)) continue;
    if (isConcrete(projected) && isConcrete(m)) return false;
    // Symbolic sizes: equal for the values tried.
    const symbols = [...symbolsOf(projected), ...symbolsOf(m)];
    for (const v of [7, 8, 15, 16, 32, 224]) {
      const env = new Map(symbols.map((n) => [n, /stride|^s$/i.test(n) ? 2 : v]));
      if (evaluate(projected, env) !== evaluate(m, env)) return false;
    }
  }
  return true;
}

/** The stride that maps a concrete size onto another (ceil division), if there is one. */
function concreteRatio(from: ShapeDim, to: ShapeDim): Dim | null {
  if (typeof from !== 'number' || typeof to !== 'number' || to <= 0) return null;
  for (let s = 1; s <= 8; s++) if (Math.ceil(from / s) === to) return s;
  return null;
}

const samplesPerSearch = 1500;

/** Looks for values of the symbols, under the path condition, where the two shapes disagree. */
class WitnessSearch {
  constructor(private readonly flags: ReadonlySet<string>, private readonly loopSymbols: ReadonlySet<string>) {}

  private domain(name: string): number[] {
    const base = name.replace(/_\d+$/, '');
    if (base === 'batch') return [8];
    if (this.flags.has(name)) return [0, 1];
    if (this.loopSymbols.has(name)) return [0, 1, 2, 3];
    if (/stride|step|subsample|^s$/i.test(base)) return [1, 2, 3, 4];
    if (/kernel|^k$|ksize|pool|window/i.test(base)) return [1, 3, 5, 7];
    if (/^(H|W|L|D|T|d\d+)$/.test(base)) return [7, 8, 14, 15, 16, 28, 32, 56, 224];
    if (/^C$|filter|channel|plane|unit|dim|width|feature|embed|hidden|out|in_|inp|depth|size/i.test(base)) return [8, 16, 32, 64, 128, 256];
    return [1, 2, 3, 4, 8, 16, 32, 64];
  }

  private *assignments(symbols: string[]): Generator<Map<string, number>> {
    const domains = symbols.map((s) => this.domain(s));
    const total = domains.reduce((n, d) => n * d.length, 1);
    if (total <= samplesPerSearch) {
      const index = symbols.map(() => 0);
      for (let k = 0; k < total; k++) {
        yield new Map(symbols.map((s, i) => [s, domains[i]![index[i]!]!]));
        for (let i = 0; i < index.length; i++) {
          index[i]!++;
          if (index[i]! < domains[i]!.length) break;
          index[i] = 0;
        }
      }
      return;
    }
    // Too many combinations: a fixed pseudo-random sample, the same on every run.
    let seed = 12345;
    for (let k = 0; k < samplesPerSearch; k++) {
      yield new Map(symbols.map((s, i) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const d = domains[i]!;
        // The high bits: the low bits of this generator repeat with a short period.
        return [s, d[(seed >>> 16) % d.length]!];
      }));
    }
  }

  classify(ob: AddObservation): Classification {
    const [left, right] = ob.layerMerge ? alignForMerge(ob.leftShape, ob.rightShape) : [ob.leftShape, ob.rightShape];
    if (!left || !right) return { verdict: 'unknown' };
    const outcome = broadcast(left, right);
    const rank = Math.max(left.length, right.length);
    if (outcome.kind === 'same') return { verdict: 'ok' };
    if (outcome.kind === 'broadcast') {
      const axes = outcome.axes.filter((a) => a !== 0 || rank !== left.length || rank !== right.length);
      if (!axes.length || !this.satisfiable(ob.cond)) return { verdict: 'ok' };
      return { verdict: 'broadcast', axes };
    }
    if (outcome.kind === 'mismatch') {
      if (ob.cond === true) return { verdict: 'mismatch', definite: true, axes: outcome.axes, witness: undefined };
      return this.satisfiable(ob.cond) ? { verdict: 'mismatch', definite: false, axes: outcome.axes, witness: undefined } : { verdict: 'ok' };
    }
    return this.search(ob, left, right, rank);
  }

  private satisfiable(cond: Truth): boolean {
    if (cond === true) return true;
    if (cond === false) return false;
    for (const env of this.assignments([...condSymbols(cond)])) if (evaluateCond(cond, env) === true) return true;
    return false;
  }

  private search(ob: AddObservation, left: ShapeDim[], right: ShapeDim[], rank: number): Classification {
    const pairs: [number, Dim, Dim][] = [];
    for (let i = 0; i < rank; i++) {
      const a = left[left.length - rank + i];
      const b = right[right.length - rank + i];
      if (a === undefined || b === undefined || a === null || b === null || dimEquals(a, b)) continue;
      // Keras treats an unspecified batch size as compatible with any batch size.
      if (i === 0 && (isBatchDim(a) || isBatchDim(b))) continue;
      pairs.push([i, a, b]);
    }
    if (!pairs.length) return { verdict: 'ok' };
    const symbols = new Set<string>();
    for (const [, a, b] of pairs) {
      symbolsOf(a, symbols);
      symbolsOf(b, symbols);
    }
    condSymbols(ob.cond, symbols);
    let satisfied = 0;
    let bad = 0;
    const badAxes = new Set<number>();
    let witness: Assignment | undefined;
    for (const env of this.assignments([...symbols].sort())) {
      if (evaluateCond(ob.cond, env) !== true) continue;
      const values = pairs.map(([i, a, b]) => [i, evaluate(a, env), evaluate(b, env)] as const);
      if (values.some(([, x, y]) => Number.isNaN(x) || Number.isNaN(y) || x < 1 || y < 1)) continue;
      satisfied++;
      const failing = values.filter(([, x, y]) => x !== y && x !== 1 && y !== 1);
      if (failing.length) {
        bad++;
        for (const [i] of failing) badAxes.add(i);
        witness ??= env;
      }
    }
    if (bad === 0) return satisfied === 0 ? { verdict: 'unknown' } : { verdict: 'ok' };
    return { verdict: 'mismatch', definite: bad === satisfied && ob.cond === true, axes: [...badAxes].sort(), witness };
  }

  /** The two dims agree for every value tried once the given symbols are fixed. */
  equalWhen(a: Dim, b: Dim, cond: Truth, fixed: Map<string, number>): boolean {
    const symbols = new Set<string>();
    symbolsOf(a, symbols);
    symbolsOf(b, symbols);
    condSymbols(cond, symbols);
    for (const name of fixed.keys()) symbols.delete(name);
    let tried = 0;
    for (const env of this.assignments([...symbols].sort())) {
      const full = new Map([...env, ...fixed]);
      const x = evaluate(a, full);
      const y = evaluate(b, full);
      if (Number.isNaN(x) || Number.isNaN(y)) continue;
      tried++;
      if (x !== y) return false;
    }
    return tried > 0;
  }
}
