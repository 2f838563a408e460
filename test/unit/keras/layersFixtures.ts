// Shared by the Keras and TF.js fixture tests and the benchmark: analyses a file the
// way the server does and reads its expected findings, written as trailing comments
// on the addition's line (`# expect: ...` in Python, `// expect: ...` in TS/JS), the
// same convention as the PyTorch fixtures.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeDocument, defaultAnalysisOptions, type AnalysisOptions, type AnalysisResult } from '../../../src/core/analysis';
import { registerBuiltinCheckers } from '../../../src/core/checkers';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import type { DocumentTrees } from '../../../src/core/parse/documentTrees';
import { grammarsDir } from '../../support/paths';

registerBuiltinCheckers();
let grammars: Promise<Grammars> | undefined;
export function loadLayersGrammars(): Promise<Grammars> {
  grammars ??= Grammars.load(grammarsDir);
  return grammars;
}

/** `trees`: parse incrementally from the file's previous tree, as the server does for open documents. */
export function analyzeFile(g: Grammars, path: string, text: string, options: Partial<AnalysisOptions> = {}, trees?: DocumentTrees): AnalysisResult {
  const grammar = grammarFor(path);
  if (!grammar) throw new Error(`no grammar for ${path}`);
  return analyzeDocument({ uri: path, grammar, text }, g, { ...defaultAnalysisOptions, ...options }, trees);
}

export interface LayersExpectation {
  line: number;
  severity: string;
  rule: string;
  kind?: string;
  messageIncludes?: string;
}

/** `# expect: error residual-shape-mismatch channels "in `block(x, 32, stride=2)`"`, or with `//`. */
export function readLayersExpectations(text: string): LayersExpectation[] {
  const out: LayersExpectation[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /(?:#|\/\/)\s*expect:\s*(error|warning)\s+([\w-]+)(?:\s+(channels|spatial|both|other))?(?:\s+"([^"]*)")?/.exec(line);
    if (m) out.push({ line: i, severity: m[1]!, rule: m[2]!, ...(m[3] ? { kind: m[3] } : {}), ...(m[4] ? { messageIncludes: m[4] } : {}) });
  });
  return out;
}

export function listFixtures(dir: string, extensions: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => extensions.some((e) => f.endsWith(e)))
    .map((f) => join(dir, f))
    .sort();
}

/** Applies non-overlapping edits (0-based lines, UTF-16 columns), last first. */
export function applyTextEdits(text: string, edits: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[]): string {
  const lines = text.split('\n');
  const offsetOf = (line: number, character: number): number => {
    let offset = 0;
    for (let i = 0; i < line; i++) offset += lines[i]!.length + 1;
    return offset + character;
  };
  const sorted = [...edits].sort((a, b) => offsetOf(b.range.start.line, b.range.start.character) - offsetOf(a.range.start.line, a.range.start.character));
  let result = text;
  for (const e of sorted) {
    result = result.slice(0, offsetOf(e.range.start.line, e.range.start.character)) + e.newText + result.slice(offsetOf(e.range.end.line, e.range.end.character));
  }
  return result;
}
