// "Probe This Model" in the worker: a CIFAR ResNet-20 as the PyTorch front end gives it
// (NCHW, option A shortcuts, 32x32x3 input, width 16) and its plain twin. Measures:
//   0. from the source: test/fixtures/probe-models/pytorch/resnet20_option_a.py read,
//      parsed and extracted by the PyTorch front end, the plain twin and the plan made,
//      two probe processes started: wall time to every variant's first gradient-flow
//      profile (what the panel's first chart waits for; the editor adds the panel);
//   1. the same from a hand-written graph, through the supervisor (startProbe onwards);
//   2. in this process: build, step 0 (with the activation and gradient statistics) and
//      ms per later step, per variant.
// Figures, not pass/fail.
//   node out/bench/graph-probe.js [--blocks 3] [--width 16] [--input 32] [--batch N] [--steps 10]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { plainTwin } from '../src/core/modelGraph/plainTwin';
import { pytorchModelGraph } from '../src/core/modelGraph/pytorch';
import { Grammars } from '../src/core/parse/grammars';
import { planGraphProbe } from '../src/core/probe/graphPlan';
import type { ProbeMessage } from '../src/core/probe/protocol';
import { selectBackend } from '../src/probe-worker/backend';
import { startProbe, type ProbeSupervisorOptions } from '../src/probe-worker/supervisor';
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

  const root = join(__dirname, '..', '..');
  const workerPath = join(root, 'dist', 'probe-worker.js');

  // 0. From the source file, as the command does after the user asks.
  {
    const grammars = await Grammars.load(join(root, 'dist', 'grammars'));
    const file = join(root, 'test', 'fixtures', 'probe-models', 'pytorch', 'resnet20_option_a.py');
    const t0 = performance.now();
    const text = readFileSync(file, 'utf8');
    const extraction = pytorchModelGraph.extract({ document: { uri: file, grammar: 'python', text }, modelName: 'ResNet', options: { budgetMs: 20_000 } }, grammars);
    if ('error' in extraction) throw new Error(extraction.error);
    const model = extraction.variants.find((v) => v.role === 'model')!;
    const extracted = performance.now() - t0;
    const { plan: sourcePlan } = planGraphProbe(
      [
        { label: model.label, role: 'model', graph: model.graph },
        { label: `${model.label} plain`, role: 'plain', graph: plainTwin(model.graph).graph },
      ],
      { steps: 1, backend: 'wasm' },
    );
    const planned = performance.now() - t0;
    const profiles = await firstProfiles({ plan: sourcePlan, workerPath, maxParallel: 2, onMessage: () => undefined }, t0);
    console.log(
      `from resnet20_option_a.py (ResNet [3, 3, 3], batch ${sourcePlan.batchSize}): extracted in ${extracted.toFixed(0)} ms, planned at ${planned.toFixed(0)} ms, first gradient-flow profiles at ${[...profiles.values()].map((ms) => ms.toFixed(0)).join(' and ')} ms: every variant's profile in ${Math.max(...profiles.values()).toFixed(0)} ms after the request`,
    );
  }

  // 1. Through the supervisor: two children, as the panel's command starts them.
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

/** Wall time from `since` to each variant's step-0 gradients message. */
async function firstProfiles(options: ProbeSupervisorOptions, since: number): Promise<Map<string, number>> {
  const profiles = new Map<string, number>();
  const run = startProbe({
    ...options,
    onMessage: (m) => {
      if (m.type === 'gradients' && m.step === 0) profiles.set(m.variant, performance.now() - since);
      if (m.type === 'error') console.log(`${m.variant}: ${m.message}`);
    },
  });
  await run.finished;
  return profiles;
}

void main();
