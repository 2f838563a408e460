// The model graph: what "Probe This Model" trains. The static analysis of a model class
// (PyTorch, Keras or TF.js) at one concrete instantiation and input shape, written as a
// dataflow graph of the operations the probe can build in TensorFlow.js. Pure data
// (JSON), so it crosses the language server, the extension host and the probe process
// unchanged. Every shape here is concrete: a graph exists only once every dim is known.
//
// Layout: shapes are written as the source framework writes them, batch first.
// PyTorch tensors that go through convolutions are channels-first (N, C, H, W); Keras
// and TF.js are channels-last (N, H, W, C). `layout` on each node says which, so the
// TensorFlow.js builder (channels-last) knows where the channel axis is.

export type GraphFramework = 'pytorch' | 'keras' | 'tfjs';
export type GraphLayout = 'channels-first' | 'channels-last';

/** Where in the workspace a node comes from: the layer's definition, or the op's line in forward. */
export interface GraphSource {
  /** URI (or path, from the CLI) of the file. */
  uri: string;
  /** 0-based line. */
  line: number;
  /** 0-based column. */
  character: number;
}

/** Weight initialisation: what the source framework does by default for this layer. */
export type GraphInit =
  /** PyTorch conv/linear: kaiming_uniform_(a=sqrt(5)) on the weight, i.e. U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)). */
  | 'torch-default'
  /** Keras/TF.js kernels: glorot_uniform, U(+-sqrt(6 / (fan_in + fan_out))); bias zeros. */
  | 'glorot-uniform'
  /** PyTorch nn.Embedding: N(0, 1). */
  | 'normal'
  /** Keras/TF.js Embedding: U(+-0.05). */
  | 'uniform-0.05';

export type ActivationFn = 'relu' | 'relu6' | 'leaky_relu' | 'elu' | 'gelu' | 'gelu_tanh' | 'silu' | 'sigmoid' | 'tanh' | 'softmax' | 'hardswish' | 'hardsigmoid' | 'softplus' | 'mish';

/** The operations the probe builds. Sizes are concrete numbers; per-axis values have one entry per spatial axis. */
export type GraphOp =
  | { op: 'input' }
  | {
      op: 'conv';
      /** 1, 2 or 3 spatial axes. */
      spatialDims: number;
      inChannels: number;
      outChannels: number;
      kernel: number[];
      stride: number[];
      /** Explicit zero padding per spatial axis (PyTorch, symmetric), or Keras/TF.js 'same' / 'valid'. */
      padding: number[] | 'same' | 'valid';
      dilation: number[];
      groups: number;
      bias: boolean;
      init: GraphInit;
    }
  | { op: 'linear'; inFeatures: number; outFeatures: number; bias: boolean; init: GraphInit }
  | {
      op: 'embedding';
      vocabulary: number;
      features: number;
      init: GraphInit;
      /**
       * Learned position embeddings (`self.wpe(torch.arange(T))`): the input is the model's
       * token ids (N, T), which only give T; the ids looked up are 0..T-1. The node's shape
       * is (T, features), broadcast over the batch where it is added.
       */
      positions?: boolean;
    }
  /** Normalises over the channel axis's complement (batch statistics while training). */
  | { op: 'batchnorm'; channels: number; affine: boolean; epsilon: number }
  /** Normalises over the last `normalizedShape.length` axes (PyTorch); Keras LayerNormalization: the last axis. */
  | { op: 'layernorm'; normalizedShape: number[]; affine: boolean; bias: boolean; epsilon: number }
  | { op: 'groupnorm'; groups: number; channels: number; affine: boolean; epsilon: number }
  | { op: 'activation'; fn: ActivationFn; /** leaky_relu slope, elu alpha. */ alpha?: number; /** softmax axis (logical, may be negative). */ axis?: number }
  /** The probe trains with dropout off (probes compare gradient flow, not regularisation); kept so that names line up. */
  | { op: 'dropout'; rate: number }
  | { op: 'identity' }
  | {
      op: 'pool';
      kind: 'max' | 'avg';
      spatialDims: number;
      kernel: number[];
      stride: number[];
      padding: number[] | 'same' | 'valid';
      ceilMode: boolean;
      /** PyTorch AvgPool's count_include_pad (default true). */
      countIncludePad: boolean;
    }
  /** Adaptive pooling to a fixed output size per spatial axis; global pooling is outputSize all 1 (Keras Global*Pooling: keepDims false → followed by a reshape). */
  | { op: 'adaptive-pool'; kind: 'max' | 'avg'; spatialDims: number; outputSize: number[] }
  /** Mean or sum over logical axes (`x.mean((2, 3))`, `torch.mean(x, dim=1)`). */
  | { op: 'reduce'; kind: 'mean' | 'sum' | 'max'; axes: number[]; keepDims: boolean }
  /** torch.flatten(x, start, end) / nn.Flatten / keras Flatten; the node's shape is the result. */
  | { op: 'flatten'; startDim: number; endDim: number }
  /** view / reshape / keras Reshape: the node's shape is the target (batch included, all concrete). */
  | { op: 'reshape' }
  /** permute / transpose: output axis i is input axis `axes[i]` (logical, batch included). */
  | { op: 'permute'; axes: number[] }
  /**
   * Elementwise binary op with broadcasting. `residual` marks a skip-connection addition
   * (what the shape check checks); `skipInput` is the index in `inputs` of the identity
   * or shortcut operand, the one the plain twin drops.
   */
  | { op: 'add' | 'sub' | 'mul' | 'div'; residual?: boolean; skipInput?: 0 | 1 }
  /** Multiply by / add a constant (`x * 0.5`, `x / math.sqrt(d)`). */
  | { op: 'scale'; factor: number; offset: number }
  | { op: 'concat'; axis: number }
  /** Batched matrix product of the last two axes (attention scores). */
  | { op: 'matmul' }
  /** Zero padding: [before, after] per logical axis (option A: F.pad on the channel axis). */
  | { op: 'pad'; pads: [number, number][] }
  /** Basic slicing per logical axis: start, stop (exclusive), step; option A's x[:, :, ::2, ::2]. */
  | { op: 'slice'; ranges: { start: number; stop: number; step: number }[] }
  /** Split along an axis into equal-size pieces; `index` picks one (`q, k, v = x.split(C, dim=2)`). */
  | { op: 'split-take'; axis: number; size: number; index: number }
  | { op: 'upsample'; spatialDims: number; scale: number[]; mode: 'nearest' | 'bilinear' }
  /** Scores masked above the diagonal of the last two axes (causal attention), then -inf there. */
  | { op: 'causal-mask' }
  /** nn.MultiheadAttention / keras MultiHeadAttention, self- or cross-attention: inputs are [query, key, value]. */
  | { op: 'attention'; embedDim: number; heads: number; keyDim: number; valueDim: number; bias: boolean; batchFirst: boolean; init: GraphInit };

export type GraphOpName = GraphOp['op'];

export interface GraphNode {
  /** Index in ModelGraph.nodes; inputs always refer to smaller ids (topological order). */
  id: number;
  /** The source name of the layer: `layer2.0.conv1`, `conv2d_3`; ops get the name of the module whose forward ran them plus the op (`layer2.0.add`). */
  name: string;
  op: GraphOp;
  inputs: number[];
  /** Output shape, batch first, all concrete. */
  shape: number[];
  layout: GraphLayout;
  source?: GraphSource;
  /**
   * Layers applied twice (a module called twice in forward) share weights: the nodes
   * of every call after the first name the first call's node here.
   */
  sharesWeightsWith?: number;
}

export interface ModelGraph {
  framework: GraphFramework;
  /** The class (PyTorch), function or model variable (Keras, TF.js) it was built from. */
  modelName: string;
  /** The nodes with op 'input', in argument order. Token inputs (int ids) have kind 'tokens'. */
  inputs: { node: number; kind: 'float' | 'tokens'; /** For 'tokens': the vocabulary size ids are drawn from. */ vocabulary?: number }[];
  /** The node whose value the model returns; logits for the probe's loss. */
  output: number;
  nodes: GraphNode[];
}

/** What the analyser could not turn into graph nodes; the probe refuses or offers the prefix. */
export interface UnsupportedOperation {
  /** `self.attn(x)` / `einops.rearrange` / `Conv2DTranspose`. */
  what: string;
  reason: string;
  source?: GraphSource;
}

/** How the model's depth is set, when it is set by a parameter (`[2, 2, 2, 2]`, `num_blocks`, `depth`, `n_layer`). */
export interface DepthParameter {
  /** The constructor parameter or variable, `num_blocks`, with the value it had: `[3, 3, 3]`. */
  name: string;
  value: string;
}

export interface ModelGraphVariant {
  /** `model`, `shallower`, `deeper`. */
  role: 'model' | 'shallower' | 'deeper';
  /** What the user reads: `ResNet [3, 3, 3]`, `ResNet [1, 1, 1]`. */
  label: string;
  graph: ModelGraph;
}

/** The answer to "probe this model" for one class: graphs to train, or why not. */
export interface ModelExtraction {
  framework: GraphFramework;
  modelName: string;
  /** Where the class / function is defined. */
  source: GraphSource;
  /** The model as the file instantiates it, then shallower and deeper versions when depthParameter is known. */
  variants: ModelGraphVariant[];
  depthParameter?: DepthParameter;
  /** Non-empty: the graph could not be built completely; variants may then hold the buildable prefix only (`prefixOnly`). */
  unsupported: UnsupportedOperation[];
  prefixOnly?: boolean;
  /** Set when dims stay symbolic for want of an input shape: the names the user must give (`N, C, H, W`). */
  needsInputShape?: string[];
  /** The input shape used (batch first), for messages and for remembering per class. */
  inputShape?: number[];
  /** What the user should know about how the graphs differ from the source (weights tied there, trained untied here). */
  notes?: string[];
}

/** The weighted layers of a graph: what the gradient-flow chart shows, in forward order. */
export function isWeightedOp(op: GraphOp): boolean {
  return op.op === 'conv' || op.op === 'linear' || op.op === 'embedding' || op.op === 'attention';
}
