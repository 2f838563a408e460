// The CIFAR-style network family of the ResNet paper (section 4.2), described without
// any tensor library: a 3x3 stem conv, three stages of n blocks (two 3x3 convs each) at
// widths w, 2w, 4w with stride 2 at the start of stages 2 and 3, global average pooling
// and a dense classifier. Depth = 6n + 2. The worker builds exactly this list; the
// panel, the CLI and the benchmark read layer names, parameter counts and FLOPs from it.
import { isWeightedOp, type GraphNode, type ModelGraph } from '../modelGraph/graph';
import { graphParameterCount } from '../modelGraph/params';
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

/** A user's model graph as the probe sees it: the chart's layers, sizes and costs. */
export interface GraphDescription {
  layers: ProbeLayer[];
  /** The graph node of each layer. */
  layerNodes: number[];
  /** Trainable parameters (graphParameterCount's count). */
  params: number;
  forwardFlopsPerSample: number;
  trainingFlopsPerSample: number;
  /** Floats of every node's output per sample: what a training step keeps alive, roughly. */
  activationFloatsPerSample: number;
}

function forwardFlopsOf(graph: ModelGraph, node: GraphNode): number {
  const op = node.op;
  const perSample = (shape: number[]): number => shape.slice(1).reduce((a, b) => a * b, 1);
  const outSize = perSample(node.shape);
  switch (op.op) {
    case 'conv':
      return (2 * op.kernel.reduce((a, b) => a * b, 1) * (op.inChannels / op.groups) * outSize);
    case 'linear':
      return 2 * op.inFeatures * outSize;
    case 'attention': {
      const query = graph.nodes[node.inputs[0]!]?.shape ?? node.shape;
      const key = graph.nodes[node.inputs[1]!]?.shape ?? node.shape;
      const sequence = op.batchFirst ? query[1] ?? 1 : query[0] ?? 1;
      const keys = op.batchFirst ? key[1] ?? 1 : key[0] ?? 1;
      const { embedDim: e, heads: h, keyDim: k, valueDim: v } = op;
      return 2 * (sequence * e * h * k + 2 * keys * e * h * Math.max(k, v) + sequence * keys * h * (k + v) + sequence * h * v * e);
    }
    case 'matmul': {
      const a = graph.nodes[node.inputs[0]!]?.shape ?? [];
      return 2 * outSize * (a[a.length - 1] ?? 1);
    }
    default:
      return outSize;
  }
}

/**
 * Layers (weighted nodes that own their weights, named by their source names, linked to
 * their source line), parameter count and costs of a graph. `residualAddAfter` marks
 * the layer that feeds the residual branch of a skip addition.
 */
export function describeGraph(graph: ModelGraph): GraphDescription {
  const counts = graphParameterCount(graph);
  const layers: ProbeLayer[] = [];
  const layerNodes: number[] = [];
  const layerOfNode = new Map<number, number>();
  let forwardFlops = 0;
  let activationFloats = 0;
  for (const node of graph.nodes) {
    forwardFlops += forwardFlopsOf(graph, node);
    if (node.op.op !== 'input' && node.op.op !== 'dropout' && node.op.op !== 'identity' && node.op.op !== 'permute') activationFloats += node.shape.slice(1).reduce((a, b) => a * b, 1);
    if (!isWeightedOp(node.op) || node.sharesWeightsWith !== undefined) continue;
    layerOfNode.set(node.id, layers.length);
    layerNodes.push(node.id);
    layers.push({
      index: layers.length,
      name: node.name,
      kind: node.op.op === 'conv' ? 'conv' : 'dense',
      params: counts.perNode[node.id] ?? 0,
      residualAddAfter: false,
      ...(node.source ? { sourceLine: node.source.line, sourceUri: node.source.uri } : {}),
    });
  }
  // From each residual add's branch operand back to the layer that computed it.
  for (const node of graph.nodes) {
    if (node.op.op !== 'add' || !node.op.residual || node.inputs.length !== 2) continue;
    let id: number | undefined = node.inputs[1 - (node.op.skipInput ?? 1)];
    const seen = new Set<number>();
    while (id !== undefined && !seen.has(id)) {
      seen.add(id);
      const current: GraphNode | undefined = graph.nodes[id];
      if (!current) break;
      const owner = current.sharesWeightsWith ?? current.id;
      const layer = layerOfNode.get(owner);
      if (layer !== undefined && isWeightedOp(current.op)) {
        layers[layer]!.residualAddAfter = true;
        break;
      }
      id = current.inputs[0];
    }
  }
  return {
    layers,
    layerNodes,
    params: counts.trainable,
    forwardFlopsPerSample: forwardFlops,
    trainingFlopsPerSample: 3 * forwardFlops,
    activationFloatsPerSample: activationFloats,
  };
}
