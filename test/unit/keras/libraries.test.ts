// Import spellings of the two layers APIs, reduced to one canonical name each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAttribute, canonicalPythonPath, importPath, snakeCase } from '../../../src/core/keras/libraries';

test('Keras import paths from tf.keras, Keras 3 and submodules name the same objects', () => {
  assert.equal(canonicalPythonPath('tensorflow.keras.layers'), 'keras.layers');
  assert.equal(canonicalPythonPath('tensorflow.keras'), 'keras');
  assert.equal(canonicalPythonPath('keras.layers'), 'keras.layers');
  assert.equal(canonicalPythonPath('tensorflow.keras.layers.Conv2D'), 'keras.layers.Conv2D');
  assert.equal(canonicalPythonPath('keras.src.layers.convolutional.conv2d.Conv2D'), 'keras.layers.Conv2D');
  assert.equal(canonicalPythonPath('tensorflow.keras.models.Model'), 'keras.Model');
  assert.equal(canonicalPythonPath('keras.layers.Input'), 'keras.Input');
  assert.equal(canonicalPythonPath('tensorflow.compat.v1.keras.layers'), 'keras.layers');
  assert.equal(canonicalAttribute('tf', 'keras', 'python'), 'keras');
  assert.equal(canonicalAttribute('keras.layers', 'Add', 'python'), 'keras.layers.Add');
});

test('TF.js modules: tfjs, -node, -node-gpu and named imports; other packages are not TF.js', () => {
  assert.equal(importPath('@tensorflow/tfjs', 'script'), 'tf');
  assert.equal(importPath('@tensorflow/tfjs-node', 'script'), 'tf');
  assert.equal(importPath('@tensorflow/tfjs-node-gpu', 'script'), 'tf');
  assert.equal(importPath('@tensorflow/tfjs#layers', 'script'), 'tf.layers');
  assert.equal(importPath('@tensorflow/tfjs-node#input', 'script'), 'tf.input');
  assert.equal(importPath('./layers', 'script'), undefined);
  assert.equal(importPath('lodash#add', 'script'), undefined);
});

test('TF.js options become Keras parameter names', () => {
  assert.equal(snakeCase('kernelSize'), 'kernel_size');
  assert.equal(snakeCase('dilationRate'), 'dilation_rate');
  assert.equal(snakeCase('filters'), 'filters');
  assert.equal(snakeCase('dataFormat'), 'data_format');
});
