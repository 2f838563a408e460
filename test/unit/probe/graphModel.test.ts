// Real TensorFlow.js training of hand-written model graphs on the wasm backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelGraph } from '../../../src/core/modelGraph/graph';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { plainTwin } from '../../../src/core/modelGraph/plainTwin';
import { probeProtocolVersion, type ProbeMessage, type ProbePlan, type ProbeTask } from '../../../src/core/probe/protocol';
import { selectBackend } from '../../../src/probe-worker/backend';
import { buildGraphModel } from '../../../src/probe-worker/graphModel';
import { ProbeRunError, runVariant } from '../../../src/probe-worker/train';
import { cifarResNet, GraphBuilder, mlp, tinyTransformer } from './graphFixtures';

const backendReady = selectBackend('wasm');

function planFor(graph: ModelGraph, task: ProbeTask, overrides: Partial<ProbePlan> = {}): ProbePlan {
  return {
    version: probeProtocolVersion,
    variants: [{ id: 'model', label: graph.modelName, architecture: 'residual', depth: 1, shortcut: 'B', batchNorm: true, width: 1, graph }],
    inputSize: 8,
    inputChannels: 3,
    classes: task.kind === 'classification' ? task.classes : task.vocabulary,
    batchSize: 8,
    optimizer: 'adam',
    learningRate: 1e-3,
    momentum: 0.9,
    steps: 3,
    timeBudgetMs: 0,
    gradientEvery: 1,
    seed: 1,
    backend: 'wasm',
    task,
    ...overrides,
  };
}

async function train(plan: ProbePlan): Promise<ProbeMessage[]> {
  const backend = await backendReady;
  const messages: ProbeMessage[] = [];
  await runVariant(backend, plan, plan.variants[0]!.id, { emit: (m) => messages.push(m), cancelled: () => false });
  return messages;
}

async function outputShape(graph: ModelGraph, batch: number): Promise<{ params: number; shape: number[]; variables: number }> {
  const { tf } = await backendReady;
  const model = buildGraphModel(tf, graph, 1, 'shape');
  const inputs = model.inputLayouts.map((l) => (l.kind === 'tokens' ? tf.zeros([batch, ...l.shape], 'int32') : tf.randomNormal([batch, ...l.shape])));
  const logits = model.forward(inputs);
  const shape = logits.shape;
  const variables = model.variables.reduce((sum, v) => sum + v.size, 0);
  tf.dispose([logits, ...inputs]);
  model.dispose();
  return { params: model.params, shape, variables };
}

for (const framework of ['pytorch', 'keras'] as const) {
  for (const shortcut of ['A', 'B'] as const) {
    test(`a ${framework} CIFAR ResNet (option ${shortcut}) builds with the framework's parameter count and output shape`, async () => {
      const graph = cifarResNet({ framework, blocks: [1, 1, 1], width: 4, inputSize: 8, shortcut });
      const built = await outputShape(graph, 5);
      assert.equal(built.params, graphParameterCount(graph).trainable);
      assert.equal(built.variables, graphParameterCount(graph).trainable);
      assert.deepEqual(built.shape, [5, 10]);
    });
  }
}

test('one training run of a PyTorch ResNet sends started, activations, gradients, steps and done, with source names and lines', async () => {
  const graph = cifarResNet({ blocks: [1, 1, 1], width: 4, inputSize: 8, shortcut: 'B' });
  const messages = await train(planFor(graph, { kind: 'classification', classes: 10 }, { gradientEvery: 2, steps: 3 }));
  assert.deepEqual(messages.map((m) => m.type), ['started', 'activations', 'gradients', 'step', 'step', 'gradients', 'step', 'done']);
  const started = messages[0] as Extract<ProbeMessage, { type: 'started' }>;
  const names = started.layers.map((l) => l.name);
  assert.deepEqual(names, ['conv1', 'layer1.0.conv1', 'layer1.0.conv2', 'layer2.0.conv1', 'layer2.0.conv2', 'layer2.0.shortcut.0', 'layer3.0.conv1', 'layer3.0.conv2', 'layer3.0.shortcut.0', 'fc']);
  const conv2 = graph.nodes.find((n) => n.name === 'layer2.0.conv2')!;
  const layer = started.layers.find((l) => l.name === 'layer2.0.conv2')!;
  assert.equal(layer.sourceLine, conv2.source!.line);
  assert.equal(layer.sourceUri, conv2.source!.uri);
  assert.deepEqual(started.layers.filter((l) => l.residualAddAfter).map((l) => l.name), ['layer1.0.conv2', 'layer2.0.conv2', 'layer3.0.conv2']);
  assert.equal(started.params, graphParameterCount(graph).trainable);
  const init = messages[2] as Extract<ProbeMessage, { type: 'gradients' }>;
  assert.equal(init.gradNorms.length, names.length);
  assert.ok(init.gradNorms.every((g) => Number.isFinite(g) && g > 0), `${init.gradNorms}`);
  const activations = messages[1] as Extract<ProbeMessage, { type: 'activations' }>;
  assert.equal(activations.means.length, names.length);
});

test('a small ResNet learns the classification task: loss goes down over 50 steps, and its plain twin trains too', async () => {
  const graph = cifarResNet({ blocks: [1, 1, 1], width: 8, inputSize: 8, shortcut: 'A', classes: 4 });
  for (const g of [graph, plainTwin(graph).graph]) {
    const messages = await train(planFor(g, { kind: 'classification', classes: 4 }, { steps: 50, gradientEvery: 25, batchSize: 32, learningRate: 3e-3 }));
    const losses = messages.filter((m) => m.type === 'step').map((m) => m.loss);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    assert.ok(last < 0.8 * first, `${g.modelName}: first ${first}, last ${last}`);
  }
});

test('an MLP (Keras) and a Transformer over tokens build and train', async () => {
  const dense = mlp();
  assert.deepEqual((await outputShape(dense, 3)).shape, [3, 5]);
  const mlpMessages = await train(planFor(dense, { kind: 'classification', classes: 5 }, { steps: 40, batchSize: 32, learningRate: 1e-2, gradientEvery: 20 }));
  const mlpLosses = mlpMessages.filter((m) => m.type === 'step').map((m) => m.loss);
  assert.ok(mlpLosses.slice(-5).reduce((a, b) => a + b) / 5 < mlpLosses[0]!, `${mlpLosses}`);

  const gpt = tinyTransformer();
  const built = await outputShape(gpt, 2);
  assert.equal(built.params, graphParameterCount(gpt).trainable);
  assert.equal(built.variables, graphParameterCount(gpt).trainable);
  assert.deepEqual(built.shape, [2 * 8, 16]);
  const messages = await train(planFor(gpt, { kind: 'next-token', vocabulary: 16, sequenceLength: 8 }, { steps: 40, batchSize: 16, learningRate: 1e-2, gradientEvery: 20 }));
  const losses = messages.filter((m) => m.type === 'step').map((m) => m.loss);
  assert.ok(losses[0]! > Math.log(16) * 0.8, `starts near chance: ${losses[0]}`);
  assert.ok(losses.slice(-5).reduce((a, b) => a + b) / 5 < losses[0]! - 0.3, `${losses}`);
  const started = messages[0] as Extract<ProbeMessage, { type: 'started' }>;
  assert.deepEqual(started.layers.slice(0, 4).map((l) => l.name), ['wte', 'h.0.attn', 'h.0.mlp.c_fc', 'h.0.mlp.c_proj']);
});

test('a graph whose ops do not give the shapes it claims ends with invalid-plan naming the node', async () => {
  const graph = cifarResNet({ blocks: [1, 1, 1], width: 4, inputSize: 8, shortcut: 'B' });
  // an upsampling the graph says keeps the size: the sizes checked in the plan would be wrong
  const conv = graph.nodes.find((n) => n.name === 'layer1.0.conv1')!;
  conv.op = { op: 'upsample', spatialDims: 2, scale: [4, 4], mode: 'nearest' };
  const backend = await backendReady;
  await assert.rejects(
    runVariant(backend, planFor(graph, { kind: 'classification', classes: 10 }), 'model', { emit: () => undefined, cancelled: () => false }),
    (err: unknown) => err instanceof ProbeRunError && err.code === 'invalid-plan' && /layer1\.0\.conv1 \(upsample\): gives shape \[4,32,32\] \(batch aside\) where the graph says \[4,8,8\]/.test(err.message),
  );
});

test('a token classifier (embedding, mean over positions, linear) learns the token-teacher task', async () => {
  const g = new GraphBuilder('keras', 'file:///work/text.py');
  const ids = g.add('tokens', { op: 'input' }, [], [1, 12]);
  let x = g.add('embedding', { op: 'embedding', vocabulary: 20, features: 16, init: 'uniform-0.05' }, [ids], [1, 12, 16]);
  x = g.add('global_average_pooling1d', { op: 'reduce', kind: 'mean', axes: [1], keepDims: false }, [x], [1, 16]);
  x = g.add('dense', { op: 'linear', inFeatures: 16, outFeatures: 3, bias: true, init: 'glorot-uniform' }, [x], [1, 3]);
  const graph = g.graph('text', x, [{ node: ids, kind: 'tokens', vocabulary: 20 }]);
  const messages = await train(planFor(graph, { kind: 'classification', classes: 3 }, { steps: 60, batchSize: 32, learningRate: 3e-2, gradientEvery: 30 }));
  const losses = messages.filter((m) => m.type === 'step').map((m) => m.loss);
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(last < 0.8 * first, `first ${first}, last ${last}`);
  const started = messages[0] as Extract<ProbeMessage, { type: 'started' }>;
  assert.match(started.notes!.join(' '), /3-class labels .* random teacher, batch 32/);
});

test('graph runs keep the tensor count flat from step to step and leave nothing behind (pool divisor maps, causal masks)', async () => {
  const backend = await backendReady;
  const g = new GraphBuilder('pytorch');
  const input = g.add('x', { op: 'input' }, [], [1, 2, 7, 7]);
  let x = g.add('conv', { op: 'conv', spatialDims: 2, inChannels: 2, outChannels: 4, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true, init: 'torch-default' }, [input], [1, 4, 7, 7]);
  x = g.add('pool', { op: 'pool', kind: 'avg', spatialDims: 2, kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true, countIncludePad: false }, [x], [1, 4, 4, 4]);
  x = g.add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [x], [1, 64]);
  x = g.add('fc', { op: 'linear', inFeatures: 64, outFeatures: 3, bias: true, init: 'torch-default' }, [x], [1, 3]);
  const pooled = g.graph('Pooled', x, [{ node: input, kind: 'float' }]);
  const before = backend.tf.memory().numTensors;
  for (const [graph, task] of [
    [pooled, { kind: 'classification', classes: 3 }],
    [tinyTransformer(), { kind: 'next-token', vocabulary: 16, sequenceLength: 8 }],
  ] as const) {
    const messages: ProbeMessage[] = [];
    await runVariant(backend, planFor(graph, task, { steps: 12, gradientEvery: 4 }), 'model', { emit: (m) => messages.push(m), cancelled: () => false, leakTolerance: 0 });
    assert.equal(messages.at(-1)!.type, 'done');
  }
  assert.equal(backend.tf.memory().numTensors, before);
});
