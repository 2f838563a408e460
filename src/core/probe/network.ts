// The CIFAR-style network family of the ResNet paper (section 4.2), described without
// any tensor library: a 3x3 stem conv, three stages of n blocks (two 3x3 convs each) at
// widths w, 2w, 4w with stride 2 at the start of stages 2 and 3, global average pooling
// and a dense classifier. Depth = 6n + 2. The worker builds exactly this list; the
// panel, the CLI and the benchmark read layer names, parameter counts and FLOPs from it.
import type { ProbeLayer, ProbePlan, VariantSpec } from './protocol';

export interface ConvSpec {
  name: string;
  inChannels: number;
  outChannels: number;
  kernel: 1 | 3;
  stride: 1 | 2;
  /** Spatial size (square) of the input and output. */
  inSize: number;
  outSize: number;
  /** Index in the layer list (the gradient-flow chart's x axis). */
  layerIndex: number;
}

export type ShortcutKind = 'none' | 'identity' | 'zero-pad' | 'projection';

export interface BlockSpec {
  name: string;
  conv1: ConvSpec;
  conv2: ConvSpec;
  shortcut: ShortcutKind;
  /** Option B's 1x1 stride-2 conv, present only when shortcut is 'projection'. */
  projection?: ConvSpec;
}

export interface NetworkDescription {
  stem: ConvSpec;
  blocks: BlockSpec[];
  dense: { name: string; inFeatures: number; classes: number; layerIndex: number };
  layers: ProbeLayer[];
  params: number;
  /** Multiply-adds count twice. Forward only; a training step costs about three times this. */
  forwardFlopsPerSample: number;
  trainingFlopsPerSample: number;
  /** Floats alive for backprop per sample (conv outputs, norm and ReLU outputs): a memory estimate. */
  activationFloatsPerSample: number;
}

type Sizes = Pick<ProbePlan, 'inputSize' | 'inputChannels' | 'classes'>;

export function describeNetwork(variant: Pick<VariantSpec, 'architecture' | 'depth' | 'shortcut' | 'batchNorm' | 'width'>, sizes: Sizes): NetworkDescription {
  const blocksPerStage = Math.max(1, Math.round((variant.depth - 2) / 6));
  const layers: ProbeLayer[] = [];
  let forwardFlops = 0;
  let activationFloats = 0;
  let params = 0;
  const normParams = (channels: number): number => (variant.batchNorm ? 2 * channels : channels); // gamma+beta, or a conv bias

  const conv = (name: string, inChannels: number, outChannels: number, kernel: 1 | 3, stride: 1 | 2, inSize: number): ConvSpec => {
    const outSize = Math.ceil(inSize / stride);
    const weights = kernel * kernel * inChannels * outChannels;
    const spec: ConvSpec = { name, inChannels, outChannels, kernel, stride, inSize, outSize, layerIndex: layers.length };
    layers.push({ index: layers.length, name, kind: 'conv', params: weights, residualAddAfter: false });
    params += weights + normParams(outChannels);
    forwardFlops += 2 * weights * outSize * outSize;
    // conv output, normalised output, ReLU output
    activationFloats += outChannels * outSize * outSize * (variant.batchNorm ? 3 : 2);
    return spec;
  };

  let size = sizes.inputSize;
  const stem = conv('stem.conv', sizes.inputChannels, variant.width, 3, 1, size);
  const blocks: BlockSpec[] = [];
  let channels = variant.width;
  for (let stage = 0; stage < 3; stage++) {
    const stageWidth = variant.width * 2 ** stage;
    for (let b = 0; b < blocksPerStage; b++) {
      const name = `stage${stage + 1}.block${b}`;
      const stride: 1 | 2 = stage > 0 && b === 0 ? 2 : 1;
      const changes = stride === 2 || channels !== stageWidth;
      let shortcut: ShortcutKind = 'none';
      let projection: ConvSpec | undefined;
      if (variant.architecture === 'residual') {
        if (!changes) shortcut = 'identity';
        else if (variant.shortcut === 'B') {
          shortcut = 'projection';
          projection = conv(`${name}.shortcut`, channels, stageWidth, 1, stride, size);
        } else shortcut = 'zero-pad';
      }
      const conv1 = conv(`${name}.conv1`, channels, stageWidth, 3, stride, size);
      size = conv1.outSize;
      const conv2 = conv(`${name}.conv2`, stageWidth, stageWidth, 3, 1, size);
      if (shortcut !== 'none') {
        layers[conv2.layerIndex]!.residualAddAfter = true;
        activationFloats += stageWidth * size * size * 2; // the sum and its ReLU
      }
      blocks.push({ name, conv1, conv2, shortcut, ...(projection ? { projection } : {}) });
      channels = stageWidth;
    }
  }
  const denseWeights = channels * sizes.classes;
  const dense = { name: 'classifier', inFeatures: channels, classes: sizes.classes, layerIndex: layers.length };
  layers.push({ index: layers.length, name: 'classifier', kind: 'dense', params: denseWeights, residualAddAfter: false });
  params += denseWeights + sizes.classes;
  forwardFlops += 2 * denseWeights;
  return {
    stem,
    blocks,
    dense,
    layers,
    params,
    forwardFlopsPerSample: forwardFlops,
    trainingFlopsPerSample: 3 * forwardFlops,
    activationFloatsPerSample: activationFloats + sizes.inputSize * sizes.inputSize * sizes.inputChannels,
  };
}

/** Every conv of the network in forward order (projections included). */
export function convLayers(network: NetworkDescription): ConvSpec[] {
  const list = [network.stem];
  for (const block of network.blocks) {
    if (block.projection) list.push(block.projection);
    list.push(block.conv1, block.conv2);
  }
  return list;
}
