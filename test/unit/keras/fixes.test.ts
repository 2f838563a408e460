// Every fixture with an expected shape mismatch: its "Add projection shortcut" fixes are
// applied one after the other and the file re-checked, which must leave no mismatch.
// Where no 1x1 projection can fit (the main path changes the size by padding, not by a
// stride), no fix is offered and the message says what to check instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fixturesDir } from '../../support/paths';
import { grammarFor } from '../../../src/core/parse/grammars';
import { interpretProgram } from '../../../src/core/keras/interpreter';
import { pythonProgram } from '../../../src/core/keras/pythonSyntax';
import { scriptProgram } from '../../../src/core/tfjs/scriptSyntax';
import { toSyntaxTree } from '../../../src/core/parse/syntaxTree';
import { analyzeFile, applyTextEdits, listFixtures, loadLayersGrammars, readLayersExpectations } from './layersFixtures';

const withMismatch = [
  ...listFixtures(join(fixturesDir, 'keras'), ['.py']),
  ...listFixtures(join(fixturesDir, 'tfjs'), ['.ts', '.js', '.mjs', '.mts', '.tsx']),
].filter((file) => readLayersExpectations(readFileSync(file, 'utf8')).some((e) => e.rule === 'residual-shape-mismatch'));

let fixed = 0;

for (const file of withMismatch) {
  test(`${basename(file)}: the projection fix leaves no mismatch, or none is offered and the message says why`, async () => {
    const grammars = await loadLayersGrammars();
    const text = readFileSync(file, 'utf8');
    const before = analyzeFile(grammars, file, text).findings.filter((f) => f.rule === 'residual-shape-mismatch');
    assert.ok(before.length > 0);
    const unfixable = before.filter((f) => f.fixes.length === 0);
    const lines = text.split('\n');
    // The method a finding sits in: in a Layer subclass's call() the layers come from __init__, where no inline fix goes.
    const methodOf = (line: number) => lines.slice(0, line + 1).reverse().find((l) => /^\s*def \w+\(/.test(l)) ?? '';
    for (const f of unfixable) {
      if (/def call\(self/.test(methodOf(f.range.start.line))) continue;
      assert.match(f.message, /No stride explains the change in size/, `no fix for: ${f.message}`);
    }
    if (unfixable.length === before.length) return;

    let current = text;
    let applied = 0;
    for (let round = 0; round < 6; round++) {
      const finding = analyzeFile(grammars, file, current).findings.find((f) => f.rule === 'residual-shape-mismatch' && f.fixes.length > 0);
      if (!finding) break;
      current = applyTextEdits(current, finding.fixes[0]!.edits);
      applied++;
    }
    fixed++;
    const after = analyzeFile(grammars, file, current);
    const left = after.findings.filter((f) => f.rule === 'residual-shape-mismatch');
    assert.deepEqual(left.map((f) => `${f.range.start.line + 1}: ${f.message}`), [], `after ${applied} fix(es):\n${current}`);
    assert.equal(after.log.filter((l) => /failed:|gave up/.test(l)).length, 0);

    // Clean because the shapes now agree, not because the fix made them unknown: every
    // fixed addition is still reached, with every dim known.
    const fixedLines = readLayersExpectations(current).filter((e) => e.rule === 'residual-shape-mismatch').map((e) => e.line);
    const tree = grammars.parse(grammarFor(file)!, current);
    try {
      const syntax = toSyntaxTree(tree, current, grammarFor(file)!);
      const program = grammarFor(file) === 'python' ? pythonProgram(syntax, current) : scriptProgram(syntax, current);
      const observations = interpretProgram(program, performance.now() + 5000, () => {}).observations;
      for (const line of fixedLines) {
        const here = observations.filter((o) => o.span.range.start.line === line);
        assert.ok(here.length > 0, `line ${line + 1} is no longer reached after the fix`);
        for (const o of here) assert.ok(o.leftShape?.every((d) => d !== null) && o.rightShape?.every((d) => d !== null), `line ${line + 1}: unknown dims after the fix`);
      }
    } finally {
      tree.delete();
    }
  });
}

test('projection fixes were applied and re-checked on at least 12 fixtures', () => {
  assert.ok(fixed >= 12, `only ${fixed} fixtures had a fix`);
});

test('a Keras fix in a file that imports layers by name adds the Conv2D it needs to that import', async () => {
  const grammars = await loadLayersGrammars();
  const text = `from tensorflow.keras import Model
from tensorflow.keras.layers import Add, BatchNormalization, Input, SeparableConv2D


def sep_block(x, filters):
    y = SeparableConv2D(filters, 3, padding="same")(x)
    y = BatchNormalization()(y)
    return Add()([x, y])


inputs = Input(shape=(16, 16, 8))
model = Model(inputs, sep_block(inputs, 24))
`;
  const [finding] = analyzeFile(grammars, 'sep.py', text).findings;
  assert.equal(finding?.rule, 'residual-shape-mismatch');
  const fixedText = applyTextEdits(text, finding!.fixes[0]!.edits);
  assert.match(fixedText, /^from tensorflow\.keras\.layers import Add, BatchNormalization, Input, SeparableConv2D, Conv2D$/m);
  assert.match(fixedText, /shortcut = Conv2D\(filters, 1\)\(shortcut\)\n\s+shortcut = BatchNormalization\(\)\(shortcut\)/);
  assert.deepEqual(analyzeFile(grammars, 'sep.py', fixedText).findings, []);
});
