// Builds a network of the CIFAR family (src/core/probe/network.ts) as TensorFlow.js
// variables and a forward function. Plain ops rather than tf.layers: the probe needs
// each conv kernel's gradient by layer index and the conv outputs at init, and the
// fewer wrappers the fewer tensors per step.
//
// Initialisation: He (Kaiming) normal, std sqrt(2 / fan_in), for every conv, as the
// ResNet paper did ("we initialize the weights as in [13]"); the classifier uses
// PyTorch's nn.Linear default, uniform(+-1/sqrt(fan_in)) for weights and bias.
// BatchNorm starts at gamma 1, beta 0; without BatchNorm each conv has a bias, at 0.
// Random numbers come from the core's seeded generator, so a seed gives the same
// initial weights on every backend.
import type * as tfc from '@tensorflow/tfjs';
import { describeNetwork, type ConvSpec, type NetworkDescription } from '../core/probe/network';
import type { ProbePlan, VariantSpec } from '../core/probe/protocol';
import { gaussian, mixSeed, seededRandom } from '../core/probe/synthetic';
import type { TensorFlow } from './backend';
import { hasNormActKernels, normAct } from './normKernels';

const batchNormEpsilon = 1e-5;

interface ConvWeights {
  spec: ConvSpec;
  kernel: tfc.Variable;
  /** BatchNorm scale and offset, or the conv's bias when BatchNorm is off. */
  gamma?: tfc.Variable;
  beta?: tfc.Variable;
  bias?: tfc.Variable;
}

export interface ProbeModel {
  network: NetworkDescription;
  /** Every trainable variable. */
  variables: tfc.Variable[];
  /** The weight kernel of each layer of network.layers, by index. */
  layerKernels: tfc.Variable[];
  /**
   * Logits for a batch, in training mode (batch statistics). When `collect` is given,
   * the output of each layer (conv before its norm, then the logits) is pushed to it
   * in layer order.
   */
  forward(images: tfc.Tensor4D, collect?: tfc.Tensor[]): tfc.Tensor2D;
  dispose(): void;
}

function hashText(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function buildModel(tf: TensorFlow, plan: ProbePlan, variant: VariantSpec): ProbeModel {
  const network = describeNetwork(variant, plan);
  const random = seededRandom(mixSeed(plan.seed, hashText(variant.id)));
  const variables: tfc.Variable[] = [];
  const prefix = `${variant.id}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  const variable = (name: string, values: Float32Array, shape: number[]): tfc.Variable => {
    // The variable takes its own reference to the data: the initial tensor is not needed after.
    const initial = tf.tensor(values, shape);
    const v = tf.variable(initial, true, `${prefix}.${name}`);
    initial.dispose();
    variables.push(v);
    return v;
  };

  const convWeights = (spec: ConvSpec): ConvWeights => {
    const fanIn = spec.kernel * spec.kernel * spec.inChannels;
    const std = Math.sqrt(2 / fanIn);
    const values = Float32Array.from({ length: fanIn * spec.outChannels }, () => std * gaussian(random));
    const kernel = variable(`${spec.name}.kernel`, values, [spec.kernel, spec.kernel, spec.inChannels, spec.outChannels]);
    if (variant.batchNorm) {
      return {
        spec,
        kernel,
        gamma: variable(`${spec.name}.bn.gamma`, new Float32Array(spec.outChannels).fill(1), [spec.outChannels]),
        beta: variable(`${spec.name}.bn.beta`, new Float32Array(spec.outChannels), [spec.outChannels]),
      };
    }
    return { spec, kernel, bias: variable(`${spec.name}.bias`, new Float32Array(spec.outChannels), [spec.outChannels]) };
  };

  const stem = convWeights(network.stem);
  const blocks = network.blocks.map((block) => ({
    block,
    projection: block.projection ? convWeights(block.projection) : undefined,
    conv1: convWeights(block.conv1),
    conv2: convWeights(block.conv2),
  }));
  const denseBound = 1 / Math.sqrt(network.dense.inFeatures);
  const uniform = (n: number): Float32Array => Float32Array.from({ length: n }, () => (2 * random() - 1) * denseBound);
  const denseKernel = variable('classifier.kernel', uniform(network.dense.inFeatures * network.dense.classes), [network.dense.inFeatures, network.dense.classes]);
  const denseBias = variable('classifier.bias', uniform(network.dense.classes), [network.dense.classes]);

  const layerKernels: tfc.Variable[] = new Array(network.layers.length);
  for (const w of [stem, ...blocks.flatMap((b) => [b.projection, b.conv1, b.conv2])]) if (w) layerKernels[w.spec.layerIndex] = w.kernel;
  layerKernels[network.dense.layerIndex] = denseKernel;

  // One fused op (normKernels.ts) where the backend has it: the stock ops cost ~3x more.
  const fusedNorm = hasNormActKernels(tf.getBackend());

  /** conv, then BatchNorm (batch statistics) or bias, then the residual add and ReLU if asked. */
  const convNormAct = (x: tfc.Tensor4D, w: ConvWeights, relu: boolean, residual: tfc.Tensor4D | undefined, collect?: tfc.Tensor[]): tfc.Tensor4D => {
    const y = tf.conv2d(x, w.kernel as tfc.Tensor4D, w.spec.stride, 'same');
    collect?.push(y);
    if (w.gamma && fusedNorm) return normAct(tf, y, w.gamma as tfc.Tensor1D, w.beta as tfc.Tensor1D, residual, { epsilon: batchNormEpsilon, relu });
    let out: tfc.Tensor4D;
    if (w.bias) out = tf.add(y, w.bias);
    else {
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      out = tf.batchNorm(y, mean, variance, w.beta!, w.gamma!, batchNormEpsilon) as tfc.Tensor4D;
    }
    if (residual) out = tf.add(out, residual);
    return relu ? tf.relu(out) : out;
  };

  /** Option A: keep every second pixel (a 1x1 average pool of stride 2), zero-pad the new channels half before, half after. */
  const zeroPadShortcut = (x: tfc.Tensor4D, outChannels: number): tfc.Tensor4D => {
    const c = x.shape[3];
    const subsampled = tf.avgPool(x, 1, 2, 'valid');
    const extra = outChannels - c;
    return tf.pad(subsampled, [[0, 0], [0, 0], [0, 0], [Math.floor(extra / 2), extra - Math.floor(extra / 2)]]);
  };

  const forward = (images: tfc.Tensor4D, collect?: tfc.Tensor[]): tfc.Tensor2D => {
    let x = convNormAct(images, stem, true, undefined, collect);
    for (const { block, projection, conv1, conv2 } of blocks) {
      // Layer order: the projection conv comes first in network.layers, as in convLayers().
      const shortcut =
        block.shortcut === 'identity'
          ? x
          : block.shortcut === 'projection'
            ? convNormAct(x, projection!, false, undefined, collect)
            : block.shortcut === 'zero-pad'
              ? zeroPadShortcut(x, block.conv2.outChannels)
              : undefined;
      const h = convNormAct(x, conv1, true, undefined, collect);
      x = convNormAct(h, conv2, true, shortcut, collect);
    }
    const pooled = tf.mean(x, [1, 2]) as tfc.Tensor2D;
    const logits = tf.add(tf.matMul(pooled, denseKernel), denseBias) as tfc.Tensor2D;
    collect?.push(logits);
    return logits;
  };

  return {
    network,
    variables,
    layerKernels,
    forward,
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
