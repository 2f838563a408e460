import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultProbeOptions, planProbe, ProbePlanError, probeLimits, roundDepth, validateProbePlan } from '../../../src/core/probe/plan';
import { convLayers, describeNetwork } from '../../../src/core/probe/network';
import { SyntheticTextureTask } from '../../../src/core/probe/synthetic';
import { compareDepths, probeVerdict } from '../../../src/core/probe/verdict';
import { firstToLastRatio, meanOfLast } from '../../../src/core/probe/metrics';
import { ProbeRecorder } from '../../../src/core/probe/record';

test('depths that are not 6n+2 are rounded, with a note saying so', () => {
  assert.deepEqual(roundDepth(20), { depth: 20 });
  assert.equal(roundDepth(21).depth, 20);
  assert.match(roundDepth(21).note ?? '', /depth 21 is not of the form 6n\+2.*using 20/);
  assert.equal(roundDepth(50).depth, 50);
  assert.equal(roundDepth(55).depth, 56);
  assert.equal(roundDepth(110).depth, 110);
  const { plan, notes } = planProbe({ depths: [18, 56, 57] });
  assert.deepEqual([...new Set(plan.variants.map((v) => v.depth))], [20, 56]);
  assert.equal(notes.length, 2);
});

test('the default plan is plain and residual at depths 20 and 56', () => {
  const { plan, notes } = planProbe();
  assert.deepEqual(notes, []);
  assert.deepEqual(plan.variants.map((v) => v.id), ['plain-20', 'plain-56', 'residual-20', 'residual-56']);
  assert.deepEqual(validateProbePlan(plan), []);
  assert.equal(plan.steps, defaultProbeOptions.steps);
});

test('absurd sizes are refused with the limit named', () => {
  const refused = (options: Parameters<typeof planProbe>[0], pattern: RegExp): void => {
    assert.throws(() => planProbe(options), (err: unknown) => err instanceof ProbePlanError && pattern.test(err.message));
  };
  refused({ depths: [10_000] }, /depth 10000 is outside 8\.\.110/);
  refused({ width: 4096 }, /width 4096 is outside the limit 2\.\.64/);
  refused({ batchSize: 1e6 }, /batch size 1000000 is outside the limit 1\.\.256/);
  refused({ inputSize: 18 }, /multiple of 4/);
  refused({ steps: 0 }, /steps 0 is outside/);
  refused({ learningRate: Number.NaN }, /learning rate/);
  refused({ depths: [] }, /no depths/);
  refused({ depths: [110], width: 64, inputSize: 64, batchSize: 256 }, /GB of activations per step is over the limit/);
  assert.ok(probeLimits.maxDepth >= 110);
});

test('the network description matches the ResNet paper: ResNet-20 has 0.27M parameters', () => {
  const resnet20 = describeNetwork({ architecture: 'residual', depth: 20, shortcut: 'A', batchNorm: true, width: 16 }, { inputSize: 32, inputChannels: 3, classes: 10 });
  assert.equal(Math.round(resnet20.params / 1e4) / 100, 0.27);
  assert.equal(convLayers(resnet20).length, 19); // 19 convs + 1 classifier = 20 weighted layers
  assert.equal(resnet20.layers.length, 20);
  assert.equal(resnet20.layers.filter((l) => l.residualAddAfter).length, 9);
  const resnet56 = describeNetwork({ architecture: 'residual', depth: 56, shortcut: 'A', batchNorm: true, width: 16 }, { inputSize: 32, inputChannels: 3, classes: 10 });
  assert.equal(Math.round(resnet56.params / 1e4) / 100, 0.85);
  const plain = describeNetwork({ architecture: 'plain', depth: 20, shortcut: 'A', batchNorm: true, width: 16 }, { inputSize: 32, inputChannels: 3, classes: 10 });
  assert.equal(plain.layers.filter((l) => l.residualAddAfter).length, 0);
  const optionB = describeNetwork({ architecture: 'residual', depth: 20, shortcut: 'B', batchNorm: true, width: 16 }, { inputSize: 16, inputChannels: 3, classes: 10 });
  assert.deepEqual(optionB.layers.filter((l) => l.name.endsWith('shortcut')).map((l) => l.name), ['stage2.block0.shortcut', 'stage3.block0.shortcut']);
  assert.deepEqual(optionB.layers.map((l) => l.index), optionB.layers.map((_, i) => i));
});

test('synthetic batches are deterministic by seed and step, and differ across seeds', () => {
  const a = new SyntheticTextureTask(7, 16, 3, 10).batch(3, 8);
  const b = new SyntheticTextureTask(7, 16, 3, 10).batch(3, 8);
  const c = new SyntheticTextureTask(8, 16, 3, 10).batch(3, 8);
  assert.deepEqual(a.images, b.images);
  assert.deepEqual(a.labels, b.labels);
  assert.notDeepEqual(a.images, c.images);
  assert.notDeepEqual(a.images, new SyntheticTextureTask(7, 16, 3, 10).batch(4, 8).images);
  const big = new SyntheticTextureTask(1, 16, 3, 10).batch(0, 500);
  const counts = new Array(10).fill(0);
  big.labels.forEach((l) => counts[l]++);
  assert.ok(counts.every((n) => n > 25), `labels roughly balanced: ${counts}`);
  let sum = 0;
  let squares = 0;
  big.images.forEach((v) => ((sum += v), (squares += v * v)));
  const std = Math.sqrt(squares / big.images.length - (sum / big.images.length) ** 2);
  assert.ok(std > 0.5 && std < 2, `pixel std ${std}`);
});

test('the verdict calls a deeper net that stays near chance degraded, and one that learns behind', () => {
  const v = (id: string, architecture: 'plain' | 'residual', depth: number, finalLoss: number) => ({ id, architecture, depth, status: 'done' as const, finalLoss, steps: 150 });
  // The figures of the reference measurement (docs): Adam, 150 steps.
  const plain = compareDepths(v('plain-20', 'plain', 20, 1.88), v('plain-56', 'plain', 56, 2.28), 10);
  assert.equal(plain.comparison, 'degradation');
  assert.match(plain.text, /plain-56 ends at loss 2\.28 vs plain-20 1\.88: degradation/);
  const residual = compareDepths(v('residual-20', 'residual', 20, 1.22), v('residual-56', 'residual', 56, 1.65), 10);
  assert.equal(residual.comparison, 'behind');
  assert.equal(compareDepths(v('a', 'residual', 20, 1.2), v('b', 'residual', 56, 1.0), 10).comparison, 'better');
  assert.equal(compareDepths(v('a', 'residual', 20, 1.2), v('b', 'residual', 56, 1.22), 10).comparison, 'comparable');
  const diverged = compareDepths(v('a', 'plain', 20, 1.2), { ...v('b', 'plain', 56, 0), status: 'diverged' }, 10);
  assert.equal(diverged.comparison, 'diverged');
  const all = probeVerdict([v('plain-20', 'plain', 20, 1.88), v('plain-56', 'plain', 56, 2.28), v('residual-20', 'residual', 20, 1.22), v('residual-56', 'residual', 56, 1.65)], 10);
  assert.deepEqual(all.verdicts.map((x) => x.comparison), ['degradation', 'behind']);
  assert.match(all.caveat ?? '', /not explained by vanishing gradients/);
});

test('metrics: mean of the last 10 losses and the first/last conv gradient ratio', () => {
  assert.equal(meanOfLast([100, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 1);
  assert.ok(Number.isNaN(meanOfLast([])));
  const layers = describeNetwork({ architecture: 'plain', depth: 8, shortcut: 'A', batchNorm: true, width: 4 }, { inputSize: 8, inputChannels: 3, classes: 10 }).layers;
  const norms = layers.map((_, i) => i + 1);
  assert.equal(firstToLastRatio(layers, norms), 1 / (layers.length - 1));
});

test('the recorder turns a message stream into the versioned JSON record', () => {
  const { plan } = planProbe({ depths: [8], architectures: ['plain'], steps: 2 });
  let now = 1000;
  const recorder = new ProbeRecorder(plan, ['a note'], () => now);
  const layers = describeNetwork(plan.variants[0]!, plan).layers;
  recorder.add({ type: 'started', variant: 'plain-8', backend: 'wasm', device: 'CPU', params: 42, layers });
  recorder.add({ type: 'gradients', variant: 'plain-8', step: 0, gradNorms: layers.map(() => 1), weightNorms: layers.map(() => 2), updateRatios: layers.map(() => null) });
  now = 1500;
  recorder.add({ type: 'step', variant: 'plain-8', step: 0, loss: 2.3, accuracy: 0.1, ms: 10 });
  recorder.add({ type: 'step', variant: 'plain-8', step: 1, loss: 2.1, accuracy: 0.2, ms: 10 });
  recorder.add({ type: 'done', variant: 'plain-8', steps: 2, finalLoss: 2.2, finalAccuracy: 0.15, msPerStep: 10, reason: 'completed' });
  const record = JSON.parse(JSON.stringify(recorder.record()));
  assert.equal(record.version, 1);
  assert.deepEqual(record.backend, { name: 'wasm', device: 'CPU' });
  const v = record.variants[0];
  assert.equal(v.name, 'plain-8');
  assert.equal(v.residual, false);
  assert.equal(v.status, 'done');
  assert.equal(v.init.gradNorms[0].layer, 'stem.conv');
  assert.deepEqual(v.steps.map((s: { step: number }) => s.step), [0, 1]);
  assert.equal(v.initProfileAtMs, 0);
});
