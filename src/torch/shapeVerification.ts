// "Verify Shapes with PyTorch": the static analysis of a model file next to what real
// PyTorch does with it. verify_shapes.py imports the file in a child process (it runs
// the user's code: callers must only do this in a trusted workspace), runs the same
// entry points as the analyser and records the operand shapes of every addition; here
// both sides are compared line by line. No 'vscode' here: the extension and the tests share it.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeDocument, defaultAnalysisOptions, type AnalysisOptions } from '../core/analysis';
import { registerBuiltinCheckers } from '../core/checkers';
import type { Finding } from '../core/diagnostic';
import type { Grammars } from '../core/parse/grammars';
import { runPyTorchAnalysis } from '../core/pytorch/checker';
import { formatDim } from '../core/shapes/dim';
import type { Shape } from '../core/shapes/shape';
import type { PythonChoice } from './torchEngine';

export interface TorchAddition {
  /** 1-based line of the model file. */
  line: number;
  op: string;
  left: number[];
  right: number[];
  ok: boolean;
  error?: string;
  entry: string;
}

export interface TorchEntry {
  entry: string;
  ok: boolean;
  device?: string;
  error?: string;
  skipped?: string;
  line?: number;
}

export interface TorchTrace {
  file: string;
  torch: string;
  importError?: { type: string; message: string; line: number | null };
  entries: TorchEntry[];
  adds: TorchAddition[];
  fatal?: string;
}

export type AdditionVerdict = 'agree' | 'disagree' | 'static-only' | 'torch-only';

export interface AdditionComparison {
  line: number;
  verdict: AdditionVerdict;
  /** Operand pairs as text, `(N, 64, H, W) + (N, 64, H, W)`: the analyser's, then torch's. */
  staticShapes: string[];
  torchShapes: string[];
  staticFinding?: string;
  torchError?: string;
  detail: string;
}

export interface ShapeVerification {
  file: string;
  torchVersion: string;
  python: PythonChoice;
  importError?: { type: string; message: string; line: number | null };
  entries: TorchEntry[];
  additions: AdditionComparison[];
  counts: Record<AdditionVerdict, number>;
}

export class VerificationError extends Error {}

export function defaultVerifierPath(): string {
  return join(__dirname, 'python', 'verify_shapes.py');
}

/** Runs verify_shapes.py on the file; rejects with a one-line reason when it cannot. */
export function traceWithTorch(file: string, python: PythonChoice, verifierPath = defaultVerifierPath(), timeoutMs = 120_000, signal?: AbortSignal): Promise<TorchTrace> {
  return new Promise((resolve, reject) => {
    const child = spawn(python.path, [verifierPath, file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, ...(signal ? { signal } : {}) });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new VerificationError(`could not run ${python.path} (${python.source}): ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const trace = JSON.parse(line) as TorchTrace;
        if (trace.fatal) return reject(new VerificationError(`the verifier failed: ${trace.fatal.trim().split('\n').pop()}`));
        return resolve(trace);
      } catch {
        const why = signal === 'SIGKILL' ? `took longer than ${timeoutMs / 1000} s` : `exited with ${signal ?? `code ${code}`}`;
        const last = stderr.trim().split('\n').pop();
        reject(new VerificationError(`the verifier ${why}${last ? `: ${last}` : ''}`));
      }
    });
  });
}

/** A dim as it crosses a process boundary: a number, a symbolic size by its text (`H`), or null (unknown). */
export type PlainDim = number | string | null;
export type PlainShape = PlainDim[] | null;

/**
 * The analysis's side of a verification, as plain data: the operand shapes it worked out
 * at each addition (1-based lines) and its findings on additions. The language server
 * computes it (the static pass stays out of the extension host) and sends it as JSON.
 */
export interface StaticAdditions {
  pairs: { line: number; left: PlainShape; right: PlainShape }[];
  findings: { line: number; rule: string; severity: Finding['severity']; message: string; shapes?: [string, string] }[];
}

const plainShape = (shape: Shape): PlainShape => (shape ? shape.map((d) => (d === null || typeof d === 'number' ? d : formatDim(d))) : null);
const plainShapeText = (shape: PlainShape): string => (shape ? `(${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}${shape.length === 1 ? ',' : ''})` : '(?)');

const torchShapeText = (dims: number[]): string => `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;

/** A concrete dim of the analyser must be the dim torch saw; a symbolic one matches any size. */
function pairMatches(pair: { left: PlainShape; right: PlainShape }, add: TorchAddition): boolean {
  const fits = (shape: PlainShape, dims: number[]): boolean =>
    shape !== null && shape.length === dims.length && shape.every((d, i) => d === null || typeof d !== 'number' || d === dims[i]);
  return fits(pair.left, add.left) && fits(pair.right, add.right);
}

/** Reads a file the analysed one imports, from disk (the saved files torch imports too). */
export function readFileFromDisk(path: string): string | undefined {
  const fsPath = path.startsWith('file://') ? path.slice('file://'.length) : path;
  try {
    return statSync(fsPath).isFile() ? readFileSync(fsPath, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The static side: the full analysis's findings on additions (the rules decide what is an
 * error) and the PyTorch analysis's concrete operand shapes. `stillWanted` is awaited between
 * the two passes (a server lets a cancel arrive there): false ends the work early with undefined.
 */
export async function analyseAdditions(
  file: string,
  text: string,
  grammars: Grammars,
  budgetMs: number,
  readWorkspaceFile: (path: string) => string | undefined = readFileFromDisk,
  stillWanted: () => Promise<boolean> | boolean = () => true,
): Promise<StaticAdditions | undefined> {
  registerBuiltinCheckers();
  const options: AnalysisOptions = { ...defaultAnalysisOptions, budgetMs, readWorkspaceFile };
  const findings: StaticAdditions['findings'] = analyzeDocument({ uri: file, grammar: 'python', text }, grammars, options).findings.map((f) => ({
    line: f.range.start.line + 1,
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    ...(f.shapes ? { shapes: f.shapes } : {}),
  }));
  if (!(await stillWanted())) return undefined;
  const pairs: StaticAdditions['pairs'] = [];
  const tree = grammars.parse('python', text);
  try {
    const run = runPyTorchAnalysis({ document: { uri: file, grammar: 'python', text }, tree, options, deadline: performance.now() + options.budgetMs, log: () => undefined, grammars });
    for (const obs of run.concrete) {
      if (obs.file.uri !== file) continue;
      pairs.push({ line: obs.site.startRow + 1, left: plainShape(obs.left), right: plainShape(obs.right) });
    }
  } finally {
    tree.delete();
  }
  return { pairs, findings };
}

export function compareShapes(analysis: StaticAdditions, trace: TorchTrace): AdditionComparison[] {
  const group = <T extends { line: number }>(items: T[]): Map<number, T[]> => {
    const byLine = new Map<number, T[]>();
    for (const item of items) byLine.set(item.line, [...(byLine.get(item.line) ?? []), item]);
    return byLine;
  };
  const staticPairs = group(analysis.pairs);
  const torchByLine = group(trace.adds);
  const additionFindings = group(analysis.findings.filter((f) => f.rule.startsWith('residual-')));
  const lines = [...new Set([...staticPairs.keys(), ...additionFindings.keys(), ...torchByLine.keys()])].sort((a, b) => a - b);
  const unique = (values: string[]): string[] => [...new Set(values)];
  return lines.map((line): AdditionComparison => {
    // A pair with no shape on either side says only that the analysis got there.
    const reachedWithoutShapes = (staticPairs.get(line) ?? []).length > 0;
    const pairs = (staticPairs.get(line) ?? []).filter((p) => p.left || p.right);
    const adds = torchByLine.get(line) ?? [];
    const lineFindings = additionFindings.get(line) ?? [];
    const staticError = lineFindings.find((f) => f.severity === 'error');
    const staticShapes = unique([...pairs.map((p) => `${plainShapeText(p.left)} + ${plainShapeText(p.right)}`), ...lineFindings.flatMap((f) => (f.shapes ? [f.shapes.join(' + ')] : []))]);
    const torchShapes = unique(adds.map((a) => `${torchShapeText(a.left)} + ${torchShapeText(a.right)}${a.ok ? '' : ' (raised)'}`));
    const failed = adds.find((a) => !a.ok);
    const base = {
      line,
      staticShapes,
      torchShapes,
      ...(staticError || lineFindings[0] ? { staticFinding: (staticError ?? lineFindings[0])!.message } : {}),
      ...(failed?.error ? { torchError: failed.error } : {}),
    };
    if (adds.length === 0) return { ...base, verdict: 'static-only', detail: 'torch did not run this addition with the entry points and inputs it tried' };
    if (pairs.length === 0 && lineFindings.length === 0) {
      const why = reachedWithoutShapes ? 'the analysis reached this addition but could not infer its shapes' : 'the analysis did not reach this addition with concrete values';
      return { ...base, verdict: 'torch-only', detail: why };
    }
    if (failed && staticError) return { ...base, verdict: 'agree', detail: 'both report a shape error' };
    if (failed) return { ...base, verdict: 'disagree', detail: `torch raises (${failed.error ?? 'error'}) where the analysis sees no error` };
    if (staticError) return { ...base, verdict: 'disagree', detail: 'the analysis reports an error that torch does not raise' };
    const unmatched = pairs.filter((p) => p.left && p.right && !adds.some((a) => pairMatches(p, a)));
    if (unmatched.length) {
      return { ...base, verdict: 'disagree', detail: `torch saw other shapes than the analysis's ${unmatched.map((p) => `${plainShapeText(p.left)} + ${plainShapeText(p.right)}`).join(', ')}` };
    }
    return { ...base, verdict: 'agree', detail: 'the shapes match (symbolic sizes match any value)' };
  });
}

/** The whole verification of one model file. Runs the file's code: trusted workspaces only. */
export async function verifyShapes(options: {
  file: string;
  text?: string;
  python: PythonChoice;
  grammars?: Grammars;
  verifierPath?: string;
  timeoutMs?: number;
  /** The analysis's time budget (the editor's 2 s by default); past it, additions stay unknown and are not compared. */
  analysisBudgetMs?: number;
  /**
   * The static side computed elsewhere (the extension asks the language server, in
   * parallel with torch); without it the analysis runs here, with `grammars`.
   */
  staticAdditions?: Promise<StaticAdditions>;
  /** Aborting kills the verifier's Python process. */
  signal?: AbortSignal;
}): Promise<ShapeVerification> {
  const analysis =
    options.staticAdditions ??
    Promise.resolve().then(async () => {
      if (!options.grammars) throw new VerificationError('no grammars to analyse the file with');
      return (await analyseAdditions(options.file, options.text ?? readFileSync(options.file, 'utf8'), options.grammars, options.analysisBudgetMs ?? defaultAnalysisOptions.budgetMs))!;
    });
  const [trace, staticSide] = await Promise.all([traceWithTorch(options.file, options.python, options.verifierPath, options.timeoutMs, options.signal), analysis]);
  const additions = compareShapes(staticSide, trace);
  const counts: Record<AdditionVerdict, number> = { agree: 0, disagree: 0, 'static-only': 0, 'torch-only': 0 };
  for (const a of additions) counts[a.verdict]++;
  return {
    file: options.file,
    torchVersion: trace.torch,
    python: options.python,
    ...(trace.importError ? { importError: trace.importError } : {}),
    entries: trace.entries,
    additions,
    counts,
  };
}

/** The report as plain text, for an output channel or a terminal. */
export function formatVerification(v: ShapeVerification): string {
  const out = [`Shape verification of ${v.file} with PyTorch ${v.torchVersion} (${v.python.path}, ${v.python.source})`];
  if (v.importError) out.push(`The file raised on import: ${v.importError.message}${v.importError.line ? ` (line ${v.importError.line})` : ''}`);
  for (const e of v.entries) {
    const state = e.skipped ? `skipped: ${e.skipped}` : e.ok ? 'ran' : `raised ${e.error ?? ''}${e.line ? ` at line ${e.line}` : ''}`;
    out.push(`  entry ${e.entry}${e.device ? ` on ${e.device}` : ''}: ${state}`);
  }
  for (const a of v.additions) {
    out.push(`line ${a.line}: ${a.verdict.toUpperCase()}: ${a.detail}`);
    if (a.staticShapes.length) out.push(`    analysis: ${a.staticShapes.join(' | ')}`);
    if (a.torchShapes.length) out.push(`    torch:    ${a.torchShapes.join(' | ')}`);
    if (a.staticFinding) out.push(`    finding:  ${a.staticFinding}`);
  }
  out.push(summarizeVerification(v));
  return out.join('\n');
}

export function summarizeVerification(v: ShapeVerification): string {
  const c = v.counts;
  const parts = [`${c.agree} addition${c.agree === 1 ? '' : 's'} agree`, `${c.disagree} disagree`];
  if (c['static-only']) parts.push(`${c['static-only']} not run by torch`);
  if (c['torch-only']) parts.push(`${c['torch-only']} not reached by the analysis`);
  const importNote = v.importError ? `; the file raised on import: ${v.importError.message}${v.importError.line ? ` (line ${v.importError.line})` : ''}` : '';
  return `PyTorch ${v.torchVersion}: ${parts.join(', ')}${importNote}`;
}
