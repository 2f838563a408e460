// What a Keras or TF.js finding says: both shapes, the axis kind, the call that breaks
// (or the condition, for a helper seen only with symbolic arguments), the projection
// the shortcut needs, the range of the addition, and the quick fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../support/paths';
import { analyzeFile, loadLayersGrammars } from './layersFixtures';

async function findingsOf(relative: string) {
  const grammars = await loadLayersGrammars();
  const file = join(fixturesDir, relative);
  const text = readFileSync(file, 'utf8');
  return { text, findings: analyzeFile(grammars, file, text).findings };
}

test('a concrete Keras error names both shapes, the axes, the breaking call and the projection', async () => {
  const { text, findings } = await findingsOf('keras/k01_basic_block_stride_bug.py');
  assert.equal(findings.length, 1);
  const [f] = findings;
  assert.equal(f!.severity, 'error');
  assert.equal(f!.kind, 'both');
  assert.deepEqual(f!.shapes, ['(None, 16, 16, 32)', '(None, 32, 32, 16)']);
  assert.equal(
    f!.message,
    'Residual add: shapes (None, 16, 16, 32) and (None, 32, 32, 16) differ in channels (32 vs 16) and spatial size (16x16 vs 32x32) ' +
      'in `residual_block(x, 32, stride=2)` (line 21); Keras rejects it ("Operands could not be broadcast together"). ' +
      'The shortcut needs a projection: 1x1 Conv2D 16→32, strides 2, with BatchNormalization.',
  );
  const line = text.split('\n')[f!.range.start.line]!;
  assert.equal(line.slice(f!.range.start.character, f!.range.end.character), 'layers.Add()([y, shortcut])');
  assert.equal(f!.fixes[0]!.title, 'Add projection shortcut (1x1 Conv2D 16→32 + BatchNormalization)');
  assert.equal(f!.fixes[0]!.isPreferred, true);
});

test('a TF.js helper seen only with symbolic arguments gets a warning with its condition', async () => {
  const { findings } = await findingsOf('tfjs/t07_symbolic_helper_warning.ts');
  assert.equal(findings.length, 1);
  const [f] = findings;
  assert.equal(f!.severity, 'warning');
  assert.equal(f!.kind, 'both');
  assert.deepEqual(f!.shapes, ['[null, H, W, C]', '[null, (H - 1) // strides + 1, (W - 1) // strides + 1, filters]']);
  assert.match(f!.message, /when `strides != 1 \|\| C != filters`, e\.g\. [^:]*: a shortcut projection is missing for that case \(`downBlock\(x, filters, strides\)` is only seen with symbolic arguments\)/);
  assert.match(f!.fixes[0]!.edits[0]!.newText, /tf\.layers\.conv2d\(\{filters, kernelSize: 1, strides, padding: 'same'\}\)\.apply\(shortcut\)\) as tf\.SymbolicTensor;/);
});

test('a Keras flag condition is written as the flag', async () => {
  const { findings } = await findingsOf('keras/k18_applications_block_symbolic_flag.py');
  assert.match(findings[0]!.message, /when `not conv_shortcut` and `\(stride != 1 or C != filters \* 4\)`, e\.g\. [^:]*conv_shortcut = False/);
});

test('a size-1 broadcast at a skip add is its own warning, without a fix', async () => {
  const { findings } = await findingsOf('tfjs/t09_silent_broadcast.js');
  assert.equal(findings.length, 1);
  assert.equal(findings[0]!.rule, 'residual-silent-broadcast');
  assert.deepEqual(findings[0]!.shapes, ['[null, 16, 16, 32]', '[null, 1, 1, 32]']);
  assert.equal(findings[0]!.fixes.length, 0);
});
