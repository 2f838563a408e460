// Graph plans: the plan built from model graphs, size refusals, the untrusted-input
// checks, and a real probe process training a graph plan through the supervisor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ModelGraph } from '../../../src/core/modelGraph/graph';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { plainTwin } from '../../../src/core/modelGraph/plainTwin';
import { findScaleDown, GraphPlanError, planGraphProbe, validateModelGraph } from '../../../src/core/probe/graphPlan';
import { scaleDownGraph } from '../../../src/core/probe/graphScale';
import { validateProbePlan } from '../../../src/core/probe/plan';
import { parseProbeMessage, parseProbePlan } from '../../../src/core/probe/probeMessageValidation';
import type { ProbeMessage } from '../../../src/core/probe/protocol';
import { startProbe, torchGraphRefusal } from '../../../src/probe-worker/supervisor';
import { distDir } from '../../support/paths';
import { cifarResNet, tinyTransformer } from './graphFixtures';

const workerPath = join(distDir, 'probe-worker.js');

test('a ResNet and its plain twin make a classification plan that validates and survives JSON', () => {
  const graph = cifarResNet({ blocks: [3, 3, 3] });
  const { plan, notes } = planGraphProbe([
    { label: 'ResNet [3, 3, 3]', role: 'model', graph },
    { label: 'ResNet [3, 3, 3] plain', role: 'plain', graph: plainTwin(graph).graph },
  ]);
  assert.deepEqual(plan.task, { kind: 'classification', classes: 10 });
  assert.deepEqual(plan.variants.map((v) => [v.id, v.architecture]), [['model', 'residual'], ['plain', 'plain']]);
  assert.ok(plan.batchSize >= 2 && plan.batchSize <= 32, `batch ${plan.batchSize}`);
  assert.deepEqual(validateProbePlan(plan), []);
  assert.match(notes.join(' '), /10-class classification/);
  const parsed = parseProbePlan(JSON.parse(JSON.stringify(plan)));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  assert.deepEqual(parsed.value, plan);
  assert.deepEqual(parsed.ignoredFields, []);
});

test('a token model gets the next-token task', () => {
  const { plan } = planGraphProbe([{ label: 'GPT', role: 'model', graph: tinyTransformer() }]);
  assert.deepEqual(plan.task, { kind: 'next-token', vocabulary: 16, sequenceLength: 8 });
});

test('a model too big for a probe is refused with the numbers and a scale-down that fits', () => {
  const graph = cifarResNet({ blocks: [18, 18, 18], width: 64, inputSize: 64 });
  let refusal: GraphPlanError | undefined;
  try {
    planGraphProbe([{ label: 'ResNet-110 wide', role: 'model', graph }], { batchSize: 32 });
  } catch (err) {
    refusal = err as GraphPlanError;
  }
  assert.ok(refusal instanceof GraphPlanError);
  assert.match(refusal.message, /ResNet-110 wide: about [\d.]+ GFLOP per training step at batch 32 is over the limit of 30\.0 GFLOP/);
  assert.match(refusal.message, /Scaled down \(width ÷ \d+(, input size ÷ \d+)?\) it fits: [\d.]+ [kM] parameters/);
  assert.ok(refusal.scaleDown);
  const scaled = scaleDownGraph(graph, refusal.scaleDown);
  assert.ok('graph' in scaled);
  const { plan } = planGraphProbe([{ label: 'ResNet-110 scaled', role: 'model', graph: scaled.graph }]);
  assert.deepEqual(validateProbePlan(plan), []);
});

test('scaling down re-derives every shape: width ÷ 2 and input ÷ 2 give the same graphs as writing the smaller model', () => {
  for (const shortcut of ['A', 'B'] as const) {
    for (const framework of ['pytorch', 'keras'] as const) {
      const big = cifarResNet({ framework, blocks: [2, 2, 2], width: 16, inputSize: 32, shortcut });
      const narrow = scaleDownGraph(big, { widthDivisor: 2 });
      assert.ok('graph' in narrow, JSON.stringify(narrow));
      assert.deepEqual(narrow.graph, cifarResNet({ framework, blocks: [2, 2, 2], width: 8, inputSize: 32, shortcut }), `${framework} ${shortcut} width`);
      const small = scaleDownGraph(big, { inputDivisor: 2 });
      assert.ok('graph' in small, JSON.stringify(small));
      assert.deepEqual(small.graph, cifarResNet({ framework, blocks: [2, 2, 2], width: 16, inputSize: 16, shortcut }), `${framework} ${shortcut} input`);
    }
  }
  const gpt = scaleDownGraph(tinyTransformer({ embed: 32 }), { widthDivisor: 2 });
  assert.ok('graph' in gpt, JSON.stringify(gpt));
  // A constant in the source (the scores' 1/sqrt(head size)) is a number in the graph: it stays.
  const expected = tinyTransformer({ embed: 16 });
  for (const node of expected.nodes) if (node.op.op === 'scale') node.op.factor = 1 / Math.sqrt(32 / 2);
  assert.deepEqual(gpt.graph, expected);
  assert.equal(graphParameterCount(gpt.graph).trainable, graphParameterCount(tinyTransformer({ embed: 16 })).trainable);
  // a token model has no spatial input to shrink
  assert.match(JSON.stringify(scaleDownGraph(tinyTransformer(), { inputDivisor: 2 })).slice(0, 300), /no spatial input/);
  // too small to shrink: a 3x3 window no longer fits
  const tiny = cifarResNet({ blocks: [1, 1, 1], width: 4, inputSize: 4 });
  assert.ok(findScaleDown(tiny) === undefined || 'graph' in scaleDownGraph(tiny, findScaleDown(tiny)!.scale));
});

test('malformed graphs are rejected with messages that say what is wrong', () => {
  const good = cifarResNet({ blocks: [1, 1, 1], width: 4, inputSize: 8 });
  const broken = (mutate: (g: ModelGraph) => void): string[] => {
    const copy = JSON.parse(JSON.stringify(good)) as ModelGraph;
    mutate(copy);
    return validateModelGraph(copy);
  };
  assert.deepEqual(validateModelGraph(good), []);
  assert.match(broken((g) => (g.nodes[3]!.inputs = [7])).join(), /inputs must be ids of earlier nodes/);
  assert.match(broken((g) => ((g.nodes[1]!.op as { op: 'conv'; kernel: number[] }).kernel = [3, 1e9])).join(), /kernel/);
  assert.match(broken((g) => ((g.nodes[1]!.op as unknown as { op: string }).op = 'rm -rf')).join(), /unknown op "rm -rf"/);
  assert.match(broken((g) => (g.nodes[2]!.shape = [1, -4, 8, 8])).join(), /shape must be/);
  assert.match(broken((g) => (g.nodes[2]!.shape = [1, 1e6, 1e6, 8])).join(), /shape must be|values per sample/);
  assert.match(broken((g) => (g.output = 999)).join(), /output must be a node id/);
  assert.match(broken((g) => (g.inputs = [{ node: 3, kind: 'float' }])).join(), /must name an input node/);
  assert.match(broken((g) => (g.nodes = Array.from({ length: 30_000 }, () => g.nodes[0]!))).join(), /over the limit of 20000/);
  assert.match(validateModelGraph('a graph').join(), /must be an object/);
  // through the plan parser too: a malformed graph never reaches the builder
  const { plan } = planGraphProbe([{ label: 'ResNet', role: 'model', graph: good }]);
  const hostile = JSON.parse(JSON.stringify(plan));
  hostile.variants[0].graph.nodes[5].op.channels = "many";
  const parsed = parseProbePlan(hostile);
  assert.ok(!parsed.ok && /channels must be a whole number/.test(parsed.error), JSON.stringify(parsed));
  assert.match(validateProbePlan(hostile).join(), /channels must be a whole number/);
});

test('a started message carries each layer\'s source file and line through validation', () => {
  const parsed = parseProbeMessage({
    type: 'started',
    variant: 'model',
    backend: 'wasm',
    device: 'CPU',
    params: 10,
    layers: [{ index: 0, name: 'layer1.0.conv1', kind: 'conv', params: 10, residualAddAfter: false, sourceLine: 12, sourceUri: 'file:///m.py' }],
  });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.ignoredFields, []);
  assert.equal((parsed.value as Extract<ProbeMessage, { type: 'started' }>).layers[0]!.sourceUri, 'file:///m.py');
});

test('the probe process trains a graph plan end to end through the supervisor, model and plain twin', async () => {
  const graph = cifarResNet({ blocks: [1, 1, 1], width: 4, inputSize: 8 });
  const { plan } = planGraphProbe(
    [
      { label: 'ResNet', role: 'model', graph },
      { label: 'ResNet plain', role: 'plain', graph: plainTwin(graph).graph },
    ],
    { steps: 3, gradientEvery: 2, batchSize: 8, backend: 'wasm' },
  );
  const messages: ProbeMessage[] = [];
  const run = startProbe({ plan, workerPath, maxParallel: 2, onMessage: (m) => messages.push(m) });
  const ends = await run.finished;
  assert.deepEqual([...ends.entries()].sort(), [['model', 'done'], ['plain', 'done']], JSON.stringify(messages.filter((m) => m.type === 'error')));
  for (const variant of ['model', 'plain']) {
    assert.deepEqual(
      messages.filter((m) => m.variant === variant).map((m) => m.type),
      ['started', 'activations', 'gradients', 'step', 'step', 'gradients', 'step', 'done'],
    );
  }
  const started = messages.find((m) => m.type === 'started' && m.variant === 'model') as Extract<ProbeMessage, { type: 'started' }>;
  assert.equal(started.params, graphParameterCount(graph).trainable);
  assert.equal(started.layers[1]!.name, 'layer1.0.conv1');
  assert.equal(started.layers[1]!.sourceUri, 'file:///work/model.py');
  const plainStarted = messages.find((m) => m.type === 'started' && m.variant === 'plain') as Extract<ProbeMessage, { type: 'started' }>;
  assert.ok(plainStarted.layers.every((l) => !l.residualAddAfter));
});

test('the worker refuses a malformed graph plan with invalid-plan, and the torch engine refuses graph plans', async () => {
  const graph = cifarResNet({ blocks: [1, 1, 1], width: 4, inputSize: 8 });
  const { plan } = planGraphProbe([{ label: 'ResNet', role: 'model', graph }], { steps: 2, batchSize: 4, backend: 'wasm' });
  const hostile = JSON.parse(JSON.stringify(plan));
  hostile.variants[0].graph.nodes[1].inputs = [5];
  const messages: ProbeMessage[] = [];
  const ends = await startProbe({ plan: hostile, workerPath, onMessage: (m) => messages.push(m) }).finished;
  assert.equal(ends.get('model'), 'error');
  const error = messages.find((m) => m.type === 'error') as Extract<ProbeMessage, { type: 'error' }>;
  assert.equal(error.code, 'invalid-plan');
  assert.match(error.message, /inputs must be ids of earlier nodes/);

  const torchMessages: ProbeMessage[] = [];
  const torchEnds = await startProbe({ plan, torch: { python: '/nonexistent/python' }, onMessage: (m) => torchMessages.push(m) }).finished;
  assert.equal(torchEnds.get('model'), 'error');
  assert.deepEqual(torchMessages, [{ type: 'error', variant: 'model', code: 'invalid-plan', message: torchGraphRefusal }]);
});
