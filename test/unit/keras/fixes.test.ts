// Every "Add projection shortcut" fix offered on a Keras or TF.js fixture is applied,
// one after the other, and the file re-checked: it must end with no shape mismatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fixturesDir } from '../../support/paths';
import { analyzeFile, applyTextEdits, listFixtures, loadLayersGrammars } from './layersFixtures';

const fixtures = [
  ...listFixtures(join(fixturesDir, 'keras'), ['.py']),
  ...listFixtures(join(fixturesDir, 'tfjs'), ['.ts', '.js', '.mjs', '.mts', '.tsx']),
];

let fixed = 0;

for (const file of fixtures) {
  const text = readFileSync(file, 'utf8');
  test(`projection fixes in ${basename(file)} leave the file clean`, async (t) => {
    const grammars = await loadLayersGrammars();
    let current = text;
    let applied = 0;
    for (let round = 0; round < 6; round++) {
      const finding = analyzeFile(grammars, file, current).findings.find((f) => f.rule === 'residual-shape-mismatch' && f.fixes.length > 0);
      if (!finding) break;
      current = applyTextEdits(current, finding.fixes[0]!.edits);
      applied++;
    }
    if (applied === 0) {
      t.skip('no projection fix offered');
      return;
    }
    fixed++;
    const after = analyzeFile(grammars, file, current);
    const left = after.findings.filter((f) => f.rule === 'residual-shape-mismatch');
    assert.deepEqual(left.map((f) => `${f.range.start.line + 1}: ${f.message}`), [], `after ${applied} fix(es):\n${current}`);
    assert.equal(after.log.filter((l) => /failed:|gave up/.test(l)).length, 0);
  });
}

test('projection fixes were offered and checked on at least 10 fixtures', () => {
  assert.ok(fixed >= 10, `only ${fixed} fixtures had a fix`);
});
