import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleInputShape } from '../../../src/core/modelGraph/frontEnds';

test('the input-shape example follows the layout of the names the front end gives', () => {
  // PyTorch names only what it lacks; its image inputs are channels-first.
  assert.deepEqual(exampleInputShape(['H', 'W']), [1, 3, 32, 32]);
  assert.deepEqual(exampleInputShape(['T']), [1, 64]);
  // Keras and TF.js name the whole shape, channels-last, with the sizes they know.
  assert.deepEqual(exampleInputShape(['N', 'H', 'W', '3']), [1, 32, 32, 3]);
  assert.deepEqual(exampleInputShape(['N', 'H', 'W', 'C']), [1, 32, 32, 3]);
  assert.deepEqual(exampleInputShape(['N', '128', '1']), [1, 128, 1]);
  assert.deepEqual(exampleInputShape(['N', 'T']), [1, 64]);
});
