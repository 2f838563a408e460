// Shared by the fixture tests, the ground-truth test and the benchmark: loads the
// grammars once, analyses a file the way the server does, and reads the
// `# expect:` comments that every fixture carries on its addition lines.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeDocument, defaultAnalysisOptions, type AnalysisOptions, type AnalysisResult } from '../../src/core/analysis';
import { registerBuiltinCheckers } from '../../src/core/checkers';
import { Grammars } from '../../src/core/parse/grammars';
import type { TextEdit } from '../../src/core/diagnostic';
import { readFileFromDisk } from '../../src/torch/shapeVerification';
import { grammarsDir } from './paths';

registerBuiltinCheckers();
let grammars: Promise<Grammars> | undefined;
export function loadGrammars(): Promise<Grammars> {
  grammars ??= Grammars.load(grammarsDir);
  return grammars;
}

/** Reads the files a fixture imports from disk, as Verify Shapes does. */
export const readBesides = readFileFromDisk;

export function analyzeText(g: Grammars, uri: string, text: string, options: Partial<AnalysisOptions> = {}): AnalysisResult {
  return analyzeDocument({ uri, grammar: 'python', text }, g, { ...defaultAnalysisOptions, readWorkspaceFile: readBesides, ...options });
}

export interface Expectation {
  line: number;
  severity: string;
  rule: string;
  kind?: string;
  messageIncludes?: string;
}

/** `# expect: error residual-shape-mismatch channels "in `ResNet.layer2[0]`"` on the line of the addition. */
export function readExpectations(text: string): Expectation[] {
  const out: Expectation[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /#\s*expect:\s*(error|warning)\s+([\w-]+)(?:\s+(channels|spatial|both|other))?(?:\s+"([^"]*)")?/.exec(line);
    if (m) out.push({ line: i, severity: m[1]!, rule: m[2]!, ...(m[3] ? { kind: m[3] } : {}), ...(m[4] ? { messageIncludes: m[4] } : {}) });
  });
  return out;
}

export function listPythonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.py'))
    .map((f) => join(dir, f))
    .sort();
}

/** Applies non-overlapping edits, last first, to text. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const lines = text.split('\n');
  const offsetOf = (line: number, character: number): number => {
    let offset = 0;
    for (let i = 0; i < line; i++) offset += lines[i]!.length + 1;
    return offset + character;
  };
  const sorted = [...edits].sort((a, b) => offsetOf(b.range.start.line, b.range.start.character) - offsetOf(a.range.start.line, a.range.start.character));
  let result = text;
  for (const e of sorted) {
    const start = offsetOf(e.range.start.line, e.range.start.character);
    const end = offsetOf(e.range.end.line, e.range.end.character);
    result = result.slice(0, start) + e.newText + result.slice(end);
  }
  return result;
}
