// The Keras and TF.js front ends of "Probe This Model" on real files: which models a file
// defines (names, line ranges, which get a lens), and bad input: half-typed code, syntax
// errors elsewhere, unknown names, bad input shapes, an exhausted time budget, every
// truncation of a fixture. Never an exception; always a graph or a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import { kerasModelGraphs } from '../../../src/core/modelGraph/keras';
import { tfjsModelGraphs } from '../../../src/core/modelGraph/tfjs';
import type { ModelGraphFrontEnd } from '../../../src/core/modelGraph/extract';
import type { ModelExtraction } from '../../../src/core/modelGraph/graph';
import { examplesDir, fixturesDir, grammarsDir } from '../../support/paths';

const grammars = Grammars.load(grammarsDir);
const probeFixture = (name: string): string => join(fixturesDir, 'probe-models', name);

function frontEndFor(path: string): ModelGraphFrontEnd {
  return grammarFor(path) === 'python' ? kerasModelGraphs : tfjsModelGraphs;
}

function documentOf(path: string, text = readFileSync(path, 'utf8')): { uri: string; grammar: NonNullable<ReturnType<typeof grammarFor>>; text: string } {
  return { uri: path, grammar: grammarFor(path)!, text };
}

function extract(path: string, modelName: string, text?: string, extra: { inputShape?: number[]; budgetMs?: number } = {}): ModelExtraction | { error: string } {
  return frontEndFor(path).extract(
    { document: documentOf(path, text), modelName, ...(extra.inputShape ? { inputShape: extra.inputShape } : {}), options: { budgetMs: extra.budgetMs ?? 10_000 } },
    // Loaded by the first test that awaits it.
    loadedGrammars!,
  );
}

let loadedGrammars: Grammars | undefined;

test('keras.applications-style file: the per-size builders get lenses, the shared ResNet builder does not', async () => {
  loadedGrammars = await grammars;
  const path = join(fixturesDir, 'keras', 'k04_resnet50_applications_style.py');
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const models = kerasModelGraphs.listModels(documentOf(path, text), loadedGrammars);
  assert.deepEqual(models.map((m) => [m.name, m.topLevel]), [['ResNet', false], ['ResNet50', true], ['ResNet101', true]]);
  for (const m of models) {
    assert.equal(m.framework, 'keras');
    assert.match(lines[m.source.line]!, new RegExp(`^def ${m.name}\\(`));
    assert.ok(m.endLine > m.source.line && m.endLine < lines.length);
  }
  // The whole builder, body included: a cursor on its return statement is inside.
  const resnet50 = models.find((m) => m.name === 'ResNet50')!;
  const returnLine = lines.findIndex((l, i) => i > resnet50.source.line && l.includes('return ResNet(stack_fn'));
  assert.ok(returnLine > resnet50.source.line && returnLine <= resnet50.endLine);
  // That file computes its input shape out of reach: the user is asked for it, then it builds.
  const asked = extract(path, 'ResNet50');
  assert.ok(!('error' in asked) && asked.needsInputShape, JSON.stringify(asked));
  assert.deepEqual(asked.needsInputShape, ['N', 'H', 'W', 'C']);
  const given = extract(path, 'ResNet50', text, { inputShape: [1, 64, 64, 3] });
  assert.ok(!('error' in given), JSON.stringify(given));
  assert.equal(given.variants[0]?.graph.nodes.at(-1)?.shape.join(','), '1,1000');
  assert.deepEqual(given.inputShape, [1, 64, 64, 3]);
});

test('module-level models: the range runs from the first line of model code to the model (and its add calls)', async () => {
  loadedGrammars = await grammars;
  const keras = join(examplesDir, 'keras', 'resnet_block.py');
  const kerasLines = readFileSync(keras, 'utf8').split('\n');
  const [model] = kerasModelGraphs.listModels(documentOf(keras), loadedGrammars);
  assert.ok(model);
  assert.equal(model.name, 'model');
  assert.match(kerasLines[model.source.line]!, /^inputs = keras\.Input/);
  assert.match(kerasLines[model.endLine]!, /^model = keras\.Model/);
  assert.equal(model.topLevel, true);

  const sequential = probeFixture('tfjs/sequential_models.js');
  const lines = readFileSync(sequential, 'utf8').split('\n');
  const models = tfjsModelGraphs.listModels(documentOf(sequential), loadedGrammars);
  const classifier = models.find((m) => m.name === 'classifier')!;
  assert.match(lines[classifier.source.line]!, /^const classifier = tf\.sequential\(\)/);
  assert.match(lines[classifier.endLine]!, /^classifier\.add\(tf\.layers\.dense/);
  assert.deepEqual(models.map((m) => m.name), ['classifier', 'regressor']);

  const t02 = join(fixturesDir, 'tfjs', 't02_resnet_cifar_projection_ok.ts');
  assert.deepEqual(tfjsModelGraphs.listModels(documentOf(t02), loadedGrammars).map((m) => [m.name, m.topLevel]), [['resnet20', true]]);
});

test('files without layers models: no candidates, and a clear message for a name', async () => {
  loadedGrammars = await grammars;
  const torch = join(examplesDir, 'pytorch', 'resnet_cifar.py');
  assert.deepEqual(kerasModelGraphs.listModels(documentOf(torch), loadedGrammars), []);
  const result = extract(torch, 'ResNet');
  assert.ok('error' in result);
  assert.match(result.error, /ResNet is not a model this file builds/);
  const unknownName = extract(probeFixture('keras/resnet_cifar.py'), 'resnet_cifra');
  assert.ok('error' in unknownName);
  assert.match(unknownName.error, /its models: resnet_cifar/);
});

test('bad input shapes are refused with a message', async () => {
  loadedGrammars = await grammars;
  for (const shape of [[32, 32, 3, 0], [1], [1, 2.5, 3]]) {
    const result = extract(probeFixture('keras/resnet_cifar.py'), 'resnet_cifar', undefined, { inputShape: shape });
    assert.ok('error' in result, JSON.stringify(shape));
    assert.match(result.error, /positive whole numbers/);
  }
  // A rank the model cannot take: its first layer cannot be built, said so.
  const wrongRank = extract(probeFixture('keras/resnet_cifar.py'), 'resnet_cifar', undefined, { inputShape: [1, 32, 3] });
  assert.ok(!('error' in wrongRank) && wrongRank.unsupported.length > 0 && wrongRank.variants.length === 0, JSON.stringify(wrongRank));
});

test('a syntax error elsewhere in the file leaves the model as it was', async () => {
  loadedGrammars = await grammars;
  for (const [path, broken] of [
    [probeFixture('keras/resnet_cifar.py'), '\n\ndef broken(x:\n    return layers.Conv2D(8, (x\n'],
    [probeFixture('tfjs/resnet.ts'), '\n\nfunction broken(x { return tf.layers.conv2d({ filters: 8, ).apply(x;\n'],
  ] as const) {
    const name = path.endsWith('.py') ? 'resnet_cifar' : 'resnet';
    const clean = extract(path, name);
    const text = readFileSync(path, 'utf8') + broken;
    const dirty = extract(path, name, text);
    assert.ok(!('error' in clean) && !('error' in dirty), JSON.stringify(dirty));
    assert.equal(dirty.variants[0]!.graph.nodes.length, clean.variants[0]!.graph.nodes.length);
    assert.deepEqual(dirty.variants.map((v) => v.label), clean.variants.map((v) => v.label));
  }
});

test('half-typed code inside the model: a message or a graph of what is there, never an exception', async () => {
  loadedGrammars = await grammars;
  const path = probeFixture('keras/resnet_cifar.py');
  const text = readFileSync(path, 'utf8');
  // The skip addition is being typed.
  const halfTyped = text.replace('y = layers.add([y, shortcut])', 'y = layers.add([y, shortc');
  const result = extract(path, 'resnet_cifar', halfTyped);
  if (!('error' in result)) {
    for (const variant of result.variants) assert.ok(variant.graph.nodes.length > 0);
    if (result.variants.length === 0) assert.ok(result.unsupported.length > 0 || result.needsInputShape);
  }
  // An unknown layer class: listed with its line, not guessed.
  const unknownLayer = text.replace('y = layers.Activation("relu")(y)', 'y = layers.FancyNorm(momentum=0.9)(y)');
  const unknown = extract(path, 'resnet_cifar', unknownLayer);
  assert.ok(!('error' in unknown));
  assert.equal(unknown.variants.length, 0);
  const line = unknownLayer.split('\n').findIndex((l) => l.includes('FancyNorm'));
  assert.deepEqual(unknown.unsupported.map((u) => [u.what, u.source?.line]), [['layers.FancyNorm(momentum=0.9)(y)', line]]);
});

test('every truncation of a fixture gives a graph or a message, in bounded time', async () => {
  loadedGrammars = await grammars;
  for (const path of [probeFixture('keras/resnet50_applications.py'), probeFixture('tfjs/resnet.ts')]) {
    const text = readFileSync(path, 'utf8');
    let graphs = 0;
    for (let end = 0; end <= text.length; end += 61) {
      const prefix = text.slice(0, end);
      const document = documentOf(path, prefix);
      const models = frontEndFor(path).listModels(document, loadedGrammars);
      for (const model of models) {
        const started = performance.now();
        const result = extract(path, model.name, prefix, { budgetMs: 2000 });
        assert.ok(performance.now() - started < 5000, `${path} cut at ${end}: ${model.name} took too long`);
        if ('error' in result) assert.ok(result.error.length > 0);
        else if (result.variants.length > 0) graphs++;
      }
    }
    assert.ok(graphs > 0, `${path}: no truncation built a graph`);
  }
});

test('an exhausted time budget is a message, not a partial graph', async () => {
  loadedGrammars = await grammars;
  const result = extract(probeFixture('keras/resnet50_applications.py'), 'ResNet50', undefined, { budgetMs: 1 });
  assert.ok('error' in result, JSON.stringify(result).slice(0, 200));
  assert.match(result.error, /ran out of time/);
});
