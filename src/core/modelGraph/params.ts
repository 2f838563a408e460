// Parameter counts of a model graph, by the source framework's own formulas, so that a
// count can be checked against `sum(p.numel() for p in model.parameters())` (PyTorch) or
// `model.count_params()` / `model.countParams()` (Keras, TF.js). The two differ on
// BatchNorm: PyTorch keeps the running mean and variance as buffers, not parameters;
// Keras and TF.js count them as non-trainable weights.
import type { GraphFramework, GraphNode, GraphOp, ModelGraph } from './graph';

export interface ParameterCount {
  trainable: number;
  /** BatchNorm moving statistics in Keras and TF.js; 0 for PyTorch. */
  nonTrainable: number;
  /** What the framework itself reports: trainable for PyTorch, trainable + non-trainable for Keras and TF.js. */
  reported: number;
  /** Trainable parameters per node id (0 for ops without weights and for shared-weight repeats). */
  perNode: number[];
}

const product = (values: number[]): number => values.reduce((a, b) => a * b, 1);

/** Trainable and non-trainable weights of one op, as the framework creates them. */
export function opParameters(op: GraphOp, framework: GraphFramework): { trainable: number; nonTrainable: number } {
  const keepsMovingStats = framework !== 'pytorch';
  switch (op.op) {
    case 'conv':
      return { trainable: op.outChannels * (op.inChannels / op.groups) * product(op.kernel) + (op.bias ? op.outChannels : 0), nonTrainable: 0 };
    case 'linear':
      return { trainable: op.inFeatures * op.outFeatures + (op.bias ? op.outFeatures : 0), nonTrainable: 0 };
    case 'embedding':
      return { trainable: op.vocabulary * op.features, nonTrainable: 0 };
    case 'batchnorm':
      return { trainable: op.affine ? 2 * op.channels : 0, nonTrainable: keepsMovingStats ? 2 * op.channels : 0 };
    case 'layernorm': {
      const size = product(op.normalizedShape);
      return { trainable: op.affine ? size * (op.bias ? 2 : 1) : 0, nonTrainable: 0 };
    }
    case 'groupnorm':
      return { trainable: op.affine ? 2 * op.channels : 0, nonTrainable: 0 };
    case 'attention': {
      // Query and key project embedDim -> heads x keyDim, value -> heads x valueDim, the output back to embedDim.
      // PyTorch's nn.MultiheadAttention is the case keyDim = valueDim = embedDim / heads.
      const { embedDim: e, heads: h, keyDim: k, valueDim: v, bias } = op;
      const weights = 2 * e * h * k + e * h * v + h * v * e;
      const biases = bias ? 2 * h * k + h * v + e : 0;
      return { trainable: weights + biases, nonTrainable: 0 };
    }
    default:
      return { trainable: 0, nonTrainable: 0 };
  }
}

function ownsWeights(node: GraphNode): boolean {
  return node.sharesWeightsWith === undefined;
}

export function graphParameterCount(graph: ModelGraph): ParameterCount {
  let trainable = 0;
  let nonTrainable = 0;
  const perNode = graph.nodes.map((node) => {
    if (!ownsWeights(node)) return 0;
    const counts = opParameters(node.op, graph.framework);
    trainable += counts.trainable;
    nonTrainable += counts.nonTrainable;
    return counts.trainable;
  });
  return { trainable, nonTrainable, reported: graph.framework === 'pytorch' ? trainable : trainable + nonTrainable, perNode };
}
