// Helpers over the shared symbolic conditions: conjunctions that notice a test and
// its negation, and the text of a condition as the user wrote its parameters.
import { type Truth, and, formatCond, not } from '../shapes/condition';

function conjuncts(t: Truth, into: Truth[] = []): Truth[] {
  if (typeof t !== 'boolean' && t.kind === 'and') for (const item of t.items) conjuncts(item, into);
  else into.push(t);
  return into;
}

/** `a and b`, false when one conjunct is the negation of another, without duplicates. */
export function conjoin(a: Truth, b: Truth): Truth {
  const combined = and(a, b);
  if (typeof combined === 'boolean') return combined;
  const items = conjuncts(combined);
  const keys = new Set<string>();
  const kept: Truth[] = [];
  for (const item of items) {
    if (item === false) return false;
    if (item === true) continue;
    const key = formatCond(item);
    if (keys.has(key)) continue;
    keys.add(key);
    kept.push(item);
  }
  for (const item of kept) if (keys.has(formatCond(not(item)))) return false;
  if (kept.length === 0) return true;
  return kept.reduce((acc, item) => and(acc, item));
}

/** Python-like text, with flags written as flags: `not conv_shortcut`, not `conv_shortcut == 0`. */
export function describeCondition(t: Truth, flags: ReadonlySet<string>, language: 'python' | 'script'): string {
  let text = formatCond(t);
  for (const flag of flags) {
    const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    text = text
      .replace(new RegExp(`\\b${escaped} != 0\\b`, 'g'), flag)
      .replace(new RegExp(`\\b${escaped} == 0\\b`, 'g'), language === 'python' ? `not ${flag}` : `!${flag}`);
  }
  if (language === 'script') text = text.replace(/\band\b/g, '&&').replace(/\bor\b/g, '||').replace(/\bnot \(/g, '!(').replace(/\/\//g, '/');
  return text;
}
