// Small text helpers shared by the Keras and TF.js projection fixes.
import type { SourcePosition } from '../diagnostic';

/** Splits an argument list on its top-level commas (ignoring those inside brackets and strings). */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) parts.push(last);
  return parts;
}

/** The text between a call's outer parentheses: `Conv2D(64, 3)` → `64, 3`. */
export function callArguments(callText: string): string | undefined {
  const open = callText.indexOf('(');
  if (open < 0 || !callText.endsWith(')')) return undefined;
  return callText.slice(open + 1, -1);
}

export function lineText(text: string, line: number): string {
  let start = 0;
  for (let i = 0; i < line; i++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return '';
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
}

export function lineStart(line: number): SourcePosition {
  return { line, character: 0 };
}

/** A name not used as a word anywhere in `scope`: the first candidate, else numbered. */
export function freshName(candidates: string[], scope: string): string {
  const used = (name: string) => new RegExp(`\\b${name}\\b`).test(scope);
  for (const c of candidates) if (!used(c)) return c;
  for (let i = 2; ; i++) if (!used(`${candidates[0]}${i}`)) return `${candidates[0]}${i}`;
}

/** The file's indentation step: the smallest indentation of any line, else 4 spaces (Python) or 2 (TS/JS). */
export function indentUnit(text: string, language: 'python' | 'script'): string {
  let smallest: string | undefined;
  for (const m of text.matchAll(/^([ \t]+)\S/gm)) {
    const ws = m[1]!;
    if (ws.includes('\t')) return '\t';
    if (!smallest || ws.length < smallest.length) smallest = ws;
  }
  return smallest ?? (language === 'python' ? '    ' : '  ');
}
