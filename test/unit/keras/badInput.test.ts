// Bad input for the Keras and TF.js front ends: half-typed code, recursion, huge and
// endless loops, deep nesting, minified bundles, TSX without layers, names that shadow
// the library, non-ASCII text before an addition. Nothing throws, time stays bounded,
// and nothing unknown becomes a finding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeFile, loadLayersGrammars } from './layersFixtures';

const kerasHeader = 'from tensorflow import keras\nfrom tensorflow.keras import layers\n';
const tfjsHeader = "import * as tf from '@tensorflow/tfjs';\n";

async function check(path: string, text: string, budgetMs = 2000) {
  const grammars = await loadLayersGrammars();
  const started = performance.now();
  const result = analyzeFile(grammars, path, text, { budgetMs });
  const elapsed = performance.now() - started;
  assert.equal(result.log.filter((l) => /failed:|gave up/.test(l)).length, 0, result.log.join('\n'));
  return { result, elapsed };
}

test('every prefix of a Keras model file (typing it out) checks without an exception', async () => {
  const text = `${kerasHeader}
def block(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    return layers.add([x, y])

inputs = keras.Input(shape=(32, 32, 16))
out = block(inputs, 16)
out = block(out, 32, stride=2)
`;
  for (let end = 1; end <= text.length; end += 7) {
    await check('typing.py', text.slice(0, end));
  }
  const { result } = await check('typing.py', text);
  assert.equal(result.findings.length, 1);
});

test('every prefix of a TF.js model file checks without an exception', async () => {
  const text = `${tfjsHeader}
function block(x, filters, strides = 1) {
  const y = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same' }).apply(x);
  return tf.layers.add().apply([x, y]);
}
const inputs = tf.input({ shape: [16, 16, 8] });
const out = block(block(inputs, 8), 16, 2);
`;
  for (let end = 1; end <= text.length; end += 5) {
    await check('typing.ts', text.slice(0, end));
  }
  const { result } = await check('typing.ts', text);
  assert.equal(result.findings.length, 1);
});

test('recursion, endless and huge loops and deep nesting stay within the budget', async () => {
  const text = `${kerasHeader}
def grow(x):
    return grow(grow(layers.Dense(8)(x)))

def stack(x, n):
    for i in range(10 ** 9):
        x = layers.Dense(8)(x)
    while True:
        x = layers.Dense(8)(x)
    return x

inputs = keras.Input(shape=(8,))
y = grow(inputs)
z = stack(inputs, 3)
w = ${'('.repeat(300)}inputs${')'.repeat(300)}
out = layers.add([inputs, layers.Dense(8)(inputs)])
`;
  const { result, elapsed } = await check('loops.py', text, 1500);
  assert.ok(elapsed < 4000, `took ${elapsed.toFixed(0)} ms`);
  assert.equal(result.findings.length, 0);
});

test('a file that runs out of budget logs it and keeps what it found, never guessing the rest', async () => {
  const blocks = Array.from({ length: 400 }, (_, i) => `x${i + 1} = block(x${i}, 16)`).join('\n');
  const text = `${kerasHeader}
def block(x, filters):
    y = layers.Conv2D(filters, 3, padding="same")(x)
    for i in range(50):
        y = layers.Conv2D(filters, 3, padding="same")(y)
    return layers.add([x, y])

x0 = keras.Input(shape=(32, 32, 16))
${blocks}
`;
  const grammars = await loadLayersGrammars();
  const result = analyzeFile(grammars, 'budget.py', text, { budgetMs: 30 });
  assert.ok(result.log.some((l) => /budget/.test(l)), result.log.join('\n'));
  assert.equal(result.findings.length, 0);
});

test('minified bundles are skipped, TSX without tf.layers is not analysed', async () => {
  const grammars = await loadLayersGrammars();
  const minified = analyzeFile(grammars, 'bundle.min.js', `${tfjsHeader}${'var a=tf.layers.dense({units:1});'.repeat(400)}`);
  assert.match(minified.skipped ?? '', /minified/);
  const tsx = analyzeFile(grammars, 'view.tsx', "import * as tf from '@tensorflow/tfjs';\nexport const View = () => <div>{tf.version.tfjs}</div>;\n");
  assert.equal(tsx.skipped, 'no model code');
});

test('names that shadow the library, unknown layers and Lambda never produce a finding', async () => {
  const { result } = await check('shadow.py', `${kerasHeader}
from custom import Mystery

def f(x):
    layers = Mystery()
    y = layers.Conv2D(64, 3)(x)
    return layers.add([x, y])

def g(x):
    y = keras.layers.Lambda(lambda t: t[:, ::2, ::2, :])(x)
    z = Mystery(64)(x)
    return keras.layers.add([x, y]) + z

inputs = keras.Input(shape=(32, 32, 16))
a = f(inputs)
b = g(inputs)
`);
  assert.deepEqual(result.findings, []);
});

test('ranges count UTF-16 code units when the line holds non-ASCII text', async () => {
  const text = `${kerasHeader}
inputs = keras.Input(shape=(8, 8, 4))
wide = layers.Conv2D(8, 1)(inputs)
note = "größe 🙂"; out = layers.add([inputs, wide])
`;
  const { result } = await check('unicode.py', text);
  assert.equal(result.findings.length, 1);
  const line = text.split('\n')[result.findings[0]!.range.start.line]!;
  assert.equal(line.slice(result.findings[0]!.range.start.character).startsWith('layers.add('), true);
});

test('a Python file that imports both PyTorch and Keras is checked by both front ends', async () => {
  const grammars = await loadLayersGrammars();
  const result = analyzeFile(grammars, 'both.py', `import torch\n${kerasHeader}
inputs = keras.Input(shape=(8,))
out = layers.add([inputs, layers.Dense(16)(inputs)])
`);
  assert.deepEqual(result.frameworks.sort(), ['keras', 'pytorch']);
  assert.equal(result.findings.filter((f) => f.rule === 'residual-shape-mismatch').length, 1);
});

test('Add layers line up inputs of different ranks after the batch axis, as Keras and tfjs-layers do; `+` broadcasts numpy-style', async () => {
  const { result } = await check('ranks.py', `${kerasHeader}
inputs = keras.Input(shape=(4, 4, 16))
pooled = layers.GlobalAveragePooling2D()(inputs)
merged = layers.Add()([pooled, inputs])
plus = pooled + inputs
`);
  const byLine = new Map(result.findings.map((f) => [f.range.start.line, f]));
  // The layer stretches (None, 16) to (None, 1, 1, 16): legal, but a silent broadcast.
  assert.equal(byLine.get(5)?.rule, 'residual-silent-broadcast');
  // `+` aligns (None, 16) with the last two axes of (None, 4, 4, 16): the batch meets W = 4.
  assert.equal(byLine.get(6)?.rule, 'residual-shape-mismatch');
});
