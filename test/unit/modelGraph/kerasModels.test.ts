// Keras model graphs from fixture sources: node and weighted-layer counts, parameter
// counts by Keras's formulas (count_params(): BatchNorm's moving statistics included, as
// non-trainable), output shape, the plain twin's count, depth variants, and what cannot be
// built, for each `# probe:` line of test/fixtures/probe-models/keras.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Grammars } from '../../../src/core/parse/grammars';
import { kerasModelGraphs } from '../../../src/core/modelGraph/keras';
import { fixturesDir, grammarsDir } from '../../support/paths';
import { checkExpectation, listProbeFixtures, numbers, readProbeExpectations } from './kerasTfjsFixtureSupport';

const fixtures = listProbeFixtures(join(fixturesDir, 'probe-models', 'keras'), ['.py']);
const grammars = Grammars.load(grammarsDir);

for (const file of fixtures) {
  test(`Keras model graph: ${basename(file)}`, async () => {
    const g = await grammars;
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const expectations = readProbeExpectations(text);
    if (expectations.length === 0) throw new Error(`${file} has no probe: line`);
    for (const expectation of expectations) {
      const input = numbers(expectation.fields.get('input'));
      const extraction = kerasModelGraphs.extract(
        { document: { uri: file, grammar: 'python', text }, modelName: expectation.model, ...(input ? { inputShape: input } : {}), options: { budgetMs: 20_000 } },
        g,
      );
      checkExpectation(extraction, expectation, lines, `${basename(file)}:${expectation.line + 1} ${expectation.model}`);
    }
  });
}
