// The PyTorch probe engine end to end: Debian's python3-torch (CPU) runs
// dist/python/probe_runner.py in real child processes under the real supervisor,
// next to the TF.js worker for comparison. Without torch these tests fail and say how
// to install it: they are never skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNetwork } from '../../../src/core/probe/network';
import { planProbe, type ProbeOptions } from '../../../src/core/probe/plan';
import type { ProbeMessage } from '../../../src/core/probe/protocol';
import { startProbe, type ProbeRun } from '../../../src/probe-worker/supervisor';
import { checkTorch, checkTorchAsync, choosePythonForCli, resolveEngine, spawnTorchRunner } from '../../../src/torch/torchEngine';
import { distDir } from '../../support/paths';

const debianPython = '/usr/bin/python3';
const runnerPath = join(distDir, 'python', 'probe_runner.py');
const workerPath = join(distDir, 'probe-worker.js');
const tiny: Partial<ProbeOptions> = { depths: [8], width: 4, inputSize: 8, batchSize: 8 };
const installHint = `${debianPython} cannot import torch: install Debian's PyTorch with \`apt-get install python3-torch\` (these tests need it and are never skipped)`;

function requireTorch(): void {
  const probe = spawnSync(debianPython, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${installHint}\n${probe.stderr ?? probe.error?.message ?? ''}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function start(
  options: Partial<ProbeOptions>,
  extra: { engine?: 'tfjs' | 'torch'; cancelGraceMs?: number; maxParallel?: number } = {},
): { run: ProbeRun; messages: ProbeMessage[]; logs: string[] } {
  const { plan } = planProbe({ ...tiny, ...options });
  const messages: ProbeMessage[] = [];
  const logs: string[] = [];
  const run = startProbe({
    plan,
    workerPath,
    maxParallel: extra.maxParallel ?? 2,
    onMessage: (m) => messages.push(m),
    onLog: (v, line) => logs.push(`${v}: ${line}`),
    ...(extra.cancelGraceMs !== undefined ? { cancelGraceMs: extra.cancelGraceMs } : {}),
    ...(extra.engine === 'tfjs' ? {} : { torch: { python: debianPython, runnerPath, device: 'cpu' as const } }),
  });
  return { run, messages, logs };
}

const ofType = <T extends ProbeMessage['type']>(messages: ProbeMessage[], type: T, variant?: string): Extract<ProbeMessage, { type: T }>[] =>
  messages.filter((m): m is Extract<ProbeMessage, { type: T }> => m.type === type && (variant === undefined || m.variant === variant));

test('Debian PyTorch is installed for the torch engine tests', () => {
  requireTorch();
  assert.ok(existsSync(runnerPath), `${runnerPath} is missing (npm run build copies it)`);
});

test('torch engine: each variant streams the TF.js worker sequence of messages and leaves no process', async () => {
  requireTorch();
  const { run, messages } = start({ steps: 4, gradientEvery: 2 });
  const pidsSeen = new Set<number>();
  const poll = setInterval(() => run.pids().forEach((pid) => pidsSeen.add(pid)), 5);
  const ends = await run.finished;
  clearInterval(poll);
  assert.deepEqual([...ends.entries()].sort(), [['plain-8', 'done'], ['residual-8', 'done']], JSON.stringify(ofType(messages, 'error')));
  for (const variant of ['plain-8', 'residual-8']) {
    const own = messages.filter((m) => m.variant === variant).map((m) => m.type);
    assert.deepEqual(own, ['started', 'activations', 'gradients', 'step', 'step', 'gradients', 'step', 'step', 'done'], variant);
    const [started] = ofType(messages, 'started', variant);
    assert.match(started!.backend, /^torch \d+\.\d+/);
    assert.match(started!.device, /^cpu \(\d+ threads?\)$/);
    assert.ok(started!.flopsPerStep! > 0);
    const [done] = ofType(messages, 'done', variant);
    assert.equal(done!.reason, 'completed');
    assert.equal(done!.steps, 4);
    assert.ok(done!.msPerStep > 0 && Number.isFinite(done!.finalLoss));
    const [init] = ofType(messages, 'gradients', variant);
    assert.equal(init!.gradNorms.length, started!.layers.length);
    assert.ok(init!.gradNorms.every((n) => n > 0 && Number.isFinite(n)), 'every layer has a gradient');
    assert.ok(init!.updateRatios.every((r) => r === null), 'no update at init');
    const later = ofType(messages, 'gradients', variant)[1]!;
    assert.ok(later.updateRatios.every((r) => r !== null && r > 0), 'update ratios after training steps');
    const [activations] = ofType(messages, 'activations', variant);
    assert.equal(activations!.stds.length, started!.layers.length);
  }
  assert.ok(pidsSeen.size >= 1);
  await waitFor(() => [...pidsSeen].every((pid) => !alive(pid)), 3000, 'runners to exit');
});

test('torch and TF.js build the same depth-8 networks: layer names, order, parameters, and the same first losses', async () => {
  requireTorch();
  for (const shortcut of ['A', 'B'] as const) {
    const options = { steps: 3, gradientEvery: 1, shortcut };
    const torch = start(options);
    const tfjs = start(options, { engine: 'tfjs' });
    await Promise.all([torch.run.finished, tfjs.run.finished]);
    for (const variant of ['plain-8', 'residual-8']) {
      const [a] = ofType(torch.messages, 'started', variant);
      const [b] = ofType(tfjs.messages, 'started', variant);
      assert.ok(a && b, `${variant} started on both engines`);
      const { plan } = planProbe({ ...tiny, ...options });
      assert.deepEqual(a.layers, describeNetwork(plan.variants.find((v) => v.id === variant)!, plan).layers);
      assert.deepEqual(a.layers, b.layers, `${variant} (${shortcut}) layers`);
      assert.equal(a.params, b.params);
      assert.equal(a.flopsPerStep, b.flopsPerStep);
      // Same seeded initial weights and batches: the engines agree to float rounding.
      const lossesTorch = ofType(torch.messages, 'step', variant).map((m) => m.loss);
      const lossesTfjs = ofType(tfjs.messages, 'step', variant).map((m) => m.loss);
      assert.equal(lossesTorch.length, 3);
      lossesTorch.forEach((loss, i) => assert.ok(Math.abs(loss - lossesTfjs[i]!) < 1e-4, `${variant} (${shortcut}) step ${i}: torch ${loss}, tfjs ${lossesTfjs[i]}`));
      const gradTorch = ofType(torch.messages, 'gradients', variant)[0]!.gradNorms;
      const gradTfjs = ofType(tfjs.messages, 'gradients', variant)[0]!.gradNorms;
      gradTorch.forEach((g, i) => assert.ok(Math.abs(g - gradTfjs[i]!) <= 1e-3 * Math.max(1, gradTfjs[i]!), `${variant} layer ${i}: ${g} vs ${gradTfjs[i]}`));
    }
  }
});

test('torch engine: the same seed gives the same run, another seed another', async () => {
  requireTorch();
  const lossesOf = async (seed: number): Promise<number[]> => {
    const { run, messages } = start({ steps: 5, seed, architectures: ['residual'] });
    await run.finished;
    return ofType(messages, 'step').map((m) => m.loss);
  };
  const first = await lossesOf(7);
  const again = await lossesOf(7);
  const other = await lossesOf(8);
  assert.equal(first.length, 5);
  assert.deepEqual(again, first);
  assert.notDeepEqual(other, first);
});

test('torch engine: cancel reaches runners that train and runners held after init; no process is left', async () => {
  requireTorch();
  const { run, messages } = start({ steps: 100_000, depths: [8, 14] }, { cancelGraceMs: 5000 });
  const steps = (variant: string): number => ofType(messages, 'step', variant).length;
  await waitFor(() => steps('plain-8') >= 2 && steps('plain-14') >= 2, 60_000, 'two variants training');
  await waitFor(() => ofType(messages, 'gradients').filter((m) => m.step === 0).length === 4, 60_000, 'every init profile');
  const pids = [...run.pids().values()];
  assert.equal(pids.length, 4);
  const cancelStart = Date.now();
  await run.cancel();
  // Well inside the grace period: the cancel line did it, not SIGTERM.
  assert.ok(Date.now() - cancelStart < 4000, `cancel took ${Date.now() - cancelStart} ms`);
  const ends = await run.finished;
  assert.deepEqual([...ends.values()], ['cancelled', 'cancelled', 'cancelled', 'cancelled']);
  await waitFor(() => pids.every((pid) => !alive(pid)), 3000, 'runners to exit');
  assert.ok(steps('residual-8') <= 1, 'a held variant does not train');
});

test('torch engine: a runner killed mid-run is an error for its variant while the other finishes', async () => {
  requireTorch();
  const { run, messages } = start({ steps: 30 });
  await waitFor(() => ofType(messages, 'step', 'plain-8').length >= 3, 60_000, 'plain-8 to train');
  process.kill(run.pids().get('plain-8')!, 'SIGKILL');
  const ends = await run.finished;
  assert.equal(ends.get('plain-8'), 'error');
  assert.equal(ends.get('residual-8'), 'done');
  const [error] = ofType(messages, 'error', 'plain-8');
  assert.equal(error!.code, 'crashed');
  assert.match(error!.message, /plain-8 was killed by SIGKILL at step \d+/);
  assert.equal(ofType(messages, 'step', 'residual-8').length, 30);
});

test('torch engine: a diverging variant stops with "diverged at step k" while the other keeps training', async () => {
  requireTorch();
  const { run, messages } = start({ depths: [56], batchNorm: false, optimizer: 'sgd', learningRate: 1, steps: 8 });
  const ends = await run.finished;
  assert.equal(ends.get('residual-56'), 'error');
  const [error] = ofType(messages, 'error', 'residual-56');
  assert.equal(error!.code, 'diverged');
  assert.match(error!.message, /^diverged at step \d+: the loss (became NaN|became Infinity|reached \d\.\de\+\d+)$/);
  assert.equal(typeof error!.step, 'number');
  assert.equal(ends.get('plain-56'), 'done');
  assert.equal(ofType(messages, 'step', 'plain-56').length, 8);
});

test('torch engine: an invalid plan is refused with invalid-plan', async () => {
  requireTorch();
  const { plan } = planProbe({ ...tiny, architectures: ['plain'] });
  const messages: ProbeMessage[] = [];
  const run = startProbe({ plan: { ...plan, batchSize: 10_000 }, workerPath, torch: { python: debianPython, runnerPath }, onMessage: (m) => messages.push(m) });
  await run.finished;
  assert.equal(messages.length, 1);
  assert.ok(messages[0]!.type === 'error' && messages[0]!.code === 'invalid-plan' && /batch size/.test(messages[0]!.message));
});

test('the torch check reports the version and the device of Debian PyTorch', () => {
  requireTorch();
  const check = checkTorch({ path: debianPython, source: 'test' });
  assert.ok(check.ok, check.ok ? '' : check.message);
  assert.match(check.torchVersion, /^\d+\.\d+/);
  assert.ok(check.device === 'cpu' || check.device.startsWith('cuda:0 '), check.device);
  const engine = resolveEngine('auto', { path: debianPython, source: 'test' });
  assert.equal(engine.engine, 'torch');
  assert.match(engine.note!, /^PyTorch \d.* on (cpu|cuda:0 .*) with \/usr\/bin\/python3 \(test\)$/);
});

test('no interpreter, no torch, a broken interpreter: one message each that says what is missing', () => {
  const missing = checkTorch({ path: '/nonexistent/bin/python3', source: 'residualLens.python.path' });
  assert.ok(!missing.ok);
  assert.equal(missing.problem, 'no-python');
  assert.match(missing.message, /^no Python interpreter found at \/nonexistent\/bin\/python3 \(residualLens\.python\.path\): choose one with residualLens\.python\.path/);

  // A real Python without torch: Debian's, with site-packages switched off (-S), and
  // whatever python3 is first on PATH when it lacks torch (the pyenv one here).
  const dir = mkdtempSync(join(tmpdir(), 'rl-python-'));
  const noSite = join(dir, 'python-without-site');
  writeFileSync(noSite, `#!/bin/sh\nexec ${debianPython} -S "$@"\n`);
  chmodSync(noSite, 0o755);
  const candidates = [noSite];
  const pathPython = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (pathPython.status !== 0 && !pathPython.error) candidates.push('python3');
  for (const path of candidates) {
    const noTorch = checkTorch({ path, source: 'RESIDUAL_LENS_PYTHON' });
    assert.ok(!noTorch.ok, path);
    assert.equal(noTorch.problem, 'no-torch', path);
    assert.match(noTorch.message, /cannot import torch \((ModuleNotFoundError|ImportError): No module named 'torch'\): install PyTorch for it .*apt-get install python3-torch/, path);
    const forced = resolveEngine('torch', { path, source: '--python' });
    assert.match(forced.error!, /^the torch engine cannot run: .*cannot import torch/);
    const auto = resolveEngine('auto', { path, source: '--python' });
    assert.equal(auto.engine, 'tfjs');
    assert.match(auto.note!, /^engine auto: using TensorFlow\.js, because /);
  }

  const broken = join(dir, 'python-broken');
  writeFileSync(broken, '#!/bin/sh\necho "this is not python" >&2\nexit 3\n');
  chmodSync(broken, 0o755);
  const notPython = checkTorch({ path: broken, source: '--python' });
  assert.ok(!notPython.ok);
  assert.equal(notPython.problem, 'broken-python');
  assert.match(notPython.message, /is not a working Python 3 \(this is not python\)/);

  const notExecutable = join(dir, 'python-not-executable');
  writeFileSync(notExecutable, 'not a program\n');
  const denied = checkTorch({ path: notExecutable, source: '--python' });
  assert.ok(!denied.ok);
  assert.equal(denied.problem, 'broken-python');
  assert.match(denied.message, /could not be run \(.*EACCES/);
});

test('the CLI picks the interpreter from --python, then RESIDUAL_LENS_PYTHON, then python3 on PATH', () => {
  assert.deepEqual(choosePythonForCli('/opt/py', { RESIDUAL_LENS_PYTHON: '/usr/bin/python3' }), { path: '/opt/py', source: '--python' });
  assert.deepEqual(choosePythonForCli(undefined, { RESIDUAL_LENS_PYTHON: '/usr/bin/python3' }), { path: '/usr/bin/python3', source: 'RESIDUAL_LENS_PYTHON' });
  assert.deepEqual(choosePythonForCli(undefined, {}), { path: 'python3', source: 'python3 on PATH' });
});

test('CLI: probe --engine torch --python writes the same record schema; a Python without torch is one clear error', () => {
  requireTorch();
  const cli = join(distDir, 'cli.js');
  const json = join(mkdtempSync(join(tmpdir(), 'rl-probe-')), 'record.json');
  const ok = spawnSync(process.execPath, [cli, 'probe', '--engine', 'torch', '--python', debianPython, '--depths', '8', '--width', '4', '--input', '8', '--batch', '8', '--steps', '3', '--json', json], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /note: PyTorch \d.* on (cpu|cuda:0 .*) with \/usr\/bin\/python3 \(--python\)/);
  const record = JSON.parse(readFileSync(json, 'utf8')) as { version: number; backend: { name: string; device: string }; variants: { name: string; status: string; steps: unknown[]; init: { gradNorms: { layer: string }[] } }[] };
  assert.equal(record.version, 1);
  assert.match(record.backend.name, /^torch /);
  assert.deepEqual(record.variants.map((v) => [v.name, v.status, v.steps.length]), [['plain-8', 'done', 3], ['residual-8', 'done', 3]]);
  assert.equal(record.variants[0]!.init.gradNorms[0]!.layer, 'stem.conv');

  const missing = spawnSync(process.execPath, [cli, 'probe', '--engine', 'torch', '--python', '/nonexistent/python3', '--depths', '8'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /the torch engine cannot run: no Python interpreter found at \/nonexistent\/python3 \(--python\)/);
  const fallback = spawnSync(process.execPath, [cli, 'probe', '--engine', 'auto', '--python', '/nonexistent/python3', '--depths', '8', '--width', '4', '--input', '8', '--batch', '8', '--steps', '1', '--plain-only'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(fallback.status, 0, fallback.stderr);
  assert.match(fallback.stderr, /note: engine auto: using TensorFlow\.js, because no Python interpreter found/);
});

test('a runner whose host is gone (stdin closed) exits by itself mid-run', async () => {
  requireTorch();
  const { plan } = planProbe({ ...tiny, architectures: ['plain'], steps: 100_000 });
  const child = spawnTorchRunner({ python: debianPython, runnerPath, device: 'cpu' }, process.env, 1);
  const steps: number[] = [];
  child.on('message', (m: ProbeMessage) => {
    if (m.type === 'step') steps.push(m.step);
  });
  child.send({ type: 'run', plan, variant: 'plain-8' });
  await waitFor(() => steps.length >= 3, 60_000, 'the runner to train');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin!.end();
  const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000))]);
  assert.notEqual(code, 'timeout', 'the runner kept training without a host');
  assert.ok(!alive(child.pid!));
});

test('the asynchronous torch check gives the same answers as the synchronous one', async () => {
  requireTorch();
  for (const path of [debianPython, '/nonexistent/python3']) {
    const choice = { path, source: 'test' };
    assert.deepEqual(await checkTorchAsync(choice), checkTorch(choice), path);
  }
});

test('a runner whose interpreter does not exist ends every variant with an error, and the run finishes', async () => {
  const { plan } = planProbe({ ...tiny, steps: 2 });
  const messages: ProbeMessage[] = [];
  const run = startProbe({ plan, workerPath, torch: { python: '/nonexistent/python3', runnerPath }, onMessage: (m) => messages.push(m) });
  const ends = await run.finished;
  assert.deepEqual([...ends.values()], ['error', 'error']);
  assert.ok(ofType(messages, 'error').every((m) => /could not run the probe process: spawn \/nonexistent\/python3 ENOENT/.test(m.message)));
});

test('Ctrl-C on the CLI with the torch engine: runners stop on the cancel line and the partial record is written', async () => {
  requireTorch();
  const dir = mkdtempSync(join(tmpdir(), 'rl-probe-'));
  const json = join(dir, 'partial.json');
  // detached: its own process group, as a shell gives a command, so Ctrl-C reaches the runners too
  const cli = spawn(process.execPath, [join(distDir, 'cli.js'), 'probe', '--engine', 'torch', '--python', debianPython, '--depths', '8', '--width', '4', '--input', '8', '--batch', '8', '--steps', '100000', '--json', json], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  cli.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await waitFor(() => /plain-8: step 26/.test(text) && /residual-8: step 26/.test(text), 60_000, 'the CLI to train');
  const children = readFileSync(`/proc/${cli.pid}/task/${cli.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  assert.equal(children.length, 2);
  const exitCode = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
  process.kill(-cli.pid!, 'SIGINT');
  assert.equal(await exitCode, 130);
  await waitFor(() => children.every((pid) => !alive(pid)), 3000, 'runners to exit');
  const record = JSON.parse(readFileSync(json, 'utf8')) as { variants: { status: string; steps: unknown[]; finalLoss?: number }[] };
  assert.deepEqual(record.variants.map((v) => v.status), ['cancelled', 'cancelled']);
  assert.ok(record.variants.every((v) => v.steps.length >= 26 && typeof v.finalLoss === 'number'));
});
