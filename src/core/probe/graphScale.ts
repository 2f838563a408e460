// Scaling a model graph down to fit a probe: the input's spatial size ÷ k, or the width
// (hidden channel and feature counts) ÷ k, with every shape re-derived node by node from
// the op's own rule. The model's input channels, token vocabulary and output size stay.
// A graph whose shapes cannot be re-derived (a reshape that fixes a size, a pool left
// without output) gets a message saying where.
import type { GraphNode, GraphOp, ModelGraph } from '../modelGraph/graph';
import { isWeightedOp } from '../modelGraph/graph';

export interface ScaleDown {
  /** Divide the float input's spatial dims (H, W, or the length of a 1-D signal) by this. */
  inputDivisor?: number;
  /** Divide hidden channel and feature counts by this. */
  widthDivisor?: number;
}

const product = (values: number[]): number => values.reduce((a, b) => a * b, 1);
const normaliseAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** The channel axis of a node's tensor: 1 for channels-first tensors of rank 3 or more, else the last. */
function channelAxis(node: GraphNode, rank: number): number {
  return node.layout === 'channels-first' && rank >= 3 ? 1 : rank - 1;
}

function spatialAxes(node: GraphNode, rank: number): number[] {
  const channel = channelAxis(node, rank);
  return Array.from({ length: rank }, (_, i) => i).filter((i) => i !== 0 && i !== channel);
}

class ScaleError extends Error {}

/** Output shape of a node's op from its inputs' shapes; `old` is the node as it was (for reshape targets). */
export function inferShape(node: GraphNode, op: GraphOp, inputs: number[][], old: { shape: number[]; inputs: number[][] }): number[] {
  const [a, b] = inputs;
  const fail = (why: string): never => {
    throw new ScaleError(`${node.name}: ${why}`);
  };
  switch (op.op) {
    case 'input':
      return old.shape;
    case 'conv':
    case 'pool': {
      const x = a!;
      const channel = channelAxis(node, x.length);
      const out = [...x];
      spatialAxes(node, x.length).forEach((axis, i) => {
        const size = x[axis]!;
        const k = op.kernel[i]!;
        const s = op.stride[i]!;
        const d = op.op === 'conv' ? op.dilation[i]! : 1;
        const span = d * (k - 1) + 1;
        let o: number;
        if (op.padding === 'same') o = Math.ceil(size / s);
        else if (op.padding === 'valid') o = Math.floor((size - span) / s) + 1;
        else {
          const p = op.padding[i]!;
          const free = size + 2 * p - span;
          if (op.op === 'pool' && op.ceilMode) {
            o = Math.ceil(free / s) + 1;
            if ((o - 1) * s >= size + p) o--;
          } else o = Math.floor(free / s) + 1;
        }
        if (o < 1) fail(`a ${k}-wide window does not fit an input of ${size}`);
        out[axis] = o;
      });
      if (op.op === 'conv') out[channel] = op.outChannels;
      return out;
    }
    case 'adaptive-pool': {
      const out = [...a!];
      spatialAxes(node, a!.length).forEach((axis, i) => (out[axis] = op.outputSize[i]!));
      return out;
    }
    case 'linear':
      return [...a!.slice(0, -1), op.outFeatures];
    case 'embedding':
      // Position embeddings: one row per position of the token input (N, T), no batch axis.
      return op.positions ? [a![1]!, op.features] : [...a!, op.features];
    case 'attention':
      return [...a!.slice(0, -1), op.embedDim];
    case 'reduce': {
      const axes = op.axes.map((x) => normaliseAxis(x, a!.length));
      return op.keepDims ? a!.map((d, i) => (axes.includes(i) ? 1 : d)) : a!.filter((_, i) => !axes.includes(i));
    }
    case 'flatten': {
      const start = normaliseAxis(op.startDim, a!.length);
      const end = normaliseAxis(op.endDim, a!.length);
      return [...a!.slice(0, start), product(a!.slice(start, end + 1)), ...a!.slice(end + 1)];
    }
    case 'reshape': {
      const size = product(a!);
      const oldSize = product(old.inputs[0]!);
      if (size === oldSize) return old.shape;
      // One target dim takes the change: the last one it divides (a head size, a flattened size).
      const ratio = oldSize / size;
      const target = [...old.shape];
      for (let i = target.length - 1; i >= 1; i--) {
        if (Number.isInteger(target[i]! / ratio)) {
          target[i] = target[i]! / ratio;
          if (product(target) === size) return target;
          target[i] = old.shape[i]!;
        }
      }
      return fail(`the reshape to ${JSON.stringify(old.shape)} fixes a size that scaling changes`);
    }
    case 'permute':
      return op.axes.map((axis) => a![normaliseAxis(axis, a!.length)]!);
    case 'add':
    case 'sub':
    case 'mul':
    case 'div': {
      const rank = Math.max(a!.length, b!.length);
      const out: number[] = [];
      for (let i = 0; i < rank; i++) {
        const x = a![a!.length - rank + i] ?? 1;
        const y = b![b!.length - rank + i] ?? 1;
        if (x !== y && x !== 1 && y !== 1) fail(`operands ${JSON.stringify(a)} and ${JSON.stringify(b)} no longer match`);
        out.push(Math.max(x, y));
      }
      return out;
    }
    case 'concat': {
      const axis = normaliseAxis(op.axis, a!.length);
      const out = [...a!];
      out[axis] = inputs.reduce((sum, shape) => sum + shape[axis]!, 0);
      return out;
    }
    case 'matmul':
      return [...(a!.length >= b!.length ? a! : b!).slice(0, -2), a![a!.length - 2]!, b![b!.length - 1]!];
    case 'pad':
      return a!.map((d, i) => d + (op.pads[i]?.[0] ?? 0) + (op.pads[i]?.[1] ?? 0));
    case 'slice':
      return a!.map((d, i) => {
        const r = op.ranges[i];
        if (!r || i === 0) return d;
        const start = Math.min(d, Math.max(0, r.start));
        const stop = Math.min(d, Math.max(start, r.stop));
        return Math.ceil((stop - start) / r.step);
      });
    case 'split-take': {
      const axis = normaliseAxis(op.axis, a!.length);
      const out = [...a!];
      out[axis] = Math.min(op.size, a![axis]! - op.index * op.size);
      if (out[axis]! < 1) fail(`piece ${op.index} of size ${op.size} is past the end of the axis (${a![axis]})`);
      return out;
    }
    case 'upsample': {
      const out = [...a!];
      spatialAxes(node, a!.length).forEach((axis, i) => (out[axis] = Math.floor(a![axis]! * op.scale[i]!)));
      return out;
    }
    default:
      return [...a!];
  }
}

/** Weighted nodes whose output size is the model's output (the classifier, a language model's head): their width stays. */
function outputLayers(graph: ModelGraph): Set<number> {
  const fixed = new Set<number>();
  const stack = [graph.output];
  const seen = new Set<number>();
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const node = graph.nodes[id]!;
    if (isWeightedOp(node.op)) {
      fixed.add(node.sharesWeightsWith ?? id);
      continue;
    }
    if (node.op.op === 'input') continue;
    stack.push(...node.inputs);
  }
  return fixed;
}

function divide(value: number, k: number): number {
  return Math.max(1, Math.round(value / k));
}

/** The op with its sizes re-derived from the (already scaled) input shapes. */
function adjustOp(graph: ModelGraph, node: GraphNode, inputs: number[][], oldInputs: number[][], width: number, fixed: Set<number>, owners: Map<number, GraphOp>): GraphOp {
  const op = node.op;
  const x = inputs[0];
  if (node.sharesWeightsWith !== undefined) return owners.get(node.sharesWeightsWith) ?? op;
  const keep = fixed.has(node.id);
  const ratioOnAxis = (axis: number): number => (x && oldInputs[0] ? x[axis]! / oldInputs[0][axis]! : 1);
  switch (op.op) {
    case 'conv': {
      const inChannels = x![channelAxis(node, x!.length)]!;
      const depthwise = op.groups === op.inChannels && op.groups > 1;
      const outChannels = keep ? op.outChannels : depthwise ? (op.outChannels / op.inChannels) * inChannels : divide(op.outChannels, width);
      const groups = depthwise ? inChannels : op.groups;
      if (inChannels % groups !== 0 || outChannels % groups !== 0) throw new ScaleError(`${node.name}: ${inChannels} in and ${outChannels} out channels do not split into ${groups} groups`);
      return { ...op, inChannels, outChannels, groups };
    }
    case 'linear':
      return { ...op, inFeatures: x![x!.length - 1]!, outFeatures: keep ? op.outFeatures : divide(op.outFeatures, width) };
    case 'embedding':
      return { ...op, features: keep ? op.features : divide(op.features, width) };
    case 'batchnorm':
      return { ...op, channels: x![channelAxis(node, x!.length)]! };
    case 'groupnorm': {
      const channels = x![channelAxis(node, x!.length)]!;
      if (channels % op.groups !== 0) throw new ScaleError(`${node.name}: ${channels} channels do not split into ${op.groups} groups`);
      return { ...op, channels };
    }
    case 'layernorm':
      return { ...op, normalizedShape: x!.slice(x!.length - op.normalizedShape.length) };
    case 'attention': {
      const embedDim = x![x!.length - 1]!;
      if (embedDim % op.heads !== 0 && graph.framework === 'pytorch') throw new ScaleError(`${node.name}: ${embedDim} features do not split into ${op.heads} heads`);
      const torchStyle = op.keyDim * op.heads === op.embedDim && op.valueDim === op.keyDim;
      return {
        ...op,
        embedDim,
        keyDim: torchStyle ? embedDim / op.heads : divide(op.keyDim, width),
        valueDim: torchStyle ? embedDim / op.heads : divide(op.valueDim, width),
      };
    }
    case 'pad':
      return { ...op, pads: op.pads.map(([before, after], axis) => [Math.round(before * ratioOnAxis(axis)), Math.round(after * ratioOnAxis(axis))]) };
    case 'slice':
      return { ...op, ranges: op.ranges.map((r, axis) => (axis === 0 ? r : { ...r, start: Math.round(r.start * ratioOnAxis(axis)), stop: Math.round(r.stop * ratioOnAxis(axis)) })) };
    case 'split-take': {
      const axis = normaliseAxis(op.axis, x!.length);
      return { ...op, size: Math.max(1, Math.round(op.size * ratioOnAxis(axis))) };
    }
    default:
      return op;
  }
}

/** The graph scaled down, shapes re-derived; or why it cannot be. */
export function scaleDownGraph(graph: ModelGraph, scale: ScaleDown): { graph: ModelGraph } | { error: string } {
  const inputDivisor = scale.inputDivisor ?? 1;
  const width = scale.widthDivisor ?? 1;
  if (inputDivisor !== 1 && !graph.inputs.some((input) => input.kind === 'float' && graph.nodes[input.node]!.shape.length >= 3)) {
    return { error: 'the model has no spatial input (an image or a signal) to scale: only its width can be scaled' };
  }
  const fixed = outputLayers(graph);
  const shapes: number[][] = [];
  const owners = new Map<number, GraphOp>();
  const nodes: GraphNode[] = [];
  try {
    for (const node of graph.nodes) {
      const inputs = node.inputs.map((id) => shapes[id]!);
      const oldInputs = node.inputs.map((id) => graph.nodes[id]!.shape);
      let shape: number[];
      let op = node.op;
      if (op.op === 'input') {
        const input = graph.inputs.find((i) => i.node === node.id);
        shape = [...node.shape];
        if (input?.kind === 'float' && inputDivisor !== 1) {
          const axes = spatialAxes(node, shape.length);
          if (axes.length === 0 || shape.length < 3) throw new ScaleError(`the input ${JSON.stringify(node.shape)} has no spatial axes to scale`);
          for (const axis of axes) {
            if (shape[axis]! % inputDivisor !== 0) throw new ScaleError(`the input size ${shape[axis]} is not divisible by ${inputDivisor}`);
            shape[axis] = shape[axis]! / inputDivisor;
          }
        }
      } else {
        op = adjustOp(graph, node, inputs, oldInputs, width, fixed, owners);
        shape = inferShape(node, op, inputs, { shape: node.shape, inputs: oldInputs });
      }
      if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw new ScaleError(`${node.name}: the shape becomes ${JSON.stringify(shape)}`);
      if (isWeightedOp(op) && node.sharesWeightsWith === undefined) owners.set(node.id, op);
      shapes.push(shape);
      nodes.push({ ...node, op, shape });
    }
  } catch (err) {
    if (err instanceof ScaleError) return { error: err.message };
    throw err;
  }
  const oldOutput = graph.nodes[graph.output]!.shape;
  const newOutput = shapes[graph.output]!;
  if (oldOutput[oldOutput.length - 1] !== newOutput[newOutput.length - 1]) return { error: `the output size changes from ${oldOutput.at(-1)} to ${newOutput.at(-1)}` };
  return { graph: { ...graph, nodes } };
}
