// The graph front ends against the shape checker's own fixtures (test/fixtures/keras,
// test/fixtures/tfjs, examples/): every top-level model either gives a well-formed graph
// or says what stopped it. The two analyses agree: an addition the graph refuses for
// mismatched operands is one the shape check reports as an error on that line, and a
// file with no expected error gives no such refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import { kerasModelGraphs } from '../../../src/core/modelGraph/keras';
import { tfjsModelGraphs } from '../../../src/core/modelGraph/tfjs';
import { examplesDir, fixturesDir, grammarsDir } from '../../support/paths';
import { listFixtures, readLayersExpectations } from '../keras/layersFixtures';
import { checkWellFormed } from './kerasTfjsFixtureSupport';

const files = [
  ...listFixtures(join(fixturesDir, 'keras'), ['.py']),
  ...listFixtures(join(examplesDir, 'keras'), ['.py']),
  ...listFixtures(join(fixturesDir, 'tfjs'), ['.ts', '.js', '.mjs', '.mts', '.tsx']),
  ...listFixtures(join(examplesDir, 'tfjs'), ['.ts', '.js']),
];

test('shape-check fixtures: every top-level model gives a graph or says why, in agreement with the shape check', async () => {
  const grammars = await Grammars.load(grammarsDir);
  let graphs = 0;
  let refusedAdditions = 0;
  for (const file of files) {
    const grammar = grammarFor(file)!;
    const frontEnd = grammar === 'python' ? kerasModelGraphs : tfjsModelGraphs;
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const errors = readLayersExpectations(text).filter((e) => e.severity === 'error' && e.rule === 'residual-shape-mismatch');
    const document = { uri: file, grammar, text };
    for (const model of frontEnd.listModels(document, grammars).filter((m) => m.topLevel)) {
      const where = `${basename(file)} ${model.name}`;
      const result = frontEnd.extract({ document, modelName: model.name, options: { budgetMs: 10_000 } }, grammars);
      if ('error' in result) {
        assert.ok(result.error.includes(model.name), `${where}: ${result.error}`);
        continue;
      }
      for (const variant of result.variants) checkWellFormed(variant.graph, lines, `${where} ${variant.role}`);
      if (result.variants.length > 0) graphs++;
      else assert.ok(result.unsupported.length > 0 || result.needsInputShape, `${where}: neither a graph nor a reason`);
      for (const u of result.unsupported) {
        assert.ok(u.what && u.reason && u.source, `${where}: ${JSON.stringify(u)}`);
        if (!/operands' shapes do not match/.test(u.reason)) continue;
        refusedAdditions++;
        // The examples carry no expectations; the fixtures do.
        if (!file.startsWith(fixturesDir)) continue;
        assert.ok(errors.some((e) => e.line === u.source!.line), `${where}: the graph refuses the addition on line ${u.source!.line + 1}, where the shape check expects no error`);
      }
    }
  }
  assert.ok(graphs >= 15, `only ${graphs} models gave a graph`);
  assert.ok(refusedAdditions >= 10, `only ${refusedAdditions} mismatched additions were refused`);
});
