import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Grammars } from '../../../src/core/parse/grammars';
import { examplesDir, fixturesDir, grammarsDir } from '../../support/paths';
import { loadSeeds, makeCase, runCase } from '../../support/fuzz';

// A bounded run for every `npm test`; `npm run fuzz -- --minutes N` runs long.
const cases = Number(process.env.RESIDUAL_LENS_FUZZ_CASES ?? 150);

test(`the analyser survives ${cases} mutated model files`, async () => {
  const grammars = await Grammars.load(grammarsDir);
  const seeds = loadSeeds([fixturesDir, examplesDir]);
  assert.ok(seeds.length > 0, 'seed files');
  const failures: string[] = [];
  for (let seed = 1; seed <= cases; seed++) {
    const fuzzCase = makeCase(seeds, seed);
    const outcome = runCase(grammars, fuzzCase);
    if (outcome.failure) failures.push(`seed ${seed} (${fuzzCase.source}, ${fuzzCase.mutations.join('+')}): ${outcome.failure}`);
  }
  assert.deepEqual(failures, []);
});
