// Deciding symbolic shape comparisons without a solver: substitute what the path
// condition fixes (`stride == 1`), then look for a witness among small, plausible
// values of the remaining symbols. No witness found means "equal for every value
// tried", which is reported as nothing.
import { type Assignment, type Dim, evaluate, substitute, symbolName, symbolsOf } from './dim';
import { type Cond, condSymbols, evaluateCond } from './condition';
import type { Shape, ShapeDim } from './shape';

export type SymbolDomainRole = 'batch' | 'spatial' | 'sequence' | 'channels' | 'kernel' | 'param';

export interface PathFact {
  cond: Cond;
  taken: boolean;
  /** A layer's demand on its input (`C == dim`), assumed past it; not a branch to name. */
  implied?: true;
}

/** Values tried for a symbol. Wide domains look for any witness; typical ones for what users feed. */
export function domainFor(name: string, role: SymbolDomainRole, typical: boolean): number[] {
  switch (role) {
    case 'batch': return [2];
    case 'spatial': return typical ? [224, 32, 64] : [32, 7, 8, 14, 15, 16, 28, 31, 56, 64, 224];
    case 'sequence': return typical ? [16] : [16, 1, 7, 64];
    case 'channels': return typical ? [64] : [3, 16, 64];
    // Kernels are odd in practice, and `padding=k // 2` keeps the size only for odd k.
    case 'kernel': return [3, 1, 5, 7];
    case 'param': return paramDomain(name);
  }
}

function paramDomain(name: string): number[] {
  const n = name.toLowerCase();
  if (/stride/.test(n)) return [1, 2, 3];
  if (/dilation/.test(n)) return [1, 2];
  if (/kernel|^k$|ksize/.test(n)) return domainFor(name, 'kernel', false);
  if (/pad/.test(n)) return [0, 1, 2];
  if (/group/.test(n)) return [1, 2, 4];
  if (/head/.test(n)) return [1, 2, 4, 8];
  if (/expansion|ratio|factor|mult|scale/.test(n)) return [1, 2, 4];
  if (/^num_|depth|layers|blocks|^n_?layer/.test(n)) return [1, 2, 3];
  return [64, 8, 16, 32, 128, 256];
}

/** Equalities the path fixes (`x == e` taken, `x != e` not taken, through and/or), as substitutions. */
export function pathEqualities(path: readonly PathFact[]): Map<string, Dim> {
  const values = new Map<string, Dim>();
  const visit = (cond: Cond, holds: boolean): void => {
    if (cond.kind === 'not') return visit(cond.item, !holds);
    if ((cond.kind === 'and' && holds) || (cond.kind === 'or' && !holds)) {
      for (const item of cond.items) visit(item, holds);
      return;
    }
    if (cond.kind !== 'cmp') return;
    const isEquality = (cond.op === '==' && holds) || (cond.op === '!=' && !holds);
    if (!isEquality) return;
    const left = substitute(cond.left, values);
    const right = substitute(cond.right, values);
    const l = symbolName(left);
    const r = symbolName(right);
    if (l && !symbolsOf(right).has(l)) values.set(l, right);
    else if (r && !symbolsOf(left).has(r)) values.set(r, left);
  };
  for (const fact of path) visit(fact.cond, fact.taken);
  return values;
}

export function substituteShape(shape: Shape, values: ReadonlyMap<string, Dim>): Shape {
  if (!shape || values.size === 0) return shape;
  return shape.map((d) => (d === null ? null : substitute(d, values)));
}

export interface Witness {
  assignment: Map<string, number>;
  /** Right-aligned axes (of the longer shape) that differ and cannot broadcast. */
  axes: number[];
}

/** Axes where two concrete shapes cannot broadcast; undefined when some dim is unknown or not positive. */
export function clashingAxes(a: (number | null)[], b: (number | null)[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const axes: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i];
    const db = b[b.length - rank + i];
    if (da === undefined || db === undefined) continue;
    if (da === null || db === null) continue; // an unknown axis is never a clash
    if (Number.isNaN(da) || Number.isNaN(db)) return undefined;
    if (da < 1 || db < 1) return undefined;
    if (da !== db && da !== 1 && db !== 1) axes.push(i);
  }
  return axes;
}

/** Every axis that both shapes have (right-aligned) is equal or unknown. */
function sameAlignedDims(a: (number | null)[], b: (number | null)[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 1; i <= n; i++) {
    const da = a[a.length - i];
    const db = b[b.length - i];
    if (da !== null && db !== null && da !== db) return false;
  }
  return true;
}

function evaluateShape(shape: ShapeDim[], env: Assignment): (number | null)[] {
  return shape.map((d) => (d === null ? null : evaluate(d, env)));
}

/**
 * Looks for values of the symbols that satisfy the path and make the shapes clash.
 * Exhaustive over small domains, otherwise a fixed pseudo-random sample.
 */
export function findWitness(left: ShapeDim[], right: ShapeDim[], path: readonly PathFact[], roles: ReadonlyMap<string, SymbolDomainRole>, typical: boolean, maxTries = 3000): Witness | undefined {
  return search(left, right, path, roles, typical, maxTries, 'some');
}

/**
 * A clash for every value tried that satisfies the path (at least one): how a concrete
 * model with an unspecified input size is judged, since the model may require one size.
 */
export function clashForEveryInput(left: ShapeDim[], right: ShapeDim[], path: readonly PathFact[], roles: ReadonlyMap<string, SymbolDomainRole>): Witness | undefined {
  return search(left, right, path, roles, false, 3000, 'every');
}

function search(left: ShapeDim[], right: ShapeDim[], path: readonly PathFact[], roles: ReadonlyMap<string, SymbolDomainRole>, typical: boolean, maxTries: number, mode: 'some' | 'every'): Witness | undefined {
  const symbols = new Set<string>();
  for (const d of [...left, ...right]) if (d !== null) symbolsOf(d, symbols);
  for (const fact of path) condSymbols(fact.cond, symbols);
  const names = [...symbols].sort();
  const domains = names.map((n) => domainFor(n, roles.get(n) ?? 'param', typical));
  const total = domains.reduce((p, d) => p * d.length, 1);
  const env = new Map<string, number>();
  let first: Witness | undefined;
  let feasible = 0;
  let agreed = false;
  // In 'every' mode a feasible assignment without a clash ends the search.
  const test = (): Witness | undefined => {
    // An opaque test (`downsample is None`) can go either way.
    for (const fact of path) {
      const holds = evaluateCond(fact.cond, env);
      if (holds !== undefined && holds !== fact.taken) return undefined;
    }
    const l = evaluateShape(left, env);
    const r = evaluateShape(right, env);
    const axes = clashingAxes(l, r);
    if (axes === undefined) return undefined;
    feasible++;
    const witness = axes.length ? { assignment: new Map(env), axes } : undefined;
    if (mode === 'every') {
      // A size-1 axis that broadcasts (a stride-2 path on a tiny input) is no agreement:
      // only equal shapes say the model may be right for some input size.
      if (!witness && sameAlignedDims(l, r)) agreed = true;
      first ??= witness;
      return undefined;
    }
    return witness;
  };
  const done = (): Witness | undefined => (mode === 'every' && !agreed && feasible > 0 ? first : undefined);
  if (total <= maxTries) {
    const idx = names.map(() => 0);
    for (let k = 0; k < total; k++) {
      names.forEach((n, i) => env.set(n, domains[i]![idx[i]!]!));
      const w = test();
      if (w) return w;
      if (agreed) return undefined;
      for (let i = 0; i < idx.length; i++) {
        idx[i]!++;
        if (idx[i]! < domains[i]!.length) break;
        idx[i] = 0;
      }
    }
    return done();
  }
  let seed = 0x2545f491;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  for (let k = 0; k < maxTries; k++) {
    names.forEach((n, i) => {
      const d = domains[i]!;
      env.set(n, k === 0 ? d[0]! : d[next() % d.length]!);
    });
    const w = test();
    if (w) return w;
    if (agreed) return undefined;
  }
  return done();
}
