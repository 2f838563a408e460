// TF.js model graphs from fixture sources, checked twice: against the `// probe:` line of
// each fixture (counts from TF.js's formulas, written in its header), and against the real
// @tensorflow/tfjs, which builds the fixture's model: countParams(), the output shape, and
// the weighted layers (class, output shape and name stem) must be the graph's. Depth
// variants are built for real too, by calling the builder with the changed argument.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import * as esbuild from 'esbuild';
import type * as tf from '@tensorflow/tfjs';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import { tfjsModelGraphs } from '../../../src/core/modelGraph/tfjs';
import type { ModelExtraction, ModelGraph } from '../../../src/core/modelGraph/graph';
import { isWeightedOp } from '../../../src/core/modelGraph/graph';
import { graphParameterCount } from '../../../src/core/modelGraph/params';
import { fixturesDir, grammarsDir, repoRoot } from '../../support/paths';
import { checkExpectation, listProbeFixtures, numbers, readProbeExpectations } from './kerasTfjsFixtureSupport';

const fixtures = listProbeFixtures(join(fixturesDir, 'probe-models', 'tfjs'), ['.ts', '.js', '.mjs', '.mts']);
const compiledDir = join(repoRoot, 'out', 'test', 'tfjs-probe-models');
const grammars = Grammars.load(grammarsDir);

async function loadFixture(file: string): Promise<Record<string, unknown>> {
  const source = readFileSync(file, 'utf8').replace(/@tensorflow\/tfjs-node(?:-gpu)?/g, '@tensorflow/tfjs');
  const result = await esbuild.transform(source, { loader: /\.m?ts$/.test(file) ? 'ts' : 'js', format: 'cjs', sourcefile: file, target: 'node20' });
  mkdirSync(compiledDir, { recursive: true });
  const path = join(compiledDir, `${basename(file)}.cjs`);
  writeFileSync(path, result.code);
  return createRequire(path)(path) as Record<string, unknown>;
}

/** The real layers that carry the weighted ops, one graph node each (a separable conv is two). */
const weightedClasses: Record<string, number> = { Conv1D: 1, Conv2D: 1, Conv3D: 1, DepthwiseConv2D: 1, SeparableConv2D: 2, Dense: 1, Embedding: 1 };

/** `conv2d_Conv2D17` → `conv2d_Conv2D`: TF.js numbers names per process, the stem is what the graph must match. */
const nameStem = (name: string): string => name.replace(/\d+$/, '');

function checkAgainstRealModel(model: tf.LayersModel, graph: ModelGraph, where: string): void {
  assert.equal(graphParameterCount(graph).reported, model.countParams(), `${where}: countParams()`);
  const realOutput = model.outputs[0]!.shape.map((d) => d ?? 1);
  assert.deepEqual(graph.nodes[graph.output]!.shape, realOutput, `${where}: output shape`);
  const real: string[] = [];
  let realWeighted = 0;
  for (const layer of model.layers) {
    const copies = weightedClasses[layer.getClassName()] ?? 0;
    if (copies === 0) continue;
    realWeighted += copies;
    real.push(`${nameStem(layer.name)} ${JSON.stringify((layer.outputShape as (number | null)[]).map((d) => d ?? 1))}`);
  }
  // A layer applied twice is one TF.js layer: its repeats share the first node's weights.
  const weighted = graph.nodes.filter((n) => isWeightedOp(n.op) && n.sharesWeightsWith === undefined);
  assert.equal(weighted.length, realWeighted, `${where}: weighted layer count`);
  // A separable conv's depthwise half is a node of its own in the graph, not a TF.js layer.
  const ours = weighted.filter((n) => !n.name.endsWith('.depthwise')).map((n) => `${nameStem(n.name)} ${JSON.stringify(n.shape)}`);
  assert.deepEqual([...ours].sort(), [...real].sort(), `${where}: weighted layers`);
}

/** The builder's parameter names, from its source (`function resnet(blocksPerStage = 2, numClasses = 10)`). */
function parameterNames(fn: (...args: unknown[]) => unknown): string[] {
  const m = /^[^(]*\(([^)]*)\)/.exec(fn.toString());
  return m ? m[1]!.split(',').map((p) => p.trim().split(/[\s=:]/)[0]!).filter(Boolean) : [];
}

function realModel(exported: unknown, args: unknown[] = []): tf.LayersModel {
  return (typeof exported === 'function' ? (exported as (...a: unknown[]) => tf.LayersModel)(...args) : exported) as tf.LayersModel;
}

for (const file of fixtures) {
  test(`TF.js model graph: ${basename(file)}`, async () => {
    const g = await grammars;
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const expectations = readProbeExpectations(text);
    if (expectations.length === 0) throw new Error(`${file} has no probe: line`);
    const exports = await loadFixture(file);
    for (const expectation of expectations) {
      const where = `${basename(file)}:${expectation.line + 1} ${expectation.model}`;
      const input = numbers(expectation.fields.get('input'));
      const extraction = tfjsModelGraphs.extract(
        { document: { uri: file, grammar: grammarFor(file)!, text }, modelName: expectation.model, ...(input ? { inputShape: input } : {}), options: { budgetMs: 20_000 } },
        g,
      );
      checkExpectation(extraction, expectation, lines, where);
      if ('error' in extraction || expectation.fields.get('real') === 'no') continue;
      const built = (extraction as ModelExtraction).variants;
      if (built.length === 0) continue;
      const exported = exports[expectation.model];
      assert.ok(exported, `${where}: the fixture exports no ${expectation.model}`);
      checkAgainstRealModel(realModel(exported), built[0]!.graph, `${where} (real TF.js)`);
      const depth = (extraction as ModelExtraction).depthParameter;
      if (!depth || typeof exported !== 'function') continue;
      const position = parameterNames(exported as (...args: unknown[]) => unknown).indexOf(depth.name);
      assert.ok(position >= 0, `${where}: ${depth.name} is not a parameter of the exported builder`);
      for (const variant of built.slice(1)) {
        const value = JSON.parse(variant.label.slice(variant.label.indexOf('=') + 1)) as unknown;
        const args: unknown[] = [];
        args[position] = value;
        checkAgainstRealModel(realModel(exported, args), variant.graph, `${where} ${variant.role} (real TF.js)`);
      }
    }
  });
}
