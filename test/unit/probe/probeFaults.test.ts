// Faults of the probe processes beyond those in supervisor.test.ts: a hung step and
// many runs started in a row. Real children running dist/probe-worker.js, real training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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

/** Pids of this test process's live children, from /proc (Linux). */
function ownChildPids(): number[] {
  const file = `/proc/${process.pid}/task/${process.pid}/children`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a hung step is stopped by the watchdog: timeout error for its variant, the other (held meanwhile) still finishes', async () => {
  const { plan } = planProbe({ ...tiny, steps: 6 });
  const messages: { at: number; message: ProbeMessage }[] = [];
  const pidsSeen = new Map<string, number>();
  const stallTimeoutMs = 2000;
  // One core: residual-8 waits silently (held after its init profile) while plain-8 hangs,
  // which must not count as a stall.
  const run = startProbe({
    plan,
    workerPath,
    maxParallel: 1,
    stallTimeoutMs,
    env: { ...process.env, RESIDUAL_LENS_TEST_STALL_STEP: 'plain-8@2' },
    onMessage: (message) => {
      messages.push({ at: Date.now(), message });
      run.pids().forEach((pid, variant) => pidsSeen.set(variant, pid));
    },
  });
  const ends = await run.finished;
  assert.equal(ends.get('plain-8'), 'error');
  assert.equal(ends.get('residual-8'), 'done');
  const own = (variant: string) => messages.filter((m) => m.message.variant === variant);
  const plainError = own('plain-8').at(-1)!;
  assert.ok(plainError.message.type === 'error');
  assert.equal(plainError.message.code, 'timeout');
  assert.equal(plainError.message.step, 2);
  assert.match(plainError.message.message, /^the probe process for plain-8 sent nothing for 2 s at step 2 \(a hung step\) and was stopped$/);
  const lastBeforeHang = own('plain-8').at(-2)!;
  assert.ok(plainError.at - lastBeforeHang.at >= stallTimeoutMs - 50, `the watchdog fired after ${plainError.at - lastBeforeHang.at} ms`);
  assert.equal(own('residual-8').filter((m) => m.message.type === 'step').length, 6);
  assert.ok(!own('residual-8').some((m) => m.message.type === 'error'));
  await waitFor(() => [...pidsSeen.values()].every((pid) => !alive(pid)), 3000, 'every child to exit');
  assert.equal(run.pids().size, 0);
});

test('runs started back to back, each cancelling the previous as the extension does, never exceed the process limit and leave no child', async () => {
  const maxProcesses = 2;
  const { plan } = planProbe({ ...tiny, steps: 100_000 });
  const pidsSeen = new Set<number>();
  let mostAlive = 0;
  const poll = setInterval(() => {
    const pids = ownChildPids();
    pids.forEach((pid) => pidsSeen.add(pid));
    mostAlive = Math.max(mostAlive, pids.length);
  }, 5);
  const runs: { run: ProbeRun; messages: ProbeMessage[] }[] = [];
  // Delays before the next run starts: before any child spoke, during start-up, while training.
  const delaysMs = [0, 30, 200, 0, 600, 50, 1000, 0];
  try {
    for (const delay of delaysMs) {
      await runs.at(-1)?.run.cancel();
      const messages: ProbeMessage[] = [];
      const run = startProbe({ plan, workerPath, maxParallel: 2, maxProcesses, cancelGraceMs: 500, onMessage: (m) => messages.push(m) });
      runs.push({ run, messages });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const last = runs.at(-1)!;
    await waitFor(() => last.messages.filter((m) => m.type === 'step').length >= 4, 60_000, 'the last run to train');
    await last.run.cancel();
    for (const { run, messages } of runs) {
      const ends = await run.finished;
      assert.deepEqual([...ends.values()], ['cancelled', 'cancelled']);
      assert.equal(messages.filter((m) => m.type === 'done' || m.type === 'error').length, 2, 'exactly one end per variant');
    }
  } finally {
    clearInterval(poll);
  }
  assert.ok(mostAlive <= maxProcesses, `${mostAlive} children were alive at once`);
  assert.ok(pidsSeen.size >= 2, 'children were seen');
  await waitFor(() => [...pidsSeen].every((pid) => !alive(pid)) && ownChildPids().length === 0, 3000, 'every child to exit');
});
