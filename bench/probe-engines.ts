// The default probe (plain and residual at depths 20 and 56, the plan's default sizes)
// on both engines in one run: TensorFlow.js (the worker's automatic backend) and
// PyTorch (the Python runner, on the CPU) with one thread and with one per core.
// Real child processes under the supervisor, one variant at a time; the first two
// steps are warm-up and not timed. Figures, not pass/fail: other work on the machine
// makes wall-clock times noisy, so the load average is printed with them. Both torch
// thread counts are shown because on a busy machine torch's worker threads wait for
// cores (one thread can then beat two), while on an idle one more threads are faster.
// Then the whole plan once per engine as the CLI runs it (wall time to the verdict).
//   node out/bench/probe-engines.js [--steps 100] [--depths 20,56] [--python PATH] [--engines tfjs,torch-1,torch] [--skip-whole]
import { join } from 'node:path';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { planProbe } from '../src/core/probe/plan';
import type { ProbeMessage, ProbePlan } from '../src/core/probe/protocol';
import { startProbe } from '../src/probe-worker/supervisor';
import { checkTorch, choosePythonForCli, type PythonChoice } from '../src/torch/torchEngine';
import { distDir } from '../test/support/paths';

interface VariantFigures {
  backend: string;
  device: string;
  stepMs: number[];
  finalLoss: number;
  flopsPerStep: number;
  status: string;
}

const warmupSteps = 2;

async function runEngine(plan: ProbePlan, variantId: string, python: PythonChoice | undefined, threads: number): Promise<VariantFigures> {
  const single: ProbePlan = { ...plan, variants: plan.variants.filter((v) => v.id === variantId) };
  const messages: ProbeMessage[] = [];
  const run = startProbe({
    plan: single,
    workerPath: join(distDir, 'probe-worker.js'),
    maxParallel: 1,
    onMessage: (m) => messages.push(m),
    ...(python ? { torch: { python: python.path, runnerPath: join(distDir, 'python', 'probe_runner.py'), device: 'cpu' as const, threads } } : {}),
  });
  await run.finished;
  const started = messages.find((m): m is Extract<ProbeMessage, { type: 'started' }> => m.type === 'started');
  const done = messages.find((m): m is Extract<ProbeMessage, { type: 'done' }> => m.type === 'done');
  const error = messages.find((m): m is Extract<ProbeMessage, { type: 'error' }> => m.type === 'error');
  return {
    backend: started?.backend ?? '-',
    device: started?.device ?? '-',
    stepMs: messages.filter((m): m is Extract<ProbeMessage, { type: 'step' }> => m.type === 'step' && m.step >= warmupSteps).map((m) => m.ms),
    finalLoss: done?.finalLoss ?? Number.NaN,
    flopsPerStep: started?.flopsPerStep ?? 0,
    status: error ? `${error.code}: ${error.message}` : done ? done.reason : 'no result',
  };
}

/** The whole plan as the CLI runs it: every variant a child, as many training at once as there are cores. */
async function runWholePlan(plan: ProbePlan, python: PythonChoice | undefined): Promise<{ initMs: number; wallMs: number; ends: string }> {
  const started = performance.now();
  let initMs = 0;
  let profiles = 0;
  const run = startProbe({
    plan,
    workerPath: join(distDir, 'probe-worker.js'),
    onMessage: (m) => {
      if (m.type === 'gradients' && m.step === 0 && ++profiles === plan.variants.length) initMs = performance.now() - started;
    },
    ...(python ? { torch: { python: python.path, runnerPath: join(distDir, 'python', 'probe_runner.py'), device: 'cpu' as const } } : {}),
  });
  const ends = await run.finished;
  return { initMs, wallMs: performance.now() - started, ends: [...new Set(ends.values())].join(',') };
}

const mean = (values: number[]): number => values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : Number.NaN;
};

function choosePython(flag: string | undefined): PythonChoice | string {
  const chosen = choosePythonForCli(flag);
  const check = checkTorch(chosen);
  if (check.ok) return chosen;
  if (!flag) {
    // Here the python3 first on PATH lacks torch; Debian's has it.
    const debian = { path: '/usr/bin/python3', source: 'Debian python3 (python3 on PATH has no torch)' };
    if (checkTorch(debian).ok) return debian;
  }
  return check.message;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '100' },
      depths: { type: 'string', default: '20,56' },
      python: { type: 'string' },
      engines: { type: 'string', default: 'tfjs,torch-1,torch' },
      'skip-whole': { type: 'boolean', default: false },
    },
  });
  const { plan } = planProbe({ depths: values.depths.split(',').map(Number), steps: Number(values.steps), gradientEvery: 20 });
  const engines = values.engines.split(',');
  const python = engines.some((e) => e.startsWith('torch')) ? choosePython(values.python) : undefined;
  if (typeof python === 'string') {
    console.log(`torch engine unavailable: ${python}`);
    process.exitCode = 1;
    return;
  }
  const torchCheck = python ? checkTorch(python) : undefined;
  console.log(
    `probe engines: the default probe (width ${plan.variants[0]!.width}, ${plan.inputSize}x${plan.inputSize}x${plan.inputChannels}, batch ${plan.batchSize}, ${plan.optimizer} ${plan.learningRate}, ` +
      `${plan.steps} steps, ${warmupSteps} untimed) one variant at a time; ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}; load average ${loadavg()[0]!.toFixed(1)} at start`,
  );
  if (python && torchCheck?.ok) console.log(`torch: ${torchCheck.torchVersion} with ${python.path} (${python.source}), device forced to cpu; torch-1: 1 thread, torch: ${availableParallelism()} threads`);
  const rows: string[][] = [['variant', 'engine', 'backend / device', 'ms/step mean', 'median', 'GFLOP/s', 'final loss', 'status']];
  const perDepth = new Map<string, Map<string, number>>();
  for (const variant of plan.variants) {
    for (const engine of engines) {
      // 'torch' uses a thread per core, 'torch-1' one thread
      const threads = engine === 'torch-1' ? 1 : availableParallelism();
      const figures = await runEngine(plan, variant.id, engine.startsWith('torch') ? (python as PythonChoice) : undefined, threads);
      const ms = mean(figures.stepMs);
      if (!perDepth.has(variant.id)) perDepth.set(variant.id, new Map());
      perDepth.get(variant.id)!.set(engine, ms);
      rows.push([
        variant.id,
        engine,
        `${figures.backend} / ${figures.device}`,
        ms.toFixed(1),
        median(figures.stepMs).toFixed(1),
        figures.flopsPerStep && ms ? (figures.flopsPerStep / ms / 1e6).toFixed(1) : '-',
        figures.finalLoss.toFixed(3),
        figures.status,
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => (i < 3 || i === 7 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log('\nms/step per depth (mean of timed steps), and how many times faster than tfjs:');
  console.log(['variant'.padEnd(12), ...engines.map((e) => e.padStart(9)), ...engines.filter((e) => e !== 'tfjs' && engines.includes('tfjs')).map((e) => `tfjs/${e}`.padStart(14))].join('  '));
  for (const [variant, byEngine] of perDepth) {
    const tfjs = byEngine.get('tfjs');
    const speedups = engines.filter((e) => e !== 'tfjs' && tfjs !== undefined).map((e) => `${(tfjs! / byEngine.get(e)!).toFixed(1)}x`.padStart(14));
    console.log([variant.padEnd(12), ...engines.map((e) => byEngine.get(e)!.toFixed(1).padStart(9)), ...speedups].join('  '));
  }
  if (!values['skip-whole']) {
    console.log(`\nthe whole plan as the CLI runs it (${plan.variants.length} variants, ${availableParallelism()} training at once; torch: 1 thread each):`);
    for (const engine of ['tfjs', 'torch'].filter((e) => engines.some((x) => x.startsWith(e)))) {
      const whole = await runWholePlan(plan, engine === 'torch' ? (python as PythonChoice) : undefined);
      console.log(`${engine.padEnd(6)} every init profile after ${(whole.initMs / 1000).toFixed(1)} s, finished after ${(whole.wallMs / 1000).toFixed(1)} s (${whole.ends})`);
    }
  }
  console.log(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
}

void main();
