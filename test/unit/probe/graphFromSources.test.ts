// Model graphs extracted by the real front ends from the fixture sources under
// test/fixtures/probe-models (Keras, TF.js), built and trained by the probe worker:
// every variant and its plain twin build with the framework's parameter count and the
// graph's output shape, and train two steps on the plan's synthetic task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ModelGraphFrontEnd } from '../../../src/core/modelGraph/extract';
import type { ModelGraph } from '../../../src/core/modelGraph/graph';
import { kerasModelGraphs } from '../../../src/core/modelGraph/keras';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { plainTwin } from '../../../src/core/modelGraph/plainTwin';
import { tfjsModelGraphs } from '../../../src/core/modelGraph/tfjs';
import { GraphPlanError, planGraphProbe, taskForGraph } from '../../../src/core/probe/graphPlan';
import type { ProbeMessage } from '../../../src/core/probe/protocol';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import { selectBackend } from '../../../src/probe-worker/backend';
import { buildGraphModel } from '../../../src/probe-worker/graphModel';
import { runVariant } from '../../../src/probe-worker/train';
import { fixturesDir, grammarsDir } from '../../support/paths';
import { listProbeFixtures, numbers, readProbeExpectations } from '../modelGraph/kerasTfjsFixtureSupport';

const backendReady = selectBackend('wasm');
const grammars = Grammars.load(grammarsDir);

const frontEnds: [string, ModelGraphFrontEnd, string[]][] = [
  ['keras', kerasModelGraphs, ['.py']],
  ['tfjs', tfjsModelGraphs, ['.ts', '.js', '.mjs', '.mts']],
];

async function checkBuilds(graph: ModelGraph, where: string): Promise<void> {
  const { tf } = await backendReady;
  const model = buildGraphModel(tf, graph, 1, 'sources');
  const batch = 2;
  const inputs = model.inputLayouts.map((l) => (l.kind === 'tokens' ? tf.zeros([batch, ...l.shape], 'int32') : tf.randomNormal([batch, ...l.shape])));
  const logits = model.forward(inputs);
  const output = graph.nodes[graph.output]!.shape;
  const rows = (batch * output.slice(1, -1).reduce((a, b) => a * b, 1)) | 0;
  assert.deepEqual(logits.shape, [rows, output[output.length - 1]], `${where}: output shape`);
  assert.ok(Array.from(logits.dataSync()).every(Number.isFinite), `${where}: finite logits`);
  const counted = model.variables.reduce((sum, v) => sum + v.size, 0);
  assert.equal(model.params, graphParameterCount(graph).trainable, `${where}: parameter count`);
  assert.equal(counted, graphParameterCount(graph).trainable, `${where}: variables hold exactly the trainable parameters`);
  tf.dispose([logits, ...inputs]);
  model.dispose();
}

for (const [framework, frontEnd, extensions] of frontEnds) {
  for (const file of listProbeFixtures(join(fixturesDir, 'probe-models', framework), extensions)) {
    test(`${framework} ${basename(file)}: every extracted model builds and trains in the probe worker`, async () => {
      const g = await grammars;
      const text = readFileSync(file, 'utf8');
      let built = 0;
      let buildable = 0;
      for (const expectation of readProbeExpectations(text)) {
        const f = expectation.fields;
        if (f.has('error') || f.has('needs_input') || f.get('graph') === 'none' || f.get('prefix') === 'true' || f.has('unsupported')) continue;
        buildable++;
        const input = numbers(f.get('input'));
        const grammar = grammarFor(file)!;
        const extraction = frontEnd.extract({ document: { uri: file, grammar, text }, modelName: expectation.model, ...(input ? { inputShape: input } : {}), options: { budgetMs: 20_000 } }, g);
        assert.ok(!('error' in extraction), `${expectation.model}: ${'error' in extraction ? extraction.error : ''}`);
        const where = `${basename(file)} ${expectation.model}`;
        for (const variant of extraction.variants) {
          await checkBuilds(variant.graph, `${where} ${variant.role}`);
          await checkBuilds(plainTwin(variant.graph).graph, `${where} ${variant.role} plain twin`);
        }
        const model = extraction.variants.find((v) => v.role === 'model')!;
        const task = taskForGraph(model.graph);
        if ('error' in task) {
          // No synthetic task for this output (a segmentation map, a regression): the plan says so.
          assert.throws(() => planGraphProbe([{ label: model.label, role: 'model', graph: model.graph }]), (err: unknown) => err instanceof GraphPlanError && err.message.includes(task.error));
          built++;
          continue;
        }
        const { plan } = planGraphProbe(
          [
            { label: model.label, role: 'model', graph: model.graph },
            { label: `${model.label} plain`, role: 'plain', graph: plainTwin(model.graph).graph },
          ],
          { steps: 2, batchSize: 4, gradientEvery: 1, backend: 'wasm' },
        );
        for (const variant of plan.variants) {
          const messages: ProbeMessage[] = [];
          await runVariant(await backendReady, plan, variant.id, { emit: (m) => messages.push(m), cancelled: () => false });
          assert.equal(messages.at(-1)!.type, 'done', `${where} ${variant.id}`);
          const started = messages[0] as Extract<ProbeMessage, { type: 'started' }>;
          assert.ok(started.layers.length > 0 && started.layers.every((l) => l.sourceLine !== undefined), `${where}: layers link to their source`);
        }
        built++;
      }
      assert.equal(built, buildable, `${basename(file)}: every buildable model built`);
    });
  }
}
