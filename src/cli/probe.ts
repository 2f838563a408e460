// `residual-lens probe`: trains plain and residual networks of the CIFAR family for a
// few steps in child processes and prints the gradient-flow profile at init, the loss
// per variant and the degradation verdict. Ctrl-C stops the children and still writes
// the partial record.
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { defaultAnalysisOptions } from '../core/analysis';
import { parseArgs } from 'node:util';
import { planProbe, ProbePlanError, type ProbeOptions } from '../core/probe/plan';
import type { BackendPreference, ProbeMessage, ProbePlan, ShortcutOption } from '../core/probe/protocol';
import { parseProbeMessage } from '../core/probe/probeMessageValidation';
import { createProbeRun, ProbeRunState } from '../core/probe/probeRun';
import { ProbeRecorder, type ProbeRecord } from '../core/probe/record';
import { renderProbeReportHtml } from '../core/probe/reportHtml';
import { exampleInputShape, extractModel, planModelProbe, scaleDownByInput } from '../core/modelGraph/frontEnds';
import { healthyBatchSize } from '../core/probe/graphPlan';
import type { ModelExtraction } from '../core/modelGraph/graph';
import { modelVerdictLine } from '../core/modelGraph/modelVerdict';
import { Grammars, grammarFor } from '../core/parse/grammars';
import { startProbe } from '../probe-worker/supervisor';
import { readSourceFile } from './files';
import { choosePythonForCli, resolveEngine, type ProbeEngineName } from '../torch/torchEngine';

export const probeUsage = `  probe --model path/to/model.py:ClassName [--input-shape 1,3,32,32]
        [--steps 100 | --seconds S] [--prefix] [--scale-down] [--no-depth-twins]
      Probe your own model: build it from the file's code (nothing in the
      file is run), with its plain twin (every skip addition removed) and,
      where a block-count parameter sets the depth, a shallower and a deeper
      version; train each briefly on synthetic data of its input shape and
      print the gradient flow and the verdict. --input-shape sets the input
      where the file does not say it; --prefix probes the buildable layers
      when some cannot be built; --scale-down probes a smaller input
      when the model is too large for a probe, or when its input leaves a
      batch under 16.

  probe [--depths 20,56] [--steps 100 | --seconds S] [--width 8] [--input 16]
        [--batch 32] [--optimizer adam|sgd] [--lr X] [--momentum M]
        [--shortcut A|B] [--no-bn] [--plain-only | --residual-only]
        [--seed N] [--backend auto|tensorflow|wasm|cpu] [--parallel N]
        [--engine tfjs|torch|auto] [--python PATH]
        [--gradient-every K] [--json FILE] [--html FILE] [--quiet]
      Train plain and residual CIFAR-style networks (depth 6n+2) for a few
      steps on a synthetic task, one child process per variant, and report
      the gradient-flow profile at init, the losses and whether the deeper
      net degrades. --json writes the full record (version 1), --html a
      self-contained report with the panel's charts. Ctrl-C stops the
      children and still writes both. Exit 0 when every variant finished
      and every file was written; 1 when a variant failed or a file could
      not be written (the summary is printed all the same).
      --engine torch trains in PyTorch (GPU when it has one) with the
      interpreter from --python, else RESIDUAL_LENS_PYTHON, else python3;
      auto uses torch when that interpreter has it, else TensorFlow.js.`;

export class ProbeUsageError extends Error {}

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ProbeUsageError(`--${name} needs a number, not '${value}'`);
  return n;
}

export interface ModelProbeArgs {
  file: string;
  className: string;
  inputShape?: number[];
  prefix: boolean;
  depthTwins: boolean;
  /** Probe a smaller version (fewer channels, a smaller input) when the model is too large. */
  scaleDown: boolean;
}

/** `path/to/model.py:ClassName` (the last colon splits, so Windows drive letters survive). */
function parseModelTarget(text: string): { file: string; className: string } {
  const at = text.lastIndexOf(':');
  const file = at > 0 ? text.slice(0, at) : '';
  const className = at > 0 ? text.slice(at + 1) : '';
  if (!file || !/^[A-Za-z_$][\w$]*$/.test(className)) throw new ProbeUsageError(`--model must look like path/to/model.py:ClassName, not '${text}'`);
  return { file, className };
}

export function parseProbeArgs(args: string[]): {
  model?: ModelProbeArgs;
  options: Partial<ProbeOptions>;
  json?: string;
  html?: string;
  parallel?: number;
  engine: ProbeEngineName;
  python?: string;
  quiet: boolean;
  help: boolean;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        depths: { type: 'string' },
        steps: { type: 'string' },
        seconds: { type: 'string' },
        width: { type: 'string' },
        input: { type: 'string' },
        batch: { type: 'string' },
        optimizer: { type: 'string' },
        lr: { type: 'string' },
        momentum: { type: 'string' },
        shortcut: { type: 'string' },
        'no-bn': { type: 'boolean', default: false },
        'plain-only': { type: 'boolean', default: false },
        'residual-only': { type: 'boolean', default: false },
        seed: { type: 'string' },
        backend: { type: 'string' },
        parallel: { type: 'string' },
        engine: { type: 'string', default: 'tfjs' },
        python: { type: 'string' },
        'gradient-every': { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        model: { type: 'string' },
        'input-shape': { type: 'string' },
        prefix: { type: 'boolean', default: false },
        'no-depth-twins': { type: 'boolean', default: false },
        'scale-down': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new ProbeUsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  const options: Partial<ProbeOptions> = {};
  if (v.depths !== undefined) options.depths = v.depths.split(',').map((d) => numberOption('depths', d)!);
  const steps = numberOption('steps', v.steps);
  const seconds = numberOption('seconds', v.seconds);
  if (steps !== undefined && seconds !== undefined) throw new ProbeUsageError('give --steps or --seconds, not both');
  if (steps !== undefined) options.steps = steps;
  if (seconds !== undefined) {
    options.timeBudgetMs = Math.round(seconds * 1000);
    options.steps = 100_000;
  }
  const set = <K extends keyof ProbeOptions>(key: K, value: ProbeOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('width', numberOption('width', v.width));
  set('inputSize', numberOption('input', v.input));
  set('batchSize', numberOption('batch', v.batch));
  set('learningRate', numberOption('lr', v.lr));
  set('momentum', numberOption('momentum', v.momentum));
  set('seed', numberOption('seed', v.seed));
  set('gradientEvery', numberOption('gradient-every', v['gradient-every']));
  if (v.optimizer !== undefined) {
    if (v.optimizer !== 'adam' && v.optimizer !== 'sgd') throw new ProbeUsageError(`--optimizer must be adam or sgd, not '${v.optimizer}'`);
    options.optimizer = v.optimizer;
  }
  if (v.shortcut !== undefined) {
    const s = v.shortcut.toUpperCase();
    if (s !== 'A' && s !== 'B') throw new ProbeUsageError(`--shortcut must be A or B, not '${v.shortcut}'`);
    options.shortcut = s as ShortcutOption;
  }
  if (v.backend !== undefined) {
    if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(v.backend)) throw new ProbeUsageError(`--backend must be auto, tensorflow, wasm or cpu, not '${v.backend}'`);
    options.backend = v.backend as BackendPreference;
  }
  if (v['no-bn']) options.batchNorm = false;
  if (v['plain-only'] && v['residual-only']) throw new ProbeUsageError('--plain-only and --residual-only exclude each other');
  if (v['plain-only']) options.architectures = ['plain'];
  if (v['residual-only']) options.architectures = ['residual'];
  const parallel = numberOption('parallel', v.parallel);
  if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1 || parallel > 64)) throw new ProbeUsageError('--parallel must be a whole number from 1 to 64');
  const engine = v.engine!;
  if (engine !== 'tfjs' && engine !== 'torch' && engine !== 'auto') throw new ProbeUsageError(`--engine must be tfjs, torch or auto, not '${engine}'`);
  let model: ModelProbeArgs | undefined;
  if (v.model !== undefined) {
    // The CIFAR family's options describe networks the model replaces.
    const family = (['depths', 'width', 'input', 'shortcut', 'no-bn', 'plain-only', 'residual-only'] as const).filter((name) => v[name] !== undefined && v[name] !== false);
    if (family.length) throw new ProbeUsageError(`--${family[0]} applies to the built-in CIFAR networks, not to --model`);
    if (engine === 'torch') throw new ProbeUsageError('--model trains with TensorFlow.js; --engine torch trains the built-in CIFAR networks only');
    let inputShape: number[] | undefined;
    if (v['input-shape'] !== undefined) {
      inputShape = v['input-shape'].split(/[,x ]+/).filter(Boolean).map(Number);
      if (inputShape.length < 2 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) throw new ProbeUsageError(`--input-shape must be positive whole numbers, batch first, like 1,3,32,32, not '${v['input-shape']}'`);
    }
    model = {
      ...parseModelTarget(v.model),
      ...(inputShape ? { inputShape } : {}),
      prefix: v.prefix === true,
      depthTwins: v['no-depth-twins'] !== true,
      scaleDown: v['scale-down'] === true,
    };
  } else {
    if (v['input-shape'] !== undefined) throw new ProbeUsageError('--input-shape needs --model');
    for (const name of ['prefix', 'no-depth-twins', 'scale-down'] as const) if (v[name]) throw new ProbeUsageError(`--${name} needs --model`);
  }
  return {
    ...(model ? { model } : {}),
    options,
    ...(v.json !== undefined ? { json: v.json } : {}),
    ...(v.html !== undefined ? { html: v.html } : {}),
    ...(parallel !== undefined ? { parallel } : {}),
    engine,
    ...(v.python !== undefined ? { python: v.python } : {}),
    quiet: v.quiet,
    help: v.help,
  };
}

const pad = (text: string, width: number): string => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padLeft = (text: string, width: number): string => (text.length >= width ? text : ' '.repeat(width - text.length) + text);
const fixed = (value: number | undefined, digits: number): string => (value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits));

export function formatSummary(record: ProbeRecord): string {
  const header = ['variant', 'params', 'status', 'steps', 'loss', 'acc', 'ms/step', 'GFLOP/s', 'grad first/last'];
  const rows = record.variants.map((v) => [
    v.label,
    v.params ? v.params.toLocaleString('en-US') : '-',
    v.status === 'diverged' ? `diverged@${v.error?.step ?? '?'}` : v.status,
    String(v.steps.length),
    fixed(v.finalLoss, 3),
    fixed(v.finalAccuracy, 2),
    fixed(v.msPerStep, 0),
    v.flopsPerStep && v.msPerStep ? fixed(v.flopsPerStep / v.msPerStep / 1e6, 1) : '-',
    fixed(v.init.firstToLastRatio, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === 2 ? pad(c, widths[i]!) : padLeft(c, widths[i]!))).join('  ');
  const out = [line(header), ...rows.map(line)];
  for (const v of record.variants) if (v.error) out.push(`${v.name}: ${v.error.code}: ${v.error.message}`);
  out.push('');
  out.push(`backend: ${record.backend.name}, ${record.backend.device}`);
  for (const note of new Set([...record.notes, ...record.variants.flatMap((v) => v.notes)])) out.push(`note: ${note}`);
  for (const verdict of record.verdict) out.push(`verdict: ${verdict.text}`);
  if (record.caveat) out.push(record.caveat);
  const initTimes = record.variants.map((v) => v.initProfileAtMs).filter((t): t is number => t !== undefined);
  if (initTimes.length === record.variants.length) out.push(`init gradient profile of every variant after ${(Math.max(...initTimes) / 1000).toFixed(1)} s`);
  if (record.wallMs !== undefined) {
    const cpu = record.variants.reduce((sum, v) => sum + (v.cpuMs ?? 0), 0);
    const cores = availableParallelism();
    const load = loadavg()[0]!;
    out.push(
      `probe finished after ${(record.wallMs / 1000).toFixed(1)} s` +
        (cpu > 0 ? `; the probe processes used ${(cpu / 1000).toFixed(1)} s of CPU (${(cpu / 1000 / cores).toFixed(1)} s per core on ${cores} cores; load average ${load.toFixed(1)})` : ''),
    );
  }
  return out.join('\n');
}

function progressLine(message: ProbeMessage, totalSteps: number, timeBudget: boolean): string | undefined {
  switch (message.type) {
    case 'started':
      return `${message.variant}: started on ${message.backend} (${message.device}), ${message.params.toLocaleString('en-US')} parameters`;
    case 'gradients':
      return message.step === 0 && message.firstToLastRatio !== undefined
        ? `${message.variant}: init gradient norm first/last conv = ${message.firstToLastRatio.toFixed(2)}`
        : undefined;
    case 'step':
      return message.step % 25 === 0 || message.step === totalSteps - 1
        ? `${message.variant}: step ${message.step + 1}${timeBudget ? '' : `/${totalSteps}`}  loss ${message.loss.toFixed(3)}  acc ${message.accuracy.toFixed(2)}  ${message.ms.toFixed(0)} ms`
        : undefined;
    case 'done':
      return `${message.variant}: ${message.reason} after ${message.steps} steps, final loss ${fixed(message.finalLoss, 3)}, ${message.msPerStep.toFixed(0)} ms/step`;
    case 'error':
      return `${message.variant}: ${message.code}: ${message.message}`;
    default:
      return undefined;
  }
}

/** Refuses, before any training, a result path whose folder is missing or not writable. */
function checkWritableTarget(option: string, path: string): void {
  const folder = dirname(resolve(path));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isFolder) throw new ProbeUsageError(`cannot write --${option} ${path}: the folder ${folder} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new ProbeUsageError(`cannot write --${option} ${path}: it is a folder`);
  try {
    accessSync(existsSync(path) ? path : folder, constants.W_OK);
  } catch {
    throw new ProbeUsageError(`cannot write --${option} ${path}: permission denied`);
  }
}

function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
      return 'the disk is full (ENOSPC)';
    case 'EDQUOT':
      return 'the disk quota is exceeded (EDQUOT)';
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Runs the probe command; resolves to the exit code. */
export async function probeCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const parsed = parseProbeArgs(args);
  if (parsed.help) {
    out.write(`Usage: residual-lens probe [options]\n\n${probeUsage}\n`);
    return 0;
  }
  let planned: { plan: ProbePlan; notes: string[] };
  let modelName: string | undefined;
  if (parsed.model) {
    const fromModel = await planFromModel(parsed.model, parsed.options, err);
    if ('exitCode' in fromModel) return fromModel.exitCode;
    planned = fromModel;
    modelName = parsed.model.className;
  } else {
    try {
      planned = planProbe(parsed.options);
    } catch (error) {
      if (error instanceof ProbePlanError) throw new ProbeUsageError(`cannot probe: ${error.message}`);
      throw error;
    }
  }
  const { plan, notes } = planned;
  const engine = resolveEngine(parsed.engine, choosePythonForCli(parsed.python));
  if (engine.error) {
    err.write(`residual-lens probe: ${engine.error}\n`);
    return 1;
  }
  if (engine.note) notes.push(engine.note);
  for (const note of notes) err.write(`note: ${note}\n`);
  const recorder = new ProbeRecorder(plan, notes);
  // The panel's own run model, for the HTML report: the same charts as in VS Code.
  const panelRun = new ProbeRunState(createProbeRun(plan));
  const reportAssets = [join(__dirname, 'webview.js'), join(__dirname, 'webview.css')];
  if (parsed.html && !reportAssets.every(existsSync)) throw new ProbeUsageError(`--html needs ${reportAssets.join(' and ')} (npm run build)`);
  if (parsed.json) checkWritableTarget('json', parsed.json);
  if (parsed.html) checkWritableTarget('html', parsed.html);
  const log = (line: string): void => {
    if (!parsed.quiet) err.write(line + '\n');
  };
  const run = startProbe({
    plan,
    ...(parsed.parallel !== undefined ? { maxParallel: parsed.parallel } : {}),
    // From the command line, the user's own folder may hold @tensorflow/tfjs-node(-gpu).
    tfjsNodePath: process.cwd(),
    ...(engine.engine === 'torch' && engine.check ? { torch: { python: engine.check.python.path } } : {}),
    onMessage: (message) => {
      recorder.add(message);
      const received = parseProbeMessage(message);
      if (received.ok) panelRun.apply(received.value);
      const line = progressLine(message, plan.steps, plan.timeBudgetMs > 0);
      if (line) log(line);
    },
    onLog: (variant, line) => {
      if (/Hi there|tfjs-node|To speed things up|=====/.test(line)) return; // tfjs's install advert
      log(`${variant}: ${line}`);
    },
  });
  let interrupted = false;
  const onInterrupt = (): void => {
    if (interrupted) process.exit(130); // a second Ctrl-C: children exit when our IPC channels close
    interrupted = true;
    err.write('\nstopping the probe (Ctrl-C again to quit at once)...\n');
    void run.cancel();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    await run.finished;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
  recorder.markUnfinishedCancelled();
  const record = recorder.record();
  out.write(formatSummary(record) + '\n');
  if (modelName) out.write(`${modelName}: ${modelVerdictLine(panelRun.record, interrupted)}\n`);
  // The disk can fill up during a long run: a failed write is reported, the other file is still written.
  let writeFailed = false;
  const writeResult = (path: string, what: string, text: () => string, note = ''): void => {
    try {
      writeFileSync(path, text());
      err.write(`wrote ${path}${note}\n`);
    } catch (error) {
      writeFailed = true;
      err.write(`residual-lens probe: could not write the ${what} to ${path}: ${describeWriteError(error)}; the summary above is printed all the same\n`);
    }
  };
  if (parsed.json) writeResult(parsed.json, 'JSON record', () => JSON.stringify(record, null, 2) + '\n', interrupted ? ' (partial: the probe was stopped)' : '');
  if (parsed.html) {
    const allDone = record.variants.every((v) => v.status === 'done');
    panelRun.end(interrupted ? 'cancelled' : allDone ? 'completed' : 'failed', interrupted ? 'stopped with Ctrl-C' : null);
    const [scriptText, styleText] = reportAssets.map((file) => readFileSync(file, 'utf8'));
    writeResult(parsed.html, 'HTML report', () => renderProbeReportHtml({ run: panelRun.record, scriptText: scriptText!, styleText: styleText! }));
  }
  if (interrupted) return 130;
  return record.variants.every((v) => v.status === 'done') && !writeFailed ? 0 : 1;
}

/**
 * `--model path:Class`: the model's graphs from the file (read, never run), then the plan.
 * A missing file or class is a usage error (exit 2); a model that cannot be built, or
 * that needs an input shape, is explained on stderr (exit 1).
 */
async function planFromModel(model: ModelProbeArgs, options: Partial<ProbeOptions>, err: NodeJS.WritableStream): Promise<{ plan: ProbePlan; notes: string[] } | { exitCode: number }> {
  const path = resolve(model.file);
  if (!existsSync(path)) throw new ProbeUsageError(`no such file: ${model.file}`);
  const grammar = grammarFor(path);
  if (!grammar) throw new ProbeUsageError(`${model.file} is not a Python, TypeScript or JavaScript file`);
  const read = readSourceFile(path, defaultAnalysisOptions.maxFileBytes);
  if ('skipped' in read) throw new ProbeUsageError(`${model.file} cannot be read: ${read.skipped}`);
  const grammars = await Grammars.load(join(__dirname, 'grammars'));
  const started = performance.now();
  const document = { uri: path, grammar, text: read.text };
  const extractOptions = {
    options: {
      budgetMs: defaultAnalysisOptions.budgetMs,
      readWorkspaceFile: (p: string) => {
        const other = readSourceFile(p, defaultAnalysisOptions.maxFileBytes);
        return 'text' in other ? other.text : undefined;
      },
    },
  };
  const extracted = extractModel(document, { modelName: model.className }, { ...extractOptions, ...(model.inputShape ? { inputShape: model.inputShape } : {}) }, grammars);
  if ('error' in extracted) {
    if (/^no model named/.test(extracted.error)) throw new ProbeUsageError(extracted.error);
    err.write(`residual-lens probe: cannot probe ${model.className}: ${extracted.error}\n`);
    return { exitCode: 1 };
  }
  const extraction: ModelExtraction = extracted;
  if (extraction.needsInputShape?.length) {
    err.write(
      `residual-lens probe: ${model.className} needs an input shape: the file does not say ${extraction.needsInputShape.join(', ')}. Give the whole input with --input-shape, batch first (e.g. --input-shape ${exampleInputShape(extraction.needsInputShape).join(',')}).\n`,
    );
    return { exitCode: 1 };
  }
  if (extraction.unsupported.length) {
    for (const u of extraction.unsupported) err.write(`${model.file}${u.source ? `:${u.source.line + 1}` : ''}: cannot build ${u.what}: ${u.reason}\n`);
    if (!extraction.prefixOnly || extraction.variants.length === 0) {
      err.write(`residual-lens probe: cannot probe ${model.className}: ${extraction.unsupported.length} operation(s) above cannot be built\n`);
      return { exitCode: 1 };
    }
    if (!model.prefix) {
      err.write(`residual-lens probe: ${model.className} can be probed up to the first of these (its buildable prefix): add --prefix to do that\n`);
      return { exitCode: 1 };
    }
  }
  // The CLI's training options apply to the model's plan (the batch size to its size check too).
  const planOptions = {
    steps: options.steps ?? 100,
    depthTwins: model.depthTwins ? ('auto' as const) : false,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.timeBudgetMs !== undefined ? { timeBudgetMs: options.timeBudgetMs } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.learningRate !== undefined ? { learningRate: options.learningRate } : {}),
    ...(options.optimizer !== undefined ? { optimizer: options.optimizer } : {}),
    ...(options.momentum !== undefined ? { momentum: options.momentum } : {}),
    ...(options.gradientEvery !== undefined ? { gradientEvery: options.gradientEvery } : {}),
    ...(options.backend !== undefined ? { backend: options.backend } : {}),
  };
  let planned = planModelProbe(extraction, planOptions);
  let probedShape = extraction.inputShape;
  let scaledNote: string | undefined;
  if (!planned.ok) {
    const why = `${model.className} is too large to probe: ${planned.problems.join('; ')}`;
    const planAgain = (from: ModelExtraction) => planModelProbe(from, { ...planOptions });
    const smaller = await scaleDownByInput(
      extraction,
      async (shape) => {
        const again = extractModel(document, { modelName: model.className }, { ...extractOptions, inputShape: shape }, grammars);
        return 'error' in again ? undefined : again;
      },
      planAgain,
    );
    if (!smaller || !model.scaleDown) {
      err.write(`residual-lens probe: ${why}${smaller ? `. Add --scale-down to probe it on ${smaller.description}` : '. No smaller input makes it fit'}${planned.suggestion ? `; ${planned.suggestion}` : ''}\n`);
      return { exitCode: 1 };
    }
    err.write(`${why}: probing it on ${smaller.description} (--scale-down)\n`);
    planned = smaller.planned;
    probedShape = smaller.inputShape;
    scaledNote = `scaled down (--scale-down): probed on ${smaller.description}, as the file's is too large for a probe`;
  }
  if (planned.plan.task && planned.plan.batchSize < healthyBatchSize && options.batchSize === undefined && probedShape === extraction.inputShape) {
    // A batch this small trains noisily: a smaller input allows a larger one (only with --scale-down).
    const small = planned.plan.batchSize;
    const larger = await scaleDownByInput(
      extraction,
      async (shape) => {
        const again = extractModel(document, { modelName: model.className }, { ...extractOptions, inputShape: shape }, grammars);
        return 'error' in again ? undefined : again;
      },
      (from) => {
        const outcome = planModelProbe(from, { ...planOptions });
        return outcome.ok && outcome.plan.batchSize < healthyBatchSize ? { ok: false, problems: [`batch ${outcome.plan.batchSize}`] } : outcome;
      },
    );
    if (larger && model.scaleDown) {
      err.write(`${model.className} trains at batch ${small} on its input: probing it on ${larger.description} at batch ${larger.planned.plan.batchSize} (--scale-down)\n`);
      planned = larger.planned;
      probedShape = larger.inputShape;
      scaledNote = `scaled down (--scale-down): probed on ${larger.description}, for batch ${larger.planned.plan.batchSize} instead of ${small}`;
    } else if (larger) {
      err.write(`${model.className} trains at batch ${small} on its input: add --scale-down to probe it on ${larger.description} at batch ${larger.planned.plan.batchSize}\n`);
    }
  }
  const inputShape = probedShape ? ` on input (${probedShape.join(', ')})` : '';
  err.write(`${model.className} (${extraction.framework}, ${model.file}:${extraction.source.line + 1}) read in ${(performance.now() - started).toFixed(0)} ms${inputShape}\n`);
  for (const v of planned.variants) err.write(`  ${v.id}: ${v.label}, ${v.graph.nodes.length} nodes\n`);
  // Where the probed model differs from the file comes first: it qualifies every result.
  const notes = [...new Set([...(scaledNote ? [scaledNote] : []), ...(extraction.notes ?? []), ...planned.notes])];
  return { plan: { ...planned.plan, notes }, notes };
}
