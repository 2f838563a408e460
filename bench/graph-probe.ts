// "Probe This Model" in the worker: a CIFAR ResNet-20 as the PyTorch front end gives it
// (NCHW, option A shortcuts, 32x32x3 input, width 16) and its plain twin. Measures:
//   1. through the supervisor, as the editor runs it (two probe processes in parallel):
//      wall time from startProbe to each variant's first gradient-flow profile (step 0),
//      which is what the panel's first chart waits for;
//   2. in this process: build, step 0 (with the activation and gradient statistics) and
//      ms per later step, per variant.
// Figures, not pass/fail.
//   node out/bench/graph-probe.js [--blocks 3] [--width 16] [--input 32] [--batch N] [--steps 10]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { plainTwin } from '../src/core/modelGraph/plainTwin';
import { planGraphProbe } from '../src/core/probe/graphPlan';
import type { ProbeMessage } from '../src/core/probe/protocol';
import { selectBackend } from '../src/probe-worker/backend';
import { startProbe } from '../src/probe-worker/supervisor';
import { runVariant } from '../src/probe-worker/train';
import { cifarResNet } from '../test/unit/probe/graphFixtures';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      blocks: { type: 'string', default: '3' },
      width: { type: 'string', default: '16' },
      input: { type: 'string', default: '32' },
      batch: { type: 'string' },
      steps: { type: 'string', default: '10' },
    },
  });
  const n = Number(values.blocks);
  const graph = cifarResNet({ framework: 'pytorch', blocks: [n, n, n], width: Number(values.width), inputSize: Number(values.input), shortcut: 'A' });
  const twin = plainTwin(graph).graph;
  const steps = Number(values.steps);
  const { plan } = planGraphProbe(
    [
      { label: `ResNet-${6 * n + 2}`, role: 'model', graph },
      { label: `plain-${6 * n + 2}`, role: 'plain', graph: twin },
    ],
    { steps, gradientEvery: 5, backend: 'wasm', ...(values.batch ? { batchSize: Number(values.batch) } : {}) },
  );
  console.log(`graph probe: ResNet-${6 * n + 2} (PyTorch layout, option A), ${values.input}x${values.input}x3, width ${values.width}, batch ${plan.batchSize}, Adam; ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}`);

  // 1. Through the supervisor: two children, as the panel's command starts them.
  const workerPath = join(__dirname, '..', '..', 'dist', 'probe-worker.js');
  const start = performance.now();
  const firstProfile = new Map<string, number>();
  const stepMs = new Map<string, number[]>();
  const errors: string[] = [];
  const run = startProbe({
    plan,
    workerPath,
    maxParallel: 2,
    onMessage: (m: ProbeMessage) => {
      if (m.type === 'gradients' && m.step === 0) firstProfile.set(m.variant, performance.now() - start);
      if (m.type === 'step' && m.step > 0) stepMs.set(m.variant, [...(stepMs.get(m.variant) ?? []), m.ms]);
      if (m.type === 'error') errors.push(`${m.variant}: ${m.message}`);
    },
  });
  await run.finished;
  if (errors.length) console.log(`errors: ${errors.join('; ')}`);
  console.log('through the supervisor (2 processes in parallel):');
  console.log('variant       first gradient-flow profile (ms from start)   ms/step (steps 1..)');
  for (const variant of plan.variants) {
    const times = stepMs.get(variant.id) ?? [];
    const mean = times.length ? times.reduce((a, b) => a + b, 0) / times.length : Number.NaN;
    console.log(`${variant.id.padEnd(13)} ${String(Math.round(firstProfile.get(variant.id) ?? Number.NaN)).padStart(8)}                                       ${mean.toFixed(0).padStart(6)}`);
  }
  console.log(`first chart (every variant's profile in): ${Math.round(Math.max(...firstProfile.values()))} ms`);

  // 2. In this process, one variant at a time.
  const backend = await selectBackend('wasm');
  console.log('in process (one core):');
  console.log('variant       params     GFLOP/step   build+step0 ms   ms/step   GFLOP/s');
  for (const variant of plan.variants) {
    const t0 = performance.now();
    let initMs = 0;
    let params = 0;
    let flops = 0;
    const later: number[] = [];
    await runVariant(backend, plan, variant.id, {
      emit: (m) => {
        if (m.type === 'started') {
          params = m.params;
          flops = m.flopsPerStep ?? 0;
        }
        if (m.type === 'gradients' && m.step === 0) initMs = performance.now() - t0;
        if (m.type === 'step' && m.step > 0) later.push(m.ms);
      },
      cancelled: () => false,
    });
    const ms = later.reduce((a, b) => a + b, 0) / Math.max(1, later.length);
    console.log(
      `${variant.id.padEnd(13)} ${String(params).padStart(8)}   ${(flops / 1e9).toFixed(2).padStart(10)}   ${initMs.toFixed(0).padStart(14)}   ${ms.toFixed(0).padStart(7)}   ${(flops / 1e9 / (ms / 1000)).toFixed(2).padStart(7)}`,
    );
  }
}

void main();
