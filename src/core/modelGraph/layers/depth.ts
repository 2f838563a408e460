// Which argument sets a layers model's depth, and the values of its shallower and deeper
// versions. Either a parameter of the builder (`depth`, `num_blocks=[2, 2, 2, 2]`, or one
// that bounds a `for ... in range(...)`), or, when the builder passes literal counts down,
// the loop-bounding parameter of a helper at each call (`stack1(x, 64, 3)`, ... → `blocks`).
import { isConcrete } from '../../shapes/dim';
import type { Expr, FunctionDef, Stmt } from '../../keras/syntax';
import { type Value, intValue } from '../../keras/values';
import type { ArgumentBinding } from './recorder';

export interface DepthChoice {
  param: string;
  /** What the file gives: `3`, `[3, 4, 6, 3]`. */
  valueText: string;
  /** The argument bindings to change in a re-run, each with the count (or counts) it had. */
  sites: { key: string; counts: number[]; list: 'list' | 'tuple' | undefined }[];
  /** `depth=20` of a CIFAR ResNet counts layers (6n + 2, Wide ResNet 6n + 4), not blocks. */
  layerCount: boolean;
}

const depthNames = /^(depths?|n_?layers?|num_?layers|(num|n)_?(res_?)?blocks(_per_stage)?|blocks(_per_stage)?|stack_sizes?|block_counts?|layers_per_stage|num_stacks|repeats|num_repeats|n_?repeats)$/i;

/** Parameter names used in a loop bound (`range(2, blocks + 1)`, `i < blocks`), outside `len(...)`. */
function loopBoundNames(stmts: Stmt[], into: Set<string>): void {
  const names = (e: Expr | undefined): void => {
    if (!e) return;
    switch (e.k) {
      case 'name': into.add(e.name); return;
      case 'call':
        if (e.func.k === 'name' && e.func.name === 'len') return;
        if (e.func.k === 'attr' && e.func.name === 'length') return;
        e.args.forEach((a) => names(a.value));
        return;
      case 'attr': if (e.name !== 'length') names(e.obj); return;
      case 'binop': names(e.left); names(e.right); return;
      case 'unop': names(e.operand); return;
      case 'compare': e.operands.forEach(names); return;
      default: return;
    }
  };
  for (const s of stmts) {
    switch (s.k) {
      case 'for':
        if (s.iter.k === 'call' && s.iter.func.k === 'name' && s.iter.func.name === 'range') names(s.iter);
        loopBoundNames(s.body, into);
        break;
      case 'cfor': names(s.test); loopBoundNames(s.body, into); break;
      case 'if': loopBoundNames(s.body, into); loopBoundNames(s.orelse, into); break;
      case 'block': loopBoundNames(s.body, into); break;
      case 'def': loopBoundNames(s.def.body, into); break;
      default: break;
    }
  }
}

function counts(value: Value): { counts: number[]; list: 'list' | 'tuple' | undefined } | undefined {
  if (value.t === 'int' && isConcrete(value.v) && value.v >= 1) return { counts: [value.v], list: undefined };
  if ((value.t === 'list' || value.t === 'tuple') && value.items.length > 0) {
    const items = value.items.map((v) => (v.t === 'int' && isConcrete(v.v) && v.v >= 1 ? v.v : undefined));
    if (items.every((v) => v !== undefined)) return { counts: items as number[], list: value.t };
  }
  return undefined;
}

function formatCounts(c: number[], list: 'list' | 'tuple' | undefined): string {
  return list ? `[${c.join(', ')}]` : String(c[0]);
}

export function findDepthParameter(
  builder: FunctionDef | undefined,
  bindings: ArgumentBinding[],
  moduleLevel?: { statements: Stmt[]; assignments: { name: string; key: string; value: Value }[] },
): DepthChoice | undefined {
  const bound = new Set<string>();
  if (builder) loopBoundNames(builder.body, bound);
  for (const param of builder?.params ?? []) {
    if (!depthNames.test(param.name) && !bound.has(param.name)) continue;
    const binding = bindings.find((b) => b.def === builder && b.param === param.name);
    const c = binding ? counts(binding.value) : undefined;
    if (!binding || !c) continue;
    return { param: param.name, valueText: formatCounts(c.counts, c.list), sites: [{ key: binding.key, ...c }], layerCount: /^depth$/i.test(param.name) && !c.list };
  }
  // A module-level model: a module variable that bounds a loop of the module's code, or is named like a depth.
  if (!builder && moduleLevel) {
    const moduleBound = new Set<string>();
    loopBoundNames(moduleLevel.statements.filter((s) => s.k !== 'def' && s.k !== 'class'), moduleBound);
    for (const assignment of moduleLevel.assignments) {
      if (!depthNames.test(assignment.name) && !moduleBound.has(assignment.name)) continue;
      const c = counts(assignment.value);
      if (!c) continue;
      return { param: assignment.name, valueText: formatCounts(c.counts, c.list), sites: [{ key: assignment.key, ...c }], layerCount: /^depth$/i.test(assignment.name) && !c.list };
    }
  }
  // Helpers whose loop count is a parameter, bound with plain numbers: the most used one.
  const loopParams = new Map<FunctionDef, Set<string>>();
  const groups = new Map<string, { param: string; bindings: { key: string; count: number }[] }>();
  for (const b of bindings) {
    if (b.def === builder) continue;
    let params = loopParams.get(b.def);
    if (!params) {
      params = new Set();
      loopBoundNames(b.def.body, params);
      loopParams.set(b.def, params);
    }
    if (!params.has(b.param)) continue;
    const c = counts(b.value);
    if (!c || c.list) continue;
    const id = `${b.def.span.start}:${b.param}`;
    const group = groups.get(id) ?? { param: b.param, bindings: [] };
    group.bindings.push({ key: b.key, count: c.counts[0]! });
    groups.set(id, group);
  }
  let best: { param: string; bindings: { key: string; count: number }[] } | undefined;
  for (const g of groups.values()) if (!best || g.bindings.length > best.bindings.length) best = g;
  if (!best) return undefined;
  const values = best.bindings.map((b) => b.count);
  return {
    param: best.param,
    valueText: values.length === 1 ? String(values[0]) : `[${values.join(', ')}]`,
    sites: best.bindings.map((b) => ({ key: b.key, counts: [b.count], list: undefined })),
    layerCount: false,
  };
}

/** How the counts are scaled, in the order tried: a third of the blocks (at least one), else half; twice as many. */
export const depthScales: Readonly<Record<'shallower' | 'deeper', readonly number[]>> = { shallower: [1 / 3, 1 / 2], deeper: [2] };

/** Layer counts of the usual residual families: CIFAR ResNet 6n + 2, Wide ResNet 6n + 4, bottleneck ResNet 9n + 2. */
const layerCountForms: readonly [number, number][] = [[6, 2], [6, 4], [9, 2]];

function scaleCount(count: number, factor: number, layerCount: boolean): number {
  const form = layerCount ? layerCountForms.find(([per, extra]) => count >= per + extra && (count - extra) % per === 0) : undefined;
  if (form) {
    const [per, extra] = form;
    return per * scaleCount((count - extra) / per, factor, false) + extra;
  }
  return Math.max(1, Math.round(count * factor));
}

export function depthOverrides(choice: DepthChoice, factor: number): { values: Map<string, Value>; text: string } | undefined {
  const values = new Map<string, Value>();
  const texts: string[] = [];
  let changed = false;
  for (const site of choice.sites) {
    const scaled = site.counts.map((c) => scaleCount(c, factor, choice.layerCount));
    if (scaled.some((c, i) => c !== site.counts[i])) changed = true;
    const value: Value = site.list ? { t: site.list, items: scaled.map((c) => intValue(c)) } : intValue(scaled[0]!);
    values.set(site.key, value);
    texts.push(site.list ? `[${scaled.join(', ')}]` : String(scaled[0]));
  }
  if (!changed) return undefined;
  return { values, text: texts.length === 1 ? texts[0]! : `[${texts.join(', ')}]` };
}
