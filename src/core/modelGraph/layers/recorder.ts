// The graph recorder of the layers interpreter (Keras and TF.js): every tensor the
// interpreter makes gets a draft node (a layer application, a merge, an input, or an
// operation the probe cannot build), named the way the framework names its layers.
// The model's graph is then what its output depends on (finishGraph.ts).
import { isConcrete } from '../../shapes/dim';
import type { Shape, ShapeDim } from '../../shapes/shape';
import { formatLayersShape } from '../../keras/residualSites';
import type { GraphRecorder, MergeOrigin } from '../../keras/graphHooks';
import type { LayerParams } from '../../shapes/layers';
import type { Expr, FunctionDef, Program, Span } from '../../keras/syntax';
import { type BuiltinLayer, type ClassDef, type TensorValue, type Value, tensorOf, unknown } from '../../keras/values';
import type { GraphFramework, GraphOp } from '../graph';
import { opParameters } from '../params';
import { layerArgs, libraryActivation, planLayer, readDim } from './layerOps';

export interface DraftNode {
  id: number;
  name: string;
  /** Undefined: an operation the probe cannot build (see `unsupported`). */
  op: GraphOp | undefined;
  unsupported?: { what: string; reason: string };
  /** Unsupported only because an input was: not reported when that input is. */
  consequence?: boolean;
  /** An unsupported application of a layer with weights (a prefix may not drop it). */
  weightedLayer?: boolean;
  /** How the built layer differs from the written one (an initializer the probe does not use). */
  note?: string;
  inputs: number[];
  /** The tensor whose shape the node has (read when the graph is finished: a helper's input learns its rank late). */
  tensor?: TensorValue;
  shape?: ShapeDim[];
  span?: Span;
  sharesWeightsWith?: number;
  /** Operand expressions of an addition (`shortcut`, `x`), for telling the skip operand apart. */
  operandTexts?: string[];
  isInput?: boolean;
}

interface LayerRecord {
  name: string;
  args: Map<string, Value>;
  /** The node of the layer's first application: later ones share its weights. */
  firstNode?: number;
  /** A layer written out as several weighted nodes (causal attention): each one's first node. */
  parts?: number[];
}

export interface ModelRecord {
  inputs: Value | undefined;
  outputs: Value | undefined;
  span: Span | undefined;
  /** Its layer name when it is applied inside another model (`name=`, else Keras's `functional`). */
  name?: string;
  /** Original node → its copy in the first model that applied this one: later applications share those weights. */
  inlined?: Map<number, number>;
}

export interface ArgumentBinding {
  def: FunctionDef;
  param: string;
  /** Call site and occurrence: the same binding in a re-run. */
  key: string;
  value: Value;
}

/** Keras's and TF.js's `to_snake_case`. */
export function snakeCaseName(className: string): string {
  return className.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Keras class names of the merges (`layers.add` makes an `Add`). */
const mergeClassOf: Record<string, string> = { '+': 'Add', '-': 'Subtract', '*': 'Multiply', '/': 'Divide' };

export class LayersGraphRecorder implements GraphRecorder {
  readonly nodes: DraftNode[] = [];
  readonly bindings: ArgumentBinding[] = [];
  /** Module-level `name = value` statements, in the order they ran. */
  readonly moduleAssignments: { name: string; key: string; value: Value }[] = [];
  private readonly nodeOf = new WeakMap<TensorValue, number>();
  private readonly layers = new WeakMap<BuiltinLayer, LayerRecord>();
  private readonly models = new WeakMap<object, ModelRecord>();
  readonly returns = new Map<FunctionDef, Value>();
  private readonly instances = new Map<ClassDef, Value>();
  private readonly firstCalls = new Map<FunctionDef, { start: number; end: number; nodeStart: number; nodeEnd: number }>();
  private readonly nameCounters = new Map<string, number>();
  private readonly occurrences = new Map<string, number>();

  constructor(
    private readonly program: Program,
    readonly framework: Exclude<GraphFramework, 'pytorch'>,
    private readonly requestedInputShape: number[] | undefined,
    /** Argument values to use instead of the file's, by binding key (`def:param:site:occurrence`) or `def:param:*`. */
    private readonly overrides: ReadonlyMap<string, Value> = new Map(),
  ) {}

  /** Names count from the start again, as in a fresh session that builds only this model. */
  resetNames(): void {
    this.nameCounters.clear();
  }

  /** A layer's construction arguments by Keras parameter name. */
  argsOf(layer: BuiltinLayer): ReadonlyMap<string, Value> | undefined {
    return this.layers.get(layer)?.args;
  }

  modelOf(value: Value): ModelRecord | undefined {
    return this.models.get(value);
  }

  nodeFor(value: Value): number | undefined {
    return value.t === 'tensor' ? this.nodeOf.get(value) : undefined;
  }

  // ---- names ----

  /** Keras: `conv2d`, `conv2d_1`; TF.js: `conv2d_Conv2D1`, `conv2d_Conv2D2`. */
  private autoName(className: string): string {
    const snake = snakeCaseName(className);
    if (this.framework === 'tfjs') {
      const count = (this.nameCounters.get(className) ?? 0) + 1;
      this.nameCounters.set(className, count);
      return `${snake}_${className}${count}`;
    }
    const count = this.nameCounters.get(snake) ?? 0;
    this.nameCounters.set(snake, count + 1);
    return count === 0 ? snake : `${snake}_${count}`;
  }

  private inputName(): string {
    if (this.framework === 'tfjs') {
      const count = (this.nameCounters.get('#input') ?? 0) + 1;
      this.nameCounters.set('#input', count);
      return `input${count}`;
    }
    return this.autoName('InputLayer');
  }

  private givenName(args: ReadonlyMap<string, Value>): string | undefined {
    const name = args.get('name');
    return name?.t === 'str' && name.v ? name.v : undefined;
  }

  // ---- nodes ----

  private addNode(node: Omit<DraftNode, 'id'>): number {
    const id = this.nodes.length;
    this.nodes.push({ id, ...node });
    return id;
  }

  private text(span: Span): string {
    const text = this.program.text.slice(span.start, span.end).replace(/\s+/g, ' ');
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }

  private unsupportedNode(what: string, reason: string, inputs: number[], span: Span | undefined, tensor?: TensorValue): number {
    return this.addNode({ name: what, op: undefined, unsupported: { what, reason }, inputs, span, ...(tensor ? { tensor } : {}) });
  }

  /** The node of a tensor operand; one the interpreter could not follow becomes an unsupported node. */
  private operandNode(value: Value | undefined, consumer: string, span: Span | undefined): number {
    const node = value ? this.nodeFor(value) : undefined;
    if (node !== undefined) return node;
    // Usually the shadow of an operation already recorded as unsupported (a value the interpreter lost track of after it).
    const id = this.unsupportedNode(`the input of ${consumer}`, 'it comes from code the analyser could not follow', [], span);
    this.nodes[id]!.consequence = true;
    return id;
  }

  private tensorOfValue(value: Value): TensorValue | undefined {
    if (value.t === 'tensor') return value;
    if ((value.t === 'tuple' || value.t === 'list') && value.items[0]?.t === 'tensor') return value.items[0];
    return undefined;
  }

  // ---- hooks ----

  layerCreated(layer: BuiltinLayer, positional: Value[], keywords: Map<string, Value>): void {
    const args = layerArgs(layer.type, positional, keywords);
    this.layers.set(layer, { name: this.givenName(args) ?? this.autoName(layer.type), args });
  }

  inputShapeOverride(): Shape | undefined {
    return this.requestedInputShape ? [...this.requestedInputShape] : undefined;
  }

  inputCreated(tensor: TensorValue, span: Span | undefined, keywords: Map<string, Value>): void {
    const name = this.givenName(keywords) ?? this.inputName();
    this.nodeOf.set(tensor, this.addNode({ name, op: { op: 'input' }, inputs: [], tensor, span, isInput: true }));
  }

  layerApplied(layer: BuiltinLayer, positional: Value[], keywords: Map<string, Value>, output: Value, span: Span): void {
    const record = this.layers.get(layer) ?? { name: this.autoName(layer.type), args: new Map<string, Value>() };
    this.layers.set(layer, record);
    const out = this.tensorOfValue(output);
    if (!out) return;
    const source = layer.span;
    if (layer.type === 'MultiHeadAttention') {
      this.attentionApplied(layer, record, positional, keywords, out, span);
      return;
    }
    const given = positional[0] ?? keywords.get('inputs') ?? unknown;
    const input = given.t === 'param' ? given.state.tensor ?? unknown : given;
    const inputNode = this.operandNode(input, record.name, span);
    const inputShape = input.t === 'tensor' ? input.cell.shape : null;
    const outputShape = out.cell.shape;
    const first = record.firstNode;
    if (!inputShape || !outputShape) {
      const id = inputShape
        ? this.unsupportedNode(record.name, `it cannot take an input of shape ${formatLayersShape(inputShape, this.framework)}`, [inputNode], source, out)
        : this.unsupportedNode(record.name, 'its input shape could not be inferred', [inputNode], source, out);
      this.nodes[id]!.consequence = !inputShape;
      this.nodes[id]!.weightedLayer = /Conv|Dense|Embedding|Attention/.test(layer.type);
      this.nodeOf.set(out, id);
      return;
    }
    const plan = planLayer(layer.type, record.args, inputShape, outputShape, this.framework);
    if ('reason' in plan) {
      const id = this.unsupportedNode(`${this.text(layer.span)} (${record.name})`, plan.reason, [inputNode], source, out);
      this.nodes[id]!.weightedLayer = /Conv|Dense|Embedding|Attention/.test(layer.type);
      this.nodeOf.set(out, id);
      return;
    }
    let previous = inputNode;
    const firstOfThisCall = this.nodes.length;
    plan.nodes.forEach((planned, i) => {
      const last = i === plan.nodes.length - 1;
      const shares = first !== undefined && hasParameters(planned.op) ? first + i : undefined;
      previous = this.addNode({
        name: planned.suffix ? `${record.name}.${planned.suffix}` : record.name,
        op: planned.op,
        inputs: [previous],
        ...(last ? { tensor: out } : { shape: planned.shape ?? outputShape }),
        span: source,
        ...(shares !== undefined ? { sharesWeightsWith: shares } : {}),
      });
    });
    if (first === undefined) {
      record.firstNode = firstOfThisCall;
      const note = initializerNote(record.args);
      if (note) this.nodes[firstOfThisCall]!.note = note;
    }
    this.nodeOf.set(out, previous);
  }

  /** `mha(query, value, key=None)`: key defaults to value; inputs in graph order [query, key, value]. */
  private attentionApplied(layer: BuiltinLayer, record: LayerRecord, positional: Value[], keywords: Map<string, Value>, out: TensorValue, span: Span): void {
    const query = positional[0] ?? keywords.get('query') ?? unknown;
    const value = positional[1] ?? keywords.get('value') ?? unknown;
    const key = positional[2] ?? keywords.get('key') ?? value;
    const inputs = [query, key, value].map((v) => this.operandNode(v, record.name, span));
    const unsupported = (reason: string): void => {
      this.nodeOf.set(out, this.unsupportedNode(`${this.text(layer.span)} (${record.name})`, reason, inputs, layer.span, out));
    };
    const mask = keywords.get('attention_mask');
    if (mask && mask.t !== 'none') return unsupported('an attention_mask is not an attention the probe builds');
    const causalArg = keywords.get('use_causal_mask');
    const causal = causalArg?.t === 'bool' && causalArg.v === true;
    if (causalArg && causalArg.t !== 'none' && !(causalArg.t === 'bool' && typeof causalArg.v === 'boolean')) return unsupported('its use_causal_mask is not a value the analyser can read');
    const shapes = [query, key, value].map((v) => (v.t === 'tensor' ? v.cell.shape : null));
    const embed = shapes[0]?.at(-1);
    const heads = readDim(record.args.get('num_heads'));
    const keyDim = readDim(record.args.get('key_dim'));
    const valueArg = record.args.get('value_dim');
    const valueDim = valueArg && valueArg.t !== 'none' ? readDim(valueArg) : keyDim;
    const biasArg = record.args.get('use_bias');
    const bias = biasArg === undefined ? true : biasArg.t === 'bool' && typeof biasArg.v === 'boolean' ? biasArg.v : undefined;
    const outputShape = record.args.get('output_shape');
    if (embed === undefined || embed === null || heads === undefined || keyDim === undefined || valueDim === undefined || bias === undefined) return unsupported('its sizes are not values the analyser can read');
    if (shapes.some((s) => !s || s.length !== 3 || !sameDim(s.at(-1)!, embed))) return unsupported('query, key and value differ in feature size or are not (batch, sequence, features)');
    if (outputShape && outputShape.t !== 'none' && !(outputShape.t === 'int' && sameDim(outputShape.v, embed))) return unsupported('its output_shape differs from the query size');
    if (causal) {
      if (!sameDim(shapes[0]![1]!, shapes[1]![1]!)) return unsupported('a causal mask over query and key sequences of different lengths is not built');
      this.causalAttention(layer, record, inputs, shapes[0]!, { embed: embed as number, heads: heads as number, keyDim: keyDim as number, valueDim: valueDim as number, bias }, out);
      return;
    }
    const id = this.addNode({
      name: record.name,
      op: { op: 'attention', embedDim: embed as number, heads: heads as number, keyDim: keyDim as number, valueDim: valueDim as number, bias, batchFirst: true, init: 'glorot-uniform' },
      inputs,
      tensor: out,
      span: layer.span,
      ...(record.firstNode !== undefined ? { sharesWeightsWith: record.firstNode } : {}),
    });
    record.firstNode ??= id;
    this.nodeOf.set(out, id);
  }

  /**
   * Keras's MultiHeadAttention with use_causal_mask=True, written out in ops the probe builds:
   * its query, key, value and output projections (Keras's sublayer names), scaled scores,
   * the causal mask and the softmax. The projections hold exactly Keras's weights.
   */
  private causalAttention(layer: BuiltinLayer, record: LayerRecord, [queryIn, keyIn, valueIn]: number[], queryShape: ShapeDim[], size: { embed: number; heads: number; keyDim: number; valueDim: number; bias: boolean }, out: TensorValue): void {
    const { embed, heads, keyDim, valueDim, bias } = size;
    const [batch, length] = queryShape as [ShapeDim, number];
    const span = layer.span;
    const parts: number[] = [];
    const node = (suffix: string, op: GraphOp, inputs: number[], shape: ShapeDim[], part?: number): number => {
      const shares = part !== undefined ? record.parts?.[part] : undefined;
      const id = this.addNode({ name: `${record.name}.${suffix}`, op, inputs, shape, span, ...(shares !== undefined ? { sharesWeightsWith: shares } : {}) });
      if (part !== undefined) parts[part] = id;
      return id;
    };
    const projection = (suffix: string, input: number, width: number, part: number, keyLast: boolean): number => {
      const projected = node(suffix, { op: 'linear', inFeatures: embed, outFeatures: heads * width, bias, init: 'glorot-uniform' }, [input], [batch, length, heads * width], part);
      const split = node(`${suffix}.heads`, { op: 'reshape' }, [projected], [batch, length, heads, width]);
      return keyLast
        ? node(`${suffix}.transpose`, { op: 'permute', axes: [0, 2, 3, 1] }, [split], [batch, heads, width, length])
        : node(`${suffix}.transpose`, { op: 'permute', axes: [0, 2, 1, 3] }, [split], [batch, heads, length, width]);
    };
    const query = projection('query', queryIn!, keyDim, 0, false);
    const key = projection('key', keyIn!, keyDim, 1, true);
    const value = projection('value', valueIn!, valueDim, 2, false);
    const scores = node('scores', { op: 'matmul' }, [query, key], [batch, heads, length, length]);
    const scaled = node('scale', { op: 'scale', factor: 1 / Math.sqrt(keyDim), offset: 0 }, [scores], [batch, heads, length, length]);
    const masked = node('causal_mask', { op: 'causal-mask' }, [scaled], [batch, heads, length, length]);
    const weights = node('softmax', { op: 'activation', fn: 'softmax', axis: -1 }, [masked], [batch, heads, length, length]);
    const context = node('context', { op: 'matmul' }, [weights, value], [batch, heads, length, valueDim]);
    const joined = node('context.transpose', { op: 'permute', axes: [0, 2, 1, 3] }, [context], [batch, length, heads, valueDim]);
    const merged = node('context.merge', { op: 'reshape' }, [joined], [batch, length, heads * valueDim]);
    const output = node('attention_output', { op: 'linear', inFeatures: heads * valueDim, outFeatures: embed, bias, init: 'glorot-uniform' }, [merged], [batch, length, embed], 3);
    delete this.nodes[output]!.shape;
    this.nodes[output]!.tensor = out;
    record.parts ??= parts;
    this.nodeOf.set(out, output);
  }

  merged(origin: MergeOrigin, inputs: TensorValue[], exprs: (Expr | undefined)[], output: TensorValue, span: Span | undefined, params: LayerParams): void {
    const type = origin.kind === 'layer' ? origin.type : origin.kind === 'operator' ? mergeClassOf[origin.op] ?? 'Merge' : 'Add';
    const record = origin.kind === 'layer' && origin.layer ? this.layers.get(origin.layer) : undefined;
    const name = record?.name ?? this.autoName(type);
    const source = origin.kind === 'layer' && origin.layer ? origin.layer.span : span;
    let ids = inputs.map((t) => this.operandNode(t, name, span));
    const texts = inputs.map((_, i) => (exprs[i] ? this.program.text.slice(exprs[i]!.span.start, exprs[i]!.span.end) : ''));
    const outShape = output.cell.shape;
    if (type === 'Concatenate') {
      const axis = typeof params.axis === 'number' ? params.axis : origin.kind === 'layer' && record ? readNumberArg(record.args.get('axis')) ?? -1 : -1;
      this.nodeOf.set(output, this.addNode({ name, op: { op: 'concat', axis }, inputs: ids, tensor: output, span: source }));
      return;
    }
    const binary = type === 'Add' ? 'add' : type === 'Subtract' ? 'sub' : type === 'Multiply' ? 'mul' : type === 'Divide' ? 'div' : undefined;
    if (!binary || ids.length < 2) {
      this.nodeOf.set(output, this.unsupportedNode(name, `${type} is not a merge the probe builds`, ids, source, output));
      return;
    }
    if (!outShape) {
      const shapes = inputs.map((t) => t.cell.shape);
      const known = shapes.every((shape) => shape !== null);
      const id = this.unsupportedNode(name, known ? `its operands' shapes do not match: ${shapes.map((shape) => formatLayersShape(shape, this.framework)).join(' and ')}` : 'the shape of an operand could not be inferred', ids, source, output);
      if (!known) this.nodes[id]!.consequence = true;
      this.nodeOf.set(output, id);
      return;
    }
    // Keras and TF.js merge layers line up a lower-rank input by inserting size-1 axes after the batch.
    if (origin.kind === 'layer' && outShape) {
      ids = ids.map((id, i) => {
        const shape = inputs[i]!.cell.shape;
        if (!shape || shape.length >= outShape.length) return id;
        const expanded = [shape[0]!, ...Array.from({ length: outShape.length - shape.length }, () => 1), ...shape.slice(1)];
        return this.addNode({ name: `${name}.expand${i}`, op: { op: 'reshape' }, inputs: [id], shape: expanded, span: source });
      });
    }
    let acc = ids[0]!;
    for (let i = 1; i < ids.length; i++) {
      const last = i === ids.length - 1;
      const distinct = acc !== ids[i];
      acc = this.addNode({
        name: i === 1 ? name : `${name}.${i}`,
        op: { op: binary, ...(binary === 'add' && distinct && ids.length === 2 ? { residual: true } : {}) },
        inputs: [acc, ids[i]!],
        ...(last ? { tensor: output } : { shape: outShape ?? undefined }),
        span: source,
        ...(binary === 'add' && ids.length === 2 ? { operandTexts: texts } : {}),
      } as Omit<DraftNode, 'id'>);
    }
    this.nodeOf.set(output, acc);
  }

  scalarOp(op: string, tensor: TensorValue, constant: number, tensorFirst: boolean, output: TensorValue, span: Span): void {
    const input = this.operandNode(tensor, 'an arithmetic operation', span);
    let scale: GraphOp | undefined;
    if (Number.isFinite(constant)) {
      if (op === '*') scale = { op: 'scale', factor: constant, offset: 0 };
      else if (op === '/' && tensorFirst && constant !== 0) scale = { op: 'scale', factor: 1 / constant, offset: 0 };
      else if (op === '+') scale = { op: 'scale', factor: 1, offset: constant };
      else if (op === '-') scale = tensorFirst ? { op: 'scale', factor: 1, offset: -constant } : { op: 'scale', factor: -1, offset: constant };
    }
    const name = this.autoName(op === '*' ? 'Multiply' : op === '+' ? 'Add' : op === '-' ? 'Subtract' : 'Divide');
    this.nodeOf.set(output, scale ? this.addNode({ name, op: scale, inputs: [input], tensor: output, span }) : this.unsupportedNode(this.text(span), 'not an arithmetic operation the probe builds', [input], span, output));
  }

  libraryCall(path: string, positional: Value[], _keywords: Map<string, Value>, result: Value, span: Span | undefined): Value {
    if (result.t !== 'tensor' || this.nodeOf.has(result)) return result;
    const op = libraryActivation(path);
    if (op === undefined) return result;
    const input = this.operandNode(positional[0], path, span);
    this.nodeOf.set(result, this.addNode({ name: this.autoName(path.split('.').pop() ?? 'op'), op: op ?? { op: 'identity' }, inputs: [input], tensor: result, span }));
    return result;
  }

  afterCall(call: Extract<Expr, { k: 'call' }>, callee: Value, positional: Value[], keywords: Map<string, Value>, result: Value): Value {
    if (result.t === 'tensor' && this.nodeOf.has(result)) return result;
    // A model of the file applied as a layer (`encoder(x)`, `encoder.apply(x)`): its nodes, again, on these inputs.
    const applied = callee.t === 'method' && (callee.name === 'apply' || callee.name === 'call') ? callee.self : callee;
    const model = this.models.get(applied);
    const input = positional[0] ?? keywords.get('inputs');
    if (model && input && callee.t !== 'instance') {
      const inlined = this.inlineModel(model, input, call.span);
      if (inlined) return inlined;
    }
    if (result.t !== 'tensor' && result.t !== 'unknown') return result;
    const inputs: number[] = [];
    const visit = (v: Value): void => {
      if (v.t === 'tensor') {
        const id = this.nodeOf.get(v);
        if (id !== undefined && !inputs.includes(id)) inputs.push(id);
      } else if (v.t === 'list' || v.t === 'tuple') v.items.forEach(visit);
      else if (v.t === 'dict') [...v.entries.values()].forEach(visit);
    };
    positional.forEach(visit);
    [...keywords.values()].forEach(visit);
    if (inputs.length === 0) return result;
    const tensor = result.t === 'tensor' ? result : tensorOf(null);
    this.nodeOf.set(tensor, this.unsupportedNode(this.text(call.span), 'not a layer or operation the probe can build', inputs, call.span, tensor));
    return tensor;
  }

  modelBuilt(model: Value, inputs: Value | undefined, outputs: Value | undefined, span: Span | undefined, name: Value | undefined): void {
    this.models.set(model, { inputs, outputs, span, ...(name?.t === 'str' && name.v ? { name: name.v } : {}) });
  }

  /**
   * The nodes a model's output depends on, copied onto new inputs; named under the model's
   * layer name (`encoder.conv2d`), sharing weights with an earlier application of it.
   */
  private inlineModel(model: ModelRecord, input: Value, span: Span): TensorValue | undefined {
    const innerInputs = (model.inputs?.t === 'list' || model.inputs?.t === 'tuple' ? model.inputs.items : model.inputs ? [model.inputs] : []).map((v) => this.nodeFor(v));
    const outerInputs = input.t === 'list' || input.t === 'tuple' ? input.items : [input];
    const outputs = model.outputs?.t === 'list' || model.outputs?.t === 'tuple' ? model.outputs.items : model.outputs ? [model.outputs] : [];
    const output = outputs[0]?.t === 'tensor' ? outputs[0] : undefined;
    const outputNode = output ? this.nodeOf.get(output) : undefined;
    if (!output || outputNode === undefined || innerInputs.length !== outerInputs.length || innerInputs.some((id) => id === undefined)) return undefined;
    const copies = new Map<number, number>();
    innerInputs.forEach((id, i) => copies.set(id!, this.operandNode(outerInputs[i], 'a nested model', span)));
    const live = new Set<number>();
    const stack = [outputNode];
    while (stack.length) {
      const id = stack.pop()!;
      if (live.has(id) || copies.has(id)) continue;
      live.add(id);
      stack.push(...this.nodes[id]!.inputs);
    }
    model.name ??= this.autoName(this.framework === 'tfjs' ? 'Model' : 'Functional');
    const first = model.inlined;
    model.inlined ??= new Map();
    for (const id of [...live].sort((a, b) => a - b)) {
      const original = this.nodes[id]!;
      const owner = original.sharesWeightsWith ?? id;
      const sharing = !original.op || !hasParameters(original.op) ? undefined : first?.get(owner) ?? (owner !== id ? copies.get(owner) : undefined);
      const { tensor, id: _id, sharesWeightsWith: _shares, ...rest } = original;
      const copy = this.addNode({
        ...rest,
        name: `${model.name}.${original.name}`,
        inputs: original.inputs.map((i) => copies.get(i)!),
        shape: tensor?.cell.shape ?? original.shape,
        ...(sharing !== undefined ? { sharesWeightsWith: sharing } : {}),
      });
      copies.set(id, copy);
      if (!first) model.inlined.set(id, copy);
    }
    const result = tensorOf(output.cell.shape ? [...output.cell.shape] : null);
    this.nodeOf.set(result, copies.get(outputNode)!);
    return result;
  }

  instanceCreated(cls: ClassDef, instance: Value): void {
    if (!this.instances.has(cls)) this.instances.set(cls, instance);
  }

  instanceCalled(instance: Value, positional: Value[], keywords: Map<string, Value>, output: Value): void {
    // The first application of a model object is the model: its input and output.
    if (!this.models.has(instance)) this.models.set(instance, { inputs: positional[0] ?? keywords.get('inputs'), outputs: output, span: undefined });
  }

  /** The first instance the file makes of a model class. */
  instanceOf(cls: ClassDef): Value | undefined {
    return this.instances.get(cls);
  }

  functionEntered(def: FunctionDef): void {
    if (!this.firstCalls.has(def)) this.firstCalls.set(def, { start: this.bindings.length, end: Number.POSITIVE_INFINITY, nodeStart: this.nodes.length, nodeEnd: Number.POSITIVE_INFINITY });
  }

  functionReturned(def: FunctionDef, result: Value): void {
    if (this.returns.has(def)) return;
    this.returns.set(def, result);
    const call = this.firstCalls.get(def);
    if (call) {
      call.end = this.bindings.length;
      call.nodeEnd = this.nodes.length;
    }
  }

  /** The argument bindings made while the first call of `def` ran (its own included). */
  bindingsOfFirstCall(def: FunctionDef): ArgumentBinding[] {
    const call = this.firstCalls.get(def);
    return call ? this.bindings.slice(call.start, call.end) : [];
  }

  /** What could not be built while the first call of `def` ran (the whole run without one), causes only. */
  unsupportedCauses(def: FunctionDef | undefined): DraftNode[] {
    const call = def ? this.firstCalls.get(def) : undefined;
    const during = this.nodes.filter((n, id) => n.op === undefined && (!call || (id >= call.nodeStart && id < call.nodeEnd)));
    const causes = during.some((n) => !n.consequence) ? during.filter((n) => !n.consequence) : during;
    // A helper called once per block repeats the same cause: once per line is enough.
    const seen = new Set<string>();
    return causes.filter((n) => {
      const key = `${n.unsupported!.what}@${n.span?.start ?? -1}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  argument(def: FunctionDef, param: string, value: Value, call: Extract<Expr, { k: 'call' }> | undefined): Value {
    const site = `${def.span.start}:${param}:${call?.span.start ?? 'entry'}`;
    const occurrence = this.occurrences.get(site) ?? 0;
    this.occurrences.set(site, occurrence + 1);
    const key = `${site}:${occurrence}`;
    this.bindings.push({ def, param, key, value });
    return this.overrides.get(key) ?? this.overrides.get(`${def.span.start}:${param}:*`) ?? value;
  }

  moduleAssigned(name: string, value: Value, span: Span): Value {
    const key = `module:${name}:${span.start}`;
    this.moduleAssignments.push({ name, key, value });
    return this.overrides.get(key) ?? value;
  }

  configValue(path: string): Value | undefined {
    // The default configuration: channels-last, as the probe builds.
    if (path === 'keras.backend.image_data_format' || path === 'keras.config.image_data_format') return { t: 'str', v: 'channels_last' };
    return undefined;
  }
}

function sameDim(a: ShapeDim, b: ShapeDim): boolean {
  if (a === null || b === null) return false;
  if (isConcrete(a) || isConcrete(b)) return a === b;
  return a.key === b.key;
}

function readNumberArg(v: Value | undefined): number | undefined {
  return v?.t === 'int' && isConcrete(v.v) ? v.v : undefined;
}

/** Initializers as Keras and TF.js name their defaults. */
const defaultInitializers: Record<string, readonly string[]> = {
  kernel_initializer: ['glorot_uniform', 'glorotUniform', 'GlorotUniform'],
  depthwise_initializer: ['glorot_uniform', 'glorotUniform', 'GlorotUniform'],
  pointwise_initializer: ['glorot_uniform', 'glorotUniform', 'GlorotUniform'],
  bias_initializer: ['zeros', 'Zeros'],
  embeddings_initializer: ['uniform', 'randomUniform', 'RandomUniform'],
};

/** The probe initialises every layer the framework's default way: say so where the file asks for another. */
function initializerNote(args: ReadonlyMap<string, Value>): string | undefined {
  for (const [param, defaults] of Object.entries(defaultInitializers)) {
    const v = args.get(param);
    if (!v || v.t === 'none' || (v.t === 'str' && v.v !== undefined && defaults.includes(v.v))) continue;
    const written = v.t === 'str' && v.v !== undefined ? `'${v.v}'` : 'as written';
    return `${param}=${written} is not followed: the probe initialises with the framework's default (${defaults[0]})`;
  }
  return undefined;
}

/** Ops that own weights (a BatchNorm's too): a repeat of their layer shares them. */
function hasParameters(op: GraphOp): boolean {
  const counts = opParameters(op, 'keras');
  return counts.trainable + counts.nonTrainable > 0;
}
