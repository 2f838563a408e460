// Structural checks of a model graph received from another process: a graph is untrusted
// input, so node counts, shapes and every op field are bounded before anything is built.
// No dependencies beyond the graph types, so the panel's message parser can use it too.
import type { GraphOpName } from '../modelGraph/graph';

export const graphLimits = {
  maxNodes: 20_000,
  maxRank: 8,
  maxDim: 1_000_000,
  /** Values of one node's output for one sample. */
  maxNodeElementsPerSample: 50_000_000,
  maxNameLength: 300,
  maxKernel: 64,
  maxParams: 30_000_000,
  maxClasses: 100_000,
  /** Float32 bytes kept for the backward pass of one step. */
  maxActivationBytes: 1.5e9,
  /** Forward + backward FLOPs of one step: about 10 s on two cores with the wasm backend. */
  maxTrainingFlopsPerStep: 3e10,
  /** A step of this many FLOPs takes ~1 s: the batch size is picked to stay near it. */
  targetTrainingFlopsPerStep: 1.5e9,
  maxBatchSize: 64,
  minBatchSize: 2,
};

type FieldKind = 'int' | 'number' | 'bool' | 'ints' | 'padding' | 'string' | 'optionalNumber' | 'optionalInt' | { oneOf: readonly string[] };

const init = { oneOf: ['torch-default', 'glorot-uniform', 'normal', 'uniform-0.05'] } as const;
const activations = ['relu', 'relu6', 'leaky_relu', 'elu', 'gelu', 'gelu_tanh', 'silu', 'sigmoid', 'tanh', 'softmax', 'hardswish', 'hardsigmoid', 'softplus', 'mish'] as const;

/** The fields of every op and how many inputs it takes ([min, max]). */
const opSchemas: Record<GraphOpName, { fields: Record<string, FieldKind>; arity: [number, number] }> = {
  input: { fields: {}, arity: [0, 0] },
  conv: {
    fields: { spatialDims: 'int', inChannels: 'int', outChannels: 'int', kernel: 'ints', stride: 'ints', padding: 'padding', dilation: 'ints', groups: 'int', bias: 'bool', init },
    arity: [1, 1],
  },
  linear: { fields: { inFeatures: 'int', outFeatures: 'int', bias: 'bool', init }, arity: [1, 1] },
  embedding: { fields: { vocabulary: 'int', features: 'int', init }, arity: [1, 1] },
  batchnorm: { fields: { channels: 'int', affine: 'bool', epsilon: 'number' }, arity: [1, 1] },
  layernorm: { fields: { normalizedShape: 'ints', affine: 'bool', bias: 'bool', epsilon: 'number' }, arity: [1, 1] },
  groupnorm: { fields: { groups: 'int', channels: 'int', affine: 'bool', epsilon: 'number' }, arity: [1, 1] },
  activation: { fields: { fn: { oneOf: activations }, alpha: 'optionalNumber', axis: 'optionalInt' }, arity: [1, 1] },
  dropout: { fields: { rate: 'number' }, arity: [1, 1] },
  identity: { fields: {}, arity: [1, 1] },
  pool: {
    fields: { kind: { oneOf: ['max', 'avg'] }, spatialDims: 'int', kernel: 'ints', stride: 'ints', padding: 'padding', ceilMode: 'bool', countIncludePad: 'bool' },
    arity: [1, 1],
  },
  'adaptive-pool': { fields: { kind: { oneOf: ['max', 'avg'] }, spatialDims: 'int', outputSize: 'ints' }, arity: [1, 1] },
  reduce: { fields: { kind: { oneOf: ['mean', 'sum', 'max'] }, axes: 'ints', keepDims: 'bool' }, arity: [1, 1] },
  flatten: { fields: { startDim: 'int', endDim: 'int' }, arity: [1, 1] },
  reshape: { fields: {}, arity: [1, 1] },
  permute: { fields: { axes: 'ints' }, arity: [1, 1] },
  add: { fields: {}, arity: [2, 2] },
  sub: { fields: {}, arity: [2, 2] },
  mul: { fields: {}, arity: [2, 2] },
  div: { fields: {}, arity: [2, 2] },
  scale: { fields: { factor: 'number', offset: 'number' }, arity: [1, 1] },
  concat: { fields: { axis: 'int' }, arity: [1, 64] },
  matmul: { fields: {}, arity: [2, 2] },
  pad: { fields: {}, arity: [1, 1] },
  slice: { fields: {}, arity: [1, 1] },
  'split-take': { fields: { axis: 'int', size: 'int', index: 'int' }, arity: [1, 1] },
  upsample: { fields: { spatialDims: 'int', scale: 'ints', mode: { oneOf: ['nearest', 'bilinear'] } }, arity: [1, 1] },
  'causal-mask': { fields: {}, arity: [1, 1] },
  attention: { fields: { embedDim: 'int', heads: 'int', keyDim: 'int', valueDim: 'int', bias: 'bool', batchFirst: 'bool', init }, arity: [3, 3] },
};

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
export const isInt = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= graphLimits.maxDim * 100;
const isIntArray = (value: unknown, maxLength = graphLimits.maxRank): value is number[] => Array.isArray(value) && value.length <= maxLength && value.every(isInt);

function checkField(where: string, name: string, kind: FieldKind, value: unknown): string | undefined {
  const bad = (what: string): string => `${where}.${name} must be ${what}, not ${JSON.stringify(value)?.slice(0, 60)}`;
  if (typeof kind === 'object') return typeof value === 'string' && kind.oneOf.includes(value) ? undefined : bad(`one of ${kind.oneOf.join(', ')}`);
  switch (kind) {
    case 'int':
      return isInt(value) ? undefined : bad('a whole number');
    case 'optionalInt':
      return value === undefined || isInt(value) ? undefined : bad('a whole number');
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : bad('a finite number');
    case 'optionalNumber':
      return value === undefined || (typeof value === 'number' && Number.isFinite(value)) ? undefined : bad('a finite number');
    case 'bool':
      return typeof value === 'boolean' ? undefined : bad('true or false');
    case 'ints':
      return isIntArray(value) ? undefined : bad(`a list of at most ${graphLimits.maxRank} whole numbers`);
    case 'padding':
      return value === 'same' || value === 'valid' || (isIntArray(value) && value.every((p) => p >= 0 && p <= graphLimits.maxKernel)) ? undefined : bad("'same', 'valid' or a list of paddings");
    case 'string':
      return typeof value === 'string' ? undefined : bad('a string');
  }
}

/** Sizes that must be positive and bounded, per op (so that nothing allocates absurdly). */
function checkOpSizes(where: string, op: Record<string, unknown>, rank: number, problems: string[]): void {
  const positive = (name: string, max = graphLimits.maxDim): void => {
    const v = op[name];
    if (typeof v === 'number' && (v < 1 || v > max)) problems.push(`${where}.${name} ${v} is outside 1..${max}`);
  };
  const perAxis = (name: string, length: number, min: number, max: number): void => {
    const v = op[name];
    if (!Array.isArray(v)) return;
    if (v.length !== length) problems.push(`${where}.${name} has ${v.length} entries for ${length} spatial axes`);
    else if (v.some((x: number) => x < min || x > max)) problems.push(`${where}.${name} ${JSON.stringify(v)} must be within ${min}..${max}`);
  };
  switch (op['op']) {
    case 'conv':
    case 'pool': {
      const dims = op['spatialDims'] as number;
      if (dims < 1 || dims > 3) problems.push(`${where}.spatialDims ${dims} must be 1, 2 or 3`);
      perAxis('kernel', dims, 1, graphLimits.maxKernel);
      perAxis('stride', dims, 1, graphLimits.maxKernel);
      if (Array.isArray(op['padding'])) perAxis('padding', dims, 0, graphLimits.maxKernel);
      if (op['op'] === 'conv') {
        perAxis('dilation', dims, 1, graphLimits.maxKernel);
        positive('inChannels');
        positive('outChannels');
        positive('groups');
        const groups = op['groups'] as number;
        if (groups >= 1 && ((op['inChannels'] as number) % groups !== 0 || (op['outChannels'] as number) % groups !== 0)) problems.push(`${where}: ${op['inChannels']} in and ${op['outChannels']} out channels do not split into ${groups} groups`);
      }
      if (rank !== dims + 2) problems.push(`${where}: a ${dims}-D ${String(op['op'])} gives a ${dims + 2}-D output, the node's shape has ${rank} axes`);
      break;
    }
    case 'adaptive-pool':
    case 'upsample': {
      const dims = op['spatialDims'] as number;
      if (dims < 1 || dims > 3) problems.push(`${where}.spatialDims ${dims} must be 1, 2 or 3`);
      if (op['op'] === 'adaptive-pool') perAxis('outputSize', dims, 1, graphLimits.maxDim);
      else perAxis('scale', dims, 1, graphLimits.maxKernel);
      break;
    }
    case 'linear':
      positive('inFeatures');
      positive('outFeatures');
      break;
    case 'embedding':
      positive('vocabulary');
      positive('features');
      break;
    case 'batchnorm':
    case 'groupnorm':
      positive('channels');
      if (op['op'] === 'groupnorm') positive('groups');
      break;
    case 'attention':
      for (const name of ['embedDim', 'heads', 'keyDim', 'valueDim']) positive(name);
      break;
    case 'split-take':
      positive('size');
      if ((op['index'] as number) < 0) problems.push(`${where}.index must not be negative`);
      break;
    case 'pad': {
      const pads = op['pads'];
      if (!Array.isArray(pads) || pads.length > graphLimits.maxRank || pads.some((p) => !isIntArray(p, 2) || (p as number[]).length !== 2 || (p as number[]).some((x) => x < 0 || x > graphLimits.maxDim))) {
        problems.push(`${where}.pads must be a list of [before, after] pairs of non-negative whole numbers`);
      }
      break;
    }
    case 'slice': {
      const ranges = op['ranges'];
      const ok = (r: unknown): boolean => isRecord(r) && isInt(r['start']) && isInt(r['stop']) && isInt(r['step']) && (r['step'] as number) >= 1;
      if (!Array.isArray(ranges) || ranges.length > graphLimits.maxRank || !ranges.every(ok)) problems.push(`${where}.ranges must be a list of {start, stop, step} with step 1 or more`);
      break;
    }
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
      if (op['residual'] !== undefined && typeof op['residual'] !== 'boolean') problems.push(`${where}.residual must be true or false`);
      if (op['skipInput'] !== undefined && op['skipInput'] !== 0 && op['skipInput'] !== 1) problems.push(`${where}.skipInput must be 0 or 1`);
      break;
  }
}

/** Every structural problem of a graph received from elsewhere; empty when it can be built. */
export function validateModelGraph(value: unknown, where = 'graph'): string[] {
  const problems: string[] = [];
  if (!isRecord(value)) return [`${where} must be an object`];
  if (!['pytorch', 'keras', 'tfjs'].includes(value['framework'] as string)) problems.push(`${where}.framework must be pytorch, keras or tfjs`);
  if (typeof value['modelName'] !== 'string' || value['modelName'].length > graphLimits.maxNameLength) problems.push(`${where}.modelName must be a string of at most ${graphLimits.maxNameLength} characters`);
  const nodes = value['nodes'];
  if (!Array.isArray(nodes) || nodes.length === 0) return [...problems, `${where}.nodes must be a non-empty list`];
  if (nodes.length > graphLimits.maxNodes) return [...problems, `${where} has ${nodes.length} nodes, over the limit of ${graphLimits.maxNodes}`];
  nodes.forEach((node: unknown, index) => {
    const at = `${where}.nodes[${index}]`;
    if (problems.length > 20) return;
    if (!isRecord(node)) return void problems.push(`${at} must be an object`);
    if (node['id'] !== index) problems.push(`${at}.id must be ${index} (nodes are listed by id)`);
    if (typeof node['name'] !== 'string' || node['name'].length > graphLimits.maxNameLength) problems.push(`${at}.name must be a string of at most ${graphLimits.maxNameLength} characters`);
    const name = typeof node['name'] === 'string' ? node['name'] : `node ${index}`;
    const label = `${where} node ${index} (${name.slice(0, 80)})`;
    if (node['layout'] !== 'channels-first' && node['layout'] !== 'channels-last') problems.push(`${label}: layout must be channels-first or channels-last`);
    const shape = node['shape'];
    if (!isIntArray(shape) || shape.length === 0 || shape.some((d) => d < 1 || d > graphLimits.maxDim)) {
      problems.push(`${label}: shape must be 1 to ${graphLimits.maxRank} dims, each 1..${graphLimits.maxDim}`);
    } else if (shape.slice(1).reduce((a, b) => a * b, 1) > graphLimits.maxNodeElementsPerSample) {
      problems.push(`${label}: shape ${JSON.stringify(shape)} has more than ${graphLimits.maxNodeElementsPerSample} values per sample`);
    }
    const inputs = node['inputs'];
    if (!isIntArray(inputs, 64) || inputs.some((i) => i < 0 || i >= index)) problems.push(`${label}: inputs must be ids of earlier nodes`);
    if (node['sharesWeightsWith'] !== undefined) {
      const owner = node['sharesWeightsWith'];
      const ownerNode = isInt(owner) && owner >= 0 && owner < index ? (nodes[owner] as Record<string, unknown>) : undefined;
      if (!ownerNode || !isRecord(ownerNode.op) || !isRecord(node['op']) || ownerNode.op['op'] !== node['op']['op']) problems.push(`${label}: sharesWeightsWith must name an earlier node of the same op`);
    }
    const source = node['source'];
    if (source !== undefined && !(isRecord(source) && typeof source['uri'] === 'string' && isInt(source['line']) && isInt(source['character']))) problems.push(`${label}: source must be {uri, line, character}`);
    const op = node['op'];
    if (!isRecord(op) || typeof op['op'] !== 'string' || !(op['op'] in opSchemas)) return void problems.push(`${label}: unknown op ${isRecord(op) ? JSON.stringify(op['op']) : ''}`);
    const schema = opSchemas[op['op'] as GraphOpName];
    for (const [field, kind] of Object.entries(schema.fields)) {
      const problem = checkField(label, field, kind, op[field]);
      if (problem) problems.push(problem);
    }
    if (Array.isArray(inputs) && (inputs.length < schema.arity[0] || inputs.length > schema.arity[1])) {
      problems.push(`${label}: ${op['op']} takes ${schema.arity[0] === schema.arity[1] ? schema.arity[0] : `${schema.arity[0]} to ${schema.arity[1]}`} inputs, not ${inputs.length}`);
    }
    if (problems.length === 0 && Array.isArray(shape)) checkOpSizes(label, op, shape.length, problems);
  });
  const graphInputs = value['inputs'];
  if (!Array.isArray(graphInputs) || graphInputs.length === 0 || graphInputs.length > 8) problems.push(`${where}.inputs must list 1 to 8 input nodes`);
  else {
    graphInputs.forEach((input: unknown, i) => {
      const ok =
        isRecord(input) &&
        isInt(input['node']) &&
        isRecord(nodes[input['node'] as number]) &&
        isRecord((nodes[input['node'] as number] as Record<string, unknown>)['op']) &&
        ((nodes[input['node'] as number] as Record<string, Record<string, unknown>>)['op']!['op'] === 'input') &&
        (input['kind'] === 'float' || (input['kind'] === 'tokens' && isInt(input['vocabulary']) && (input['vocabulary'] as number) >= 1 && (input['vocabulary'] as number) <= graphLimits.maxDim));
      if (!ok) problems.push(`${where}.inputs[${i}] must name an input node, with kind float, or tokens and a vocabulary`);
    });
  }
  if (!isInt(value['output']) || (value['output'] as number) < 0 || (value['output'] as number) >= nodes.length) problems.push(`${where}.output must be a node id`);
  return problems;
}

