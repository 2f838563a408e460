// A TensorFlow.js residual block built with the layers API. The downsampling block
// adds its input (16 channels, 32x32) to an output of 32 channels at 16x16.
import * as tf from '@tensorflow/tfjs';

function residualBlock(input: tf.SymbolicTensor, filters: number, strides = 1): tf.SymbolicTensor {
  let y = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU().apply(y) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([y, input]) as tf.SymbolicTensor;
  return tf.layers.reLU().apply(sum) as tf.SymbolicTensor;
}

const input = tf.input({ shape: [32, 32, 3] });
let x = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
x = residualBlock(x, 16);
x = residualBlock(x, 32, 2);
x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
const output = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
export const model = tf.model({ inputs: input, outputs: output });
