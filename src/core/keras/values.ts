// The abstract values of the layers-API interpreter (Keras and TF.js). Whatever it
// cannot model is `unknown`, and an unknown never turns into a finding.
import type { Dim } from '../shapes/dim';
import type { Truth } from '../shapes/condition';
import type { Shape } from '../shapes/shape';
import type { LayerParams } from '../shapes/layers';
import type { FunctionDef, Span } from './syntax';

/** Shared by every alias of one tensor: a helper's input gets its rank from its first layer. */
export interface ShapeCell {
  shape: Shape;
  /** Rank not known yet: the first layer that needs one fixes it. */
  lazy: boolean;
  /** Appended to the symbols of this input (`H_2`), so two inputs never share dims by accident. */
  suffix: string;
  /** `x.shape[-1]` was read before the rank was known: the channel axis must be last. */
  lastAxisRead?: boolean;
}

/** A layer applied on the way to a tensor, kept for messages and fixes. */
export interface AppliedLayer {
  layer: BuiltinLayer;
  /** The `.apply(...)` / `layer(...)` call. */
  callSpan: Span;
  /** The function invocation it ran in: the shortcut is the operand with fewer layers from this call. */
  invocation: number;
}

export interface TensorValue {
  t: 'tensor';
  cell: ShapeCell;
  /** Layers applied so far, newest last (capped). */
  trace: AppliedLayer[];
}

export interface BuiltinLayer {
  kind: 'builtin';
  type: string;
  params: LayerParams;
  /** Source text of each argument, by (snake_case) parameter name: `filters * 4`, `stride`. */
  argText: Map<string, string>;
  /** `layers.Conv2D`, `tf.layers.conv2d`: the file's own spelling. */
  calleeText: string;
  span: Span;
}

export type LayerValue =
  | BuiltinLayer
  | { kind: 'sequential'; layers: Value[] }
  | { kind: 'opaque' };

export interface ClassDef {
  name: string;
  bases: Value[];
  methods: Map<string, FunctionDef>;
  attrs: Map<string, Value>;
  span: Span;
  closure: Scope;
}

export interface ParamState {
  /** What the symbolic parameter turned out to be used as. */
  tensor?: TensorValue;
}

export type Value =
  | { t: 'int'; v: Dim }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: Truth }
  | { t: 'str'; v: string | undefined }
  | { t: 'none' }
  | { t: 'list' | 'tuple'; items: Value[] }
  | { t: 'dict'; entries: Map<string, Value> }
  | TensorValue
  | { t: 'layer'; layer: LayerValue }
  | { t: 'function'; def: FunctionDef; closure: Scope; self?: Value }
  | { t: 'class'; cls: ClassDef }
  | { t: 'instance'; cls: ClassDef; attrs: Map<string, Value>; built: boolean; description: string }
  /** A module path or a library function: `keras.layers`, `tf.layers.conv2d`, `builtins.range`. */
  | { t: 'ns'; path: string }
  | { t: 'method'; self: Value; name: string }
  /** A parameter of a helper run without a caller: a tensor, a number or a flag, as used. */
  | { t: 'param'; name: string; state: ParamState }
  /** One of several values, each under its condition (after an `if` on a symbolic test). */
  | { t: 'guarded'; options: [Truth, Value][] }
  | { t: 'unknown' };

export const unknown: Value = { t: 'unknown' };
export const none: Value = { t: 'none' };

export class Scope {
  readonly vars = new Map<string, Value>();
  constructor(readonly parent?: Scope) {}

  lookup(name: string): Value | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }
}

export function intValue(v: Dim): Value {
  return { t: 'int', v };
}

export function tensorOf(shape: Shape, trace: AppliedLayer[] = []): TensorValue {
  return { t: 'tensor', cell: { shape, lazy: false, suffix: '' }, trace };
}
