// The graph recorder of the PyTorch interpreter ("Probe This Model"): while the root
// model's forward runs, every tensor the interpreter computes carries the graph node
// that produced it (TensorValue.trace), every layer application becomes a node named
// by its module path (`layer2.0.conv1`, as named_modules() names it) with the line that
// defines it, and every functional op a node with the line of its forward statement.
// What it cannot express becomes an UnsupportedOperation, never a guessed node.
import type { CallArgs, GraphRecorderHooks } from '../../pytorch/interpreter';
import { BudgetExhausted, toParam } from '../../pytorch/interpreter';
import type { ClassInfo, FileInfo, InstanceValue, Layout, TensorTrace, TensorValue, Value } from '../../pytorch/values';
import { type PyNode, nodeText } from '../../parse/python-ast';
import { bindLayerParams, functionalTable, layerTable } from '../../shapes/layers';
import type { ShapeDim } from '../../shapes/shape';
import { isConcrete } from '../../shapes/dim';
import type { ActivationFn, GraphLayout, GraphNode, GraphOp, GraphSource, UnsupportedOperation } from '../graph';
import { isWeightedOp } from '../graph';
import { layerGraphOp, opHasParameters } from './layerOps';

/** A node while recording: its shape may still hold a symbol (a lazy input's dims). */
export interface RecordedNode extends Omit<GraphNode, 'shape'> {
  pendingShape: ShapeDim[] | null;
  /** The module object whose weights the node uses: nodes of one module share them. */
  weightsOf?: object;
}

/** Ends the run of the file's own code once it has built and called the model (passes every guard, as a spent budget does). */
export class CaptureComplete extends BudgetExhausted {}

export interface DepthOverride {
  /** Index among the constructor's parameters after `self`. */
  index: number;
  name: string;
  /** Set for a config object's field (`config.n_layer`): the field replaced in the argument. */
  field?: string;
  value: Value;
}

const activationNames: Record<string, ActivationFn> = {
  relu: 'relu', relu_: 'relu', relu6: 'relu6', leaky_relu: 'leaky_relu', elu: 'elu', gelu: 'gelu', silu: 'silu', sigmoid: 'sigmoid', sigmoid_: 'sigmoid',
  tanh: 'tanh', tanh_: 'tanh', softmax: 'softmax', hardswish: 'hardswish', hardsigmoid: 'hardsigmoid', softplus: 'softplus', mish: 'mish',
};

/** Methods that return the same data: the node is the input's. */
const sameData = new Set(['contiguous', 'float', 'to', 'type', 'cuda', 'cpu', 'clone', 'half', 'double', 'type_as', 'requires_grad_']);

export class PyTorchGraphRecorder implements GraphRecorderHooks {
  recording = false;
  readonly nodes: RecordedNode[] = [];
  readonly unsupported: (UnsupportedOperation & { inputNode?: number })[] = [];
  /** Weighted layers applied to tensors whose trace was already lost: what a prefix leaves out. */
  skippedWeighted = 0;
  root: InstanceValue | undefined;
  rootArgs: CallArgs | undefined;
  /** Weights assigned from one layer to another in a constructor (`self.wte.weight = self.lm_head.weight`). */
  readonly tiedWeights: { layer: object; text: string }[] = [];
  private overrideApplied = false;
  private readonly sites = new Map<object, GraphSource>();
  private readonly assignedSites = new Map<object, GraphSource>();
  private readonly constructorArgs = new Map<object, CallArgs>();
  private readonly paths = new Map<object, string>();
  private readonly moduleStack: { path: string; module: InstanceValue }[] = [];
  private readonly opCounts = new Map<string, number>();
  private readonly firstUse = new Map<object, number>();

  constructor(
    private readonly target: { name: string; uri: string },
    private readonly override: DepthOverride | undefined,
  ) {}

  // ---- construction (also while not recording) ---------------------------------

  private isTarget(cls: ClassInfo): boolean {
    return cls.name === this.target.name && cls.file.uri === this.target.uri;
  }

  instantiating(cls: ClassInfo, args: CallArgs): CallArgs {
    if (!this.override || this.overrideApplied || this.root || !this.isTarget(cls)) return args;
    this.overrideApplied = true;
    const { index, name, field, value } = this.override;
    const current = index < args.positional.length ? args.positional[index] : args.keywords.get(name);
    let replacement = value;
    if (field) {
      // A config object or dict: a copy with the one field changed.
      if (current?.t === 'instance') replacement = { ...current, attrs: new Map(current.attrs).set(field, value) };
      else if (current?.t === 'dict') replacement = { t: 'dict', entries: new Map(current.entries).set(field, value) };
      else return args;
    }
    if (index < args.positional.length) {
      const positional = args.positional.slice();
      positional[index] = replacement;
      return { positional, keywords: args.keywords };
    }
    const keywords = new Map(args.keywords);
    keywords.set(name, replacement);
    return { positional: args.positional, keywords };
  }

  instantiated(instance: InstanceValue, args: CallArgs): void {
    if (!this.root && this.isTarget(instance.cls)) {
      this.root = instance;
      this.rootArgs = args;
    }
  }

  constructed(value: Value, fn: Value, args: CallArgs, node: PyNode, file: FileInfo): void {
    const key = value as object;
    // A helper such as `def conv1x1(...): return nn.Conv2d(...)` builds the layer where it is called.
    if (!this.sites.has(key) || fn.t === 'function') this.sites.set(key, sourceOf(node, file));
    if (value.t === 'layer' && !this.constructorArgs.has(key)) this.constructorArgs.set(key, args);
  }

  assigned(value: Value, target: PyNode, file: FileInfo, layer?: Extract<Value, { t: 'layer' }>): void {
    if (layer) {
      const attribute = target.fields.attribute?.text;
      if (attribute === 'weight' || attribute === 'bias') this.tiedWeights.push({ layer, text: shortText(target, file) });
      return;
    }
    if (value.t !== 'layer' && value.t !== 'container' && value.t !== 'instance' && value.t !== 'moduledict' && value.t !== 'parameter') return;
    const key = value as object;
    if (!this.assignedSites.has(key)) this.assignedSites.set(key, sourceOf(target, file));
  }

  // ---- recording ----------------------------------------------------------------

  /** Names every module under the root as named_modules() would, and adds the input node. */
  start(root: InstanceValue, input: TensorValue): TensorValue {
    this.nameModules(root, '', 0);
    this.recording = true;
    const shape = input.cell.lazy ? null : input.cell.shape;
    const id = this.push({ name: 'input', op: { op: 'input' }, inputs: [], pendingShape: shape ? [...shape] : null, layout: 'channels-first' });
    return { ...input, trace: { kind: 'node', node: id } };
  }

  private nameModules(value: Value, path: string, depth: number): void {
    if (depth > 24) return;
    const key = value as object;
    if (value.t === 'layer' || value.t === 'parameter') {
      if (!this.paths.has(key)) this.paths.set(key, path);
      return;
    }
    if (value.t === 'instance') {
      if (!value.cls.isModule || this.paths.has(key)) return;
      this.paths.set(key, path);
      for (const [name, v] of value.attrs) this.nameModules(v, join(path, name), depth + 1);
      return;
    }
    if (value.t === 'container') {
      if (this.paths.has(key)) return;
      this.paths.set(key, path);
      value.items.forEach((item, i) => this.nameModules(item, join(path, value.names?.[i] ?? String(i)), depth + 1));
      return;
    }
    if (value.t === 'moduledict') {
      if (this.paths.has(key)) return;
      this.paths.set(key, path);
      for (const [name, v] of value.entries) this.nameModules(v, join(path, name), depth + 1);
    }
  }

  enterModule(module: InstanceValue): void {
    this.moduleStack.push({ path: this.paths.get(module) ?? join(this.currentPath(), module.cls.name.toLowerCase()), module });
  }

  exitModule(): void {
    this.moduleStack.pop();
  }

  private currentPath(): string {
    return this.moduleStack[this.moduleStack.length - 1]?.path ?? '';
  }

  private opName(kind: string): string {
    const base = join(this.currentPath(), kind);
    const n = this.opCounts.get(base) ?? 0;
    this.opCounts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  private push(node: Omit<RecordedNode, 'id'>): number {
    const id = this.nodes.length;
    this.nodes.push({ id, ...node });
    return id;
  }

  private report(what: string, reason: string, source: GraphSource | undefined, inputNode: number | undefined): void {
    if (this.unsupported.length >= 50) return;
    // An unknown result climbs through every caller: one entry per place is enough.
    if (this.unsupported.some((u) => u.what === what && u.source?.line === source?.line && u.source?.character === source?.character)) return;
    this.unsupported.push({ what, reason, ...(source ? { source } : {}), ...(inputNode !== undefined ? { inputNode } : {}) });
  }

  /**
   * The graph nodes of an op's tensor inputs; undefined (after reporting, once) when one
   * is not traced: lost already, or a tensor the recorder does not follow.
   */
  private inputsOf(values: Value[], what: string, source: GraphSource | undefined, broadcasts = false): number[] | undefined {
    const ids: number[] = [];
    let lost = false;
    let untraced = false;
    if (!broadcasts && values.some((v) => v.t === 'tensor' && v.trace?.kind === 'node' && v.trace.expanded)) {
      this.report(what, 'an expanded tensor (`expand`, `expand_as`) is built only as an operand of an elementwise operation', source, undefined);
      return undefined;
    }
    for (const v of values) {
      if (v.t === 'parameter') {
        untraced = true;
        continue;
      }
      if (v.t !== 'tensor') continue;
      const trace = v.trace;
      if (trace?.kind === 'node') ids.push(trace.node);
      else if (trace?.kind === 'lost') lost = true;
      else untraced = true;
    }
    if (lost) return undefined;
    if (untraced) {
      this.report(what, 'it uses a tensor that is not computed from the model input by layers the analyser follows (a learned nn.Parameter, a buffer or a constant made in forward)', source, ids[0]);
      return undefined;
    }
    return ids;
  }

  private anyTraced(values: Value[]): boolean {
    return values.some((v) => v.t === 'tensor' && v.trace !== undefined && v.trace.kind !== 'constant');
  }

  private lose(result: Value): Value {
    if (result.t === 'tensor') return { ...result, trace: { kind: 'lost' } };
    if (result.t === 'tuple') return { t: 'tuple', items: result.items.map((i) => this.lose(i)) };
    return result;
  }

  private withTrace(result: Value, trace: TensorTrace): Value {
    return result.t === 'tensor' ? { ...result, trace } : result;
  }

  /** Adds a node for `op` and returns the result carrying it. */
  private emit(op: GraphOp, inputs: number[], result: Value, name: string, source: GraphSource | undefined, layout?: GraphLayout, weightsOf?: object): Value {
    if (result.t !== 'tensor') return result;
    const shape = result.cell.lazy ? null : result.cell.shape;
    const id = this.push({
      name,
      op,
      inputs,
      pendingShape: shape ? [...shape] : null,
      layout: layout ?? this.layoutOf(result.layout, inputs, op, shape),
      ...(source ? { source } : {}),
      ...(weightsOf ? { weightsOf } : {}),
    });
    return { ...result, trace: { kind: 'node', node: id } };
  }

  private layoutOf(interpreterLayout: Layout | undefined, inputs: number[], op: GraphOp, shape: ShapeDim[] | null): GraphLayout {
    const first = inputs[0] !== undefined ? this.nodes[inputs[0]] : undefined;
    const rank = shape?.length ?? 0;
    if (op.op === 'linear' || op.op === 'embedding' || op.op === 'layernorm' || op.op === 'matmul' || op.op === 'attention') return 'channels-last';
    if (op.op === 'permute') {
      // Where the input's channel axis goes: NCHW → NHWC is channels-last.
      const inRank = first?.pendingShape?.length ?? rank;
      const channel = first?.layout === 'channels-first' ? 1 : inRank - 1;
      return op.axes.indexOf(channel) === 1 && rank > 2 ? 'channels-first' : 'channels-last';
    }
    if (op.op === 'flatten' || op.op === 'reshape') {
      // (N, C) -> (N, C, 1, 1), as squeeze-and-excitation writes it, is an NCHW tensor.
      const grown = first?.pendingShape?.length === 2 && rank > 2 && shape?.[1] === first.pendingShape[1] && shape.slice(2).every((d) => d === 1);
      if (grown) return 'channels-first';
      if (rank <= 2 || first?.layout !== 'channels-first') return 'channels-last';
      const before = first.pendingShape;
      return before && before.length >= 2 && before[0] === shape?.[0] && before[1] === shape?.[1] ? 'channels-first' : 'channels-last';
    }
    if (interpreterLayout && !first) return interpreterLayout;
    if (['conv', 'batchnorm', 'groupnorm', 'pool', 'adaptive-pool', 'upsample'].includes(op.op)) return 'channels-first';
    return first?.layout ?? interpreterLayout ?? 'channels-last';
  }

  /** Where a traced op failed: the unsupported entry, and the result marked lost. */
  private fail(what: string, reason: string, source: GraphSource | undefined, inputs: Value[], result: Value): Value {
    const ids = inputs.flatMap((v) => (v.t === 'tensor' && v.trace?.kind === 'node' ? [v.trace.node] : []));
    if (inputs.some((v) => v.t === 'tensor' && v.trace?.kind === 'lost')) return this.lose(result);
    this.report(what, reason, source, ids[0]);
    return this.lose(result);
  }

  layer(module: Extract<Value, { t: 'layer' }>, args: CallArgs, result: Value, node: PyNode | undefined, file: FileInfo): Value {
    const input = args.positional[0];
    if (input?.t !== 'tensor') return result;
    const path = this.paths.get(module);
    const desc = module.desc;
    const callSource = node ? sourceOf(node, file) : undefined;
    const what = path !== undefined && path !== '' ? `${path} (${desc.type.replace(/^unknown:/, '')})` : desc.type.replace(/^unknown:/, '');
    const mapped = layerGraphOp(desc, this.constructorArgs.get(module));
    if (input.trace?.kind === 'lost') {
      if ('op' in mapped && isWeightedOp(mapped)) this.skippedWeighted++;
      return this.lose(result);
    }
    // nn.Embedding over torch.arange(T): learned position embeddings.
    if (input.trace?.kind === 'constant' && input.trace.what === 'positions' && 'op' in mapped && mapped.op === 'embedding') {
      // The positions run along the token sequence: the model's (N, T) input gives T.
      const tokens = this.nodes[0]?.pendingShape;
      if (tokens?.length !== 2 || tokens[1] !== input.trace.length) return this.fail(what, 'only position embeddings over the token sequence of the model input are built', callSource, [], result);
      const name = path || this.opName('embedding');
      return this.emit({ ...mapped, positions: true }, [0], result, name, this.definitionOf(module) ?? callSource, 'channels-last', module);
    }
    if ('unsupported' in mapped) return this.fail(what, mapped.unsupported, this.definitionOf(module) ?? callSource, [input], result);
    fitToInput(mapped, concreteShape(input));
    const mismatch = inputMismatch(mapped, concreteShape(input));
    if (mismatch) {
      // A wrong input shape or a bug in the model: no prefix is offered around it.
      if (input.trace?.kind === 'node') this.report(what, mismatch, callSource ?? this.definitionOf(module), undefined);
      return this.lose(result);
    }
    const operands = mapped.op === 'attention' ? attentionOperands(args) : [input];
    if (!operands) return this.fail(what, 'only self-attention and cross-attention with query, key and value given as tensors are built (no masks)', callSource, [input], result);
    const inputs = this.inputsOf(operands, what, callSource);
    if (!inputs) {
      if (isWeightedOp(mapped)) this.skippedWeighted++;
      return this.lose(result);
    }
    const name = path || this.opName(desc.type.toLowerCase());
    const shares = opHasParameters(mapped) ? this.firstUse.get(module) : undefined;
    const out = mapped.op === 'attention' && result.t === 'tuple' ? result.items[0] ?? result : result;
    const traced = this.emit(mapped, inputs, out, name, this.definitionOf(module) ?? callSource, undefined, opHasParameters(mapped) ? module : undefined);
    if (traced.t === 'tensor' && traced.trace?.kind === 'node') {
      const id = traced.trace.node;
      if (shares !== undefined) this.nodes[id]!.sharesWeightsWith = shares;
      else if (opHasParameters(mapped)) this.firstUse.set(module, id);
    }
    if (result.t === 'tuple') return { t: 'tuple', items: [traced, ...result.items.slice(1).map((i) => this.lose(i))] };
    return traced;
  }

  /** The tied weights that matter: those of layers in the graph. */
  tiesIn(nodes: RecordedNode[]): string[] {
    const used = new Set(nodes.map((n) => n.weightsOf).filter((w): w is object => w !== undefined));
    return this.tiedWeights.filter((t) => used.has(t.layer)).map((t) => t.text);
  }

  private definitionOf(module: object): GraphSource | undefined {
    return this.assignedSites.get(module) ?? this.sites.get(module);
  }

  call(fn: Value, args: CallArgs, result: Value, node: PyNode, file: FileInfo): Value {
    if (!this.recording) {
      // The file's own code has built the model and run it once: what follows (a training loop) adds nothing.
      if (this.root && fn === this.root) throw new CaptureComplete('the file ran the model');
      return this.constantCall(fn, args, result);
    }
    const source = sourceOf(node, file);
    const text = shortText(node, file);
    const tensorArgs = [...args.positional, ...args.keywords.values()];
    if (fn.t === 'layer') return result;
    if (fn.t === 'builtin') {
      if (fn.name.startsWith('F.')) return this.functional(fn.name.slice(2), args, result, source, text);
      if (fn.name.startsWith('torch.')) return this.torchFunction(fn.name.slice(6), args, result, source, text, node, file);
      if (fn.name.startsWith('tensor.') && fn.self?.t === 'tensor') return this.tensorMethod(fn.name.slice(7), fn.self, args, result, source, text, node, file);
      if (fn.name.startsWith('tensor.') && fn.self?.t === 'parameter') return this.fail(text, 'a learned nn.Parameter used directly in forward is not built', source, [], result);
    }
    // A user function, module or lambda: its result carries the nodes of what ran inside.
    const traced = this.anyTraced(tensorArgs.concat(fn.t === 'builtin' && fn.self ? [fn.self] : []));
    if (traced && result.t === 'unknown' && fn.t !== 'builtin') {
      const reason = fn.t === 'unknown' || fn.t === 'namespace'
        ? 'not a function or layer the analyser knows (from a library or a file it cannot read)'
        : 'it could not be followed to a tensor result (see the log)';
      return this.fail(text, reason, source, tensorArgs, result);
    }
    if (!hasUntracedTensor(result) || !traced) return result;
    return this.fail(text, fn.t === 'instance' || fn.t === 'container' ? 'the module could not be followed to its result (see the log)' : 'not an operation the analyser can build', source, tensorArgs, result);
  }

  /** In a constructor: buffers such as `torch.tril(torch.ones(T, T)).view(1, 1, T, T)` keep what they are. */
  private constantCall(fn: Value, args: CallArgs, result: Value): Value {
    if (fn.t !== 'builtin' || result.t !== 'tensor') return result;
    if (fn.name.startsWith('torch.')) {
      const name = fn.name.slice(6);
      const x = args.positional[0];
      if (name === 'tril' && x?.t === 'tensor' && x.trace?.kind === 'constant') return this.withTrace(result, { kind: 'constant', what: 'causal-tril' });
      return this.withTrace(result, { kind: 'constant', what: 'other' });
    }
    if (fn.name.startsWith('tensor.') && fn.self?.t === 'tensor' && fn.self.trace?.kind === 'constant') {
      return this.withTrace(result, ['view', 'reshape', 'unsqueeze', 'to', 'float', 'bool'].includes(fn.name.slice(7)) ? fn.self.trace : { kind: 'constant', what: 'other' });
    }
    return result;
  }

  private functional(name: string, args: CallArgs, result: Value, source: GraphSource, text: string): Value {
    const x = args.positional[0] ?? args.keywords.get('input');
    if (x?.t !== 'tensor') return result;
    const a = args.positional;
    const kw = args.keywords;
    const activation = activationNames[name];
    if (activation) {
      const op = activationOp(activation, a.slice(1), kw);
      if ('unsupported' in op) return this.fail(text, op.unsupported, source, [x], result);
      return this.unaryNode(op, x, result, this.opName(name.replace(/_$/, '')), source, text);
    }
    if (/^dropout[123]?d?$/.test(name) || name === 'alpha_dropout') {
      const p = numberOf(a[1] ?? kw.get('p')) ?? 0.5;
      return this.unaryNode({ op: 'dropout', rate: p }, x, result, this.opName('dropout'), source, text);
    }
    if (name === 'pad') {
      const pads = this.padOp(x, a[1] ?? kw.get('pad'), a[2] ?? kw.get('mode'), a[3] ?? kw.get('value'));
      if ('unsupported' in pads) return this.fail(text, pads.unsupported, source, [x], result);
      return this.unaryNode(pads, x, result, this.opName('pad'), source, text);
    }
    if (name === 'layer_norm') {
      const shapeArg = a[1] ?? kw.get('normalized_shape');
      const weight = a[2] ?? kw.get('weight');
      const bias = a[3] ?? kw.get('bias');
      const eps = numberOf(a[4] ?? kw.get('eps')) ?? 1e-5;
      const normalizedShape = intList(shapeArg);
      if (!normalizedShape) return this.fail(text, 'the normalized shape is not known', source, [x], result);
      const affine = weight !== undefined && weight.t !== 'none';
      if (affine && weight.t !== 'parameter') return this.fail(text, 'a layer_norm weight that is not the module\'s own nn.Parameter is not built', source, [x], result);
      const hasBias = bias !== undefined && bias.t === 'parameter';
      // The parameters belong to the module whose forward calls layer_norm: name it after that module.
      const path = this.currentPath();
      const owner = affine ? (weight as object) : undefined;
      const inputs = this.inputsOf([x], text, source);
      if (!inputs) return this.lose(result);
      const shares = owner ? this.firstUse.get(owner) : undefined;
      const module = this.moduleStack[this.moduleStack.length - 1]?.module;
      const defined = affine && module ? this.definitionOf(module) : undefined;
      const traced = this.emit({ op: 'layernorm', normalizedShape, affine, bias: hasBias, epsilon: eps }, inputs, result, affine && path ? path : this.opName('layer_norm'), defined ?? source, undefined, owner);
      if (owner && traced.t === 'tensor' && traced.trace?.kind === 'node') {
        if (shares !== undefined) this.nodes[traced.trace.node]!.sharesWeightsWith = shares;
        else this.firstUse.set(owner, traced.trace.node);
      }
      return traced;
    }
    if (name === 'scaled_dot_product_attention') return this.scaledDotProduct(args, result, source, text);
    const layerType = functionalTable.get(name);
    if (layerType && layerType !== 'Identity') {
      const spec = layerTable.get(layerType)!;
      const kwParams = new Map([...kw].map(([k, v]) => [k, toParam(v)] as const));
      const params = bindLayerParams(spec, a.slice(1).map(toParam), kwParams);
      if (!params) return this.fail(text, 'its arguments are not understood', source, [x], result);
      const mapped = layerGraphOp({ type: layerType, params }, { positional: a.slice(1), keywords: kw });
      if ('unsupported' in mapped) return this.fail(text, mapped.unsupported, source, [x], result);
      fitToInput(mapped, concreteShape(x));
      return this.unaryNode(mapped, x, result, this.opName(name), source, text);
    }
    return this.fail(text, `F.${name} is not an operation the probe can build`, source, [x], result);
  }

  /** An op with one tensor input. */
  private unaryNode(op: GraphOp, x: TensorValue, result: Value, name: string, source: GraphSource | undefined, text: string): Value {
    const inputs = this.inputsOf([x], text, source);
    if (!inputs) return this.lose(result);
    return this.emit(op, inputs, result, name, source);
  }

  private padOp(x: TensorValue, padsArg: Value | undefined, mode: Value | undefined, value: Value | undefined): GraphOp | { unsupported: string } {
    const shape = concreteShape(x);
    const pads = intList(padsArg);
    if (!shape || !pads || pads.length % 2 !== 0 || pads.length / 2 > shape.length) return { unsupported: 'the padding is not known as whole numbers' };
    if (mode && mode.t === 'str' && mode.v !== 'constant') return { unsupported: `only zero padding is built, not mode '${mode.v}'` };
    if (value && value.t !== 'none' && numberOf(value) !== 0) return { unsupported: 'only zero padding is built' };
    const out: [number, number][] = shape.map(() => [0, 0]);
    for (let i = 0; i < pads.length / 2; i++) out[shape.length - 1 - i] = [pads[2 * i]!, pads[2 * i + 1]!];
    if (out.some(([b, e]) => b < 0 || e < 0)) return { unsupported: 'negative padding (cropping) is not built' };
    return { op: 'pad', pads: out };
  }

  /** F.scaled_dot_product_attention as the ops it stands for: q kᵀ / √d, causal mask, softmax, · v. */
  private scaledDotProduct(args: CallArgs, result: Value, source: GraphSource, text: string): Value {
    const [q, k, v] = [args.positional[0] ?? args.keywords.get('query'), args.positional[1] ?? args.keywords.get('key'), args.positional[2] ?? args.keywords.get('value')];
    const mask = args.positional[3] ?? args.keywords.get('attn_mask');
    const causal = args.positional[5] ?? args.keywords.get('is_causal');
    const scale = args.keywords.get('scale');
    if (q?.t !== 'tensor' || k?.t !== 'tensor' || v?.t !== 'tensor') return this.fail(text, 'query, key and value must be tensors', source, [q ?? result], result);
    if ((mask && mask.t !== 'none') || (scale && scale.t !== 'none')) return this.fail(text, 'an explicit attention mask or scale is not built', source, [q], result);
    const isCausal = causal?.t === 'bool' ? causal.v : false;
    if (typeof isCausal !== 'boolean') return this.fail(text, 'is_causal is not known', source, [q], result);
    const qs = concreteShape(q);
    const ks = concreteShape(k);
    if (!qs || !ks || qs.length < 2 || ks.length !== qs.length) return this.fail(text, 'the shapes of query and key are not known', source, [q], result);
    const inputs = this.inputsOf([q, k, v], text, source);
    if (!inputs) return this.lose(result);
    const rank = ks.length;
    const axes = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
    const kT = this.emit({ op: 'permute', axes }, [inputs[1]!], shaped(k, axes.map((ax) => ks[ax]!)), this.opName('transpose'), source, 'channels-last');
    const scoresShape = [...qs.slice(0, -1), ks[rank - 2]!];
    let scores = this.emit({ op: 'matmul' }, [inputs[0]!, nodeOf(kT)!], shaped(q, scoresShape), this.opName('matmul'), source, 'channels-last');
    scores = this.emit({ op: 'scale', factor: 1 / Math.sqrt(qs[qs.length - 1]!), offset: 0 }, [nodeOf(scores)!], scores, this.opName('scale'), source, 'channels-last');
    if (isCausal) scores = this.emit({ op: 'causal-mask' }, [nodeOf(scores)!], scores, this.opName('causal_mask'), source, 'channels-last');
    scores = this.emit({ op: 'activation', fn: 'softmax', axis: -1 }, [nodeOf(scores)!], scores, this.opName('softmax'), source, 'channels-last');
    return this.emit({ op: 'matmul' }, [nodeOf(scores)!, inputs[2]!], result, this.opName('matmul'), source, 'channels-last');
  }

  private torchFunction(name: string, args: CallArgs, result: Value, source: GraphSource, text: string, node: PyNode, file: FileInfo): Value {
    const a = args.positional;
    const x = a[0];
    switch (name) {
      case 'ones': case 'zeros': case 'ones_like': case 'zeros_like': case 'full': case 'full_like': {
        const fill = name.startsWith('ones') ? 1 : name.startsWith('zeros') ? 0 : numberOf(a[1] ?? args.keywords.get('fill_value'));
        return this.withTrace(result, { kind: 'constant', what: 'other', ...(fill !== undefined ? { value: fill } : {}) });
      }
      case 'randn': case 'rand': case 'empty': case 'randint': case 'eye': case 'randn_like': case 'rand_like':
        return this.withTrace(result, { kind: 'constant', what: 'other' });
      case 'arange': {
        const nums = a.map(numberOf);
        const start = nums.length >= 2 ? nums[0] : 0;
        const stop = nums.length >= 2 ? nums[1] : nums[0];
        const step = nums[2] ?? 1;
        if (start === 0 && step === 1 && stop !== undefined && Number.isInteger(stop)) return this.withTrace(result, { kind: 'constant', what: 'positions', length: stop });
        return this.withTrace(result, { kind: 'constant', what: 'other' });
      }
      case 'tril':
        if (x?.t === 'tensor' && x.trace?.kind === 'constant') return this.withTrace(result, { kind: 'constant', what: 'causal-tril' });
        break;
      case 'add': case 'sub': case 'mul': case 'div':
        return result; // traced by the binary hook
      case 'cat': case 'concat': {
        const items = x?.t === 'list' || x?.t === 'tuple' ? x.items : undefined;
        const dim = numberOf(a[1] ?? args.keywords.get('dim')) ?? 0;
        if (!items || !items.every((i) => i.t === 'tensor') || result.t !== 'tensor' || !result.cell.shape) return this.fail(text, 'the tensors joined are not known', source, items ?? [], result);
        const inputs = this.inputsOf(items, text, source);
        if (!inputs) return this.lose(result);
        const axis = dim < 0 ? dim + result.cell.shape.length : dim;
        return this.emit({ op: 'concat', axis }, inputs, result, this.opName('cat'), source);
      }
      case 'flatten': case 'relu': case 'sigmoid': case 'tanh': case 'softmax': case 'mean': case 'sum': case 'amax': case 'matmul': case 'bmm':
      case 'transpose': case 'permute': case 'reshape': case 'unsqueeze': case 'squeeze': case 'chunk': case 'split': case 'gelu':
        if (x?.t === 'tensor') return this.tensorMethod(name, x, { positional: a.slice(1), keywords: args.keywords }, result, source, text, node, file);
        break;
      case 'no_grad': case 'manual_seed': case 'set_grad_enabled': case 'is_tensor': case 'numel': case 'finfo':
        return result;
      default:
        break;
    }
    if (!hasUntracedTensor(result) && !this.anyTraced(a)) return result;
    return this.fail(text, `torch.${name} is not an operation the probe can build`, source, a, result);
  }

  private tensorMethod(name: string, x: TensorValue, args: CallArgs, result: Value, source: GraphSource, text: string, node: PyNode, file: FileInfo): Value {
    const a = args.positional;
    const kw = args.keywords;
    if (!containsTensor(result)) return result; // size(), dim(), item(): numbers
    // Constants (a tril mask buffer, positions) keep their kind through views and slices.
    if (x.trace?.kind === 'constant') {
      if (['view', 'reshape', 'unsqueeze', 'squeeze', 'contiguous', 'to', 'type_as', 'float', 'bool', 'long', 'int', 'expand', 'view_as', 'cuda', 'cpu'].includes(name)) return this.withTrace(result, x.trace);
      if (name === 'masked_fill' || name === 'masked_fill_') return this.fail(text, 'masking a constant is not built', source, [], result);
      return this.withTrace(result, { kind: 'constant', what: 'other' });
    }
    if (sameData.has(name)) return x.trace ? this.withTrace(result, x.trace) : result;
    const shape = concreteShape(x);
    const activation = activationNames[name];
    if (activation) {
      const op = activationOp(activation, a, kw);
      if ('unsupported' in op) return this.fail(text, op.unsupported, source, [x], result);
      return this.unaryNode(op, x, result, this.opName(name.replace(/_$/, '')), source, text);
    }
    switch (name) {
      case 'add': case 'add_': case 'mul': case 'mul_': case 'sub': case 'div':
        return result; // traced by the binary hook
      case 'expand_as': case 'expand': {
        // Broadcasting does the same in an elementwise op, which is the only place an expanded node may go.
        const inputs = this.inputsOf([x], text, source);
        if (!inputs) return this.lose(result);
        return this.withTrace(result, { kind: 'node', node: inputs[0]!, expanded: true });
      }
      case 'view': case 'reshape': case 'view_as': case 'reshape_as': case 'unsqueeze': case 'squeeze':
        if (result.t !== 'tensor' || !result.cell.shape || result.cell.shape.some((d) => d === null)) return this.fail(text, 'the target shape is not known', source, [x], result);
        return this.unaryNode({ op: 'reshape' }, x, result, this.opName(name === 'view' || name === 'view_as' ? 'view' : 'reshape'), source, text);
      case 'flatten': {
        const start = numberOf(a[0] ?? kw.get('start_dim')) ?? 0;
        const end = numberOf(a[1] ?? kw.get('end_dim')) ?? -1;
        return this.unaryNode({ op: 'flatten', startDim: start, endDim: end }, x, result, this.opName('flatten'), source, text);
      }
      case 'permute': {
        const order = (a.length === 1 && (a[0]?.t === 'tuple' || a[0]?.t === 'list') ? a[0].items : a).map(numberOf);
        if (!shape || order.length !== shape.length || order.some((o) => o === undefined)) return this.fail(text, 'the axes are not known', source, [x], result);
        const axes = order.map((o) => (o! < 0 ? o! + shape.length : o!));
        return this.unaryNode({ op: 'permute', axes }, x, result, this.opName('permute'), source, text);
      }
      case 'transpose': case 'swapaxes': case 't': {
        if (!shape) return this.fail(text, 'the shape is not known', source, [x], result);
        const d0 = name === 't' ? 0 : numberOf(a[0]);
        const d1 = name === 't' ? 1 : numberOf(a[1]);
        if (d0 === undefined || d1 === undefined) return this.fail(text, 'the axes are not known', source, [x], result);
        const i = d0 < 0 ? d0 + shape.length : d0;
        const j = d1 < 0 ? d1 + shape.length : d1;
        const axes = shape.map((_, k) => (k === i ? j : k === j ? i : k));
        return this.unaryNode({ op: 'permute', axes }, x, result, this.opName('transpose'), source, text);
      }
      case 'mean': case 'sum': case 'amax': {
        if (!shape) return this.fail(text, 'the shape is not known', source, [x], result);
        const dimArg = a[0] ?? kw.get('dim');
        const keep = a[1] ?? kw.get('keepdim');
        const dims = dimArg === undefined || dimArg.t === 'none' ? shape.map((_, i) => i) : intList(dimArg);
        const keepDims = keep === undefined ? false : keep.t === 'bool' && typeof keep.v === 'boolean' ? keep.v : undefined;
        if (!dims || keepDims === undefined) return this.fail(text, 'the axes are not known', source, [x], result);
        const axes = dims.map((d) => (d < 0 ? d + shape.length : d));
        return this.unaryNode({ op: 'reduce', kind: name === 'amax' ? 'max' : name, axes, keepDims }, x, result, this.opName(name), source, text);
      }
      case 'matmul': case 'bmm': {
        const other = a[0];
        if (other?.t !== 'tensor') return this.fail(text, 'the other operand is not a tensor', source, [x], result);
        const inputs = this.inputsOf([x, other], text, source);
        if (!inputs) return this.lose(result);
        return this.emit({ op: 'matmul' }, inputs, result, this.opName('matmul'), source, 'channels-last');
      }
      case 'split': case 'chunk': {
        const dim = numberOf(a[1] ?? kw.get('dim')) ?? 0;
        if (result.t !== 'tuple' || !shape) return this.fail(text, 'the pieces are not known', source, [x], result);
        const axis = dim < 0 ? dim + shape.length : dim;
        const sizes = result.items.map((p) => (p.t === 'tensor' && p.cell.shape ? p.cell.shape[axis] : null));
        const size = sizes[0];
        if (typeof size !== 'number' || !sizes.every((s) => s === size)) return this.fail(text, 'only a split into equal pieces is built', source, [x], result);
        const inputs = this.inputsOf([x], text, source);
        if (!inputs) return this.lose(result);
        const items = result.items.map((piece, index) => this.emit({ op: 'split-take', axis, size, index }, inputs, piece, this.opName(`split${index}`), source));
        return { t: 'tuple', items };
      }
      case 'masked_fill': case 'masked_fill_': {
        const mask = a[0] ?? kw.get('mask');
        const fill = argText(node, file, 1) ?? '';
        if (mask?.t === 'tensor' && mask.trace?.kind === 'constant' && mask.trace.what === 'causal-drop' && /-\s*(?:float\(\s*["']inf|math\.inf|torch\.inf|inf\b|1e\d+|\d{4,})|finfo\([^)]*\)\.min/.test(fill)) {
          return this.unaryNode({ op: 'causal-mask' }, x, result, this.opName('causal_mask'), source, text);
        }
        return this.fail(text, 'only a causal mask (a lower-triangular `tril` buffer, filled with -inf above the diagonal) is built', source, [x], result);
      }
      default:
        return this.fail(text, `tensor.${name}() is not an operation the probe can build`, source, [x], result);
    }
  }

  binary(op: string, a: Value, b: Value, result: Value, node: PyNode, file: FileInfo): Value {
    const source = sourceOf(node, file);
    const text = shortText(node, file);
    const ta = a.t === 'tensor' ? a : undefined;
    const tb = b.t === 'tensor' ? b : undefined;
    if (a.t === 'parameter' || b.t === 'parameter') return this.fail(text, 'a learned nn.Parameter used directly in forward (a layer scale, a position embedding table) is not built', source, [a, b], result);
    const isFilled = (u: TensorValue, v: TensorValue): boolean => u.trace?.kind === 'constant' && u.trace.value !== undefined && v.trace?.kind === 'node' && broadcastsInto(u, v);
    if (ta && tb && !isFilled(ta, tb) && !isFilled(tb, ta)) {
      // Constants with constants stay constants (mask arithmetic).
      if (ta.trace?.kind === 'constant' && tb.trace?.kind === 'constant') return this.withTrace(result, { kind: 'constant', what: 'other' });
      const kind = op === '+' ? 'add' : op === '-' ? 'sub' : op === '*' ? 'mul' : op === '/' ? 'div' : op === '@' ? 'matmul' : undefined;
      const [sa, sb] = [concreteShape(ta), concreteShape(tb)];
      if (sa && sb && kind !== 'matmul' && result.t === 'tensor' && (!result.cell.shape || result.cell.shape.some((d) => d === null))) {
        // A bug in the model, not a gap in the recorder: no prefix is offered around it.
        this.report(text, `the operands' shapes (${sa.join(', ')}) and (${sb.join(', ')}) do not broadcast (the shape check reports this line)`, source, undefined);
        return this.lose(result);
      }
      if (!kind) return this.fail(text, `the operator ${op} between tensors is not built`, source, [ta, tb], result);
      const inputs = this.inputsOf([ta, tb], text, source, kind !== 'matmul');
      if (!inputs) return this.lose(result);
      if (kind === 'matmul') return this.emit({ op: 'matmul' }, inputs, result, this.opName('matmul'), source, 'channels-last');
      if (kind === 'add') {
        const skip = this.skipOperand(inputs[0]!, inputs[1]!, ta.depth, tb.depth);
        if (skip !== undefined) return this.emit({ op: 'add', residual: true, skipInput: skip }, inputs, result, this.opName('add'), source);
      }
      return this.emit({ op: kind }, inputs, result, this.opName(kind), source);
    }
    // A filled constant no bigger than the tensor (`y + torch.zeros_like(y)`) is a number.
    const filled = (u: TensorValue | undefined, v: TensorValue | undefined): number | undefined =>
      u?.trace?.kind === 'constant' && u.trace.value !== undefined && v?.trace?.kind === 'node' && broadcastsInto(u, v) ? u.trace.value : undefined;
    const fromA = filled(ta, tb);
    const fromB = filled(tb, ta);
    const t = fromA !== undefined ? tb : fromB !== undefined ? ta : ta ?? tb;
    if (!t) return result;
    if (t.trace?.kind === 'constant') return this.withTrace(result, t.trace.what === 'causal-tril' ? t.trace : { kind: 'constant', what: 'other' });
    const other = fromA !== undefined || fromB !== undefined ? undefined : ta && tb ? undefined : ta ? b : a;
    const c = fromA ?? fromB ?? (other ? numberOf(other) : undefined);
    if (c === undefined || !Number.isFinite(c)) return this.fail(text, 'a tensor with a value the analyser does not know', source, [t], result);
    let scale: { factor: number; offset: number } | undefined;
    const tensorLeft = t === ta;
    if (op === '*') scale = { factor: c, offset: 0 };
    else if (op === '/' && tensorLeft && c !== 0) scale = { factor: 1 / c, offset: 0 };
    else if (op === '+') scale = { factor: 1, offset: c };
    else if (op === '-') scale = tensorLeft ? { factor: 1, offset: -c } : { factor: -1, offset: c };
    if (!scale) return this.fail(text, `the operator ${op} with a number is not built`, source, [t], result);
    return this.unaryNode({ op: 'scale', ...scale }, t, result, this.opName('scale'), source, text);
  }

  unary(op: string, operand: Value, result: Value, node: PyNode, file: FileInfo): Value {
    if (operand.t !== 'tensor') return result;
    const source = sourceOf(node, file);
    if (operand.trace?.kind === 'constant') return this.withTrace(result, { kind: 'constant', what: 'other' });
    if (op === '-') return this.unaryNode({ op: 'scale', factor: -1, offset: 0 }, operand, { ...operand, trace: undefined } as Value, this.opName('neg'), source, shortText(node, file));
    return this.fail(shortText(node, file), `the operator ${op} is not built`, source, [operand], result);
  }

  compare(ops: string[], operands: Value[], _node: PyNode, _file: FileInfo): Value | undefined {
    if (ops.length !== 1 || operands.length !== 2) return undefined;
    const [l, r] = operands;
    const mask = l?.t === 'tensor' ? l : r?.t === 'tensor' ? r : undefined;
    const other = mask === l ? r : l;
    if (!mask || mask.trace?.kind !== 'constant' || mask.trace.what !== 'causal-tril') return undefined;
    const c = other ? numberOf(other) : undefined;
    const op = ops[0];
    if (c === 0 && op === '==') return { ...mask, trace: { kind: 'constant', what: 'causal-drop' } };
    if ((c === 0 && op === '!=') || (c === 1 && op === '==')) return { ...mask, trace: { kind: 'constant', what: 'causal-keep' } };
    return { ...mask, trace: { kind: 'constant', what: 'other' } };
  }

  subscript(target: Value, index: Value, result: Value, node: PyNode, file: FileInfo): Value {
    const source = sourceOf(node, file);
    const text = shortText(node, file);
    if (target.t === 'parameter') return this.fail(text, 'slicing a learned nn.Parameter in forward is not built', source, [], result);
    if (target.t !== 'tensor') return result;
    if (target.trace?.kind === 'constant') return this.withTrace(result, target.trace.what === 'causal-tril' ? target.trace : { kind: 'constant', what: 'other' });
    if (result.t !== 'tensor') return result;
    const shape = concreteShape(target);
    if (!shape) return this.fail(text, 'the shape is not known', source, [target], result);
    const indices = index.t === 'tuple' ? index.items : [index];
    const ranges = shape.map((length) => ({ start: 0, stop: length, step: 1 }));
    // The result's shape, worked out here: the interpreter does not follow `x[:, [-1], :]`.
    const outShape: number[] = [];
    let axis = 0;
    let reshaped = false;
    for (let i = 0; i < indices.length; i++) {
      const ix = indices[i]!;
      if (ix.t === 'ellipsis') {
        const rest = indices.slice(i + 1).filter((v) => v.t !== 'none').length;
        while (axis < shape.length - rest) outShape.push(shape[axis++]!);
        continue;
      }
      if (ix.t === 'none') {
        reshaped = true;
        outShape.push(1);
        continue;
      }
      const length = shape[axis];
      if (length === undefined) return this.fail(text, 'too many indices', source, [target], result);
      if (ix.t === 'slice') {
        const step = ix.step.t === 'none' ? 1 : numberOf(ix.step);
        let start = ix.start.t === 'none' ? 0 : numberOf(ix.start);
        let stop = ix.stop.t === 'none' ? length : numberOf(ix.stop);
        if (step === undefined || start === undefined || stop === undefined || step <= 0) return this.fail(text, 'the slice bounds are not known', source, [target], result);
        if (start < 0) start += length;
        if (stop < 0) stop += length;
        const range = { start: clamp(start, 0, length), stop: clamp(stop, 0, length), step };
        ranges[axis] = range;
        outShape.push(Math.max(0, Math.ceil((range.stop - range.start) / step)));
      } else if (ix.t === 'int' || (ix.t === 'list' && ix.items.length === 1 && ix.items[0]?.t === 'int')) {
        // x[:, -1] drops the axis, x[:, [-1]] keeps it.
        let at = numberOf(ix.t === 'int' ? ix : ix.items[0]!);
        if (at === undefined) return this.fail(text, 'the index is not known', source, [target], result);
        if (at < 0) at += length;
        if (at < 0 || at >= length) return this.fail(text, `index ${at} is out of range for an axis of ${length}`, source, [target], result);
        ranges[axis] = { start: at, stop: at + 1, step: 1 };
        if (ix.t === 'int') reshaped = true;
        else outShape.push(1);
      } else {
        return this.fail(text, 'indexing with tensors or lists of several indices is not built', source, [target], result);
      }
      axis++;
    }
    while (axis < shape.length) outShape.push(shape[axis++]!);
    if (outShape.some((d) => d === 0)) return this.fail(text, 'the slice is empty', source, [target], result);
    const out = shaped(result, outShape);
    const inputs = this.inputsOf([target], text, source);
    if (!inputs) return this.lose(out);
    const full = ranges.every((r, i) => r.start === 0 && r.stop === shape[i] && r.step === 1);
    if (full && !reshaped) return { ...out, trace: { kind: 'node', node: inputs[0]! } } as Value;
    let current: Value = out;
    let input = inputs[0]!;
    if (!full) {
      const slicedShape = ranges.map((r) => Math.max(0, Math.ceil((r.stop - r.start) / r.step)));
      const sliced = this.emit({ op: 'slice', ranges }, [input], shaped(result, slicedShape), this.opName('slice'), source);
      input = nodeOf(sliced)!;
      current = sliced;
    }
    if (reshaped) current = this.emit({ op: 'reshape' }, [input], out, this.opName('reshape'), source);
    return current.t === 'tensor' ? { ...out, trace: current.trace } as Value : current;
  }

  /**
   * A residual addition: both operands come from one branch point. The skip operand is the
   * one with fewer layers since then (the identity or the shortcut); undefined when the
   * operands share no ancestor (token + position embeddings).
   */
  private skipOperand(left: number, right: number, leftDepth: number, rightDepth: number): 0 | 1 | undefined {
    const dl = this.distances(left);
    const dr = this.distances(right);
    let best: { branch: number; l: number; r: number } | undefined;
    for (const [n, l] of dl) {
      const r = dr.get(n);
      if (r === undefined) continue;
      if (!best || l + r < best.l + best.r) best = { branch: n, l, r };
    }
    if (!best) return undefined;
    if (best.l !== best.r) return best.l < best.r ? 0 : 1;
    if (leftDepth !== rightDepth) return leftDepth < rightDepth ? 0 : 1;
    return left < right ? 0 : 1;
  }

  /** Nodes on the way back from a node to the inputs, with the fewest weighted layers and ops between. */
  private distances(from: number): Map<number, number> {
    const dist = new Map<number, number>([[from, 0]]);
    const queue = [from];
    while (queue.length) {
      const n = queue.shift()!;
      const d = dist.get(n)!;
      const node = this.nodes[n]!;
      // Position embeddings read only the token sequence's length, not its values.
      if (node.op.op === 'embedding' && node.op.positions) continue;
      for (const i of node.inputs) {
        if (!dist.has(i)) {
          dist.set(i, d + 1);
          queue.push(i);
        }
      }
    }
    return dist;
  }
}

/** A scalar upsampling factor applies to every spatial axis of the input, however many. */
function fitToInput(op: GraphOp, shape: number[] | undefined): void {
  if (op.op !== 'upsample' || !shape || shape.length < 3) return;
  const spatial = shape.length - 2;
  if (op.scale.length !== spatial && op.scale.every((f) => f === op.scale[0])) {
    op.spatialDims = spatial;
    op.scale = Array.from({ length: spatial }, () => op.scale[0]!);
  }
}

/** Why a layer cannot take an input of this shape (the channels it was built for), if it cannot. */
function inputMismatch(op: GraphOp, shape: number[] | undefined): string | undefined {
  if (!shape) return undefined;
  const got = `(${shape.join(', ')})`;
  switch (op.op) {
    case 'conv':
      if (shape.length !== op.spatialDims + 2) return `a ${op.spatialDims}-D convolution takes ${op.spatialDims + 2}-D input, not ${got}`;
      return shape[1] === op.inChannels ? undefined : `it expects ${op.inChannels} input channels, the input is ${got}`;
    case 'linear':
      return shape[shape.length - 1] === op.inFeatures ? undefined : `it expects ${op.inFeatures} input features, the input is ${got}`;
    case 'batchnorm': case 'groupnorm':
      return shape.length >= 2 && shape[1] === op.channels ? undefined : `it expects ${op.channels} channels, the input is ${got}`;
    case 'layernorm': {
      const tail = shape.slice(shape.length - op.normalizedShape.length);
      return tail.join() === op.normalizedShape.join() ? undefined : `it normalizes over (${op.normalizedShape.join(', ')}), the input is ${got}`;
    }
    case 'attention':
      return shape[shape.length - 1] === op.embedDim ? undefined : `it expects ${op.embedDim} features, the input is ${got}`;
    default:
      return undefined;
  }
}

function attentionOperands(args: CallArgs): Value[] | undefined {
  const q = args.positional[0] ?? args.keywords.get('query');
  const k = args.positional[1] ?? args.keywords.get('key');
  const v = args.positional[2] ?? args.keywords.get('value');
  for (const masked of ['attn_mask', 'key_padding_mask']) {
    const m = args.keywords.get(masked);
    if (m && m.t !== 'none') return undefined;
  }
  if (args.positional.length > 3) return undefined;
  if (q?.t !== 'tensor' || k?.t !== 'tensor' || v?.t !== 'tensor') return undefined;
  return [q, k, v];
}

function activationOp(fn: ActivationFn, rest: Value[], kw: Map<string, Value>): GraphOp | { unsupported: string } {
  if (fn === 'softmax') {
    const dim = numberOf(rest[0] ?? kw.get('dim'));
    if (dim === undefined) return { unsupported: 'softmax without a known dim is not built' };
    return { op: 'activation', fn, axis: dim };
  }
  if (fn === 'leaky_relu') return { op: 'activation', fn, alpha: numberOf(rest[0] ?? kw.get('negative_slope')) ?? 0.01 };
  if (fn === 'elu') return { op: 'activation', fn, alpha: numberOf(rest[0] ?? kw.get('alpha')) ?? 1 };
  if (fn === 'gelu') {
    const approximate = kw.get('approximate');
    return { op: 'activation', fn: approximate?.t === 'str' && approximate.v === 'tanh' ? 'gelu_tanh' : 'gelu' };
  }
  if (fn === 'softplus') {
    const beta = numberOf(rest[0] ?? kw.get('beta')) ?? 1;
    if (beta !== 1) return { unsupported: 'softplus with beta other than 1 is not built' };
  }
  return { op: 'activation', fn };
}

export function sourceOf(node: PyNode, file: FileInfo): GraphSource {
  return { uri: file.uri, line: node.startRow, character: node.startCol };
}

function shortText(node: PyNode, file: FileInfo): string {
  const text = nodeText(node, file.source).replace(/\s+/g, ' ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function argText(call: PyNode, file: FileInfo, index: number): string | undefined {
  const args = call.fields.arguments?.children.filter((c) => c.type !== 'comment' && c.type !== 'keyword_argument');
  const arg = args?.[index] ?? call.fields.arguments?.children.find((c) => c.type === 'keyword_argument' && c.fields.name?.text === 'value');
  return arg ? nodeText(arg, file.source) : undefined;
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Whether `small` broadcasts into `big` without changing big's shape. */
function broadcastsInto(small: TensorValue, big: TensorValue): boolean {
  const s = concreteShape(small);
  const b = concreteShape(big);
  if (!s || !b || s.length > b.length) return false;
  return s.every((d, i) => d === 1 || d === b[b.length - s.length + i]);
}

function containsTensor(v: Value): boolean {
  if (v.t === 'tensor') return true;
  if (v.t === 'tuple' || v.t === 'list') return v.items.some(containsTensor);
  return false;
}

function hasUntracedTensor(v: Value): boolean {
  if (v.t === 'tensor') return v.trace === undefined;
  if (v.t === 'tuple' || v.t === 'list') return v.items.some(hasUntracedTensor);
  return false;
}

function nodeOf(v: Value): number | undefined {
  return v.t === 'tensor' && v.trace?.kind === 'node' ? v.trace.node : undefined;
}

function shaped(v: TensorValue | Value, shape: number[]): Value {
  if (v.t !== 'tensor') return v;
  return { ...v, cell: { shape, lazy: false, suffix: '' }, trace: undefined } as TensorValue;
}

function concreteShape(t: TensorValue): number[] | undefined {
  const s = t.cell.lazy ? null : t.cell.shape;
  if (!s || !s.every((d) => typeof d === 'number')) return undefined;
  return s as number[];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

export function numberOf(v: Value | undefined): number | undefined {
  if (!v) return undefined;
  if (v.t === 'int') return isConcrete(v.v) ? v.v : undefined;
  if (v.t === 'float') return Number.isNaN(v.v) ? undefined : v.v;
  if (v.t === 'bool' && typeof v.v === 'boolean') return v.v ? 1 : 0;
  return undefined;
}

function intList(v: Value | undefined): number[] | undefined {
  if (!v) return undefined;
  if (v.t === 'int') return isConcrete(v.v) ? [v.v] : undefined;
  if (v.t !== 'tuple' && v.t !== 'list') return undefined;
  const out: number[] = [];
  for (const item of v.items) {
    const n = item.t === 'int' && isConcrete(item.v) ? item.v : undefined;
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out;
}

