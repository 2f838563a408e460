import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeDocument, defaultAnalysisOptions, type AnalysisResult } from '../../src/core/analysis';
import { registerBuiltinCheckers } from '../../src/core/checkers';
import { grammarFor, type Grammars } from '../../src/core/parse/grammars';

/** Small deterministic PRNG (mulberry32), so every failing case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Seed {
  path: string;
  text: string;
}

export function loadSeeds(dirs: string[]): Seed[] {
  const seeds: Seed[] = [];
  const visit = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) visit(path);
      else if (grammarFor(path)) seeds.push({ path, text: readFileSync(path, 'utf8') });
    }
  };
  dirs.forEach(visit);
  return seeds;
}

type Mutator = (text: string, random: () => number) => string;
const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;
const tokens = /[A-Za-z_][A-Za-z0-9_]*|\d+|\S/g;
const insertions = ['(', ')', '[', ']', ':', ',', '+', '+=', ' ', '\n', '\t', '    ', '#', '"', "'", '\\', 'self.', 'nn.Conv2d(', '**', '=', 'lambda', 'None', '-1', '0', 'def ', 'class ', 'for i in range(10**9):\n    ', 'if ', 'else:', '\u00e9', '\u{1F600}', '\u0000'];

const mutators: Record<string, Mutator> = {
  deleteToken(text, random) {
    const matches = [...text.matchAll(tokens)];
    if (!matches.length) return text;
    const m = pick(matches, random);
    return text.slice(0, m.index) + text.slice(m.index! + m[0].length);
  },
  insertToken(text, random) {
    const at = Math.floor(random() * (text.length + 1));
    return text.slice(0, at) + pick(insertions, random) + text.slice(at);
  },
  swapTokens(text, random) {
    const matches = [...text.matchAll(tokens)];
    if (matches.length < 2) return text;
    const i = Math.floor(random() * (matches.length - 1));
    const a = matches[i]!;
    const b = matches[i + 1]!;
    return text.slice(0, a.index) + b[0] + text.slice(a.index! + a[0].length, b.index) + a[0] + text.slice(b.index! + b[0].length);
  },
  truncateAtLine(text, random) {
    const lines = text.split('\n');
    const at = Math.floor(random() * lines.length);
    return lines.slice(0, at).join('\n') + '\n' + (lines[at] ?? '').slice(0, Math.floor(random() * 20));
  },
  randomBytes(text, random) {
    const at = Math.floor(random() * (text.length + 1));
    let junk = '';
    for (let i = 0; i < 1 + Math.floor(random() * 16); i++) junk += String.fromCharCode(Math.floor(random() * 0xffff));
    return text.slice(0, at) + junk + text.slice(at);
  },
  deepNesting(text, random) {
    const depth = 200 + Math.floor(random() * 2000);
    const line = `x = ${'('.repeat(depth)}1${')'.repeat(depth)}\n`;
    return text + '\n' + line;
  },
  hugeLiteral(text, random) {
    const digits = '9'.repeat(50 + Math.floor(random() * 400));
    return text.replace(/\b\d+\b/, digits);
  },
  hugeLoop(text) {
    return text.replace(/range\(([^)]*)\)/, 'range(10**9)').replace(/\[(\d+), (\d+), (\d+)(, \d+)?\]/, '[10**9, 10**9, 10**9]');
  },
  selfRecursion(text) {
    return text.replace(/(self\.\w+\s*=\s*)(nn\.\w+)\(/, '$1type(self)(');
  },
  duplicateLines(text, random) {
    const lines = text.split('\n');
    const from = Math.floor(random() * lines.length);
    const count = 1 + Math.floor(random() * 30);
    const copy = lines.slice(from, from + count);
    for (let i = 0; i < 1 + Math.floor(random() * 50); i++) lines.splice(from, 0, ...copy);
    return lines.join('\n');
  },
};
export const mutatorNames = Object.keys(mutators);

export interface FuzzCase {
  seed: number;
  source: string;
  mutations: string[];
  text: string;
}

export function makeCase(seeds: readonly Seed[], seed: number): FuzzCase {
  const random = prng(seed);
  const source = pick(seeds, random);
  let text = source.text;
  const mutations: string[] = [];
  for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
    const name = pick(mutatorNames, random);
    mutations.push(name);
    text = mutators[name]!(text, random);
  }
  return { seed, source: source.path, mutations, text };
}

export interface FuzzOutcome {
  failure?: string;
  durationMs: number;
}

/** Budget per file in the analyser plus slack for the process; a case over this fails. */
export const caseTimeLimitMs = defaultAnalysisOptions.budgetMs + 1500;

/** Runs the whole check on one case: nothing may throw, run late, or flag a line with no addition. */
export function runCase(grammars: Grammars, fuzzCase: FuzzCase): FuzzOutcome {
  registerBuiltinCheckers();
  const grammar = grammarFor(fuzzCase.source)!;
  const started = performance.now();
  let result: AnalysisResult;
  try {
    result = analyzeDocument({ uri: fuzzCase.source, grammar, text: fuzzCase.text }, grammars, defaultAnalysisOptions);
  } catch (err) {
    return { failure: `threw: ${err instanceof Error ? err.stack : String(err)}`, durationMs: performance.now() - started };
  }
  const durationMs = performance.now() - started;
  // A checker may give up on purpose (budgets, limits); any other reason is a bug it caught.
  // Likewise a statement on intact syntax that "could not be followed" is an exception the interpreter swallowed.
  const crash = result.log.find(
    (line) =>
      / failed: /.test(line) ||
      ((/ gave up: /.test(line) || / could not be followed /.test(line)) && !/budget|deadline|limit|too deep|recursion|nesting/i.test(line)),
  );
  if (crash) return { failure: `checker crashed: ${crash}`, durationMs };
  if (durationMs > caseTimeLimitMs) return { failure: `took ${durationMs.toFixed(0)} ms (limit ${caseTimeLimitMs} ms)`, durationMs };
  const lines = fuzzCase.text.split('\n');
  for (const finding of result.findings) {
    // The addition may span lines (a mutation can split it), and a mutation may corrupt the
    // token after `add` on a line the parser still reads as the call (`layers.add]([x, y])`).
    const text = lines.slice(finding.range.start.line, finding.range.end.line + 1).join('\n');
    if (!/\+|add_?[^A-Za-z0-9_]|\bAdd\b/.test(text)) return { failure: `finding on a line with no addition: ${finding.range.start.line + 1}: ${text.trim()}`, durationMs };
  }
  return { durationMs };
}
