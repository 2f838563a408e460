// Shapes for hovers and inlay hints: every named tensor and every layer call the
// Keras/TF.js interpreter reaches carries its shape (one per call of its function),
// and each line that assigns a tensor gets a line-end hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../support/paths';
import { analyzeFile, loadLayersGrammars } from './layersFixtures';

async function annotationsOf(relative: string) {
  const grammars = await loadLayersGrammars();
  const file = join(fixturesDir, relative);
  const text = readFileSync(file, 'utf8');
  return { lines: text.split('\n'), annotations: analyzeFile(grammars, file, text).annotations };
}

test('Keras: a helper variable shows the shape of each call, the layer call its output', async () => {
  const { lines, annotations } = await annotationsOf('keras/k01_basic_block_stride_bug.py');
  const convLine = lines.findIndex((l) => l.includes('y = layers.Conv2D(filters, 3, strides=stride'));
  const variable = annotations.find((a) => a.kind === 'variable' && a.name === 'y' && a.range.start.line === convLine);
  assert.equal(variable?.shape, '(None, 32, 32, 16) | (None, 16, 16, 32)');
  const layer = annotations.find((a) => a.kind === 'layer' && a.range.start.line === convLine);
  assert.equal(layer?.name, 'Conv2D');
  assert.equal(layer?.shape, '(None, 32, 32, 16) | (None, 16, 16, 32)');
  const hint = annotations.find((a) => a.kind === 'line-end' && a.range.start.line === convLine);
  assert.equal(hint?.range.start.character, lines[convLine]!.length);
  const inputLine = lines.findIndex((l) => l.includes('inputs = keras.Input'));
  assert.equal(annotations.find((a) => a.kind === 'variable' && a.range.start.line === inputLine)?.shape, '(None, 32, 32, 3)');
});

test('TF.js: shapes in TF.js notation, symbolic ones for a helper nothing calls', async () => {
  const { lines, annotations } = await annotationsOf('tfjs/t07_symbolic_helper_warning.ts');
  const line = lines.findIndex((l) => l.includes('let y = tf.layers.conv2d'));
  assert.equal(annotations.find((a) => a.kind === 'variable' && a.range.start.line === line)?.shape, '[null, (H - 1) // strides + 1, (W - 1) // strides + 1, filters]');
  const concrete = await annotationsOf('tfjs/t02_resnet_cifar_projection_ok.ts');
  const inputs = concrete.lines.findIndex((l) => l.includes('const inputs = tf.input'));
  assert.equal(concrete.annotations.find((a) => a.kind === 'variable' && a.name === 'inputs' && a.range.start.line === inputs)?.shape, '[null, 32, 32, 3]');
});
