// Real child processes running dist/probe-worker.js (built by `npm test`), real training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planProbe, type ProbeOptions } from '../../../src/core/probe/plan';
import type { ProbeMessage } from '../../../src/core/probe/protocol';
import { startProbe, type ProbeRun } from '../../../src/probe-worker/supervisor';
import { distDir } from '../../support/paths';

const workerPath = join(distDir, 'probe-worker.js');
const tiny: Partial<ProbeOptions> = { depths: [8], width: 4, inputSize: 8, batchSize: 8 };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the live children of a process, from /proc (Linux). */
function childPids(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function start(options: Partial<ProbeOptions>, extra: { cancelGraceMs?: number } = {}): { run: ProbeRun; messages: ProbeMessage[]; logs: string[] } {
  const { plan } = planProbe({ ...tiny, ...options });
  const messages: ProbeMessage[] = [];
  const logs: string[] = [];
  const run = startProbe({ plan, workerPath, maxParallel: 2, onMessage: (m) => messages.push(m), onLog: (v, line) => logs.push(`${v}: ${line}`), ...extra });
  return { run, messages, logs };
}

const stepsOf = (messages: ProbeMessage[], variant: string): number => messages.filter((m) => m.type === 'step' && m.variant === variant).length;

test('the worker bundle exists (npm run build)', () => {
  assert.ok(existsSync(workerPath), workerPath);
});

test('each variant streams started, init activations and gradients, steps and exactly one done; no process is left', async () => {
  const { run, messages } = start({ steps: 4, gradientEvery: 2 });
  const pidsSeen = new Set<number>();
  const poll = setInterval(() => run.pids().forEach((pid) => pidsSeen.add(pid)), 5);
  const ends = await run.finished;
  clearInterval(poll);
  assert.deepEqual([...ends.entries()].sort(), [['plain-8', 'done'], ['residual-8', 'done']]);
  for (const variant of ['plain-8', 'residual-8']) {
    const own = messages.filter((m) => m.variant === variant).map((m) => m.type);
    assert.deepEqual(own, ['started', 'activations', 'gradients', 'step', 'step', 'gradients', 'step', 'step', 'done'], variant);
  }
  const started = messages.find((m) => m.type === 'started') as Extract<ProbeMessage, { type: 'started' }>;
  assert.equal(started.backend, 'wasm');
  assert.ok(started.flopsPerStep! > 0);
  assert.ok(pidsSeen.size >= 1);
  await waitFor(() => [...pidsSeen].every((pid) => !alive(pid)), 3000, 'children to exit');
  assert.equal(run.pids().size, 0);
});

test('cancel stops every child, also those held after their init profile, and leaves no process', async () => {
  const { run, messages } = start({ steps: 100_000, depths: [8, 14] }, { cancelGraceMs: 500 });
  await waitFor(() => stepsOf(messages, 'plain-8') >= 2 && stepsOf(messages, 'plain-14') >= 2, 30_000, 'two variants training');
  // four variants, two cores: the residual ones have reported their init profile and wait
  await waitFor(() => messages.filter((m) => m.type === 'gradients' && m.step === 0).length === 4, 30_000, 'every init profile');
  const pids = [...run.pids().values()];
  assert.equal(pids.length, 4);
  await run.cancel();
  const ends = await run.finished;
  assert.deepEqual([...ends.values()], ['cancelled', 'cancelled', 'cancelled', 'cancelled']);
  await waitFor(() => pids.every((pid) => !alive(pid)), 3000, 'children to exit');
  const done = messages.filter((m) => m.type === 'done');
  assert.equal(done.length, 4);
  assert.ok(done.every((m) => m.type === 'done' && m.reason === 'cancelled'));
  assert.ok(messages.filter((m) => m.variant === 'residual-8' && m.type === 'step').length <= 1, 'a held variant does not train');
});

test('a child killed mid-run becomes an error for its variant while the other finishes', async () => {
  const { run, messages } = start({ steps: 40 });
  await waitFor(() => stepsOf(messages, 'plain-8') >= 3, 30_000, 'plain-8 to train');
  const pid = run.pids().get('plain-8')!;
  process.kill(pid, 'SIGKILL');
  const ends = await run.finished;
  assert.equal(ends.get('plain-8'), 'error');
  assert.equal(ends.get('residual-8'), 'done');
  const error = messages.find((m) => m.type === 'error' && m.variant === 'plain-8');
  assert.ok(error && error.type === 'error');
  assert.equal(error.code, 'crashed');
  assert.match(error.message, /plain-8 was killed by SIGKILL at step \d+/);
  assert.equal(stepsOf(messages, 'residual-8'), 40);
});

test('a diverging variant stops with "diverged at step k" while the other keeps training', async () => {
  const { run, messages } = start({ depths: [56], batchNorm: false, optimizer: 'sgd', learningRate: 1, steps: 8 });
  const ends = await run.finished;
  assert.equal(ends.get('residual-56'), 'error');
  const error = messages.find((m) => m.type === 'error');
  assert.ok(error && error.type === 'error');
  assert.equal(error.code, 'diverged');
  assert.match(error.message, /^diverged at step \d+/);
  assert.equal(ends.get('plain-56'), 'done');
  assert.equal(stepsOf(messages, 'plain-56'), 8);
});

test('an invalid plan sent to a worker is refused with invalid-plan', async () => {
  const { plan } = planProbe({ ...tiny, architectures: ['plain'] });
  const messages: ProbeMessage[] = [];
  const run = startProbe({ plan: { ...plan, batchSize: 10_000 }, workerPath, onMessage: (m) => messages.push(m) });
  await run.finished;
  assert.equal(messages.length, 1);
  assert.ok(messages[0]!.type === 'error' && messages[0]!.code === 'invalid-plan' && /batch size/.test(messages[0]!.message));
});

test('children exit by themselves when their host dies; Ctrl-C on the CLI writes partial results', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-probe-'));
  // detached: its own process group, as a shell gives a command, so Ctrl-C can reach them all
  const launch = (json: string) =>
    spawn(process.execPath, [join(distDir, 'cli.js'), 'probe', '--depths', '8', '--width', '4', '--input', '8', '--batch', '8', '--steps', '100000', '--json', json], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
  const waitForSteps = async (cli: ReturnType<typeof launch>): Promise<void> => {
    let text = '';
    cli.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await waitFor(() => /plain-8: step 26/.test(text) && /residual-8: step 26/.test(text), 60_000, 'the CLI to train');
  };

  // The host is killed outright: no cancel message, no SIGTERM; the IPC channel closes.
  const killed = launch(join(dir, 'killed.json'));
  await waitForSteps(killed);
  const orphans = childPids(killed.pid!);
  assert.equal(orphans.length, 2);
  killed.kill('SIGKILL');
  await waitFor(() => orphans.every((pid) => !alive(pid)), 5000, 'children of a killed host to exit');

  const interrupted = launch(join(dir, 'partial.json'));
  await waitForSteps(interrupted);
  const children = childPids(interrupted.pid!);
  const exitCode = new Promise<number | null>((resolve) => interrupted.on('exit', (code) => resolve(code)));
  process.kill(-interrupted.pid!, 'SIGINT'); // what Ctrl-C in a terminal does: the whole group
  assert.equal(await exitCode, 130);
  assert.ok(children.every((pid) => !alive(pid)));
  const record = JSON.parse(readFileSync(join(dir, 'partial.json'), 'utf8'));
  assert.equal(record.version, 1);
  assert.deepEqual(record.variants.map((v: { status: string }) => v.status), ['cancelled', 'cancelled']);
  assert.ok(record.variants.every((v: { steps: unknown[] }) => v.steps.length >= 26));
  // every variant keeps its partial losses and a final loss
  assert.ok(record.variants.every((v: { finalLoss?: number }) => typeof v.finalLoss === 'number'));
  assert.ok(readdirSync(dir).includes('partial.json'));
});

test('a forced cpu backend is used and reported; a missing native package is a note, not an error', async () => {
  const { plan } = planProbe({ ...tiny, architectures: ['plain'], steps: 1, backend: 'auto' });
  const messages: ProbeMessage[] = [];
  const run = startProbe({ plan, workerPath, backend: 'cpu', onMessage: (m) => messages.push(m) });
  await run.finished;
  const started = messages.find((m) => m.type === 'started');
  assert.ok(started && started.type === 'started');
  assert.equal(started.backend, 'cpu');
  const auto = startProbe({ plan, workerPath, tfjsNodePath: '/nonexistent', onMessage: (m) => messages.push(m) });
  await auto.finished;
  const autoStarted = messages.filter((m) => m.type === 'started').at(-1);
  assert.ok(autoStarted && autoStarted.type === 'started');
  assert.equal(autoStarted.backend, 'wasm');
  assert.ok(autoStarted.notes?.some((n) => /tfjs-node-gpu or -node\) is not installed/.test(n)));
});

test('a child that runs out of memory becomes an out-of-memory error naming the limit', async () => {
  const { plan } = planProbe({ ...tiny, architectures: ['plain'], steps: 2 });
  const messages: ProbeMessage[] = [];
  // 8 MB of V8 heap cannot even load TensorFlow.js: a real heap exhaustion, quickly.
  const run = startProbe({ plan, workerPath, maxOldSpaceMb: 8, onMessage: (m) => messages.push(m) });
  const ends = await run.finished;
  assert.equal(ends.get('plain-8'), 'error');
  const error = messages.find((m) => m.type === 'error');
  assert.ok(error && error.type === 'error');
  assert.equal(error.code, 'out-of-memory');
  assert.match(error.message, /out of memory; the heap limit per probe process is 8 MB/);
});
