import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDocument, defaultAnalysisOptions, reasonToSkip } from '../../../src/core/analysis';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import { detectFrameworks } from '../../../src/core/parse/detect';
import { grammarsDir } from '../../support/paths';

const grammarsReady = Grammars.load(grammarsDir);

test('grammarFor maps language ids and file names', () => {
  assert.equal(grammarFor('python'), 'python');
  assert.equal(grammarFor('/a/model.py'), 'python');
  assert.equal(grammarFor('typescript'), 'typescript');
  assert.equal(grammarFor('model.tsx'), 'tsx');
  assert.equal(grammarFor('net.mjs'), 'javascript');
  assert.equal(grammarFor('notes.md'), undefined);
});

test('detectFrameworks recognises PyTorch, Keras and TF.js and ignores ordinary code', () => {
  const doc = (grammar: 'python' | 'typescript', text: string) => ({ uri: 'x', grammar, text });
  assert.deepEqual(detectFrameworks(doc('python', 'import torch.nn as nn\nclass A(nn.Module): pass')), ['pytorch']);
  assert.deepEqual(detectFrameworks(doc('python', 'from tensorflow import keras\n')), ['keras']);
  assert.deepEqual(detectFrameworks(doc('typescript', "import * as tf from '@tensorflow/tfjs';")), ['tfjs']);
  assert.deepEqual(detectFrameworks(doc('python', 'def add(a, b):\n    return a + b\n')), []);
  assert.deepEqual(detectFrameworks(doc('typescript', 'export const x = 1 + 2;')), []);
});

test('reasonToSkip rejects empty, binary, oversized and minified text', () => {
  const options = { ...defaultAnalysisOptions, maxFileBytes: 1024 };
  const doc = (text: string) => ({ uri: 'x.py', grammar: 'python' as const, text });
  assert.equal(reasonToSkip(doc(''), options), 'empty file');
  assert.equal(reasonToSkip(doc('import torch\u0000\u0001'), options), 'binary file');
  assert.match(reasonToSkip(doc('x'.repeat(2048)), options) ?? '', /over the/);
  assert.match(reasonToSkip(doc('a'.repeat(900)), { ...options, maxFileBytes: 1e6 }) ?? 'none', /none/);
  assert.match(reasonToSkip(doc('a'.repeat(6000)), { ...options, maxFileBytes: 1e6 }) ?? '', /minified/);
});

test('a syntax error in a model file is logged, never reported as a finding', async () => {
  const grammars = await grammarsReady;
  const result = analyzeDocument({ uri: 'broken.py', grammar: 'python', text: 'import torch\nclass A(nn.Module:\n    pass\n' }, grammars);
  assert.equal(result.findings.length, 0);
  assert.equal(result.syntaxErrors.length > 0, true);
  assert.match(result.log.join('\n'), /syntax error/);
});

test('files without model code are skipped before parsing', async () => {
  const grammars = await grammarsReady;
  const result = analyzeDocument({ uri: 'util.py', grammar: 'python', text: 'def f(x):\n    return x + 1\n' }, grammars);
  assert.equal(result.skipped, 'no model code');
});
