// Tensor shapes: a list of dims, where a dim the analyser could not work out is
// `null`, and a shape of unknown rank is `null` as a whole. Unknown never compares.
import { type Dim, add, dimEquals, dimKey, floorDiv, formatDim, isConcrete, mul } from './dim';

export type ShapeDim = Dim | null;
export type Shape = ShapeDim[] | null;

/** A dim's canonical text, `?` for an unknown one. */
export function shapeDimKey(d: ShapeDim): string {
  return d === null ? '?' : dimKey(d);
}

export function formatShape(shape: Shape): string {
  if (!shape) return '(?)';
  return `(${shape.map((d) => (d === null ? '?' : formatDim(d))).join(', ')}${shape.length === 1 ? ',' : ''})`;
}

export function normalizeAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

export function product(dims: readonly ShapeDim[]): ShapeDim {
  let total: Dim = 1;
  for (const d of dims) {
    if (d === null) return null;
    total = mul(total, d);
  }
  return total;
}

/** `view`/`reshape` with at most one -1: the -1 is the element count divided by the rest. */
export function reshape(input: Shape, target: ShapeDim[]): Shape {
  const holes = target.filter((d) => d === -1).length;
  if (holes === 0) return target;
  if (holes > 1 || !input) return target.map((d) => (d === -1 ? null : d));
  const total = product(input);
  const known = product(target.filter((d) => d !== -1));
  if (total === null || known === null) return target.map((d) => (d === -1 ? null : d));
  const inferred = isConcrete(total) && isConcrete(known) && known !== 0 && total % known !== 0 ? null : floorDiv(total, known);
  return target.map((d) => (d === -1 ? inferred : d));
}

export function flatten(input: Shape, startDim = 0, endDim = -1): Shape {
  if (!input) return null;
  const start = normalizeAxis(startDim, input.length);
  const end = normalizeAxis(endDim, input.length);
  if (input.length === 0) return [1];
  if (start === undefined || end === undefined || end < start) return null;
  return [...input.slice(0, start), product(input.slice(start, end + 1)), ...input.slice(end + 1)];
}

export function sumDims(dims: ShapeDim[]): ShapeDim {
  let total: Dim = 0;
  for (const d of dims) {
    if (d === null) return null;
    total = add(total, d);
  }
  return total;
}

export type BroadcastOutcome =
  | { kind: 'same'; shape: Shape }
  /** Legal, but a size-1 axis of one operand was stretched: axes lists them. */
  | { kind: 'broadcast'; shape: Shape; axes: number[] }
  | { kind: 'mismatch'; axes: number[] }
  /** Something involved is unknown or symbolic and not provably equal. */
  | { kind: 'undecided'; shape: Shape };

/**
 * PyTorch's broadcasting: shapes align from the right; equal dims pass, a 1 stretches,
 * anything else fails. Symbolic dims are equal only when their canonical forms are.
 */
export function broadcast(a: Shape, b: Shape): BroadcastOutcome {
  if (!a || !b) return { kind: 'undecided', shape: null };
  const rank = Math.max(a.length, b.length);
  const out: ShapeDim[] = [];
  const stretched: number[] = [];
  const mismatched: number[] = [];
  let undecided = false;
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i];
    const db = b[b.length - rank + i];
    if (da === undefined) { out.push(db ?? null); continue; }
    if (db === undefined) { out.push(da); continue; }
    if (da === null || db === null) { out.push(null); undecided = true; continue; }
    if (dimEquals(da, db)) { out.push(da); continue; }
    if (da === 1) { out.push(db); stretched.push(i); continue; }
    if (db === 1) { out.push(da); stretched.push(i); continue; }
    if (isConcrete(da) && isConcrete(db)) { mismatched.push(i); out.push(null); continue; }
    undecided = true;
    out.push(null);
  }
  if (mismatched.length) return { kind: 'mismatch', axes: mismatched };
  if (undecided) return { kind: 'undecided', shape: out };
  if (stretched.length) return { kind: 'broadcast', shape: out, axes: stretched };
  return { kind: 'same', shape: out };
}
