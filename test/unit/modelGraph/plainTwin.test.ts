import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GraphNode, GraphOp, ModelGraph } from '../../../src/core/modelGraph/graph';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { plainTwin } from '../../../src/core/modelGraph/plainTwin';

/** A one-block ResNet in PyTorch layout: stem, a stride-2 block with an option B projection, head. */
function oneBlockResNet(framework: ModelGraph['framework'] = 'pytorch'): ModelGraph {
  const nodes: GraphNode[] = [];
  const add = (name: string, op: GraphOp, inputs: number[], shape: number[]): number => {
    nodes.push({ id: nodes.length, name, op, inputs, shape, layout: 'channels-first', source: { uri: 'm.py', line: nodes.length, character: 4 } });
    return nodes.length - 1;
  };
  const conv = (inChannels: number, outChannels: number, k: number, stride: number): GraphOp => ({
    op: 'conv', spatialDims: 2, inChannels, outChannels, kernel: [k, k], stride: [stride, stride], padding: [k >> 1, k >> 1], dilation: [1, 1], groups: 1, bias: false, init: 'torch-default',
  });
  const bn = (channels: number): GraphOp => ({ op: 'batchnorm', channels, affine: true, epsilon: 1e-5 });
  const relu: GraphOp = { op: 'activation', fn: 'relu' };
  const x = add('x', { op: 'input' }, [], [2, 3, 8, 8]);
  const stem = add('relu', relu, [add('bn1', bn(4), [add('conv1', conv(3, 4, 3, 1), [x], [2, 4, 8, 8])], [2, 4, 8, 8])], [2, 4, 8, 8]);
  const h = add('layer1.0.relu', relu, [add('layer1.0.bn1', bn(8), [add('layer1.0.conv1', conv(4, 8, 3, 2), [stem], [2, 8, 4, 4])], [2, 8, 4, 4])], [2, 8, 4, 4]);
  const branch = add('layer1.0.bn2', bn(8), [add('layer1.0.conv2', conv(8, 8, 3, 1), [h], [2, 8, 4, 4])], [2, 8, 4, 4]);
  const shortcut = add('layer1.0.shortcut.1', bn(8), [add('layer1.0.shortcut.0', conv(4, 8, 1, 2), [stem], [2, 8, 4, 4])], [2, 8, 4, 4]);
  const sum = add('layer1.0.add', { op: 'add', residual: true, skipInput: 1 }, [branch, shortcut], [2, 8, 4, 4]);
  const out = add('layer1.0.relu_1', relu, [sum], [2, 8, 4, 4]);
  const pooled = add('avgpool', { op: 'adaptive-pool', kind: 'avg', spatialDims: 2, outputSize: [1, 1] }, [out], [2, 8, 1, 1]);
  const flat = add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [pooled], [2, 8]);
  const logits = add('fc', { op: 'linear', inFeatures: 8, outFeatures: 10, bias: true, init: 'torch-default' }, [flat], [2, 10]);
  return { framework, modelName: 'OneBlock', inputs: [{ node: x, kind: 'float' }], output: logits, nodes };
}

test('parameter counts follow the framework formulas', () => {
  // conv1 3*4*9 + bn 2*4; conv 4*8*9 + bn 16; conv 8*8*9 + bn 16; projection 4*8 + bn 16; fc 8*10 + 10
  const expected = 108 + 8 + 288 + 16 + 576 + 16 + 32 + 16 + 90;
  const torch = graphParameterCount(oneBlockResNet('pytorch'));
  assert.equal(torch.trainable, expected);
  assert.equal(torch.nonTrainable, 0);
  assert.equal(torch.reported, expected);
  assert.equal(torch.perNode.reduce((a, b) => a + b, 0), expected);
  // Keras and TF.js also count each BatchNorm's moving mean and variance.
  const keras = graphParameterCount(oneBlockResNet('keras'));
  assert.equal(keras.nonTrainable, 2 * (4 + 8 + 8 + 8));
  assert.equal(keras.reported, expected + 56);
});

test('attention counts match PyTorch MultiheadAttention and Keras MultiHeadAttention', () => {
  const graph = oneBlockResNet();
  const e = 32;
  graph.nodes.push({ id: graph.nodes.length, name: 'attn', op: { op: 'attention', embedDim: e, heads: 4, keyDim: 8, valueDim: 8, bias: true, batchFirst: true, init: 'torch-default' }, inputs: [0, 0, 0], shape: [2, 5, e], layout: 'channels-last' });
  // nn.MultiheadAttention(32, 4): in_proj 3*32*32 + 3*32, out_proj 32*32 + 32
  assert.equal(graphParameterCount(graph).perNode.at(-1), 3 * e * e + 3 * e + e * e + e);
  // keras MultiHeadAttention(num_heads=2, key_dim=16) on 32 features: q, k, v kernels 32x2x16 + biases 2x16, output 2x16x32 + 32
  graph.nodes.at(-1)!.op = { op: 'attention', embedDim: e, heads: 2, keyDim: 16, valueDim: 16, bias: true, batchFirst: true, init: 'glorot-uniform' };
  assert.equal(graphParameterCount(graph).perNode.at(-1), 3 * (32 * 32 + 32) + 32 * 32 + 32);
});

test('a layer applied twice counts once', () => {
  const graph = oneBlockResNet();
  const fc = graph.nodes[graph.output]!;
  graph.nodes.push({ ...fc, id: graph.nodes.length, name: 'fc_1', inputs: [fc.inputs[0]!], sharesWeightsWith: fc.id });
  assert.equal(graphParameterCount(graph).trainable, 1150);
});

test('the plain twin drops the skip addition and the projection that fed only it', () => {
  const model = oneBlockResNet();
  const twin = plainTwin(model);
  assert.deepEqual(twin.removedAdds, ['layer1.0.add']);
  assert.deepEqual(twin.undecidedAdds, []);
  assert.deepEqual(twin.prunedNodes, ['layer1.0.shortcut.0', 'layer1.0.shortcut.1']);
  assert.equal(graphParameterCount(twin.graph).trainable, 1150 - (32 + 16));
  assert.equal(twin.graph.nodes.length, model.nodes.length - 3);
  // Ids stay dense and topological, and the relu after the add now reads the branch's norm.
  twin.graph.nodes.forEach((node, i) => {
    assert.equal(node.id, i);
    for (const input of node.inputs) assert.ok(input < i, `${node.name} reads a later node`);
  });
  const relu = twin.graph.nodes.find((n) => n.name === 'layer1.0.relu_1')!;
  assert.equal(twin.graph.nodes[relu.inputs[0]!]!.name, 'layer1.0.bn2');
  assert.equal(twin.graph.nodes[twin.graph.output]!.name, 'fc');
  // The model itself is untouched.
  assert.equal(model.nodes.length, 16);
});

test('an identity skip leaves nothing to prune, and an undecided add stays', () => {
  const model = oneBlockResNet();
  const sum = model.nodes.find((n) => n.name === 'layer1.0.add')!;
  sum.op = { op: 'add', residual: true };
  const twin = plainTwin(model);
  assert.deepEqual(twin.removedAdds, []);
  assert.deepEqual(twin.undecidedAdds, ['layer1.0.add']);
  assert.equal(twin.graph.nodes.length, model.nodes.length);
});
