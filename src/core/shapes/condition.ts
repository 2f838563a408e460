// Symbolic truth values: comparisons between dims, combined with and/or/not, and
// opaque tests the interpreter cannot decide (`downsample is not None` on an
// unknown argument). Paths through `if` statements are conjunctions of these.
import { type Assignment, type Dim, dimEquals, evaluate, formatDim, isConcrete, sub, symbolsOf } from './dim';

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Cond =
  | { kind: 'cmp'; op: CompareOp; left: Dim; right: Dim }
  | { kind: 'and' | 'or'; items: Cond[] }
  | { kind: 'not'; item: Cond }
  | { kind: 'opaque'; text: string };

export type Truth = boolean | Cond;

const negatedOp: Record<CompareOp, CompareOp> = { '==': '!=', '!=': '==', '<': '>=', '<=': '>', '>': '<=', '>=': '<' };

function compareNumbers(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case '==': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
  }
}

export function compare(op: CompareOp, left: Dim, right: Dim): Truth {
  if (isConcrete(left) && isConcrete(right)) return compareNumbers(op, left, right);
  const difference = sub(left, right);
  if (isConcrete(difference)) return compareNumbers(op, difference, 0);
  if (dimEquals(left, right)) return op === '==' || op === '<=' || op === '>=';
  return { kind: 'cmp', op, left, right };
}

export function not(t: Truth): Truth {
  if (typeof t === 'boolean') return !t;
  if (t.kind === 'cmp') return { ...t, op: negatedOp[t.op] };
  if (t.kind === 'not') return t.item;
  if (t.kind === 'and' || t.kind === 'or') return { kind: t.kind === 'and' ? 'or' : 'and', items: t.items.map((i) => not(i) as Cond) };
  return { kind: 'not', item: t };
}

export function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  if (a === true) return b;
  if (b === true) return a;
  return { kind: 'and', items: [a, b] };
}

export function or(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  if (a === false) return b;
  if (b === false) return a;
  return { kind: 'or', items: [a, b] };
}

/** True, false, or undefined when the condition mentions an opaque test. */
export function evaluateCond(c: Truth, env: Assignment): boolean | undefined {
  if (typeof c === 'boolean') return c;
  switch (c.kind) {
    case 'cmp': {
      const a = evaluate(c.left, env);
      const b = evaluate(c.right, env);
      if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
      return compareNumbers(c.op, a, b);
    }
    case 'not': {
      const v = evaluateCond(c.item, env);
      return v === undefined ? undefined : !v;
    }
    case 'and':
    case 'or': {
      let unknown = false;
      for (const item of c.items) {
        const v = evaluateCond(item, env);
        if (v === undefined) unknown = true;
        else if (v === (c.kind === 'or')) return v;
      }
      return unknown ? undefined : c.kind === 'and';
    }
    case 'opaque':
      return undefined;
  }
}

export function hasOpaque(c: Truth): boolean {
  if (typeof c === 'boolean') return false;
  if (c.kind === 'opaque') return true;
  if (c.kind === 'not') return hasOpaque(c.item);
  if (c.kind === 'cmp') return false;
  return c.items.some(hasOpaque);
}

export function condSymbols(c: Truth, into = new Set<string>()): Set<string> {
  if (typeof c === 'boolean') return into;
  if (c.kind === 'cmp') {
    symbolsOf(c.left, into);
    symbolsOf(c.right, into);
  } else if (c.kind === 'not') condSymbols(c.item, into);
  else if (c.kind === 'and' || c.kind === 'or') for (const i of c.items) condSymbols(i, into);
  return into;
}

export function formatCond(c: Truth, parent?: 'and' | 'or'): string {
  if (typeof c === 'boolean') return c ? 'True' : 'False';
  switch (c.kind) {
    case 'cmp': return `${formatDim(c.left)} ${c.op} ${formatDim(c.right)}`;
    case 'not': return `not (${formatCond(c.item)})`;
    case 'opaque': return c.text;
    case 'and':
    case 'or': {
      const text = c.items.map((i) => formatCond(i, c.kind as 'and' | 'or')).join(` ${c.kind} `);
      return parent && parent !== c.kind ? `(${text})` : text;
    }
  }
}
