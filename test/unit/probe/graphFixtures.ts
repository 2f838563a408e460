// Hand-written model graphs, as the front ends would extract them from source: a CIFAR
// ResNet in PyTorch layout (NCHW) and in Keras layout (NHWC), a Transformer block over
// tokens, an MLP. Each node gets a source line so that the chart's links can be checked.
import type { GraphFramework, GraphInit, GraphLayout, GraphNode, GraphOp, ModelGraph } from '../../../src/core/modelGraph/graph';

export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  private line = 10;

  constructor(
    readonly framework: GraphFramework,
    readonly uri = 'file:///work/model.py',
  ) {}

  get layout(): GraphLayout {
    return this.framework === 'pytorch' ? 'channels-first' : 'channels-last';
  }

  add(name: string, op: GraphOp, inputs: number[], shape: number[], extra: Partial<GraphNode> = {}): number {
    const id = this.nodes.length;
    this.nodes.push({ id, name, op, inputs, shape, layout: this.layout, source: { uri: this.uri, line: this.line++, character: 4 }, ...extra });
    return id;
  }

  shapeOf(id: number): number[] {
    return this.nodes[id]!.shape;
  }

  graph(modelName: string, output: number, inputs: ModelGraph['inputs']): ModelGraph {
    return { framework: this.framework, modelName, inputs, output, nodes: this.nodes };
  }
}

export interface ResNetOptions {
  framework?: 'pytorch' | 'keras';
  /** Blocks per stage (3 stages). */
  blocks?: number[];
  width?: number;
  inputSize?: number;
  classes?: number;
  /** 'A': option A zero-pad shortcut (slice + pad), 'B': 1x1 conv + BN projection. */
  shortcut?: 'A' | 'B';
  batch?: number;
}

/** The ResNet paper's CIFAR network (depth 6n+2), as a PyTorch or Keras source would give it. */
export function cifarResNet(options: ResNetOptions = {}): ModelGraph {
  const framework = options.framework ?? 'pytorch';
  const blocks = options.blocks ?? [3, 3, 3];
  const width = options.width ?? 16;
  const size0 = options.inputSize ?? 32;
  const classes = options.classes ?? 10;
  const batch = options.batch ?? 1;
  const shortcut = options.shortcut ?? 'A';
  const g = new GraphBuilder(framework);
  const torch = framework === 'pytorch';
  const init: GraphInit = torch ? 'torch-default' : 'glorot-uniform';
  const eps = torch ? 1e-5 : 1e-3;
  const shape = (c: number, s: number): number[] => (torch ? [batch, c, s, s] : [batch, s, s, c]);
  const convOp = (inChannels: number, outChannels: number, kernel: number, stride: number): GraphOp => ({
    op: 'conv',
    spatialDims: 2,
    inChannels,
    outChannels,
    kernel: [kernel, kernel],
    stride: [stride, stride],
    padding: torch ? [(kernel - 1) / 2, (kernel - 1) / 2] : 'same',
    dilation: [1, 1],
    groups: 1,
    bias: false,
    init,
  });
  const input = g.add('x', { op: 'input' }, [], shape(3, size0));
  let x = g.add('conv1', convOp(3, width, 3, 1), [input], shape(width, size0));
  x = g.add('bn1', { op: 'batchnorm', channels: width, affine: true, epsilon: eps }, [x], shape(width, size0));
  x = g.add('relu', { op: 'activation', fn: 'relu' }, [x], shape(width, size0));
  let channels = width;
  let size = size0;
  blocks.forEach((count, stage) => {
    const planes = width * 2 ** stage;
    for (let b = 0; b < count; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const name = `layer${stage + 1}.${b}`;
      const outSize = size / stride;
      const blockInput = x;
      let y = g.add(`${name}.conv1`, convOp(channels, planes, 3, stride), [blockInput], shape(planes, outSize));
      y = g.add(`${name}.bn1`, { op: 'batchnorm', channels: planes, affine: true, epsilon: eps }, [y], shape(planes, outSize));
      y = g.add(`${name}.relu1`, { op: 'activation', fn: 'relu' }, [y], shape(planes, outSize));
      y = g.add(`${name}.conv2`, convOp(planes, planes, 3, 1), [y], shape(planes, outSize));
      y = g.add(`${name}.bn2`, { op: 'batchnorm', channels: planes, affine: true, epsilon: eps }, [y], shape(planes, outSize));
      let skip = blockInput;
      if (stride !== 1 || channels !== planes) {
        if (shortcut === 'B') {
          skip = g.add(`${name}.shortcut.0`, convOp(channels, planes, 1, stride), [blockInput], shape(planes, outSize));
          skip = g.add(`${name}.shortcut.1`, { op: 'batchnorm', channels: planes, affine: true, epsilon: eps }, [skip], shape(planes, outSize));
        } else {
          // x[:, :, ::2, ::2] then F.pad on the channels (akamaster's LambdaLayer)
          const ranges = torch
            ? [{ start: 0, stop: batch, step: 1 }, { start: 0, stop: channels, step: 1 }, { start: 0, stop: size, step: 2 }, { start: 0, stop: size, step: 2 }]
            : [{ start: 0, stop: batch, step: 1 }, { start: 0, stop: size, step: 2 }, { start: 0, stop: size, step: 2 }, { start: 0, stop: channels, step: 1 }];
          skip = g.add(`${name}.shortcut.slice`, { op: 'slice', ranges }, [blockInput], shape(channels, outSize));
          const extra = (planes - channels) / 2;
          const pads: [number, number][] = torch ? [[0, 0], [extra, extra], [0, 0], [0, 0]] : [[0, 0], [0, 0], [0, 0], [extra, extra]];
          skip = g.add(`${name}.shortcut.pad`, { op: 'pad', pads }, [skip], shape(planes, outSize));
        }
      }
      y = g.add(`${name}.add`, { op: 'add', residual: true, skipInput: 1 }, [y, skip], shape(planes, outSize));
      x = g.add(`${name}.relu2`, { op: 'activation', fn: 'relu' }, [y], shape(planes, outSize));
      channels = planes;
      size = outSize;
    }
  });
  x = torch
    ? g.add('avgpool', { op: 'adaptive-pool', kind: 'avg', spatialDims: 2, outputSize: [1, 1] }, [x], [batch, channels, 1, 1])
    : g.add('avgpool', { op: 'reduce', kind: 'mean', axes: [1, 2], keepDims: false }, [x], [batch, channels]);
  if (torch) x = g.add('flatten', { op: 'flatten', startDim: 1, endDim: -1 }, [x], [batch, channels]);
  x = g.add('fc', { op: 'linear', inFeatures: channels, outFeatures: classes, bias: true, init }, [x], [batch, classes]);
  return g.graph(torch ? 'ResNet' : 'resnet', x, [{ node: input, kind: 'float' }]);
}

export interface TransformerOptions {
  vocabulary?: number;
  sequence?: number;
  embed?: number;
  heads?: number;
  layers?: number;
  batch?: number;
}

/** A GPT-style decoder over tokens in PyTorch: embedding, pre-norm blocks of causal self-attention (written out: qkv linear, split, heads, mask) and MLP, tied nothing. */
export function tinyTransformer(options: TransformerOptions = {}): ModelGraph {
  const vocabulary = options.vocabulary ?? 16;
  const t = options.sequence ?? 8;
  const e = options.embed ?? 16;
  const h = options.heads ?? 2;
  const layers = options.layers ?? 2;
  const n = options.batch ?? 1;
  const d = e / h;
  const g = new GraphBuilder('pytorch');
  const init: GraphInit = 'torch-default';
  const ids = g.add('idx', { op: 'input' }, [], [n, t]);
  let x = g.add('wte', { op: 'embedding', vocabulary, features: e, init: 'normal' }, [ids], [n, t, e]);
  for (let l = 0; l < layers; l++) {
    const name = `h.${l}`;
    const blockInput = x;
    let y = g.add(`${name}.ln_1`, { op: 'layernorm', normalizedShape: [e], affine: true, bias: true, epsilon: 1e-5 }, [x], [n, t, e]);
    if (l === 0) {
      // nn.MultiheadAttention in the first block, with a causal mask
      y = g.add(`${name}.attn`, { op: 'attention', embedDim: e, heads: h, keyDim: d, valueDim: d, bias: true, batchFirst: true, init }, [y, y, y], [n, t, e]);
    } else {
      const qkv = g.add(`${name}.attn.c_attn`, { op: 'linear', inFeatures: e, outFeatures: 3 * e, bias: true, init }, [y], [n, t, 3 * e]);
      const heads = (index: number, label: string): number => {
        const piece = g.add(`${name}.attn.${label}`, { op: 'split-take', axis: 2, size: e, index }, [qkv], [n, t, e]);
        const split = g.add(`${name}.attn.${label}.view`, { op: 'reshape' }, [piece], [n, t, h, d]);
        return g.add(`${name}.attn.${label}.transpose`, { op: 'permute', axes: [0, 2, 1, 3] }, [split], [n, h, t, d]);
      };
      const q = heads(0, 'q');
      const k = heads(1, 'k');
      const v = heads(2, 'v');
      const kt = g.add(`${name}.attn.kT`, { op: 'permute', axes: [0, 1, 3, 2] }, [k], [n, h, d, t]);
      let att = g.add(`${name}.attn.scores`, { op: 'matmul' }, [q, kt], [n, h, t, t]);
      att = g.add(`${name}.attn.scale`, { op: 'scale', factor: 1 / Math.sqrt(d), offset: 0 }, [att], [n, h, t, t]);
      att = g.add(`${name}.attn.mask`, { op: 'causal-mask' }, [att], [n, h, t, t]);
      att = g.add(`${name}.attn.softmax`, { op: 'activation', fn: 'softmax', axis: -1 }, [att], [n, h, t, t]);
      let out = g.add(`${name}.attn.values`, { op: 'matmul' }, [att, v], [n, h, t, d]);
      out = g.add(`${name}.attn.merge`, { op: 'permute', axes: [0, 2, 1, 3] }, [out], [n, t, h, d]);
      out = g.add(`${name}.attn.merge.view`, { op: 'reshape' }, [out], [n, t, e]);
      y = g.add(`${name}.attn.c_proj`, { op: 'linear', inFeatures: e, outFeatures: e, bias: true, init }, [out], [n, t, e]);
    }
    x = g.add(`${name}.add1`, { op: 'add', residual: true, skipInput: 0 }, [blockInput, y], [n, t, e]);
    const mid = x;
    y = g.add(`${name}.ln_2`, { op: 'layernorm', normalizedShape: [e], affine: true, bias: true, epsilon: 1e-5 }, [x], [n, t, e]);
    y = g.add(`${name}.mlp.c_fc`, { op: 'linear', inFeatures: e, outFeatures: 4 * e, bias: true, init }, [y], [n, t, 4 * e]);
    y = g.add(`${name}.mlp.gelu`, { op: 'activation', fn: 'gelu' }, [y], [n, t, 4 * e]);
    y = g.add(`${name}.mlp.c_proj`, { op: 'linear', inFeatures: 4 * e, outFeatures: e, bias: true, init }, [y], [n, t, e]);
    y = g.add(`${name}.mlp.dropout`, { op: 'dropout', rate: 0.1 }, [y], [n, t, e]);
    x = g.add(`${name}.add2`, { op: 'add', residual: true, skipInput: 0 }, [mid, y], [n, t, e]);
  }
  x = g.add('ln_f', { op: 'layernorm', normalizedShape: [e], affine: true, bias: true, epsilon: 1e-5 }, [x], [n, t, e]);
  x = g.add('lm_head', { op: 'linear', inFeatures: e, outFeatures: vocabulary, bias: false, init }, [x], [n, t, vocabulary]);
  return g.graph('GPT', x, [{ node: ids, kind: 'tokens', vocabulary }]);
}

/** A Keras MLP: Dense-ReLU twice, a residual Dense block, Dense to the classes. */
export function mlp(features = 20, hidden = 32, classes = 5, batch = 1): ModelGraph {
  const g = new GraphBuilder('keras', 'file:///work/mlp.py');
  const input = g.add('input_1', { op: 'input' }, [], [batch, features]);
  let x = g.add('dense', { op: 'linear', inFeatures: features, outFeatures: hidden, bias: true, init: 'glorot-uniform' }, [input], [batch, hidden]);
  x = g.add('re_lu', { op: 'activation', fn: 'relu' }, [x], [batch, hidden]);
  const skip = x;
  let y = g.add('dense_1', { op: 'linear', inFeatures: hidden, outFeatures: hidden, bias: true, init: 'glorot-uniform' }, [x], [batch, hidden]);
  y = g.add('re_lu_1', { op: 'activation', fn: 'relu' }, [y], [batch, hidden]);
  x = g.add('add', { op: 'add', residual: true, skipInput: 1 }, [y, skip], [batch, hidden]);
  x = g.add('dense_2', { op: 'linear', inFeatures: hidden, outFeatures: classes, bias: true, init: 'glorot-uniform' }, [x], [batch, classes]);
  return g.graph('mlp', x, [{ node: input, kind: 'float' }]);
}
