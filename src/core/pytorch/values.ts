// The abstract values the PyTorch interpreter computes with. Everything the
// interpreter cannot model is `unknown`: it never becomes a guess.
import type { Dim } from '../shapes/dim';
import type { Truth } from '../shapes/condition';
import type { Shape } from '../shapes/shape';
import type { LayerDescriptor } from '../shapes/layers';
import type { PyNode } from '../parse/python-ast';

/** Where a tensor's channel axis is: NCHW-style (conv) or last (Linear, attention). */
export type Layout = 'channels-first' | 'channels-last';

/** Shared by tensors that are the same data: a lazy model input gets its rank at its first layer. */
export interface ShapeCell {
  shape: Shape;
  lazy: boolean;
  /** Suffix for the symbols of a second lazy input (`H_y`), so two inputs never share dims by accident. */
  suffix: string;
}

export interface TensorValue {
  t: 'tensor';
  cell: ShapeCell;
  layout?: Layout;
  /** Layers applied since the forward that received it: the identity operand of a skip add has fewer. */
  depth: number;
  /** Tensors that are the same data (`x.relu()`, `{ ...x }`) share an id. */
  id: number;
  /** The tensor this one was computed from (first tensor operand), to tell where a skip branches off. */
  base?: TensorValue;
  /** Set only while a model graph is recorded ("Probe This Model"): where the tensor comes from. */
  trace?: TensorTrace;
}

/**
 * A tensor's place in a recorded model graph: a node, a constant the recorder understands
 * (a causal `tril` mask, `torch.arange` positions), or lost (already reported unsupported).
 */
export type TensorTrace =
  /** `expanded`: `y.expand_as(x)`, the node's value before broadcasting (fine only for elementwise ops). */
  | { kind: 'node'; node: number; expanded?: boolean }
  | { kind: 'lost' }
  /** `value`: every element is this number (`torch.zeros_like(y)`, `torch.ones(...)`). */
  | { kind: 'constant'; what: 'causal-tril' | 'causal-keep' | 'causal-drop' | 'positions' | 'other'; length?: number; value?: number };

export interface ClassInfo {
  name: string;
  node: PyNode;
  file: FileInfo;
  bases: Value[];
  methods: Map<string, PyNode>;
  classAttrs: Map<string, Value>;
  isModule: boolean;
  /** Derives from nn.Sequential: without a forward of its own it runs its modules in order. */
  isSequential: boolean;
  isDataclass: boolean;
  /** Field names of a dataclass in order. */
  fields: string[];
}

export interface FileInfo {
  uri: string;
  source: string;
  root: PyNode;
  globals: Scope;
  /** `# residual-lens: input=(...)` comments: the class they sit on (by name) and the dims text. */
  inputComments: Map<string, string[]>;
}

export interface InstanceValue {
  t: 'instance';
  cls: ClassInfo;
  attrs: Map<string, Value>;
  /** The bound constructor arguments, for messages: stride 2, 64→128. */
  args: Map<string, Value>;
  /** `ResNet.layer2[0]`, set once the root's constructor has returned. */
  path?: string;
  forwarded: boolean;
  /** The constructor could not be followed to the end: attributes may be missing. */
  incomplete: boolean;
  /** An nn.Sequential subclass: the modules given to `super().__init__(...)`, in order. */
  sequence?: Value[];
}

export type Value =
  | { t: 'int'; v: Dim }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: Truth }
  | { t: 'str'; v: string }
  | { t: 'none' }
  | { t: 'tuple'; items: Value[] }
  | { t: 'list'; items: Value[]; incomplete?: boolean }
  | { t: 'dict'; entries: Map<string, Value> }
  | { t: 'slice'; start: Value; stop: Value; step: Value }
  | { t: 'ellipsis' }
  | TensorValue
  | { t: 'layer'; desc: LayerDescriptor }
  | { t: 'container'; kind: 'Sequential' | 'ModuleList'; items: Value[]; names?: string[]; incomplete?: boolean }
  | { t: 'moduledict'; entries: Map<string, Value> }
  | InstanceValue
  | { t: 'class'; cls: ClassInfo }
  | { t: 'function'; def: PyNode; closure: Scope; file: FileInfo; self?: Value; owner?: ClassInfo }
  | { t: 'lambda'; def: PyNode; closure: Scope; file: FileInfo }
  | { t: 'builtin'; name: string; self?: Value }
  /** `functools.partial(fn, *args, **kwargs)`: calling it adds the call's arguments after these. */
  | { t: 'partial'; fn: Value; positional: Value[]; keywords: Map<string, Value> }
  | { t: 'namespace'; path: string }
  | { t: 'super'; cls: ClassInfo; self: Value }
  | { t: 'parameter'; shape: Shape }
  /** `x.size()` of a model input whose rank is not known yet; unpacking it decides. */
  | { t: 'lazysize'; tensor: TensorValue }
  /** `label` names an argument the caller may fill (`downsample`), so `is None` tests on it stay opaque. */
  | { t: 'unknown'; label?: string };

export const unknown: Value = { t: 'unknown' };
export const none: Value = { t: 'none' };
/** `*size` of a value that cannot be iterated: the list it sits in has an unknown length. */
export const unknownSpread: Value = { t: 'unknown', label: '*args' };

export function isUnknownSpread(v: Value | undefined): boolean {
  return v?.t === 'unknown' && v.label === '*args';
}

export class Scope {
  readonly vars = new Map<string, Value>();
  constructor(readonly parent?: Scope) {}

  lookup(name: string): Value | undefined {
    const own = this.vars.get(name);
    if (own !== undefined) return own;
    return this.parent?.lookup(name);
  }
}

export function intValue(v: Dim): Value {
  return { t: 'int', v };
}

let nextTensorId = 1;

export function tensor(shape: Shape, layout?: Layout, depth = 0): TensorValue {
  return { t: 'tensor', cell: { shape, lazy: false, suffix: '' }, depth, id: nextTensorId++, ...(layout ? { layout } : {}) };
}

export function inputTensor(shape: Shape, lazy: boolean, layout?: Layout): TensorValue {
  return { t: 'tensor', cell: { shape, lazy, suffix: '' }, depth: 0, id: nextTensorId++, ...(layout ? { layout } : {}) };
}

/** Whether `ancestor` is `t` or one of the tensors it was computed from. */
export function derivesFrom(t: TensorValue, ancestor: TensorValue, limit = 256): boolean {
  let current: TensorValue | undefined = t;
  for (let i = 0; current && i < limit; i++, current = current.base) {
    if (current.id === ancestor.id) return true;
  }
  return false;
}
