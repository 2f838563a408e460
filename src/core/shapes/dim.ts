// Symbolic tensor dimensions. A dim is either a plain integer (the fast, common
// case) or a polynomial with integer coefficients over symbols and floor-division
// atoms, kept in one canonical form so that equal expressions compare equal by key.

/** A sum of monomials; the empty monomial key '' is the constant term. */
export interface Poly {
  readonly terms: ReadonlyMap<string, number>;
  /** Canonical text, identical for equal polynomials. */
  readonly key: string;
}

export type Dim = number | Poly;

interface FloorAtom {
  num: Poly;
  den: Poly;
}

// Floor atoms are interned by their canonical key, so monomials can name them by key.
const floorAtoms = new Map<string, FloorAtom>();
const floorPrefix = '⌊';

function makePoly(terms: Map<string, number>): Poly {
  for (const [m, c] of terms) if (c === 0) terms.delete(m);
  const keys = [...terms.keys()].sort();
  const key = keys.map((m) => `${terms.get(m)}${m ? '·' + m : ''}`).join('+');
  return { terms, key };
}

function constPoly(n: number): Poly {
  return makePoly(new Map([['', n]]));
}

export function symbol(name: string): Poly {
  return makePoly(new Map([[name, 1]]));
}

export function isConcrete(d: Dim): d is number {
  return typeof d === 'number';
}

function toPoly(d: Dim): Poly {
  return typeof d === 'number' ? constPoly(d) : d;
}

/** Back to a plain number when the polynomial is constant. */
function simplify(p: Poly): Dim {
  if (p.terms.size === 0) return 0;
  if (p.terms.size === 1 && p.terms.has('')) return p.terms.get('')!;
  return p;
}

export function add(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const terms = new Map(toPoly(a).terms);
  for (const [m, c] of toPoly(b).terms) terms.set(m, (terms.get(m) ?? 0) + c);
  return simplify(makePoly(terms));
}

export function neg(a: Dim): Dim {
  if (typeof a === 'number') return -a;
  const terms = new Map<string, number>();
  for (const [m, c] of a.terms) terms.set(m, -c);
  return simplify(makePoly(terms));
}

export function sub(a: Dim, b: Dim): Dim {
  return add(a, neg(b));
}

function mulMonomials(a: string, b: string): string {
  if (!a) return b;
  if (!b) return a;
  return [...a.split('*'), ...b.split('*')].sort().join('*');
}

export function mul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  const terms = new Map<string, number>();
  for (const [ma, ca] of toPoly(a).terms) {
    for (const [mb, cb] of toPoly(b).terms) {
      const m = mulMonomials(ma, mb);
      terms.set(m, (terms.get(m) ?? 0) + ca * cb);
    }
  }
  return simplify(makePoly(terms));
}

function floorDivInt(a: number, b: number): number {
  return Math.floor(a / b);
}

/** The factors of a monomial less those of a divisor, or undefined when it does not divide. */
function withoutFactors(factors: string[], divisor: string[]): string[] | undefined {
  const left = factors.slice();
  for (const f of divisor) {
    const i = left.indexOf(f);
    if (i < 0) return undefined;
    left.splice(i, 1);
  }
  return left;
}

/** Python's `a // b`, simplified: exact multiples of the divisor are pulled out of the atom. */
export function floorDiv(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return b === 0 ? Number.NaN : floorDivInt(a, b);
  if (b === 1) return a;
  const num = toPoly(a);
  if (typeof b === 'number') {
    if (b <= 0) return atom(num, constPoly(b));
    // floor((k·Q + R) / k) = Q + floor(R / k) for integer-valued Q.
    const quotient = new Map<string, number>();
    const rest = new Map<string, number>();
    for (const [m, c] of num.terms) {
      const q = floorDivInt(c, b);
      const r = c - q * b;
      if (q) quotient.set(m, q);
      if (r) rest.set(m, r);
    }
    const restPoly = makePoly(rest);
    const restDim = simplify(restPoly);
    const q = simplify(makePoly(quotient));
    if (restDim === 0) return q;
    // A constant remainder lies in [0, b): its floor is 0.
    if (typeof restDim === 'number') return q;
    return add(q, atom(restPoly, constPoly(b)));
  }
  // A one-monomial divisor (`heads`, `B * N * heads`, `2 * k`): pull out every term it
  // divides exactly, as floor((D·Q + R) / D) = Q + floor(R / D) for integer Q.
  if (b.terms.size === 1) {
    const [[dm, dc]] = [...b.terms];
    if (dm && dc >= 1 && !dm.includes(floorPrefix)) {
      const divisorFactors = dm.split('*');
      const quotient = new Map<string, number>();
      const rest = new Map<string, number>();
      for (const [m, c] of num.terms) {
        const left = c % dc === 0 ? withoutFactors(m ? m.split('*') : [], divisorFactors) : undefined;
        if (left === undefined) {
          rest.set(m, c);
          continue;
        }
        const qm = left.join('*');
        quotient.set(qm, (quotient.get(qm) ?? 0) + c / dc);
      }
      const restPoly = makePoly(rest);
      const q = simplify(makePoly(quotient));
      if (restPoly.terms.size === 0) return q;
      if (quotient.size === 0) return atom(num, b);
      return add(q, atom(restPoly, b));
    }
  }
  return atom(num, b);
}

/** Ceil division for a positive divisor, as `(a + b - 1) // b` so it shares atoms with conv sizes. */
export function ceilDiv(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return b === 0 ? Number.NaN : -Math.floor(-a / b);
  return floorDiv(add(a, sub(b, 1)), b);
}

export function mod(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return b === 0 ? Number.NaN : a - floorDivInt(a, b) * b;
  return sub(a, mul(b, floorDiv(a, b)));
}

function atom(num: Poly, den: Poly): Poly {
  const key = `${floorPrefix}${num.key}/${den.key}⌋`;
  if (!floorAtoms.has(key)) floorAtoms.set(key, { num, den });
  return symbol(key);
}

/** A dim's canonical text: equal for equal dims. */
export function dimKey(d: Dim): string {
  return typeof d === 'number' ? String(d) : d.key;
}

/** `k` for a dim that is one symbol alone, not `2 * k`, `k * n` or `k // 2`. */
export function symbolName(d: Dim): string | undefined {
  if (typeof d === 'number' || d.terms.size !== 1) return undefined;
  const [[m, c]] = [...d.terms];
  return c === 1 && m && !m.includes('*') && !m.startsWith(floorPrefix) ? m : undefined;
}

export function dimEquals(a: Dim, b: Dim): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a.key === b.key;
}

// The rules ask every observed shape for its symbols; polynomials are immutable, so they are listed once.
const polySymbols = new WeakMap<Poly, readonly string[]>();

/** The symbols (not floor atoms) a dim mentions. */
export function symbolsOf(d: Dim, into = new Set<string>()): Set<string> {
  if (typeof d === 'number') return into;
  let symbols = polySymbols.get(d);
  if (symbols === undefined) {
    symbols = [...collectSymbols(d, new Set())];
    polySymbols.set(d, symbols);
  }
  for (const name of symbols) into.add(name);
  return into;
}

function collectSymbols(d: Poly, into: Set<string>): Set<string> {
  for (const m of d.terms.keys()) {
    if (!m) continue;
    for (const factor of m.split('*')) {
      const fa = floorAtoms.get(factor);
      if (fa) {
        symbolsOf(fa.num, into);
        symbolsOf(fa.den, into);
      } else {
        into.add(factor);
      }
    }
  }
  return into;
}

export type Assignment = ReadonlyMap<string, number>;

/** A monomial's coefficient and factors: symbol names and floor atoms, read once from its key. */
interface EvaluationTerm {
  coefficient: number;
  factors: (string | FloorAtom)[];
}

// The witness search evaluates the same few polynomials thousands of times per addition:
// their monomial keys are split and their floor atoms looked up once.
const evaluationTerms = new WeakMap<Poly, EvaluationTerm[]>();

function termsForEvaluation(d: Poly): EvaluationTerm[] {
  let terms = evaluationTerms.get(d);
  if (terms === undefined) {
    terms = [];
    for (const [m, c] of d.terms) terms.push({ coefficient: c, factors: m ? m.split('*').map((factor) => floorAtoms.get(factor) ?? factor) : [] });
    evaluationTerms.set(d, terms);
  }
  return terms;
}

/** The dim's value under an assignment of every symbol; NaN when a symbol is missing or a divisor is 0. */
export function evaluate(d: Dim, env: Assignment): number {
  if (typeof d === 'number') return d;
  let total = 0;
  for (const term of termsForEvaluation(d)) {
    let product = term.coefficient;
    for (const factor of term.factors) {
      const v = typeof factor === 'string' ? env.get(factor) : floorDivInt(evaluate(factor.num, env), evaluate(factor.den, env));
      if (v === undefined || !Number.isFinite(v)) return Number.NaN;
      product *= v;
    }
    total += product;
  }
  return total;
}

/** Replaces symbols by dims (for equalities known on a path). */
export function substitute(d: Dim, values: ReadonlyMap<string, Dim>): Dim {
  if (typeof d === 'number' || values.size === 0) return d;
  let total: Dim = 0;
  for (const [m, c] of d.terms) {
    let product: Dim = c;
    if (m) {
      for (const factor of m.split('*')) {
        const fa = floorAtoms.get(factor);
        const v: Dim = fa ? floorDiv(substitute(fa.num, values), substitute(fa.den, values)) : values.get(factor) ?? symbol(factor);
        product = mul(product, v);
      }
    }
    total = add(total, product);
  }
  return total;
}

function monomialText(m: string): string {
  return m
    .split('*')
    .map((factor) => {
      const fa = floorAtoms.get(factor);
      if (!fa) return factor;
      const num = formatDim(fa.num);
      const den = formatDim(fa.den);
      return `(${fa.num.terms.size > 1 ? `(${num})` : num} // ${fa.den.terms.size > 1 ? `(${den})` : den})`;
    })
    .join(' * ');
}

// Shapes are printed for every hover and message; polynomials are immutable, so their text is kept.
const formatted = new WeakMap<Poly, string>();

/** Python-like text: `planes * 4`, `(H - 1) // 2 + 1`. Monomials first, constant last. */
export function formatDim(d: Dim): string {
  if (typeof d === 'number') return String(d);
  let text = formatted.get(d);
  if (text === undefined) {
    text = formatPoly(d);
    formatted.set(d, text);
  }
  return text;
}

function formatPoly(d: Poly): string {
  const entries = [...d.terms].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  let text = '';
  for (const [m, c] of entries) {
    const magnitude = Math.abs(c);
    let body: string;
    if (!m) body = String(magnitude);
    else {
      const mt = monomialText(m);
      const simple = mt.startsWith('((') && mt.endsWith(')') && !mt.includes(' * ') ? mt.slice(1, -1) : mt;
      body = magnitude === 1 ? simple : `${simple} * ${magnitude}`;
    }
    if (!text) text = c < 0 ? `-${body}` : body;
    else text += c < 0 ? ` - ${body}` : ` + ${body}`;
  }
  return text || '0';
}
