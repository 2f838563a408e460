// What the layers interpreter tells a model-graph recorder ("Probe This Model"). The
// shape check runs without one; with one, every tensor the interpreter makes gets a
// graph node. Only the recorder decides what a node is: the interpreter just reports
// what it ran, where.
import type { LayerParams } from '../shapes/layers';
import type { Shape } from '../shapes/shape';
import type { Expr, FunctionDef, Span } from './syntax';
import type { BuiltinLayer, ClassDef, TensorValue, Value } from './values';

/** How two or more tensors were combined: a merge layer, an operator, or a library function (`tf.add`). */
export type MergeOrigin =
  | { kind: 'layer'; layer: BuiltinLayer | undefined; type: string }
  | { kind: 'operator'; op: string }
  | { kind: 'function'; path: string };

export interface GraphRecorder {
  /** A layer object was constructed, with the arguments as written (Keras numbers its automatic names in this order). */
  layerCreated(layer: BuiltinLayer, positional: Value[], keywords: Map<string, Value>): void;
  /** The shape a model input takes instead of the one the file says (the request's input shape). */
  inputShapeOverride(): Shape | undefined;
  /** `keras.Input(...)` / `tf.input(...)` made this tensor. */
  inputCreated(tensor: TensorValue, span: Span | undefined, keywords: Map<string, Value>): void;
  /** A builtin layer applied to its inputs gave `output` (a merge layer reports through `merged`). */
  layerApplied(layer: BuiltinLayer, positional: Value[], keywords: Map<string, Value>, output: Value, span: Span): void;
  merged(origin: MergeOrigin, inputs: TensorValue[], exprs: (Expr | undefined)[], output: TensorValue, span: Span | undefined, params: LayerParams): void;
  /** A tensor and a number: `x * 0.5`, `x + 1`. */
  scalarOp(op: string, tensor: TensorValue, constant: number, tensorFirst: boolean, output: TensorValue, span: Span): void;
  /** A library function on a tensor (`tf.nn.relu(x)`), after the interpreter ran it: the recorder may return a replacement. */
  libraryCall(path: string, positional: Value[], keywords: Map<string, Value>, result: Value, span: Span | undefined): Value;
  /** Any call the interpreter evaluated: a result it could not follow, from tensors, becomes a recorded unsupported operation. */
  afterCall(call: Extract<Expr, { k: 'call' }>, callee: Value, positional: Value[], keywords: Map<string, Value>, result: Value): Value;
  /** `keras.Model(inputs, outputs)` / `tf.model({inputs, outputs})` returned `model`. */
  modelBuilt(model: Value, inputs: Value | undefined, outputs: Value | undefined, span: Span | undefined, name: Value | undefined): void;
  /** A function parameter is bound: the recorder may replace the value (depth variants re-run with a block count changed). */
  argument(def: FunctionDef, param: string, value: Value, call: Extract<Expr, { k: 'call' }> | undefined): Value;
  /** `Model(...)` of a class the file defines (the subclassing API). */
  instanceCreated(cls: ClassDef, instance: Value): void;
  /** An instance of such a class applied to inputs gave `output`. */
  instanceCalled(instance: Value, positional: Value[], keywords: Map<string, Value>, output: Value): void;
  /** `name = value` in the module's own code: the recorder may replace the value. */
  moduleAssigned(name: string, value: Value, span: Span): Value;
  /** A function call starts (its arguments are bound next). */
  functionEntered(def: FunctionDef): void;
  /** A function call finished (the builder's return value is the model). */
  functionReturned(def: FunctionDef, result: Value): void;
  /** `keras.backend.image_data_format()` and friends: what the recorder assumes the configuration says. */
  configValue(path: string): Value | undefined;
}
