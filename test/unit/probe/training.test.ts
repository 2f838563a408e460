// Real TensorFlow.js training in this process on the wasm backend: small nets, few steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planProbe, type ProbeOptions } from '../../../src/core/probe/plan';
import type { ProbeMessage } from '../../../src/core/probe/protocol';
import { selectBackend, smokeTest } from '../../../src/probe-worker/backend';
import { ProbeRunError, runVariant } from '../../../src/probe-worker/train';

const backendReady = selectBackend('wasm');

async function train(options: Partial<ProbeOptions>, variant: string): Promise<ProbeMessage[]> {
  const backend = await backendReady;
  const { plan } = planProbe({ width: 4, inputSize: 8, batchSize: 8, ...options });
  const messages: ProbeMessage[] = [];
  await runVariant(backend, plan, variant, { emit: (m) => messages.push(m), cancelled: () => false });
  return messages;
}

test('the wasm backend passes the smoke test and reports its device', async () => {
  const backend = await backendReady;
  assert.equal(backend.name, 'wasm');
  assert.match(backend.device, /WebAssembly/);
  assert.doesNotThrow(() => smokeTest(backend.tf));
});

test('a residual-8 run sends started, activations and gradients at init, a step per step, and done', async () => {
  const messages = await train({ depths: [8], steps: 6, gradientEvery: 3 }, 'residual-8');
  assert.deepEqual(messages.map((m) => m.type), ['started', 'activations', 'gradients', 'step', 'step', 'step', 'gradients', 'step', 'step', 'step', 'done']);
  const started = messages[0] as Extract<ProbeMessage, { type: 'started' }>;
  assert.equal(started.backend, 'wasm');
  assert.equal(started.layers.length, 8);
  assert.deepEqual(started.layers.map((l) => l.residualAddAfter), [false, false, true, false, true, false, true, false]);
  const init = messages[2] as Extract<ProbeMessage, { type: 'gradients' }>;
  assert.equal(init.step, 0);
  assert.equal(init.gradNorms.length, 8);
  assert.ok(init.gradNorms.every((g) => Number.isFinite(g) && g > 0));
  assert.ok(init.updateRatios.every((r) => r === null));
  assert.ok(init.firstToLastRatio! > 0);
  const later = messages[6] as Extract<ProbeMessage, { type: 'gradients' }>;
  assert.equal(later.step, 3);
  assert.ok(later.updateRatios.every((r) => r !== null && r > 0 && r < 1), `update ratios ${later.updateRatios}`);
  const activations = messages[1] as Extract<ProbeMessage, { type: 'activations' }>;
  assert.equal(activations.stds.length, 8);
  const done = messages.at(-1) as Extract<ProbeMessage, { type: 'done' }>;
  assert.equal(done.reason, 'completed');
  assert.equal(done.steps, 6);
  const losses = messages.filter((m) => m.type === 'step').map((m) => m.loss);
  assert.ok(Math.abs(done.finalLoss - losses.reduce((a, b) => a + b) / losses.length) < 1e-9);
});

test('the same seed gives identical losses; another seed gives others', async () => {
  const losses = async (seed: number): Promise<number[]> =>
    (await train({ depths: [8], steps: 4, seed, shortcut: 'B' }, 'residual-8')).filter((m) => m.type === 'step').map((m) => m.loss);
  const first = await losses(3);
  assert.deepEqual(await losses(3), first);
  assert.notDeepEqual(await losses(4), first);
});

test('depth 20 trains without leaking tensors', async () => {
  const messages = await train({ depths: [20], steps: 5, architectures: ['plain'] }, 'plain-20');
  assert.equal(messages.at(-1)!.type, 'done');
});

test('an absurd learning rate without BatchNorm diverges, and says at which step', async () => {
  await assert.rejects(
    train({ depths: [8], steps: 30, batchNorm: false, optimizer: 'sgd', learningRate: 1e4 }, 'plain-8'),
    (err: unknown) => err instanceof ProbeRunError && err.code === 'diverged' && /diverged at step \d+/.test(err.message),
  );
});

test('a time budget stops training early with reason time-budget', async () => {
  const messages = await train({ depths: [8], steps: 100_000, timeBudgetMs: 300, architectures: ['plain'] }, 'plain-8');
  const done = messages.at(-1)!;
  assert.ok(done.type === 'done' && done.reason === 'time-budget', JSON.stringify(done));
  assert.ok(done.steps > 1 && done.steps < 100_000);
});

test('SGD with momentum trains too', async () => {
  const messages = await train({ depths: [8], steps: 3, optimizer: 'sgd', learningRate: 0.05, architectures: ['residual'] }, 'residual-8');
  assert.equal(messages.at(-1)!.type, 'done');
  const losses = messages.filter((m) => m.type === 'step').map((m) => m.loss);
  assert.ok(losses.every(Number.isFinite));
});

test('the tensor-count check stops a run that leaks tensors', async () => {
  const backend = await backendReady;
  const { plan } = planProbe({ width: 4, inputSize: 8, batchSize: 8, depths: [8], architectures: ['plain'], steps: 50 });
  const leaked: { dispose(): void }[] = [];
  await assert.rejects(
    runVariant(backend, plan, 'plain-8', {
      // a real leak: one tensor per step that nobody disposes
      emit: (m) => void (m.type === 'step' && leaked.push(backend.tf.scalar(m.step))),
      cancelled: () => false,
      leakTolerance: 4,
    }),
    (err: unknown) => err instanceof ProbeRunError && err.code === 'out-of-memory' && /tensor leak/.test(err.message) && err.step! < 10,
  );
  leaked.forEach((t) => t.dispose());
});
