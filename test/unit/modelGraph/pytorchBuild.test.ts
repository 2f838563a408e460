// The PyTorch probe graphs built by the probe worker's TensorFlow.js builder: every
// fixture's model (and its plain twin, and for the small ones the depth variants) builds
// with the graph's parameter count, runs forward to the graph's output shape with finite
// values, and one graph per family trains a step on the plan's synthetic task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ModelGraph } from '../../../src/core/modelGraph/graph';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { plainTwin } from '../../../src/core/modelGraph/plainTwin';
import { validateModelGraph } from '../../../src/core/probe/graphValidation';
import { selectBackend } from '../../../src/probe-worker/backend';
import { buildGraphModel } from '../../../src/probe-worker/graphModel';
import { planGraphProbe } from '../../../src/core/probe/graphPlan';
import type { ProbeMessage } from '../../../src/core/probe/protocol';
import { runVariant } from '../../../src/probe-worker/train';
import { loadGrammars } from '../../support/pytorchFixtures';
import { extractFixture, modelNameOf, probeFixtures, readGraphExpectations, shapeOf } from './pytorchGraphFixtures';

const backendReady = selectBackend('wasm');

async function checkBuilds(graph: ModelGraph, where: string): Promise<void> {
  assert.deepEqual(validateModelGraph(JSON.parse(JSON.stringify(graph))), [], `${where}: the worker's graph checks`);
  const { tf } = await backendReady;
  const model = buildGraphModel(tf, graph, 1, 'pytorch');
  try {
    const batch = 2;
    const inputs = model.inputLayouts.map((l) => (l.kind === 'tokens' ? tf.zeros([batch, ...l.shape], 'int32') : tf.randomNormal([batch, ...l.shape])));
    const logits = model.forward(inputs);
    const output = graph.nodes[graph.output]!.shape;
    const rows = batch * output.slice(1, -1).reduce((a, b) => a * b, 1);
    assert.deepEqual(logits.shape, [rows, output[output.length - 1]], `${where}: output shape`);
    assert.ok(Array.from(logits.dataSync()).every(Number.isFinite), `${where}: finite logits`);
    assert.equal(model.params, graphParameterCount(graph).trainable, `${where}: parameter count`);
    tf.dispose([logits, ...inputs]);
  } finally {
    model.dispose();
  }
}

for (const file of probeFixtures()) {
  const expect = readGraphExpectations(readFileSync(file, 'utf8'));
  if (expect.has('unsupported') && expect.get('prefix') !== 'true') continue;
  test(`${basename(file)}: the probe worker builds the graph and its plain twin`, async () => {
    const grammars = await loadGrammars();
    const extraction = extractFixture(grammars, file, modelNameOf(expect), expect.has('needs-input') ? shapeOf(expect.get('input')) : undefined);
    assert.ok(!('error' in extraction), 'error' in extraction ? extraction.error : '');
    assert.ok(extraction.variants.length > 0, `no graph: ${JSON.stringify(extraction.unsupported)}`);
    for (const variant of extraction.variants) {
      const params = graphParameterCount(variant.graph).trainable;
      // The deep variants of the big ImageNet-style models take seconds each in wasm: their shapes are checked above.
      if (variant.role !== 'model' && params > 2_000_000) continue;
      await checkBuilds(variant.graph, `${variant.label} (${variant.role})`);
      if (variant.role === 'model' && params <= 2_000_000) await checkBuilds(plainTwin(variant.graph).graph, `${variant.label} plain twin`);
    }
  });
}

/**
 * From the source to the first gradient-flow chart, as "Probe This Model" does it for the
 * model variant: extract, plan, build, first gradients. The issue asks under 5 s for a
 * CIFAR ResNet-20 written in PyTorch on this machine (wasm backend).
 */
for (const [file, model, task] of [['resnet20_option_a.py', 'ResNet', 'classification'], ['nanogpt.py', 'GPT', 'next-token']] as const) {
  test(`${file}: the model and its plain twin train on the ${task} task; the first gradients come in seconds`, async () => {
    const started = performance.now();
    const grammars = await loadGrammars();
    const extraction = extractFixture(grammars, probeFixtures().find((f) => f.endsWith(file))!, model);
    assert.ok(!('error' in extraction), 'error' in extraction ? extraction.error : '');
    const graph = extraction.variants[0]!.graph;
    const { plan } = planGraphProbe(
      [
        { label: extraction.variants[0]!.label, role: 'model', graph },
        { label: 'plain', role: 'plain', graph: plainTwin(graph).graph },
      ],
      { steps: 3, gradientEvery: 1, backend: 'wasm' },
    );
    assert.equal(plan.task?.kind, task);
    const extractedMs = performance.now() - started;
    for (const variant of plan.variants) {
      const messages: ProbeMessage[] = [];
      let firstGradientsMs: number | undefined;
      await runVariant(await backendReady, plan, variant.id, {
        emit: (m) => {
          messages.push(m);
          if (m.type === 'gradients' && firstGradientsMs === undefined) firstGradientsMs = performance.now() - started;
        },
        cancelled: () => false,
      });
      assert.equal(messages.at(-1)!.type, 'done', JSON.stringify(messages.at(-1)));
      const layers = (messages[0] as Extract<ProbeMessage, { type: 'started' }>).layers;
      assert.ok(layers.length > 0 && layers.every((l) => l.sourceLine !== undefined && l.sourceUri?.endsWith(file)), 'every charted layer links to its line');
      assert.ok(layers.some((l) => /^(layer\d|transformer\.h)\.\d+\./.test(l.name)), `layers named by module path: ${layers.slice(0, 4).map((l) => l.name).join(', ')}`);
      const losses = messages.filter((m): m is Extract<ProbeMessage, { type: 'step' }> => m.type === 'step').map((m) => m.loss);
      assert.ok(losses.length === 3 && losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(firstGradientsMs !== undefined);
      if (variant.id === 'model') {
        console.log(`${file}: extracted in ${Math.round(extractedMs)} ms, first gradients ${Math.round(firstGradientsMs)} ms after the request (wasm, batch ${plan.batchSize})`);
        if (file === 'resnet20_option_a.py') assert.ok(firstGradientsMs < 5000, `first gradient chart after ${Math.round(firstGradientsMs)} ms`);
      }
    }
  });
}
