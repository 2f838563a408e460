// An abstract interpreter for PyTorch model code: it runs constructors, helper
// methods and forward passes the way Python would, on abstract values (symbolic
// ints, layer descriptors, tensors with symbolic shapes) and under a step budget.
// Every tensor addition it meets is recorded with both operand shapes and the path
// condition it was reached under; deciding which of them are bugs is the rules' job.
import { type Dim, add, ceilDiv, floorDiv, isConcrete, mod, mul, neg, sub, symbol, symbolName } from '../shapes/dim';
import { type CompareOp, type Cond, type Truth, and, compare, not, or } from '../shapes/condition';
import { type Shape, type ShapeDim, broadcast, flatten, normalizeAxis, reshape, shapeDimKey, sumDims } from '../shapes/shape';
import { type LayerDescriptor, type ParamValue, bindLayerParams, functionalTable, layerTable } from '../shapes/layers';
import { type PyNode, importFromParts, nodeText, stringValue } from '../parse/python-ast';
import {
  type ClassInfo, type FileInfo, type InstanceValue, type Layout, type TensorValue, type Value,
  Scope, derivesFrom, inputTensor, intValue, isUnknownSpread, none, tensor, unknown, unknownSpread,
} from './values';

export type SymbolRole = 'batch' | 'spatial' | 'sequence' | 'channels' | 'stride' | 'kernel' | 'padding' | 'dilation' | 'count' | 'param';

export interface PathStep {
  cond: Cond;
  taken: boolean;
  /** Where the test is (start offset of its condition), for fixes that edit it. */
  at?: number;
  /** What a layer demands of its input (`C == dim` at a Linear(dim, ...)), not a branch of the code. */
  implied?: true;
}

export interface AddObservation {
  site: PyNode;
  file: FileInfo;
  left: Shape;
  right: Shape;
  leftLayout: Layout | undefined;
  rightLayout: Layout | undefined;
  leftDepth: number;
  rightDepth: number;
  path: PathStep[];
  /** A test the interpreter could not decide was taken on the way here. */
  opaquePath: boolean;
  instance: InstanceValue | undefined;
  /** Shape of the tensor the enclosing forward received. */
  blockInput: Shape;
  /** The other operand was computed from the identity operand (`x + f(x)`): the skip branches off there. */
  identityIsBranch: boolean;
}

/** A tensor shape seen in a forward; formatted only when annotations are built. */
export interface ShapeNote {
  node: PyNode;
  file: FileInfo;
  name: string;
  shape: Shape;
  /** For layer calls: what was called (`Conv2d(64→128, kernel 3, stride 2)`). */
  layer?: LayerDescriptor | string;
  kind: 'variable' | 'layer';
}

export interface RunLimits {
  /** Interpreter steps for one run (one path through one entry). */
  steps: number;
  deadline: number;
  /** Nested calls (a module that contains itself ends here). */
  callDepth: number;
  /** Longest loop unrolled; longer loops are skipped and what they assign becomes unknown. */
  loopIterations: number;
  /** Symbolic branch decisions explored per run; later ones follow the first branch only. */
  decisions: number;
}

export class BudgetExhausted extends Error {}
/** A `raise` or a failed `assert`: this path ends and records nothing more. */
export class PathAborted extends Error {}

type Signal = { kind: 'normal' } | { kind: 'return'; value: Value } | { kind: 'break' } | { kind: 'continue' };
const normal: Signal = { kind: 'normal' };

interface Frame {
  scope: Scope;
  file: FileInfo;
  self?: InstanceValue;
  cls?: ClassInfo;
  inForward: boolean;
  /** The first tensor a forward received: the block input that a shortcut starts from. */
  input?: TensorValue;
}

export interface CallArgs {
  positional: Value[];
  keywords: Map<string, Value>;
}

/**
 * The model-graph recorder's view of a run ("Probe This Model"). Absent in the shape
 * check, which then pays one property test per hook. While `recording` is false the
 * recorder only learns where modules are defined and which instances are built.
 */
export interface GraphRecorderHooks {
  readonly recording: boolean;
  /** Constructor arguments of a class about to be instantiated; may return others (depth variants). */
  instantiating(cls: ClassInfo, args: CallArgs): CallArgs;
  instantiated(instance: InstanceValue, args: CallArgs): void;
  /** A call returned a layer, container or instance: where it was built, and with what. */
  constructed(value: Value, fn: Value, args: CallArgs, node: PyNode, file: FileInfo): void;
  /** `self.name = value` in a constructor; `layer` set for `self.wte.weight = self.lm_head.weight` (weight tying). */
  assigned(value: Value, target: PyNode, file: FileInfo, layer?: Extract<Value, { t: 'layer' }>): void;
  enterModule(module: InstanceValue): void;
  exitModule(module: InstanceValue): void;
  /** The results below replace the interpreter's, carrying their graph trace; `call` also runs in constructors (buffers). */
  layer(module: Extract<Value, { t: 'layer' }>, args: CallArgs, result: Value, node: PyNode | undefined, file: FileInfo): Value;
  call(fn: Value, args: CallArgs, result: Value, node: PyNode, file: FileInfo): Value;
  binary(op: string, a: Value, b: Value, result: Value, node: PyNode, file: FileInfo): Value;
  unary(op: string, operand: Value, result: Value, node: PyNode, file: FileInfo): Value;
  subscript(target: Value, index: Value, result: Value, node: PyNode, file: FileInfo): Value;
  /** A comparison with a tensor operand (`mask == 0`): a tensor value, or undefined for the interpreter's truth value. */
  compare(ops: string[], operands: Value[], node: PyNode, file: FileInfo): Value | undefined;
}

const containerNames = new Set(['Sequential', 'ModuleList', 'ModuleDict']);
const moduleMethods = new Set(['register_buffer', 'register_parameter', 'add_module', 'modules', 'children', 'parameters', 'named_parameters',
  'named_modules', 'named_children', 'apply', 'train', 'eval', 'to', 'cuda', 'cpu', 'zero_grad', 'state_dict', 'load_state_dict', 'requires_grad_',
  'half', 'float', 'double', 'type', 'register_forward_hook', 'extra_repr']);

/** Loads another workspace file for `from .blocks import BasicBlock`. */
/** `names`: the names a `from … import a, b` asks for, when it asks for names and not `*`. */
export type ImportResolver = (from: FileInfo, module: string, level: number, names?: string[]) => FileInfo | undefined;

export class Interpreter {
  steps = 0;
  private callDepth = 0;
  private decisionIndex = 0;
  readonly path: PathStep[] = [];
  private opaqueTaken = 0;
  /** Stores into objects, lazy inputs given a shape, assumptions: what a call leaves behind besides its result. */
  private effects = 0;
  /** Calls whose result is dropped, now running (nested). */
  private discardedCalls = 0;
  readonly observations: AddObservation[] = [];
  readonly notes: ShapeNote[] = [];
  readonly symbolRoles = new Map<string, SymbolRole>();
  /** Parameters passed as a conv or pool kernel size: their plausible values are odd. */
  readonly kernelSymbols = new Set<string>();
  readonly instances: InstanceValue[] = [];
  /** Classes whose forward ran with concrete constructor arguments. */
  readonly forwardedClasses = new Set<ClassInfo>();
  private readonly forwardMemo = new Map<string, Value>();
  private readonly constructorMemo = new Map<string, InstanceValue>();
  /** Inputs that module-level code fed to a model class (`model(torch.randn(2, 3, 32, 32))`). */
  readonly concreteInputs = new Map<ClassInfo, Shape>();
  /** Set when a later decision point exists that this run did not branch on. */
  capped = false;
  /** Set only by the model-graph front end; memos are off then, as every block is its own node. */
  recorder: GraphRecorderHooks | undefined;

  constructor(
    private readonly limits: RunLimits,
    /** Branch choices for symbolic tests, in order; missing ones are `true` and get appended. */
    readonly choices: boolean[],
    private readonly resolveImport: ImportResolver,
    private readonly log: (line: string) => void,
  ) {}

  // ---- budget and decisions -------------------------------------------------

  private tick(): void {
    this.steps++;
    if (this.steps > this.limits.steps) throw new BudgetExhausted(`step budget of ${this.limits.steps} spent`);
    if (((this.steps & 255) === 0 || this.steps === 1) && performance.now() > this.limits.deadline) throw new BudgetExhausted('time budget spent');
  }

  /** Chooses a branch for a test. Symbolic tests follow `choices`, so runs can enumerate paths. */
  decide(truth: Truth, at?: PyNode): boolean {
    if (typeof truth === 'boolean') return truth;
    let taken: boolean;
    // An unknown test inside a call whose result is dropped takes one side and is not
    // enumerated: `_log_api_usage_once(self)` in every torchvision constructor made a file's
    // entry run 16 times over the same model. The side it took still counts as uncertain
    // unless the call turns out to have stored nothing (evalDiscardedCall).
    if (this.discardedCalls > 0 && containsOpaque(truth)) {
      this.path.push({ cond: truth, taken: true, ...(at ? { at: at.startIndex } : {}) });
      this.opaqueTaken++;
      return true;
    }
    if (this.decisionIndex < this.choices.length) taken = this.choices[this.decisionIndex]!;
    else if (this.choices.length < this.limits.decisions) {
      taken = true;
      this.choices.push(true);
    } else {
      taken = true;
      this.capped = true;
    }
    this.decisionIndex++;
    this.path.push({ cond: truth, taken, ...(at ? { at: at.startIndex } : {}) });
    if (containsOpaque(truth)) this.opaqueTaken++;
    return taken;
  }

  /**
   * A call whose result is dropped (`_log_api_usage_once(self)`, `check_inputs(x)`) and that
   * stored nothing: the unknown tests it took cannot change what follows, so they do not
   * make the rest of the path uncertain. Tests on shapes it took still hold.
   */
  private evalDiscardedCall(call: PyNode, frame: Frame): void {
    const opaqueBefore = this.opaqueTaken;
    const pathBefore = this.path.length;
    const effectsBefore = this.effects;
    this.discardedCalls++;
    try {
      this.evalExpr(call, frame);
    } finally {
      this.discardedCalls--;
    }
    if (this.effects !== effectsBefore || this.opaqueTaken === opaqueBefore) return;
    const added = this.path.splice(pathBefore);
    for (const step of added) if (!containsOpaque(step.cond)) this.path.push(step);
    this.opaqueTaken = opaqueBefore;
  }

  /**
   * An `if`/`elif` test. A guard that only raises (`if not isinstance(cfg, Sequence): raise
   * TypeError(...)`) with a test that cannot be decided is taken as passing: where it
   * fails nothing more runs, so it leaves the rest of the path as certain as it was.
   */
  private decideClause(condition: PyNode, consequence: PyNode | undefined, frame: Frame): boolean {
    const truth = this.truthOf(this.evalExpr(condition, frame), condition);
    if (typeof truth !== 'boolean' && containsOpaque(truth) && raisesOnly(consequence)) return false;
    return this.decide(truth, condition);
  }

  /** `assert cond`: the path goes on only where it holds; an undecidable assert, like a guard, adds nothing. */
  private assume(truth: Truth): void {
    if (truth === false) throw new PathAborted();
    if (truth === true || containsOpaque(truth)) return;
    this.effects++;
    this.path.push({ cond: truth, taken: true });
  }

  newSymbol(name: string, role: SymbolRole): Dim {
    const existing = this.symbolRoles.get(name);
    // A constructor parameter called `C` or `N` must not become the input's dim by accident.
    if (existing !== undefined && existing !== role && (existing === 'param' || role === 'param')) return this.newSymbol(`${name}_${role === 'param' ? 'arg' : 'in'}`, role);
    if (existing === undefined) this.symbolRoles.set(name, role);
    return symbol(name);
  }

  // ---- files ----------------------------------------------------------------

  /** Runs a file's top-level statements; `definitionsOnly` skips the `__main__` block and bare calls. */
  execFile(file: FileInfo, definitionsOnly: boolean): void {
    const frame: Frame = { scope: file.globals, file, inForward: false };
    for (const stmt of file.root.children) {
      if (definitionsOnly && (isMainGuard(stmt, file) || stmt.type === 'expression_statement' && stmt.children[0]?.type === 'call')) continue;
      try {
        this.execStatement(stmt, frame);
      } catch (err) {
        if (err instanceof PathAborted) return;
        throw err;
      }
    }
  }

  // ---- statements -----------------------------------------------------------

  private execBlock(block: PyNode | undefined, frame: Frame): Signal {
    if (!block) return normal;
    const statements = block.type === 'block' ? block.children : [block];
    for (const stmt of statements) {
      const signal = this.execStatement(stmt, frame);
      if (signal.kind !== 'normal') return signal;
    }
    return normal;
  }

  private execStatement(node: PyNode, frame: Frame): Signal {
    this.tick();
    // Half-typed code can lack any part of a statement, and valid Python can still be
    // shaped in ways this interpreter does not expect: what the statement did becomes
    // unknown, with a log line, never a crash.
    try {
      return this.execStatementUnchecked(node, frame);
    } catch (err) {
      if (isControl(err)) throw err;
      if (!node.broken) this.log(`${frame.file.uri}: line ${node.startRow + 1} could not be followed (${err instanceof Error ? err.message : String(err)}); what it assigns is unknown`);
      this.havoc(node, frame);
      return normal;
    }
  }

  private execStatementUnchecked(node: PyNode, frame: Frame): Signal {
    switch (node.type) {
      case 'expression_statement': {
        for (const child of node.children) {
          if (child.type === 'call') this.evalDiscardedCall(child, frame);
          else this.evalExpr(child, frame);
        }
        return normal;
      }
      case 'return_statement':
        return { kind: 'return', value: node.children[0] ? this.evalExpr(node.children[0], frame) : none };
      case 'if_statement':
        return this.execIf(node, frame);
      case 'for_statement':
        return this.execFor(node, frame);
      case 'while_statement':
        return this.execWhile(node, frame);
      case 'break_statement':
        return { kind: 'break' };
      case 'continue_statement':
        return { kind: 'continue' };
      case 'function_definition':
        frame.scope.vars.set(nameOf(node), { t: 'function', def: node, closure: frame.scope, file: frame.file });
        return normal;
      case 'class_definition':
        this.defineClass(node, frame, []);
        return normal;
      case 'decorated_definition': {
        const def = node.fields.definition;
        if (!def) return normal;
        const decorators = node.children.filter((c) => c.type === 'decorator').map((d) => nodeText(d, frame.file.source));
        if (def.type === 'class_definition') this.defineClass(def, frame, decorators);
        else if (def.type === 'function_definition') this.execStatement(def, frame);
        return normal;
      }
      case 'import_statement':
      case 'import_from_statement':
        this.execImport(node, frame);
        return normal;
      case 'with_statement':
        return this.execBlock(node.fields.body, frame);
      case 'try_statement': {
        const signal = this.execBlock(node.fields.body, frame);
        const fin = node.children.find((c) => c.type === 'finally_clause');
        if (fin) this.execBlock(fin.children.find((c) => c.type === 'block'), frame);
        return signal;
      }
      case 'raise_statement':
        throw new PathAborted();
      case 'assert_statement':
        if (node.children[0]) this.assume(this.truthOf(this.evalExpr(node.children[0], frame), node.children[0]));
        return normal;
      default:
        return normal;
    }
  }

  private execIf(node: PyNode, frame: Frame): Signal {
    if (this.decideClause(node.fields.condition!, node.fields.consequence, frame)) {
      return this.execBlock(node.fields.consequence, frame);
    }
    for (const alt of node.children) {
      if (alt.type === 'elif_clause') {
        if (this.decideClause(alt.fields.condition!, alt.fields.consequence, frame)) return this.execBlock(alt.fields.consequence, frame);
      } else if (alt.type === 'else_clause') {
        return this.execBlock(alt.fields.body, frame);
      }
    }
    return normal;
  }

  private execFor(node: PyNode, frame: Frame): Signal {
    const iterable = this.evalExpr(node.fields.right!, frame);
    const items = this.iterate(iterable);
    if (!items) {
      this.havoc(node.fields.body, frame);
      this.assignTarget(node.fields.left!, unknown, frame);
      return normal;
    }
    for (const item of items) {
      this.assignTarget(node.fields.left!, item, frame);
      const signal = this.execBlock(node.fields.body, frame);
      if (signal.kind === 'break') return normal;
      if (signal.kind === 'return') return signal;
    }
    const orElse = node.children.find((c) => c.type === 'else_clause');
    return orElse ? this.execBlock(orElse.fields.body, frame) : normal;
  }

  private execWhile(node: PyNode, frame: Frame): Signal {
    for (let i = 0; i < this.limits.loopIterations; i++) {
      const truth = this.truthOf(this.evalExpr(node.fields.condition!, frame), node.fields.condition!);
      if (typeof truth !== 'boolean') break;
      if (!truth) return normal;
      const signal = this.execBlock(node.fields.body, frame);
      if (signal.kind === 'break') return normal;
      if (signal.kind === 'return') return signal;
    }
    this.havoc(node.fields.body, frame);
    return normal;
  }

  /** Code that is not followed (a loop over an unknown or huge range): whatever it assigns becomes unknown. */
  private havoc(body: PyNode | undefined, frame: Frame): void {
    if (!body) return;
    const visit = (n: PyNode): void => {
      if (n.type === 'assignment' || n.type === 'augmented_assignment') {
        const left = n.fields.left;
        if (left) this.havocTarget(left, frame);
      } else if (n.type === 'for_statement' && n.fields.left) {
        this.havocTarget(n.fields.left, frame);
      } else if (n.type === 'call' && n.fields.function?.type === 'attribute') {
        // layers.append(...) in a skipped loop: the list's contents are no longer known.
        const obj = n.fields.function.fields.object;
        const target = obj ? this.peek(obj, frame) : undefined;
        if (target && (target.t === 'list' || target.t === 'container')) target.incomplete = true;
      }
      if (n.type === 'function_definition' || n.type === 'class_definition') return;
      for (const c of n.children) visit(c);
    };
    visit(body);
  }

  private havocTarget(target: PyNode, frame: Frame): void {
    if (target.type === 'identifier') frame.scope.vars.set(target.text, unknown);
    else if (target.type === 'attribute') {
      this.effects++;
      const obj = this.peek(target.fields.object!, frame);
      if (obj?.t === 'instance') obj.attrs.set(target.fields.attribute!.text, unknown);
    } else if (['pattern_list', 'tuple_pattern', 'list_pattern', 'tuple', 'list'].includes(target.type)) {
      for (const c of target.children) this.havocTarget(c, frame);
    }
  }

  /** Looks up a plain name or `self.attr` without running anything. */
  private peek(node: PyNode, frame: Frame): Value | undefined {
    if (node.type === 'identifier') return frame.scope.lookup(node.text);
    if (node.type === 'attribute' && node.fields.object?.type === 'identifier') {
      const obj = frame.scope.lookup(node.fields.object.text);
      if (obj?.t === 'instance') return obj.attrs.get(node.fields.attribute!.text);
    }
    return undefined;
  }

  // ---- definitions and imports ----------------------------------------------

  private defineClass(node: PyNode, frame: Frame, decorators: string[]): void {
    const name = nameOf(node);
    const bases: Value[] = [];
    for (const arg of node.fields.superclasses?.children ?? []) {
      if (arg.type !== 'keyword_argument') bases.push(this.evalExpr(arg, frame));
    }
    const cls: ClassInfo = {
      name,
      node,
      file: frame.file,
      bases,
      methods: new Map(),
      classAttrs: new Map(),
      isModule: bases.some((b) => isModuleBase(b)),
      isSequential: bases.some((b) => (b.t === 'builtin' && b.name === 'nn.Sequential') || (b.t === 'class' && b.cls.isSequential)),
      isDataclass: decorators.some((d) => /\bdataclass\b/.test(d)),
      fields: [],
    };
    const classScope = new Scope(frame.scope);
    const classFrame: Frame = { scope: classScope, file: frame.file, inForward: false };
    for (const stmt of node.fields.body?.children ?? []) {
      let def = stmt;
      if (stmt.type === 'decorated_definition' && stmt.fields.definition) def = stmt.fields.definition;
      if (def.type === 'function_definition') {
        cls.methods.set(nameOf(def), stmt.type === 'decorated_definition' ? markDecorated(def, stmt, frame.file) : def);
        continue;
      }
      if (stmt.type === 'expression_statement' && stmt.children[0]?.type === 'assignment') {
        const assignment = stmt.children[0];
        const left = assignment.fields.left;
        if (left?.type === 'identifier') {
          if (cls.isDataclass && assignment.fields.type) cls.fields.push(left.text);
          const value = assignment.fields.right ? this.evalExpr(assignment.fields.right, classFrame) : unknown;
          if (assignment.fields.right) cls.classAttrs.set(left.text, value);
          classScope.vars.set(left.text, value);
          continue;
        }
      }
      if (stmt.type === 'class_definition') continue;
      this.execStatement(stmt, classFrame);
    }
    // A base the interpreter does not know (pl.LightningModule, a deep torch path) with a
    // forward of its own is checked as a module too.
    if (!cls.isModule && cls.methods.has('forward') && bases.some((b) => b.t === 'namespace' || b.t === 'unknown')) cls.isModule = true;
    frame.scope.vars.set(name, { t: 'class', cls });
  }

  private execImport(node: PyNode, frame: Frame): void {
    const { source } = frame.file;
    if (node.type === 'import_statement') {
      for (const child of node.children) {
        const dotted = child.type === 'aliased_import' ? child.fields.name! : child;
        const full = nodeText(dotted, source).replace(/\s+/g, '');
        if (child.type === 'aliased_import') frame.scope.vars.set(child.fields.alias!.text, namespaceValue(full));
        else frame.scope.vars.set(full.split('.')[0]!, namespaceValue(full.split('.')[0]!));
      }
      return;
    }
    const parts = importFromParts(node, source);
    if (!parts) return;
    const { level, moduleName, names, wildcard } = parts;
    const isLibrary = level === 0 && /^(torch|numpy|math|typing|collections|functools|dataclasses|itertools|os|sys|einops|timm|torchvision|copy|warnings|enum|abc)\b/.test(moduleName);
    let imported: FileInfo | undefined;
    const wanted = wildcard ? undefined : names.map((n) => n.original);
    if (!isLibrary) imported = this.resolveImport(frame.file, moduleName, level, wanted);
    if (wildcard && imported) {
      for (const [k, v] of imported.globals.vars) if (!k.startsWith('_')) frame.scope.vars.set(k, v);
      return;
    }
    for (const { original, bound } of names) {
      let value: Value = unknown;
      if (isLibrary) value = this.attribute(namespaceValue(moduleName), original);
      else if (imported) value = imported.globals.vars.get(original) ?? unknown;
      frame.scope.vars.set(bound, value);
    }
  }

  // ---- expressions ------------------------------------------------------------

  evalExpr(node: PyNode, frame: Frame): Value {
    this.tick();
    if (!node.broken) return this.evalExprUnchecked(node, frame);
    try {
      return this.evalExprUnchecked(node, frame);
    } catch (err) {
      if (isControl(err)) throw err;
      return unknown;
    }
  }

  private evalExprUnchecked(node: PyNode, frame: Frame): Value {
    switch (node.type) {
      case 'identifier': {
        const v = frame.scope.lookup(node.text);
        if (v !== undefined) return v;
        return builtinName(node.text);
      }
      case 'integer': {
        // Plain literals convert directly; only `1_000` and `10L` need the clean-up.
        let n = Number(node.text);
        if (Number.isNaN(n)) n = Number(node.text.replace(/_/g, '').replace(/[lL]$/, ''));
        return Number.isSafeInteger(n) ? intValue(n) : unknown;
      }
      case 'float':
        return { t: 'float', v: Number(node.text.replace(/_/g, '')) };
      case 'true':
        return { t: 'bool', v: true };
      case 'false':
        return { t: 'bool', v: false };
      case 'none':
        return none;
      case 'ellipsis':
        return { t: 'ellipsis' };
      case 'string': {
        const s = stringValue(node, frame.file.source);
        return s === undefined ? unknown : { t: 'str', v: s };
      }
      case 'parenthesized_expression':
        return node.children[0] ? this.evalExpr(node.children[0], frame) : unknown;
      case 'tuple':
      case 'expression_list':
        return { t: 'tuple', items: this.evalItems(node.children, frame) };
      case 'list':
        return { t: 'list', items: this.evalItems(node.children, frame) };
      case 'set':
        return { t: 'list', items: this.evalItems(node.children, frame) };
      case 'dictionary':
        return this.evalDict(node, frame);
      case 'attribute': {
        const obj = this.evalExpr(node.fields.object!, frame);
        return this.attribute(obj, node.fields.attribute!.text);
      }
      case 'subscript':
        return this.evalSubscript(node, frame);
      case 'call':
        return this.evalCall(node, frame);
      case 'binary_operator': {
        const left = this.evalExpr(node.fields.left!, frame);
        const right = this.evalExpr(node.fields.right!, frame);
        return this.binary(node.ops[0] ?? '', left, right, node, frame);
      }
      case 'unary_operator': {
        const v = this.evalExpr(node.fields.argument!, frame);
        const op = node.ops[0];
        if (op === '-' && v.t === 'int') return intValue(neg(v.v));
        if (op === '-' && v.t === 'tensor' && this.recorder?.recording) return this.recorder.unary(op, v, v, node, frame.file);
        if (op === '-' && v.t === 'float') return { t: 'float', v: -v.v };
        if (op === '+') return v;
        if (this.recorder?.recording && v.t === 'tensor') return this.recorder.unary(op ?? '', v, v, node, frame.file);
        return v.t === 'tensor' ? v : unknown;
      }
      case 'not_operator':
        return { t: 'bool', v: not(this.truthOf(this.evalExpr(node.fields.argument!, frame), node)) };
      case 'boolean_operator':
        return this.evalBoolean(node, frame);
      case 'comparison_operator':
        return this.evalComparison(node, frame);
      case 'conditional_expression': {
        const [whenTrue, test, whenFalse] = node.children;
        if (!whenTrue || !test || !whenFalse) return unknown;
        return this.decide(this.truthOf(this.evalExpr(test, frame), test), test) ? this.evalExpr(whenTrue, frame) : this.evalExpr(whenFalse, frame);
      }
      case 'lambda':
        return { t: 'lambda', def: node, closure: frame.scope, file: frame.file };
      case 'list_comprehension':
      case 'generator_expression':
        return this.evalComprehension(node, frame);
      case 'keyword_argument':
        return this.evalExpr(node.fields.value!, frame);
      case 'assignment':
        this.execAssignment(node, frame);
        return none;
      case 'augmented_assignment':
        this.execAugmented(node, frame);
        return none;
      case 'named_expression': {
        const v = this.evalExpr(node.fields.value!, frame);
        this.assignTarget(node.fields.name!, v, frame);
        return v;
      }
      default:
        return unknown;
    }
  }

  private evalItems(nodes: PyNode[], frame: Frame): Value[] {
    const items: Value[] = [];
    for (const n of nodes) {
      if (n.type === 'list_splat' || n.type === 'parenthesized_list_splat') {
        const spread = this.iterate(this.evalExpr(n.children[0]!, frame));
        if (spread) items.push(...spread);
        else items.push(unknownSpread);
      } else if (n.type !== 'comment') {
        items.push(this.evalExpr(n, frame));
      }
    }
    return items;
  }

  private evalDict(node: PyNode, frame: Frame): Value {
    const entries = new Map<string, Value>();
    for (const pair of node.children) {
      if (pair.type !== 'pair') continue;
      const key = this.evalExpr(pair.fields.key!, frame);
      const k = keyOf(key);
      if (k === undefined) return unknown;
      entries.set(k, this.evalExpr(pair.fields.value!, frame));
    }
    return { t: 'dict', entries };
  }

  private evalBoolean(node: PyNode, frame: Frame): Value {
    const left = this.evalExpr(node.fields.left!, frame);
    const lt = this.truthOf(left, node);
    const isAnd = node.ops[0] === 'and';
    // Python returns an operand; for decided tests keep that value.
    if (lt === (isAnd ? false : true)) return left;
    const right = this.evalExpr(node.fields.right!, frame);
    if (typeof lt === 'boolean') return right;
    const rt = this.truthOf(right, node);
    return { t: 'bool', v: isAnd ? and(lt, rt) : or(lt, rt) };
  }

  private evalComparison(node: PyNode, frame: Frame): Value {
    const operands = node.children.map((c) => this.evalExpr(c, frame));
    if (this.recorder?.recording && operands.some((o) => o.t === 'tensor')) {
      const traced = this.recorder.compare(node.ops, operands, node, frame.file);
      if (traced) return traced;
    }
    let result: Truth = true;
    for (let i = 0; i < node.ops.length && i + 1 < operands.length; i++) {
      result = and(result, this.compareValues(node.ops[i]!, operands[i]!, operands[i + 1]!, node, frame));
      if (result === false) break;
    }
    return { t: 'bool', v: result };
  }

  private compareValues(op: string, a: Value, b: Value, node: PyNode, frame: Frame): Truth {
    if (op === 'is' || op === 'is not') {
      const positive = op === 'is';
      let same: Truth;
      if (a.t === 'none' && b.t === 'none') same = true;
      else if (a.t === 'unknown' || b.t === 'unknown') same = opaque(nodeText(node, frame.file.source), positive);
      else if (a.t === 'none' || b.t === 'none') same = false;
      else if (a === b) same = true;
      else if (a.t === 'class' && b.t === 'class') same = a.cls === b.cls;
      else same = opaque(nodeText(node, frame.file.source), positive);
      if (typeof same !== 'boolean') return same;
      return positive ? same : !same;
    }
    if (op === 'in' || op === 'not in') {
      const container = b.t === 'list' || b.t === 'tuple' ? b.items : undefined;
      const key = keyOf(a);
      let found: Truth | undefined;
      if (b.t === 'dict' && key !== undefined) found = b.entries.has(key);
      else if (b.t === 'str' && a.t === 'str') found = b.v.includes(a.v);
      else if (container && key !== undefined && container.every((c) => keyOf(c) !== undefined)) found = container.some((c) => keyOf(c) === key);
      if (found === undefined) return opaque(nodeText(node, frame.file.source), op === 'in');
      return op === 'in' ? found : not(found);
    }
    const ops: Record<string, CompareOp> = { '==': '==', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=', '<>': '!=' };
    const cmp = ops[op];
    if (!cmp) return opaque(nodeText(node, frame.file.source), true);
    const da = numericDim(a);
    const db = numericDim(b);
    if (da !== undefined && db !== undefined) return compare(cmp, da, db);
    if ((a.t === 'float' || a.t === 'int') && (b.t === 'float' || b.t === 'int') && isNum(a) && isNum(b)) {
      // A float whose value is unknown (NaN) decides nothing.
      if (Number.isNaN(a.v) || Number.isNaN(b.v)) return opaque(nodeText(node, frame.file.source), true);
      return compare(cmp, a.v as number, b.v as number);
    }
    if (a.t === 'str' && b.t === 'str' && (cmp === '==' || cmp === '!=')) return (a.v === b.v) === (cmp === '==');
    // `self.__class__ == ConvNormActivation`: classes of this code are equal only when they are the same.
    if (a.t === 'class' && b.t === 'class' && (cmp === '==' || cmp === '!=')) return (a.cls === b.cls) === (cmp === '==');
    if (a.t === 'none' || b.t === 'none') {
      if (a.t === 'unknown' || b.t === 'unknown') return opaque(nodeText(node, frame.file.source), true);
      if (cmp === '==' || cmp === '!=') return (a.t === b.t) === (cmp === '==');
    }
    if ((a.t === 'str' && (b.t === 'int' || b.t === 'bool')) || (b.t === 'str' && (a.t === 'int' || a.t === 'bool'))) {
      if (cmp === '==' || cmp === '!=') return cmp === '!=';
    }
    return opaque(nodeText(node, frame.file.source), true);
  }

  truthOf(v: Value, node: PyNode): Truth {
    switch (v.t) {
      case 'bool': return v.v;
      case 'int': return compare('!=', v.v, 0);
      case 'float': return Number.isNaN(v.v) ? { kind: 'opaque', text: `number at line ${node.startRow + 1}` } : v.v !== 0;
      case 'str': return v.v.length > 0;
      case 'none': return false;
      case 'tuple': return v.items.length > 0;
      case 'list': return v.incomplete ? { kind: 'opaque', text: `list ${node.startRow}` } : v.items.length > 0;
      case 'dict': return v.entries.size > 0;
      case 'container': return v.items.length > 0 || v.kind === 'Sequential';
      case 'unknown': return { kind: 'opaque', text: v.label ?? `test at line ${node.startRow + 1}` };
      case 'tensor': return { kind: 'opaque', text: `tensor test at line ${node.startRow + 1}` };
      default: return true;
    }
  }

  private evalComprehension(node: PyNode, frame: Frame): Value {
    const body = node.fields.body;
    const clauses = node.children.filter((c) => c.type === 'for_in_clause' || c.type === 'if_clause');
    if (!body) return unknown;
    const scope = new Scope(frame.scope);
    const inner: Frame = { ...frame, scope };
    const out: Value[] = [];
    let known = true;
    const run = (i: number): void => {
      if (!known) return;
      if (i === clauses.length) {
        out.push(this.evalExpr(body, inner));
        return;
      }
      const clause = clauses[i]!;
      if (clause.type === 'if_clause') {
        const truth = this.truthOf(this.evalExpr(clause.children[0]!, inner), clause);
        if (typeof truth !== 'boolean') known = false;
        else if (truth) run(i + 1);
        return;
      }
      const items = this.iterate(this.evalExpr(clause.fields.right!, inner));
      if (!items) {
        known = false;
        return;
      }
      for (const item of items) {
        this.assignTarget(clause.fields.left!, item, inner);
        run(i + 1);
      }
    };
    run(0);
    return known ? { t: 'list', items: out } : { t: 'list', items: [], incomplete: true };
  }

  private evalSubscript(node: PyNode, frame: Frame): Value {
    const target = this.evalExpr(node.fields.value!, frame);
    const indexNodes = node.children.slice(1);
    const indices = indexNodes.map((n) => (n.type === 'slice' ? this.evalSlice(n, frame) : this.evalExpr(n, frame)));
    const index: Value = indices.length === 1 ? indices[0]! : { t: 'tuple', items: indices };
    const result = this.subscript(target, index);
    if (this.recorder?.recording && (target.t === 'tensor' || target.t === 'parameter')) return this.recorder.subscript(target, index, result, node, frame.file);
    return result;
  }

  private evalSlice(node: PyNode, frame: Frame): Value {
    // Which of start, stop and step each child is follows from the colons before it.
    const parts: Value[] = [none, none, none];
    for (const child of node.children) {
      const colonsBefore = node.opStarts.filter((s, i) => node.ops[i] === ':' && s < child.startIndex).length;
      if (colonsBefore < 3) parts[colonsBefore] = this.evalExpr(child, frame);
    }
    return { t: 'slice', start: parts[0]!, stop: parts[1]!, step: parts[2]! };
  }

  subscript(target: Value, index: Value): Value {
    if (target.t === 'tensor') return this.indexTensor(target, index);
    if (target.t === 'parameter') return this.indexTensor(tensor(target.shape), index);
    const k = keyOf(index);
    if ((target.t === 'list' || target.t === 'tuple' || target.t === 'container') && !(target.t !== 'tuple' && target.incomplete)) {
      if (index.t === 'int' && isConcrete(index.v)) {
        const i = index.v < 0 ? index.v + target.items.length : index.v;
        return target.items[i] ?? unknown;
      }
      if (index.t === 'slice') {
        const start = sliceBound(index.start, 0, target.items.length);
        const stop = sliceBound(index.stop, target.items.length, target.items.length);
        const step = index.step.t === 'none' ? 1 : index.step.t === 'int' && isConcrete(index.step.v) ? index.step.v : undefined;
        if (start === undefined || stop === undefined || step === undefined || step <= 0) return unknown;
        const items: Value[] = [];
        for (let i = start; i < stop; i += step) items.push(target.items[i]!);
        return target.t === 'container' ? { ...target, items } : { t: target.t, items } as Value;
      }
      return unknown;
    }
    if (target.t === 'dict' && k !== undefined) return target.entries.get(k) ?? unknown;
    if (target.t === 'moduledict' && k !== undefined) return target.entries.get(k) ?? unknown;
    if (target.t === 'str' && index.t === 'int' && isConcrete(index.v)) return { t: 'str', v: target.v.at(index.v) ?? '' };
    return unknown;
  }

  private indexTensor(t: TensorValue, index: Value): Value {
    const shape = t.cell.shape;
    if (!shape) return tensor(null, t.layout, t.depth);
    const indices = index.t === 'tuple' ? index.items : [index];
    const out: ShapeDim[] = [];
    let axis = 0;
    for (let i = 0; i < indices.length; i++) {
      const ix = indices[i]!;
      if (ix.t === 'ellipsis') {
        const rest = indices.slice(i + 1).filter((x) => x.t !== 'none').length;
        while (axis < shape.length - rest) out.push(shape[axis++]!);
        continue;
      }
      if (ix.t === 'none') {
        out.push(1);
        continue;
      }
      if (axis >= shape.length) return tensor(null, t.layout, t.depth);
      const length = shape[axis]!;
      if (ix.t === 'int') {
        axis++;
        continue;
      }
      if (ix.t === 'slice') {
        out.push(sliceLength(length, ix));
        axis++;
        continue;
      }
      return tensor(null, t.layout, t.depth);
    }
    while (axis < shape.length) out.push(shape[axis++]!);
    return tensor(out, t.layout, t.depth + 1);
  }

  // ---- assignment ---------------------------------------------------------------

  private execAssignment(node: PyNode, frame: Frame): void {
    const right = node.fields.right;
    if (!right) return; // `x: int` declares, assigns nothing
    const value = right.type === 'assignment' ? this.evalChained(right, frame) : this.evalExpr(right, frame);
    this.assignTarget(node.fields.left!, value, frame);
  }

  private evalChained(node: PyNode, frame: Frame): Value {
    const right = node.fields.right;
    if (!right) return unknown; // `a = b: int` annotates, assigns nothing
    const value = right.type === 'assignment' ? this.evalChained(right, frame) : this.evalExpr(right, frame);
    this.assignTarget(node.fields.left!, value, frame);
    return value;
  }

  private execAugmented(node: PyNode, frame: Frame): void {
    const left = node.fields.left!;
    const current = this.evalExpr(left, frame);
    const right = this.evalExpr(node.fields.right!, frame);
    const op = (node.ops[0] ?? '').replace(/=$/, '');
    const value = this.binary(op, current, right, node, frame);
    if (current.t === 'list' && op === '+' && (right.t === 'list' || right.t === 'tuple')) {
      current.items.push(...right.items); // list += extends in place
      this.effects++;
      return;
    }
    this.assignTarget(left, value, frame);
  }

  assignTarget(target: PyNode, value: Value, frame: Frame): void {
    switch (target.type) {
      case 'identifier':
        frame.scope.vars.set(target.text, value);
        if (frame.inForward && value.t === 'tensor') this.noteTensor(target, target.text, value, frame);
        return;
      case 'attribute': {
        const obj = this.evalExpr(target.fields.object!, frame);
        const name = target.fields.attribute!.text;
        this.effects++;
        if (obj.t === 'instance') obj.attrs.set(name, value);
        else if (obj.t === 'class') obj.cls.classAttrs.set(name, value);
        if (this.recorder && (obj.t === 'instance' || obj.t === 'layer')) this.recorder.assigned(value, target, frame.file, obj.t === 'layer' ? obj : undefined);
        return;
      }
      case 'subscript': {
        const obj = this.evalExpr(target.fields.value!, frame);
        const index = target.children[1] ? this.evalExpr(target.children[1], frame) : unknown;
        this.effects++;
        const k = keyOf(index);
        if (obj.t === 'dict' && k !== undefined) obj.entries.set(k, value);
        else if (obj.t === 'moduledict' && k !== undefined) obj.entries.set(k, value);
        else if ((obj.t === 'list' || obj.t === 'container') && index.t === 'int' && isConcrete(index.v) && index.v >= 0 && index.v < obj.items.length) obj.items[index.v] = value;
        else if (obj.t === 'list' || obj.t === 'container') obj.incomplete = true;
        return;
      }
      case 'pattern_list':
      case 'tuple_pattern':
      case 'list_pattern':
      case 'tuple':
      case 'list': {
        const targets = target.children.filter((c) => c.type !== 'comment');
        if (value.t === 'lazysize' && targets.every((t) => t.type === 'identifier')) {
          // `B, T, C = x.size()` on the model input: the unpacking tells its rank, and names its dims.
          const rank = targets.length;
          const channelAxis = rank === 3 ? 2 : 1;
          this.setLazyShape(value.tensor, rank, channelAxis, null, targets.map((t) => t.text));
          value = sizeOf(value.tensor, undefined);
        }
        let items = this.iterate(value);
        if (value.t === 'tensor' && value.cell.lazy) items = undefined;
        if (items && items.length === targets.length && !targets.some((t) => t.type === 'list_splat_pattern')) {
          targets.forEach((t, i) => this.assignTarget(t, items![i]!, frame));
        } else {
          for (const t of targets) this.assignTarget(t.type === 'list_splat_pattern' ? t.children[0]! : t, unknown, frame);
        }
        return;
      }
      case 'parenthesized_expression':
        if (target.children[0]) this.assignTarget(target.children[0], value, frame);
        return;
      default:
        return;
    }
  }

  private noteTensor(node: PyNode, name: string, value: TensorValue, frame: Frame): void {
    this.notes.push({ node, file: frame.file, name, shape: value.cell.lazy ? null : value.cell.shape, kind: 'variable' });
  }

  // ---- iteration ----------------------------------------------------------------

  /** The items of a value that Python could iterate, or undefined when they are not known. */
  iterate(v: Value): Value[] | undefined {
    switch (v.t) {
      case 'list':
        return v.incomplete ? undefined : v.items.slice();
      case 'tuple':
        return v.items;
      case 'container':
        return v.incomplete ? undefined : v.items.slice();
      case 'dict':
        return [...v.entries.keys()].map((k) => ({ t: 'str', v: k }));
      case 'moduledict':
        return [...v.entries.keys()].map((k) => ({ t: 'str', v: k }));
      case 'str':
        return [...v.v].map((c) => ({ t: 'str', v: c }));
      case 'tensor': {
        // `B, T, C = x.size()` on the model input fixes its rank by the unpacking; see sizeOf.
        return undefined;
      }
      default:
        return undefined;
    }
  }

  // ---- arithmetic ---------------------------------------------------------------

  private binary(op: string, a: Value, b: Value, node: PyNode, frame: Frame): Value {
    if (this.recorder?.recording && (a.t === 'tensor' || b.t === 'tensor' || a.t === 'parameter' || b.t === 'parameter')) {
      const plain = (v: Value): Value => (v.t === 'parameter' ? tensor(v.shape) : v);
      return this.recorder.binary(op, a, b, this.tensorBinary(op, plain(a), plain(b), node, frame), node, frame.file);
    }
    if (a.t === 'parameter') a = tensor(a.shape);
    if (b.t === 'parameter') b = tensor(b.shape);
    if (a.t === 'tensor' || b.t === 'tensor') return this.tensorBinary(op, a, b, node, frame);
    if (a.t === 'int' && b.t === 'int') {
      switch (op) {
        case '+': return intValue(add(a.v, b.v));
        case '-': return intValue(sub(a.v, b.v));
        case '*': return intValue(mul(a.v, b.v));
        case '//': return b.v === 0 ? unknown : intValue(floorDiv(a.v, b.v));
        case '%': return b.v === 0 ? unknown : intValue(mod(a.v, b.v));
        case '**':
          if (isConcrete(a.v) && isConcrete(b.v) && b.v >= 0) {
            const p = a.v ** b.v;
            return Number.isSafeInteger(p) ? intValue(p) : unknown;
          }
          return unknown;
        case '/':
          return isConcrete(a.v) && isConcrete(b.v) && b.v !== 0 ? { t: 'float', v: a.v / b.v } : unknown;
        default: return unknown;
      }
    }
    if ((a.t === 'int' || a.t === 'float' || a.t === 'bool') && (b.t === 'int' || b.t === 'float' || b.t === 'bool') && isNum(a) && isNum(b)) {
      const x = numberOf(a)!;
      const y = numberOf(b)!;
      switch (op) {
        case '+': return { t: 'float', v: x + y };
        case '-': return { t: 'float', v: x - y };
        case '*': return { t: 'float', v: x * y };
        case '/': return y === 0 ? unknown : { t: 'float', v: x / y };
        case '**': return { t: 'float', v: x ** y };
        case '//': return y === 0 ? unknown : { t: 'float', v: Math.floor(x / y) };
        default: return unknown;
      }
    }
    if (op === '+' && a.t === 'str' && b.t === 'str') return { t: 'str', v: a.v + b.v };
    if (op === '+' && (a.t === 'list' || a.t === 'tuple') && b.t === a.t) {
      const incomplete = (a.t === 'list' && a.incomplete) || (b.t === 'list' && b.incomplete);
      return a.t === 'list' ? { t: 'list', items: [...a.items, ...b.items], ...(incomplete ? { incomplete } : {}) } : { t: 'tuple', items: [...a.items, ...b.items] };
    }
    if (op === '*' && (a.t === 'list' || a.t === 'tuple') && b.t === 'int') return repeatSeq(a, b.v);
    if (op === '*' && (b.t === 'list' || b.t === 'tuple') && a.t === 'int') return repeatSeq(b, a.v);
    return unknown;
  }

  private tensorBinary(op: string, a: Value, b: Value, node: PyNode, frame: Frame): Value {
    const result = this.tensorBinaryShape(op, a, b, node, frame);
    const source = a.t === 'tensor' ? a : b.t === 'tensor' ? b : undefined;
    if (result.t === 'tensor' && source && result.id !== source.id && !result.base) result.base = source;
    return result;
  }

  private tensorBinaryShape(op: string, a: Value, b: Value, node: PyNode, frame: Frame): Value {
    const ta = a.t === 'tensor' ? a : undefined;
    const tb = b.t === 'tensor' ? b : undefined;
    const layout = ta?.layout ?? tb?.layout;
    const depth = Math.max(ta?.depth ?? 0, tb?.depth ?? 0) + 1;
    if (op === '@') {
      if (!ta || !tb) return tensor(null, layout, depth);
      return tensor(matmulShape(ta.cell.shape, tb.cell.shape), layout, depth);
    }
    if (!elementwiseOps.has(op)) return tensor(null, layout, depth);
    if (ta && tb) {
      if (op === '+') this.recordAdd(node, ta, tb, frame);
      if (ta.cell.lazy && tb.cell.lazy && ta.cell === tb.cell) return { ...ta, depth };
      const outcome = broadcast(ta.cell.lazy ? null : ta.cell.shape, tb.cell.lazy ? null : tb.cell.shape);
      return tensor('shape' in outcome ? outcome.shape : null, layout, depth);
    }
    const t = (ta ?? tb)!;
    const other = ta ? b : a;
    // A tensor with a number keeps its shape; with an unknown it may broadcast.
    if (other.t === 'int' || other.t === 'float' || other.t === 'bool') return { ...t, depth };
    return tensor(null, layout, depth);
  }

  private recordAdd(node: PyNode, a: TensorValue, b: TensorValue, frame: Frame): void {
    this.observations.push({
      site: node,
      file: frame.file,
      left: a.cell.lazy ? null : a.cell.shape,
      right: b.cell.lazy ? null : b.cell.shape,
      leftLayout: a.layout,
      rightLayout: b.layout,
      leftDepth: a.depth,
      rightDepth: b.depth,
      path: this.path.slice(),
      opaquePath: this.opaqueTaken > 0,
      instance: frame.self,
      blockInput: frame.input && !frame.input.cell.lazy ? frame.input.cell.shape : null,
      identityIsBranch: a.depth < b.depth ? derivesFrom(b, a) : derivesFrom(a, b),
    });
  }

  // ---- attributes ----------------------------------------------------------------

  attribute(obj: Value, name: string): Value {
    switch (obj.t) {
      case 'namespace':
        return namespaceAttribute(obj.path, name);
      case 'instance': {
        const own = obj.attrs.get(name);
        if (own !== undefined) return own;
        const method = findMethod(obj.cls, name);
        if (method) {
          if (isProperty(method.def, method.cls.file)) return this.callFunction({ t: 'function', def: method.def, closure: method.cls.file.globals, file: method.cls.file, self: obj, owner: method.cls }, { positional: [], keywords: new Map() });
          const binding = methodBinding(method.def);
          const self: Value | undefined = binding === 'static' ? undefined : binding === 'class' ? { t: 'class', cls: obj.cls } : obj;
          return { t: 'function', def: method.def, closure: method.cls.file.globals, file: method.cls.file, ...(self ? { self } : {}), owner: method.cls };
        }
        const classAttr = findClassAttr(obj.cls, name);
        if (classAttr !== undefined) return classAttr;
        if (name === 'training') return { t: 'bool', v: true };
        if (obj.cls.isModule && moduleMethods.has(name)) return { t: 'builtin', name: `module.${name}`, self: obj };
        if (name === '__class__') return { t: 'class', cls: obj.cls };
        return unknown;
      }
      case 'class': {
        const method = findMethod(obj.cls, name);
        if (method) {
          // `Weights.verify(w)`: a classmethod gets the class as its first argument.
          const self: Value | undefined = methodBinding(method.def) === 'class' ? obj : undefined;
          return { t: 'function', def: method.def, closure: method.cls.file.globals, file: method.cls.file, ...(self ? { self } : {}), owner: method.cls };
        }
        const classAttr = findClassAttr(obj.cls, name);
        if (classAttr !== undefined) return classAttr;
        if (name === '__name__') return { t: 'str', v: obj.cls.name };
        return unknown;
      }
      case 'super': {
        const bases = linearBases(obj.cls).slice(1);
        for (const base of bases) {
          const def = base.methods.get(name);
          if (def) return { t: 'function', def, closure: base.file.globals, file: base.file, self: obj.self, owner: base };
          // `super().__init__(...)` into a @dataclass base: its generated __init__ sets the fields.
          if (name === '__init__' && base.isDataclass) return { t: 'builtin', name: 'dataclass.__init__', self: obj.self };
        }
        // nn.Module's own __init__ and methods do nothing the shapes care about.
        return { t: 'builtin', name: `module.${name}`, self: obj.self };
      }
      case 'tensor':
        return this.tensorAttribute(obj, name);
      case 'parameter':
        return this.tensorAttribute(tensor(obj.shape), name);
      case 'layer': {
        const p = obj.desc.params;
        if (name in p) return paramToValue(p[name]);
        if (name === 'weight' || name === 'bias') return { t: 'parameter', shape: null };
        if (moduleMethods.has(name)) return { t: 'builtin', name: `module.${name}`, self: obj };
        return unknown;
      }
      case 'list':
        if (name === 'append' || name === 'extend' || name === 'insert' || name === 'pop' || name === 'index' || name === 'copy') return { t: 'builtin', name: `list.${name}`, self: obj };
        return unknown;
      case 'container':
        if (name === 'append' || name === 'extend' || name === 'insert') return { t: 'builtin', name: `list.${name}`, self: obj };
        if (moduleMethods.has(name)) return { t: 'builtin', name: `module.${name}`, self: obj };
        if (obj.names) {
          const i = obj.names.indexOf(name);
          if (i >= 0) return obj.items[i] ?? unknown;
        }
        return unknown;
      case 'dict':
      case 'moduledict':
        if (['items', 'keys', 'values', 'get', 'update', 'setdefault', 'pop'].includes(name)) return { t: 'builtin', name: `dict.${name}`, self: obj };
        return obj.entries.get(name) ?? unknown;
      case 'str':
        if (name === 'format' || name === 'join' || name === 'lower' || name === 'upper' || name === 'startswith' || name === 'endswith') return { t: 'builtin', name: `str.${name}`, self: obj };
        return unknown;
      default:
        return unknown;
    }
  }

  private tensorAttribute(t: TensorValue, name: string): Value {
    if (name === 'shape') return sizeOf(t, undefined);
    if (name === 'T') {
      const s = t.cell.shape;
      return tensor(s && !t.cell.lazy ? [...s].reverse() : null, t.layout, t.depth + 1);
    }
    if (name === 'ndim') return t.cell.shape && !t.cell.lazy ? intValue(t.cell.shape.length) : unknown;
    if (name === 'device' || name === 'dtype') return unknown;
    return { t: 'builtin', name: `tensor.${name}`, self: t };
  }

  // ---- calls ----------------------------------------------------------------------

  private evalCall(node: PyNode, frame: Frame): Value {
    const fnNode = node.fields.function!;
    const fn = this.evalExpr(fnNode, frame);
    const args = this.evalArgs(node.fields.arguments, frame);
    let result = this.call(fn, args, node, frame);
    if (this.recorder) {
      if (result.t === 'layer' || result.t === 'container' || result.t === 'instance' || result.t === 'moduledict') this.recorder.constructed(result, fn, args, node, frame.file);
      result = this.recorder.call(fn, args, result, node, frame.file);
    }
    if (result.t === 'tensor' && !result.base) {
      const source = fn.t === 'builtin' && fn.self?.t === 'tensor' ? fn.self : firstTensor(args.positional);
      if (source && source.id !== result.id) result.base = source;
    }
    if (frame.inForward && result.t === 'tensor' && fnNode.type === 'attribute' && fnNode.fields.object?.type === 'identifier' && fnNode.fields.object.text === 'self' && (fn.t === 'layer' || fn.t === 'container' || fn.t === 'instance')) {
      const layer = fn.t === 'layer' ? fn.desc : fn.t === 'instance' ? fn.cls.name : fn.kind;
      this.notes.push({ node: fnNode, file: frame.file, name: nodeText(fnNode, frame.file.source), shape: result.cell.lazy ? null : result.cell.shape, layer, kind: 'layer' });
    }
    return result;
  }

  private evalArgs(argList: PyNode | undefined, frame: Frame): CallArgs {
    const positional: Value[] = [];
    const keywords = new Map<string, Value>();
    if (!argList) return { positional, keywords };
    if (argList.type === 'generator_expression') return { positional: [this.evalExpr(argList, frame)], keywords };
    for (const arg of argList.children) {
      if (arg.type === 'keyword_argument') keywords.set(arg.fields.name!.text, this.evalExpr(arg.fields.value!, frame));
      else if (arg.type === 'list_splat') {
        const items = this.iterate(this.evalExpr(arg.children[0]!, frame));
        if (items) positional.push(...items);
        else positional.push(unknownSpread);
      } else if (arg.type === 'dictionary_splat') {
        const d = this.evalExpr(arg.children[0]!, frame);
        if (d.t === 'dict') for (const [k, v] of d.entries) keywords.set(k, v);
        else keywords.set('**', unknown);
      } else if (arg.type !== 'comment') positional.push(this.evalExpr(arg, frame));
    }
    return { positional, keywords };
  }

  call(fn: Value, args: CallArgs, node: PyNode | undefined, frame: Frame): Value {
    switch (fn.t) {
      case 'function':
        return this.callFunction(fn, args);
      case 'lambda':
        return this.callLambda(fn, args);
      case 'class':
        return this.instantiate(fn.cls, args);
      case 'builtin':
        return this.callBuiltin(fn.name, fn.self, args, node, frame);
      case 'partial':
        return this.call(fn.fn, { positional: [...fn.positional, ...args.positional], keywords: new Map([...fn.keywords, ...args.keywords]) }, node, frame);
      case 'layer':
      case 'container':
      case 'moduledict':
      case 'instance':
        return this.callModule(fn, args, node, frame);
      default:
        return unknown;
    }
  }

  private enter(): void {
    this.callDepth++;
    if (this.callDepth > this.limits.callDepth) {
      this.callDepth--;
      throw new CallTooDeep();
    }
  }

  callFunction(fn: Extract<Value, { t: 'function' }>, args: CallArgs, options: { inForward?: boolean; input?: TensorValue } = {}): Value {
    const def = fn.def;
    if (def.broken) return unknown; // half-typed code: its effect is not known
    const scope = new Scope(fn.closure);
    const positional = fn.self ? [fn.self, ...args.positional] : args.positional;
    if (!this.bindParameters(def.fields.parameters, positional, args.keywords, scope, { scope: fn.closure, file: fn.file, inForward: false })) return unknown;
    const frame: Frame = {
      scope,
      file: fn.file,
      inForward: options.inForward ?? false,
      ...(options.input ? { input: options.input } : {}),
      ...(fn.self?.t === 'instance' ? { self: fn.self } : {}),
      ...(fn.owner ? { cls: fn.owner } : {}),
    };
    try {
      this.enter();
    } catch (err) {
      if (err instanceof CallTooDeep) {
        this.log(`${fn.file.uri}: calls nested deeper than ${this.limits.callDepth} at ${nameOf(def)}; its result is unknown`);
        return unknown;
      }
      throw err;
    }
    try {
      const signal = this.execBlock(def.fields.body, frame);
      return signal.kind === 'return' ? signal.value : none;
    } finally {
      this.callDepth--;
    }
  }

  private callLambda(fn: Extract<Value, { t: 'lambda' }>, args: CallArgs): Value {
    const scope = new Scope(fn.closure);
    const params = fn.def.fields.parameters;
    if (!this.bindParameters(params, args.positional, args.keywords, scope, { scope: fn.closure, file: fn.file, inForward: false })) return unknown;
    const body = fn.def.fields.body;
    return body ? this.evalExpr(body, { scope, file: fn.file, inForward: false }) : unknown;
  }

  /** Binds call arguments to a def's parameters; false when they do not fit. */
  private bindParameters(params: PyNode | undefined, positional: Value[], keywords: Map<string, Value>, scope: Scope, defaultsFrame: Frame): boolean {
    const list = params?.children ?? [];
    let i = 0;
    const usedKeywords = new Set<string>();
    let keywordOnly = false;
    for (const param of list) {
      // `*args: Any` and `**kwargs: Any` bind as their untyped forms.
      const p = param.type === 'typed_parameter' && (param.children[0]?.type === 'list_splat_pattern' || param.children[0]?.type === 'dictionary_splat_pattern') ? param.children[0] : param;
      switch (p.type) {
        case 'identifier':
        case 'typed_parameter': {
          const name = p.type === 'identifier' ? p.text : p.children.find((c) => c.type === 'identifier')?.text ?? '';
          if (!keywordOnly && i < positional.length) scope.vars.set(name, positional[i++]!);
          else if (keywords.has(name)) {
            scope.vars.set(name, keywords.get(name)!);
            usedKeywords.add(name);
          } else scope.vars.set(name, keywords.has('**') ? unknown : { t: 'unknown', label: name });
          break;
        }
        case 'default_parameter':
        case 'typed_default_parameter': {
          const name = p.fields.name!.text;
          if (!keywordOnly && i < positional.length) scope.vars.set(name, positional[i++]!);
          else if (keywords.has(name)) {
            scope.vars.set(name, keywords.get(name)!);
            usedKeywords.add(name);
          } else if (keywords.has('**')) scope.vars.set(name, unknown);
          else scope.vars.set(name, this.evalExpr(p.fields.value!, defaultsFrame));
          break;
        }
        case 'list_splat_pattern':
          scope.vars.set(p.children[0]?.text ?? '', { t: 'tuple', items: positional.slice(i) });
          i = positional.length;
          keywordOnly = true;
          break;
        case 'keyword_separator':
          keywordOnly = true;
          break;
        case 'dictionary_splat_pattern': {
          const rest = new Map<string, Value>();
          for (const [k, v] of keywords) if (!usedKeywords.has(k) && k !== '**') rest.set(k, v);
          scope.vars.set(p.children[0]?.text ?? '', keywords.has('**') ? unknown : { t: 'dict', entries: rest });
          break;
        }
        default:
          break;
      }
    }
    return i >= positional.length || positional.some(isUnknownSpread);
  }

  instantiate(cls: ClassInfo, args: CallArgs): Value {
    if (cls.isDataclass) {
      const instance: InstanceValue = { t: 'instance', cls, attrs: new Map(), args: new Map(), forwarded: false, incomplete: false };
      cls.fields.forEach((f, i) => {
        const v = i < args.positional.length ? args.positional[i]! : args.keywords.get(f) ?? findClassAttr(cls, f) ?? unknown;
        instance.attrs.set(f, v);
      });
      return instance;
    }
    // Constructors are deterministic in their arguments: the 22 identical blocks of a
    // ResNet-101 stage are one instance, built once (its first place names it).
    if (this.recorder) args = this.recorder.instantiating(cls, args);
    const memoKey = this.recorder ? undefined : constructorKey(cls, args);
    const built = memoKey === undefined ? undefined : this.constructorMemo.get(memoKey);
    if (built) return built;
    const instance: InstanceValue = { t: 'instance', cls, attrs: new Map(), args: new Map(), forwarded: false, incomplete: false };
    this.instances.push(instance);
    if (memoKey !== undefined) this.constructorMemo.set(memoKey, instance);
    this.recorder?.instantiated(instance, args);
    const init = findMethod(cls, '__init__');
    if (!init) return instance;
    if (init.def.broken) {
      instance.incomplete = true;
      this.log(`${cls.file.uri}: ${cls.name}.__init__ has a syntax error; its layers are unknown`);
      return instance;
    }
    const fn: Extract<Value, { t: 'function' }> = { t: 'function', def: init.def, closure: init.cls.file.globals, file: init.cls.file, self: instance, owner: init.cls };
    recordArgs(instance, init.def, args);
    const before = this.callDepth;
    const result = this.callFunction(fn, args);
    if (result.t === 'unknown' && this.callDepth === before && init.def.fields.body && instance.attrs.size === 0) instance.incomplete = true;
    return instance;
  }

  /** Runs a module on its inputs: layer shape functions, Sequential chains, user forward(). */
  callModule(module: Value, args: CallArgs, node: PyNode | undefined, frame: Frame): Value {
    switch (module.t) {
      case 'layer': {
        // `attn(query=x, key=x, value=x)` (torchvision's ViT) passes the input by name.
        const input = args.positional[0] ?? args.keywords.get('input') ?? args.keywords.get('query') ?? unknown;
        const result = this.applyLayer(module.desc, input);
        return this.recorder?.recording ? this.recorder.layer(module, args, result, node, frame.file) : result;
      }
      case 'container': {
        if (module.kind !== 'Sequential' || module.incomplete) return unknownTensorLike(args.positional[0]);
        let x = args.positional[0] ?? unknown;
        for (const item of module.items) x = this.call(item, { positional: [x], keywords: new Map() }, node, frame);
        return x;
      }
      case 'instance': {
        if (module.incomplete) return unknownTensorLike(args.positional[0]);
        const forward = findMethod(module.cls, 'forward');
        if (!forward && module.cls.isSequential) {
          // Its modules in order: those given to nn.Sequential's constructor, then those assigned or added later.
          let x = args.positional[0] ?? unknown;
          for (const item of [...(module.sequence ?? []), ...[...module.attrs.values()].filter(isModuleValue)]) x = this.call(item, { positional: [x], keywords: new Map() }, node, frame);
          return x;
        }
        if (!forward) {
          const callMethod = findMethod(module.cls, '__call__');
          if (!callMethod) return unknown;
          return this.callFunction({ t: 'function', def: callMethod.def, closure: callMethod.cls.file.globals, file: callMethod.cls.file, self: module, owner: callMethod.cls }, args);
        }
        module.forwarded = true;
        const first = firstTensor(args.positional);
        if (!frame.inForward && first && !first.cell.lazy && first.cell.shape?.every((d) => typeof d === 'number')) this.concreteInputs.set(module.cls, first.cell.shape);
        // The same block with the same arguments on the same input shape gives the same
        // result and the same additions: a ResNet-101 has 23 identical blocks in a row.
        const memoKey = this.recorder ? undefined : forwardKey(module, args);
        const memo = memoKey === undefined ? undefined : this.forwardMemo.get(memoKey);
        if (memo) {
          for (const cls of linearBases(module.cls)) this.forwardedClasses.add(cls);
          return freshCopy(memo, deepestTensor(args.positional) + 1);
        }
        // Inside a forward, depth counts from this module's own input.
        const positional = args.positional.map((a) => (a.t === 'tensor' ? { ...a, depth: 0 } : a));
        const recording = this.recorder?.recording ? this.recorder : undefined;
        recording?.enterModule(module);
        let result: Value;
        try {
          result = this.callFunction(
            { t: 'function', def: forward.def, closure: forward.cls.file.globals, file: forward.cls.file, self: module, owner: forward.cls },
            { positional, keywords: args.keywords },
            { inForward: true, ...(firstTensor(positional) ? { input: firstTensor(positional)! } : {}) },
          );
        } finally {
          recording?.exitModule(module);
        }
        for (const cls of linearBases(module.cls)) this.forwardedClasses.add(cls);
        if (memoKey !== undefined) this.forwardMemo.set(memoKey, result);
        if (result.t === 'tensor') return { ...result, depth: deepestTensor(args.positional) + 1 };
        return result;
      }
      default:
        return unknown;
    }
  }

  applyLayer(desc: LayerDescriptor, input: Value): Value {
    const spec = layerTable.get(desc.type);
    if (!spec || input.t !== 'tensor') {
      if (desc.type === 'MultiheadAttention' || spec?.returnsTuple) return { t: 'tuple', items: [unknown, unknown] };
      return input.t === 'tensor' ? tensor(null, input.layout, input.depth + 1) : unknown;
    }
    this.materialize(input, desc);
    this.assumeInputChannels(input, desc);
    const inputShape = input.cell.lazy ? null : input.cell.shape;
    const layout = layoutOf(desc.type) ?? input.layout;
    if (spec === layerTable.get('Identity') || (spec.output === layerTable.get('ReLU')!.output)) {
      return { ...input, depth: input.depth + 1, ...(layout ? { layout } : {}) };
    }
    const out = tensor(spec.output(desc.params, inputShape), layout, input.depth + 1);
    if (spec.returnsTuple) return { t: 'tuple', items: [out, tensor(null)] };
    return out;
  }

  /**
   * PyTorch raises at a layer whose input has the wrong channel count, so past it the
   * counts are equal: `B, N, C = x.shape` before a Linear(dim, ...) means C == dim for the
   * rest of the path. Only an undecided comparison is assumed; a concrete clash is left as it is.
   */
  private assumeInputChannels(input: TensorValue, desc: LayerDescriptor): void {
    if (input.cell.lazy || !input.cell.shape) return;
    const need = layerTable.get(desc.type)?.inputRank?.(desc.params);
    if (!need || need.channels === null || need.channelAxis < 0) return;
    const rank = input.cell.shape.length;
    const channelsLast = need.channelAxis === need.rank - 1;
    // Channels-last layers (Linear, LayerNorm) take any number of leading dims.
    const axis = channelsLast ? rank - 1 : rank === need.rank ? need.channelAxis : undefined;
    const actual = axis === undefined ? null : input.cell.shape[axis];
    if (actual === null || actual === undefined) return;
    const holds = compare('==', actual, need.channels);
    if (typeof holds === 'boolean' || containsOpaque(holds)) return;
    this.path.push({ cond: holds, taken: true, implied: true });
    this.effects++;
    // A dim we named for the input (`C`) takes the layer's value in the tensor itself, so
    // what is added to it later compares with `dim`, not with a free `C`.
    const name = bareSymbol(actual);
    const role = name === undefined ? undefined : this.symbolRoles.get(name);
    if (role !== undefined && role !== 'param' && axis !== undefined) {
      input.cell.shape = input.cell.shape.map((d, i) => (i === axis ? need.channels : d));
    }
  }

  /** The model's input has no rank until its first layer says what it must be. */
  private materialize(input: TensorValue, desc: LayerDescriptor): void {
    if (!input.cell.lazy) return;
    const spec = layerTable.get(desc.type);
    const need = spec?.inputRank?.(desc.params);
    if (!need) return;
    this.setLazyShape(input, need.rank, need.channelAxis, need.channels, undefined);
  }

  setLazyShape(input: TensorValue, rank: number, channelAxis: number, channels: ShapeDim, names: string[] | undefined): void {
    const cell = input.cell;
    const suffix = cell.suffix;
    const spatialNames = rank === 3 && channelAxis === 1 ? ['L'] : rank === 4 ? ['H', 'W'] : rank === 5 ? ['D', 'H', 'W'] : [];
    const dims: ShapeDim[] = [];
    for (let axis = 0; axis < rank; axis++) {
      const given = names?.[axis];
      if (axis === 0) dims.push(this.newSymbol((given ?? 'N') + suffix, 'batch'));
      else if (axis === channelAxis && channels !== null && channels !== undefined) dims.push(channels);
      else if (axis === channelAxis) dims.push(this.newSymbol((given ?? 'C') + suffix, 'channels'));
      else if (rank === 3 && channelAxis === 2) dims.push(this.newSymbol((given ?? 'T') + suffix, 'sequence'));
      else if (channelAxis === 1) dims.push(this.newSymbol((given ?? spatialNames[axis - 2] ?? `S${axis}`) + suffix, 'spatial'));
      else dims.push(this.newSymbol((given ?? (axis === 1 ? 'T' : `S${axis}`)) + suffix, 'sequence'));
    }
    cell.shape = dims;
    cell.lazy = false;
    this.effects++;
    if (channelAxis === rank - 1 && rank > 2) input.layout = 'channels-last';
  }

  /** A fresh model input whose rank its first layer decides. */
  lazyInput(): TensorValue {
    return inputTensor(null, true);
  }

  // ---- builtins -----------------------------------------------------------------

  private callBuiltin(name: string, self: Value | undefined, args: CallArgs, node: PyNode | undefined, frame: Frame): Value {
    const a = args.positional;
    const kw = args.keywords;
    if (name.startsWith('nn.')) return this.constructLayer(name.slice(3), args);
    if (name.startsWith('F.')) return this.callFunctional(name.slice(2), args);
    if (name.startsWith('tensor.')) return this.tensorMethod(name.slice(7), self as TensorValue, args, node, frame);
    if (name.startsWith('torch.')) return this.torchFunction(name.slice(6), args, node, frame);
    if (name.startsWith('list.')) {
      if (self?.t !== 'list' && self?.t !== 'container') return unknown;
      const op = name.slice(5);
      if (op !== 'copy') this.effects++;
      if (op === 'append' && a[0]) self.items.push(a[0]);
      else if (op === 'extend' && a[0]) {
        const items = this.iterate(a[0]);
        if (items) self.items.push(...items);
        else self.incomplete = true;
      } else if (op === 'insert' && a[0]?.t === 'int' && isConcrete(a[0].v) && a[1]) self.items.splice(a[0].v, 0, a[1]);
      else if (op === 'pop') return self.items.pop() ?? unknown;
      else if (op === 'copy') return { t: 'list', items: self.items.slice() };
      else self.incomplete = true;
      return none;
    }
    if (name.startsWith('dict.')) {
      if (self?.t !== 'dict' && self?.t !== 'moduledict') return unknown;
      const op = name.slice(5);
      if (op === 'items') return { t: 'list', items: [...self.entries].map(([k, v]) => ({ t: 'tuple', items: [{ t: 'str', v: k }, v] })) };
      if (op === 'keys') return { t: 'list', items: [...self.entries.keys()].map((k) => ({ t: 'str', v: k })) };
      if (op === 'values') return { t: 'list', items: [...self.entries.values()] };
      if (op === 'get') {
        const k = a[0] ? keyOf(a[0]) : undefined;
        return k !== undefined ? self.entries.get(k) ?? a[1] ?? none : unknown;
      }
      if (op === 'pop') {
        // `kwargs.pop("width_mult", 1.0)`: the value, and the key is gone.
        const k = a[0] ? keyOf(a[0]) : undefined;
        if (k === undefined) return unknown;
        this.effects++;
        const value = self.entries.get(k);
        self.entries.delete(k);
        return value ?? a[1] ?? unknown;
      }
      if (op === 'update' && a[0]?.t === 'dict' && self.t === 'dict') {
        this.effects++;
        for (const [k, v] of a[0].entries) self.entries.set(k, v);
        for (const [k, v] of kw) self.entries.set(k, v);
        return none;
      }
      return unknown;
    }
    if (name.startsWith('module.')) return this.moduleMethod(name.slice(7), self, args);
    if (name.startsWith('str.')) return self?.t === 'str' ? stringMethod(name.slice(4), self.v, a) : unknown;
    if (name === 'copy.copy' || name === 'copy.deepcopy') return a[0] ? copyOf(a[0]) : unknown;
    if (name === 'eager.false') return { t: 'bool', v: false };
    if (name === 'dataclass.__init__') {
      const base = self?.t === 'instance' ? linearBases(self.cls).find((c) => c.isDataclass) : undefined;
      if (self?.t !== 'instance' || !base) return none;
      this.effects++;
      base.fields.forEach((f, i) => self.attrs.set(f, i < a.length ? a[i]! : kw.get(f) ?? findClassAttr(base, f) ?? unknown));
      return none;
    }
    if (name.startsWith('math.')) {
      // Always a number: a scalar never changes a tensor's shape, even when its value is unknown.
      const fn = (Math as unknown as Record<string, unknown>)[name.slice(5)];
      const x = a[0] ? numberOf(a[0]) : undefined;
      const value = typeof fn === 'function' && x !== undefined ? (fn as (v: number) => number)(x) : Number.NaN;
      if ((name === 'math.ceil' || name === 'math.floor') && Number.isFinite(value)) return intValue(value);
      return { t: 'float', v: value };
    }
    switch (name) {
      case 'partial':
        return a[0] ? { t: 'partial', fn: a[0], positional: a.slice(1), keywords: new Map(kw) } : unknown;
      case 'range': {
        const nums = a.map(numericDim);
        if (nums.some((n) => n === undefined || !isConcrete(n))) return { t: 'list', items: [], incomplete: true };
        const [start, stop, step] = nums.length === 1 ? [0, nums[0] as number, 1] : [nums[0] as number, nums[1] as number, (nums[2] as number | undefined) ?? 1];
        if (step === 0) return unknown;
        const count = Math.max(0, Math.ceil((stop - start) / step));
        if (count > this.limits.loopIterations) {
          this.log(`${frame.file.uri}: range of ${count} items at line ${(node?.startRow ?? 0) + 1} is too long to follow; what the loop assigns is unknown`);
          return { t: 'list', items: [], incomplete: true };
        }
        const items: Value[] = [];
        for (let i = 0; i < count; i++) items.push(intValue(start + i * step));
        return { t: 'list', items };
      }
      case 'len': {
        const v = a[0];
        if (!v) return unknown;
        if ((v.t === 'list' || v.t === 'container') && !v.incomplete) return intValue(v.items.length);
        if (v.t === 'tuple') return intValue(v.items.length);
        if (v.t === 'dict' || v.t === 'moduledict') return intValue(v.entries.size);
        if (v.t === 'str') return intValue(v.v.length);
        if (v.t === 'tensor' && v.cell.shape && !v.cell.lazy) return dimValue(v.cell.shape[0] ?? null);
        return unknown;
      }
      case 'list':
      case 'tuple': {
        if (!a[0]) return name === 'list' ? { t: 'list', items: [] } : { t: 'tuple', items: [] };
        const items = this.iterate(a[0]);
        if (!items) return name === 'list' ? { t: 'list', items: [], incomplete: true } : unknown;
        return name === 'list' ? { t: 'list', items } : { t: 'tuple', items };
      }
      case 'dict':
      case 'OrderedDict': {
        const entries = new Map<string, Value>();
        const source = a[0];
        if (source) {
          if (source.t === 'dict') for (const [k, v] of source.entries) entries.set(k, v);
          else {
            const items = this.iterate(source);
            if (!items) return unknown;
            for (const item of items) {
              if (item.t !== 'tuple' || item.items.length !== 2) return unknown;
              const k = keyOf(item.items[0]!);
              if (k === undefined) return unknown;
              entries.set(k, item.items[1]!);
            }
          }
        }
        for (const [k, v] of kw) entries.set(k, v);
        return { t: 'dict', entries };
      }
      case 'enumerate': {
        const items = a[0] ? this.iterate(a[0]) : undefined;
        const start = a[1] && a[1].t === 'int' && isConcrete(a[1].v) ? a[1].v : 0;
        return items ? { t: 'list', items: items.map((v, i) => ({ t: 'tuple', items: [intValue(i + start), v] })) } : { t: 'list', items: [], incomplete: true };
      }
      case 'zip': {
        const lists = a.map((v) => this.iterate(v));
        if (lists.some((l) => !l)) return { t: 'list', items: [], incomplete: true };
        const n = Math.min(...lists.map((l) => l!.length));
        return { t: 'list', items: Array.from({ length: n }, (_, i) => ({ t: 'tuple', items: lists.map((l) => l![i]!) })) };
      }
      case 'reversed': {
        const items = a[0] ? this.iterate(a[0]) : undefined;
        return items ? { t: 'list', items: [...items].reverse() } : { t: 'list', items: [], incomplete: true };
      }
      case 'int': {
        const v = a[0];
        if (v?.t === 'int') return v;
        if (v?.t === 'float') return Number.isFinite(v.v) ? intValue(Math.trunc(v.v)) : unknown;
        if (v?.t === 'bool' && typeof v.v === 'boolean') return intValue(v.v ? 1 : 0);
        return unknown;
      }
      case 'float':
        return a[0] && isNum(a[0]) ? { t: 'float', v: numberOf(a[0])! } : unknown;
      case 'bool':
        return a[0] ? { t: 'bool', v: this.truthOf(a[0], node ?? frame.file.root) } : { t: 'bool', v: false };
      case 'str':
        return a[0]?.t === 'str' ? a[0] : unknown;
      case 'abs':
        return a[0]?.t === 'int' && isConcrete(a[0].v) ? intValue(Math.abs(a[0].v)) : unknown;
      case 'round': {
        const x = a[0] ? numberOf(a[0]) : undefined;
        return x !== undefined && Number.isFinite(x) ? intValue(Math.round(x)) : unknown;
      }
      case 'min':
      case 'max': {
        const items = a.length === 1 ? this.iterate(a[0]!) : a;
        if (!items || items.length === 0 || !items.every((v) => isNum(v))) return unknown;
        const values = items.map((v) => numberOf(v)!);
        const r = name === 'min' ? Math.min(...values) : Math.max(...values);
        return items.every((v) => v.t === 'int') ? intValue(r) : { t: 'float', v: r };
      }
      case 'sum': {
        const items = a[0] ? this.iterate(a[0]) : undefined;
        if (!items) return unknown;
        let total: Dim = 0;
        for (const v of items) {
          if (v.t !== 'int') return unknown;
          total = add(total, v.v);
        }
        return intValue(total);
      }
      case 'isinstance': {
        const [v, cls] = a;
        if (!v || !cls) return unknown;
        if (v.t === 'unknown') return { t: 'bool', v: opaque(`isinstance at line ${(node?.startRow ?? 0) + 1}`, true) };
        const classes = cls.t === 'tuple' ? cls.items : [cls];
        let result = false;
        for (const c of classes) {
          const r = isInstanceOf(v, c);
          if (r === undefined) return { t: 'bool', v: opaque(`isinstance at line ${(node?.startRow ?? 0) + 1}`, true) };
          result ||= r;
        }
        return { t: 'bool', v: result };
      }
      case 'hasattr': {
        const [obj, attr] = a;
        if (!obj || attr?.t !== 'str') return unknown;
        if (obj.t === 'instance') {
          if (obj.incomplete) return unknown;
          return { t: 'bool', v: obj.attrs.has(attr.v) || !!findMethod(obj.cls, attr.v) || findClassAttr(obj.cls, attr.v) !== undefined };
        }
        if (obj.t === 'class') return { t: 'bool', v: !!findMethod(obj.cls, attr.v) || findClassAttr(obj.cls, attr.v) !== undefined };
        return unknown;
      }
      case 'getattr': {
        const [obj, attr, fallback] = a;
        if (!obj || attr?.t !== 'str') return unknown;
        const v = this.attribute(obj, attr.v);
        if (v.t === 'unknown' && fallback && obj.t === 'instance' && !obj.incomplete && !obj.attrs.has(attr.v)) return fallback;
        return v;
      }
      case 'setattr': {
        const [obj, attr, value] = a;
        if (obj?.t === 'instance' && attr?.t === 'str' && value) obj.attrs.set(attr.v, value);
        else if (obj?.t === 'instance') obj.incomplete = true;
        return none;
      }
      case 'super': {
        if (!frame.self || !frame.cls) return unknown;
        return { t: 'super', cls: frame.cls, self: frame.self };
      }
      case 'print':
        return none;
      default:
        return unknown;
    }
  }

  private moduleMethod(name: string, self: Value | undefined, args: CallArgs): Value {
    const a = args.positional;
    if ((name === 'register_buffer' || name === 'register_parameter' || name === 'add_module') && self?.t === 'instance' && a[0]?.t === 'str') {
      this.effects++;
      self.attrs.set(a[0].v, a[1] ?? unknown);
      return none;
    }
    if (name === '__init__') {
      // `super().__init__(*layers)` in an nn.Sequential subclass (torchvision's Conv2dNormActivation).
      if (self?.t === 'instance' && self.cls.isSequential) {
        this.effects++;
        const first = a[0];
        if (a.length === 1 && first?.t === 'dict') self.sequence = [...first.entries.values()];
        else if (a.some(isUnknownSpread)) self.incomplete = true;
        else self.sequence = a.slice();
      }
      return none;
    }
    if (name === 'to' || name === 'cuda' || name === 'cpu' || name === 'train' || name === 'eval' || name === 'half' || name === 'float' || name === 'double' || name === 'requires_grad_') return self ?? unknown;
    return unknown;
  }

  private constructLayer(type: string, args: CallArgs): Value {
    if (type === 'Sequential') {
      const first = args.positional[0];
      if (args.positional.length === 1 && first?.t === 'dict') {
        return { t: 'container', kind: 'Sequential', items: [...first.entries.values()], names: [...first.entries.keys()] };
      }
      const incomplete = args.positional.some(isUnknownSpread);
      return { t: 'container', kind: 'Sequential', items: args.positional.filter((v) => !isUnknownSpread(v)), ...(incomplete ? { incomplete } : {}) };
    }
    if (type === 'ModuleList') {
      const items = args.positional[0] ? this.iterate(args.positional[0]) : [];
      return items ? { t: 'container', kind: 'ModuleList', items } : { t: 'container', kind: 'ModuleList', items: [], incomplete: true };
    }
    if (type === 'ModuleDict') {
      const source = args.positional[0];
      if (!source) return { t: 'moduledict', entries: new Map() };
      if (source.t === 'dict') return { t: 'moduledict', entries: new Map(source.entries) };
      return unknown;
    }
    if (type === 'Parameter') {
      const v = args.positional[0];
      return { t: 'parameter', shape: v?.t === 'tensor' && !v.cell.lazy ? v.cell.shape : null };
    }
    if (type === 'Module') return unknown;
    const spec = layerTable.get(type);
    if (!spec) return { t: 'layer', desc: { type: `unknown:${type}`, params: {} } };
    const keywords = new Map<string, ParamValue>();
    for (const [k, v] of args.keywords) keywords.set(k, toParam(v));
    const params = bindLayerParams(spec, args.positional.map(toParam), keywords);
    if (!params) return { t: 'layer', desc: { type: `unknown:${type}`, params: {} } };
    const kernel = bareSymbol(params.kernel_size);
    if (kernel !== undefined) this.kernelSymbols.add(kernel);
    return { t: 'layer', desc: { type, params } };
  }

  private callFunctional(name: string, args: CallArgs): Value {
    const x = args.positional[0] ?? args.keywords.get('input') ?? unknown;
    if (name === 'pad') return this.pad(x, args.positional[1] ?? args.keywords.get('pad') ?? unknown);
    const layerType = functionalTable.get(name);
    if (layerType === 'Identity') return x.t === 'tensor' ? { ...x, depth: x.depth + 1 } : unknown;
    if (!layerType) {
      if (name === 'scaled_dot_product_attention') return x.t === 'tensor' ? { ...x, depth: x.depth + 1 } : unknown;
      return x.t === 'tensor' ? tensor(null, x.layout, x.depth + 1) : unknown;
    }
    const ctor = this.constructLayer(layerType, { positional: args.positional.slice(1), keywords: args.keywords });
    if (ctor.t !== 'layer') return unknown;
    return this.applyLayer(ctor.desc, x);
  }

  /** F.pad: pairs from the last axis backwards. */
  private pad(x: Value, pads: Value): Value {
    if (x.t !== 'tensor') return unknown;
    const shape = x.cell.lazy ? null : x.cell.shape;
    const items = pads.t === 'tuple' || pads.t === 'list' ? pads.items : undefined;
    if (!shape || !items || items.length % 2 !== 0 || items.length / 2 > shape.length) return tensor(null, x.layout, x.depth + 1);
    const out = [...shape];
    for (let i = 0; i < items.length / 2; i++) {
      const before = numericDim(items[2 * i]!);
      const after = numericDim(items[2 * i + 1]!);
      const axis = shape.length - 1 - i;
      out[axis] = before === undefined || after === undefined || out[axis] === null ? null : add(add(out[axis]!, before), after);
    }
    return tensor(out, x.layout, x.depth + 1);
  }

  private torchFunction(name: string, args: CallArgs, node: PyNode | undefined, frame: Frame): Value {
    const a = args.positional;
    const x = a[0];
    switch (name) {
      case 'randn': case 'rand': case 'zeros': case 'ones': case 'empty': case 'full': {
        return tensor(sizeArguments(name === 'full' ? a.slice(0, 1) : a));
      }
      case 'randint': {
        const size = args.keywords.get('size') ?? a[a.length - 1];
        if (size?.t !== 'tuple' && size?.t !== 'list') return tensor(null);
        return tensor(size.items.map((v) => numericDim(v) ?? null));
      }
      case 'arange': {
        const nums = a.map(numericDim);
        if (nums.length === 1 && nums[0] !== undefined) return tensor([nums[0]]);
        if (nums.length >= 2 && nums[0] !== undefined && nums[1] !== undefined) {
          const step = nums[2] ?? 1;
          return tensor([ceilDiv(sub(nums[1], nums[0]), step)]);
        }
        return tensor([null]);
      }
      case 'zeros_like': case 'ones_like': case 'randn_like': case 'rand_like': case 'empty_like':
        return x?.t === 'tensor' ? tensor(x.cell.lazy ? null : x.cell.shape, x.layout) : unknown;
      case 'tril': case 'triu': case 'relu': case 'sigmoid': case 'tanh': case 'exp': case 'abs': case 'sqrt': case 'softmax': case 'log_softmax':
      case 'clamp': case 'dropout': case 'layer_norm': case 'gelu': case 'sin': case 'cos': case 'rsqrt': case 'neg': case 'square':
        return x?.t === 'tensor' ? { ...x, depth: x.depth + 1 } : unknown;
      case 'flatten': {
        if (x?.t !== 'tensor') return unknown;
        const start = numberArg(a[1] ?? args.keywords.get('start_dim'), 0);
        const end = numberArg(a[2] ?? args.keywords.get('end_dim'), -1);
        if (start === undefined || end === undefined) return tensor(null, x.layout, x.depth + 1);
        return tensor(flatten(x.cell.lazy ? null : x.cell.shape, start, end), undefined, x.depth + 1);
      }
      case 'add': {
        const other = a[1] ?? args.keywords.get('other');
        if (x && other) return this.binary('+', x, other, node!, frame);
        return unknown;
      }
      case 'sub': case 'mul': case 'div': {
        const other = a[1] ?? args.keywords.get('other');
        const op = name === 'sub' ? '-' : name === 'mul' ? '*' : '/';
        if (x && other && node) return this.binary(op, x, other, node, frame);
        return unknown;
      }
      case 'matmul': case 'bmm':
        if (x?.t === 'tensor' && a[1]?.t === 'tensor') return tensor(matmulShape(x.cell.lazy ? null : x.cell.shape, a[1].cell.lazy ? null : a[1].cell.shape), x.layout, x.depth + 1);
        return unknown;
      case 'cat': case 'concat': case 'stack': {
        const items = x ? this.iterate(x) : undefined;
        const dim = numberArg(a[1] ?? args.keywords.get('dim'), 0);
        if (!items || dim === undefined || items.length === 0 || !items.every((t) => t.t === 'tensor')) return tensor(null);
        const shapes = (items as TensorValue[]).map((t) => (t.cell.lazy ? null : t.cell.shape));
        const depth = Math.max(...(items as TensorValue[]).map((t) => t.depth)) + 1;
        const layout = (items[0] as TensorValue).layout;
        if (shapes.some((s) => !s)) return tensor(null, layout, depth);
        const first = shapes[0]!;
        if (name === 'stack') {
          const axis = normalizeAxis(dim, first.length + 1);
          if (axis === undefined) return tensor(null, layout, depth);
          return tensor([...first.slice(0, axis), items.length, ...first.slice(axis)], layout, depth);
        }
        const axis = normalizeAxis(dim, first.length);
        if (axis === undefined || shapes.some((s) => s!.length !== first.length)) return tensor(null, layout, depth);
        const out = first.map((d, i) => (i === axis ? sumDims(shapes.map((s) => s![axis]!)) : d));
        return tensor(out, layout, depth);
      }
      case 'mean': case 'sum': case 'amax': case 'max': case 'std': case 'var':
        return x?.t === 'tensor' ? this.reduce(x, a[1] ?? args.keywords.get('dim'), a[2] ?? args.keywords.get('keepdim')) : unknown;
      case 'transpose': case 'permute': case 'reshape': case 'unsqueeze': case 'squeeze': case 'chunk': case 'split':
        return x?.t === 'tensor' ? this.tensorMethod(name, x, { positional: a.slice(1), keywords: args.keywords }, node, frame) : unknown;
      case 'no_grad': case 'manual_seed': case 'set_grad_enabled':
        return unknown;
      default:
        return x?.t === 'tensor' ? tensor(null, x.layout, x.depth + 1) : unknown;
    }
  }

  private reduce(x: TensorValue, dimArg: Value | undefined, keepArg: Value | undefined): Value {
    const shape = x.cell.lazy ? null : x.cell.shape;
    if (!dimArg || dimArg.t === 'none') return tensor([], x.layout, x.depth + 1);
    if (!shape) return tensor(null, x.layout, x.depth + 1);
    const dims = dimArg.t === 'tuple' || dimArg.t === 'list' ? dimArg.items : [dimArg];
    const axes = dims.map((d) => (d.t === 'int' && isConcrete(d.v) ? normalizeAxis(d.v, shape.length) : undefined));
    if (axes.some((ax) => ax === undefined)) return tensor(null, x.layout, x.depth + 1);
    const keep = keepArg?.t === 'bool' ? keepArg.v : false;
    if (typeof keep !== 'boolean') return tensor(null, x.layout, x.depth + 1);
    const out: ShapeDim[] = [];
    shape.forEach((d, i) => {
      if (axes.includes(i)) {
        if (keep) out.push(1);
      } else out.push(d);
    });
    return tensor(out, x.layout, x.depth + 1);
  }

  /** `x.split([q, k, v], dim)`: one part per listed size along the axis. */
  private splitSections(x: TensorValue, sizes: Value[], dimArg: Value | undefined): Value {
    const shape = x.cell.lazy ? null : x.cell.shape;
    const d = numberArg(dimArg, 0);
    const axis = shape && d !== undefined ? normalizeAxis(d, shape.length) : undefined;
    if (!shape || axis === undefined || sizes.length > 64 || sizes.some(isUnknownSpread)) return unknown;
    return { t: 'tuple', items: sizes.map((size) => tensor(shape.map((s, i) => (i === axis ? numericDim(size) ?? null : s)), x.layout, x.depth + 1)) };
  }

  private tensorMethod(name: string, x: TensorValue, args: CallArgs, node: PyNode | undefined, frame: Frame): Value {
    const a = args.positional;
    const shape = x.cell.lazy ? null : x.cell.shape;
    const next = (s: Shape, layout = x.layout): TensorValue => tensor(s, layout, x.depth + 1);
    switch (name) {
      case 'size':
        return sizeOf(x, a[0] ?? args.keywords.get('dim'));
      case 'dim':
        return shape ? intValue(shape.length) : unknown;
      case 'view': case 'reshape': {
        const target = sizeArguments(a);
        return target ? next(reshape(shape, target), undefined) : next(null);
      }
      case 'view_as': case 'reshape_as': case 'expand_as':
        return a[0]?.t === 'tensor' ? next(a[0].cell.lazy ? null : a[0].cell.shape, a[0].layout) : next(null);
      case 'flatten': {
        const start = numberArg(a[0] ?? args.keywords.get('start_dim'), 0);
        const end = numberArg(a[1] ?? args.keywords.get('end_dim'), -1);
        return start === undefined || end === undefined ? next(null) : next(flatten(shape, start, end), undefined);
      }
      case 'permute': {
        const order = (a.length === 1 && (a[0]?.t === 'tuple' || a[0]?.t === 'list') ? a[0].items : a).map((v) => numberArg(v, undefined));
        if (!shape || order.some((o) => o === undefined) || order.length !== shape.length) return next(null);
        const axes = order.map((o) => normalizeAxis(o!, shape.length));
        if (axes.some((ax) => ax === undefined)) return next(null);
        return next(axes.map((ax) => shape[ax!]!), undefined);
      }
      case 'transpose': case 'swapaxes': {
        const d0 = numberArg(a[0], undefined);
        const d1 = numberArg(a[1], undefined);
        if (!shape || d0 === undefined || d1 === undefined) return next(null);
        const i = normalizeAxis(d0, shape.length);
        const j = normalizeAxis(d1, shape.length);
        if (i === undefined || j === undefined) return next(null);
        const out = [...shape];
        [out[i], out[j]] = [out[j]!, out[i]!];
        return next(out, undefined);
      }
      case 't':
        return next(shape && shape.length === 2 ? [shape[1]!, shape[0]!] : null, undefined);
      case 'unsqueeze': {
        const d = numberArg(a[0] ?? args.keywords.get('dim'), undefined);
        if (!shape || d === undefined) return next(null);
        const axis = normalizeAxis(d, shape.length + 1);
        return axis === undefined ? next(null) : next([...shape.slice(0, axis), 1, ...shape.slice(axis)]);
      }
      case 'squeeze': {
        if (!shape) return next(null);
        const d = a[0] ? numberArg(a[0], undefined) : undefined;
        if (a[0] && d === undefined) return next(null);
        if (d === undefined) return shape.every((s) => s !== null) ? next(shape.filter((s) => s !== 1)) : next(null);
        const axis = normalizeAxis(d, shape.length);
        if (axis === undefined) return next(null);
        return shape[axis] === 1 ? next([...shape.slice(0, axis), ...shape.slice(axis + 1)]) : shape[axis] === null || !isConcrete(shape[axis]!) ? next(null) : next(shape);
      }
      case 'mean': case 'sum': case 'amax': case 'std': case 'var':
        return this.reduce(x, a[0] ?? args.keywords.get('dim'), a[1] ?? args.keywords.get('keepdim'));
      case 'chunk': case 'split': {
        const sections = a[0] ?? args.keywords.get('split_size_or_sections') ?? args.keywords.get('split_size');
        if (name === 'split' && (sections?.t === 'list' || sections?.t === 'tuple')) return this.splitSections(x, sections.items, a[1] ?? args.keywords.get('dim'));
        const n = numberArg(a[0], undefined);
        const d = numberArg(a[1] ?? args.keywords.get('dim'), 0);
        if (!shape || n === undefined || d === undefined) return unknown;
        const axis = normalizeAxis(d, shape.length);
        // chunk(n) makes n parts; split(n) makes parts of size n (at most 64 are followed).
        if (axis === undefined || n <= 0 || (name === 'chunk' && n > 64)) return unknown;
        const length = shape[axis]!;
        if (name === 'chunk') {
          if (length === null || !isConcrete(length)) {
            const part = length === null ? null : floorDiv(length, n);
            return { t: 'tuple', items: Array.from({ length: n }, () => next(shape.map((s, i) => (i === axis ? part : s)))) };
          }
          const size = Math.ceil(length / n);
          const parts: Value[] = [];
          for (let start = 0; start < length; start += size) parts.push(next(shape.map((s, i) => (i === axis ? Math.min(size, length - start) : s))));
          return { t: 'tuple', items: parts };
        }
        if (length === null) return unknown;
        if (isConcrete(length)) {
          const parts: Value[] = [];
          for (let start = 0; start < length && parts.length < 64; start += n) parts.push(next(shape.map((s, i) => (i === axis ? Math.min(n, length - start) : s))));
          return { t: 'tuple', items: parts };
        }
        return unknown;
      }
      case 'add': case 'add_': {
        const other = a[0] ?? args.keywords.get('other');
        return other && node ? this.binary('+', x, other, node, frame) : unknown;
      }
      case 'mul': case 'mul_': case 'sub': case 'div':
        return a[0] && node ? this.binary(name.startsWith('mul') ? '*' : name === 'sub' ? '-' : '/', x, a[0], node, frame) : unknown;
      case 'matmul':
        return a[0]?.t === 'tensor' ? next(matmulShape(shape, a[0].cell.lazy ? null : a[0].cell.shape)) : next(null);
      case 'expand': {
        const sizes = sizeArguments(a);
        if (!shape || !sizes) return next(null);
        const offset = sizes.length - shape.length;
        return next(sizes.map((s, i) => (s === -1 ? shape[i - offset] ?? null : s)));
      }
      case 'repeat':
        return next(null);
      // Element-wise, in place or not (stochastic depth draws `noise.bernoulli_(p)` then `noise.div_(p)`).
      case 'contiguous': case 'relu': case 'relu_': case 'sigmoid': case 'tanh': case 'float': case 'half': case 'double': case 'to': case 'type':
      case 'cuda': case 'cpu': case 'detach': case 'clone': case 'softmax': case 'log_softmax': case 'masked_fill': case 'masked_fill_':
      case 'exp': case 'abs': case 'sqrt': case 'clamp': case 'pow': case 'neg': case 'type_as': case 'requires_grad_': case 'zero_': case 'fill_':
      case 'sin': case 'cos': case 'rsqrt': case 'square': case 'gelu': case 'silu': case 'sigmoid_': case 'tanh_': case 'long': case 'int': case 'bool':
      case 'bernoulli': case 'bernoulli_': case 'uniform_': case 'normal_': case 'div_': case 'floor': case 'floor_': case 'ceil': case 'round':
      case 'log': case 'log_': case 'log1p': case 'expm1': case 'sign': case 'reciprocal': case 'erf': case 'clamp_': case 'clamp_min': case 'clamp_max':
      case 'nan_to_num': case 'detach_': case 'exp_': case 'abs_': case 'neg_': case 'copy_':
        return { ...x, depth: x.depth + 1 };
      case 'new_zeros': case 'new_ones': case 'new_empty': {
        return tensor(sizeArguments(a));
      }
      case 'item': case 'tolist': case 'numel': case 'data_ptr':
        return unknown;
      default:
        return next(null);
    }
  }
}

class CallTooDeep extends Error {}

/** The interpreter's own control flow, which must pass through the guards for broken code. */
function isControl(err: unknown): boolean {
  return err instanceof BudgetExhausted || err instanceof PathAborted || err instanceof CallTooDeep;
}

// ---- helpers ----------------------------------------------------------------------

/** A key for a forward call: the class, its constructor arguments and the input shapes; undefined when not safe. */
function forwardKey(module: InstanceValue, args: CallArgs): string | undefined {
  if (args.keywords.size) return undefined;
  const parts: string[] = [];
  for (const a of args.positional) {
    if (a.t === 'tensor' && a.cell.lazy) return undefined; // its first layer still has to fix its rank
    const k = valueKey(a, 0);
    if (k === undefined) return undefined;
    parts.push(k);
  }
  const self = valueKey(module, 0);
  return self === undefined ? undefined : `${self}<-${parts.join(',')}`;
}

function constructorKey(cls: ClassInfo, args: CallArgs): string | undefined {
  let key = `${classMemoKey(cls)}(`;
  let first = true;
  for (const a of args.positional) {
    const k = valueKey(a, 1);
    if (k === undefined) return undefined;
    key += first ? k : `,${k}`;
    first = false;
  }
  for (const [name, a] of args.keywords) {
    const k = valueKey(a, 1);
    if (k === undefined) return undefined;
    key += first ? `${name}=${k}` : `,${name}=${k}`;
    first = false;
  }
  return `${key})`;
}

const instanceIds = new WeakMap<ClassInfo, number>();
let nextClassId = 1;

const layerKeys = new WeakMap<LayerDescriptor, string>();
/** A module's key from its constructor arguments, once none of them can change (no list, dict or tensor among them), with the depth it was computed at. */
const instanceKeys = new WeakMap<InstanceValue, { key: string; depth: number }>();
/** Counts the mutable values valueKey has walked, so a key that walked none can be kept. */
let mutableValuesSeen = 0;

// Keys are built by appending in loops: a check makes thousands of them (every call of a
// module class and every block constructor asks), so no intermediate arrays.
function valueKey(v: Value, depth: number): string | undefined {
  if (depth > 6) return undefined;
  switch (v.t) {
    case 'int': return `i${shapeDimKey(v.v)}`;
    case 'float': return `f${v.v}`;
    case 'bool': return typeof v.v === 'boolean' ? `b${v.v}` : undefined;
    case 'str': return `s${JSON.stringify(v.v)}`;
    case 'none': return 'n';
    case 'tuple':
    case 'list': {
      if (v.t === 'list') {
        mutableValuesSeen++;
        if (v.incomplete) return undefined;
      }
      return itemsKey('[', v.items, depth);
    }
    case 'dict': {
      mutableValuesSeen++;
      let key = '{';
      let first = true;
      for (const [k, item] of v.entries) {
        const itemKey = valueKey(item, depth + 1);
        if (itemKey === undefined) return undefined;
        key += first ? `${k}:${itemKey}` : `,${k}:${itemKey}`;
        first = false;
      }
      return `${key}}`;
    }
    case 'tensor': {
      mutableValuesSeen++;
      const shape = v.cell.shape;
      if (!shape) return undefined;
      let key = 'T(';
      for (let i = 0; i < shape.length; i++) key += i ? `,${shapeDimKey(shape[i]!)}` : shapeDimKey(shape[i]!);
      return `${key})${v.layout ?? ''}`;
    }
    case 'layer': {
      // A layer's descriptor is fixed once constructed; every memoised forward that holds it asks.
      let key = layerKeys.get(v.desc);
      if (key === undefined) {
        key = layerKey(v.desc);
        layerKeys.set(v.desc, key);
      }
      return key;
    }
    case 'container': {
      mutableValuesSeen++;
      if (v.incomplete) return undefined;
      return itemsKey(`${v.kind}[`, v.items, depth);
    }
    // An unbound builtin (`nn.BatchNorm2d` passed as `norm_layer`) is its name; a bound one holds a value that may change.
    case 'builtin': return v.self === undefined ? `B${v.name}` : undefined;
    case 'class': return classMemoKey(v.cls);
    case 'instance': {
      if (v.incomplete) return undefined;
      const kept = instanceKeys.get(v);
      if (kept && depth <= kept.depth) return kept.key;
      // A dataclass config is its fields; a module is its constructor arguments.
      if (v.cls.isDataclass) mutableValuesSeen++;
      const mutableBefore = mutableValuesSeen;
      let key = `I${classId(v.cls)}(`;
      let first = true;
      for (const [k, item] of v.cls.isDataclass ? v.attrs : v.args) {
        const itemKey = valueKey(item, depth + 1);
        if (itemKey === undefined) return undefined;
        key += first ? `${k}=${itemKey}` : `,${k}=${itemKey}`;
        first = false;
      }
      key += ')';
      if (!v.cls.isDataclass && mutableValuesSeen === mutableBefore) instanceKeys.set(v, { key, depth });
      return key;
    }
    case 'partial': {
      const inner = valueKey(v.fn, depth + 1);
      const items = [...v.positional.map((i) => valueKey(i, depth + 1)), ...[...v.keywords].map(([k, i]) => { const key = valueKey(i, depth + 1); return key === undefined ? undefined : `${k}=${key}`; })];
      return inner === undefined || items.includes(undefined) ? undefined : `P(${inner};${items.join(',')})`;
    }
    default: return undefined;
  }
}

/** The string methods model code branches on (`arch.startswith("efficientnet_b")`); others are unknown. */
function stringMethod(op: string, text: string, a: Value[]): Value {
  const arg = a[0]?.t === 'str' ? a[0].v : undefined;
  switch (op) {
    case 'startswith': return arg === undefined ? unknown : { t: 'bool', v: text.startsWith(arg) };
    case 'endswith': return arg === undefined ? unknown : { t: 'bool', v: text.endsWith(arg) };
    case 'lower': return { t: 'str', v: text.toLowerCase() };
    case 'upper': return { t: 'str', v: text.toUpperCase() };
    default: return unknown;
  }
}

/** `copy.copy(cfg)`: a new object with the same contents, so later stores leave the original alone. */
function copyOf(v: Value): Value {
  switch (v.t) {
    case 'instance': return { ...v, attrs: new Map(v.attrs), forwarded: false };
    case 'list': return { ...v, items: v.items.slice() };
    case 'dict': return { ...v, entries: new Map(v.entries) };
    default: return v;
  }
}

/** `open` + the items' keys + `]`, or undefined when one has none. */
function itemsKey(open: string, items: Value[], depth: number): string | undefined {
  let key = open;
  for (let i = 0; i < items.length; i++) {
    const itemKey = valueKey(items[i]!, depth + 1);
    if (itemKey === undefined) return undefined;
    key += i ? `,${itemKey}` : itemKey;
  }
  return `${key}]`;
}

function classId(cls: ClassInfo): number {
  let id = instanceIds.get(cls);
  if (id === undefined) instanceIds.set(cls, (id = nextClassId++));
  return id;
}

function classMemoKey(cls: ClassInfo): string {
  return `C${classId(cls)}`;
}

/** A layer's type and parameters; a symbolic dim by its canonical key, ended by `;` (which no key holds). */
function layerKey(desc: LayerDescriptor): string {
  let key = `L${desc.type}{`;
  for (const name in desc.params) key += `${name}:${paramKey(desc.params[name])},`;
  return `${key}}`;
}

function paramKey(p: ParamValue): string {
  if (p === undefined) return 'u';
  if (p === null) return 'n';
  if (typeof p === 'number') return String(p);
  if (typeof p === 'boolean') return p ? 't' : 'f';
  if (typeof p === 'string') return JSON.stringify(p);
  if (Array.isArray(p)) {
    let key = '[';
    for (let i = 0; i < p.length; i++) key += i ? `,${paramKey(p[i])}` : paramKey(p[i]);
    return `${key}]`;
  }
  return `@${p.key};`;
}

/** The largest `depth` among the tensors in `values`; 0 when none. */
function deepestTensor(values: Value[]): number {
  let deepest = 0;
  for (const v of values) if (v.t === 'tensor' && v.depth > deepest) deepest = v.depth;
  return deepest;
}

const elementwiseOps = new Set(['+', '-', '*', '/', '//', '%', '**']);

function freshCopy(v: Value, depth: number): Value {
  if (v.t === 'tensor') return tensor(v.cell.shape, v.layout, depth);
  if (v.t === 'tuple') return { t: 'tuple', items: v.items.map((i) => freshCopy(i, depth)) };
  return v;
}

function firstTensor(values: Value[]): TensorValue | undefined {
  return values.find((v): v is TensorValue => v.t === 'tensor');
}

/** A block that does nothing but raise. */
function raisesOnly(block: PyNode | undefined): boolean {
  const statements = block?.children.filter((c) => c.type !== 'comment') ?? [];
  return statements.length === 1 && statements[0]!.type === 'raise_statement';
}

function containsOpaque(t: Truth): boolean {
  if (typeof t === 'boolean') return false;
  if (t.kind === 'opaque') return true;
  if (t.kind === 'not') return containsOpaque(t.item);
  if (t.kind === 'cmp') return false;
  return t.items.some(containsOpaque);
}

function opaque(text: string, positive: boolean): Truth {
  const c: Cond = { kind: 'opaque', text };
  return positive ? c : not(c);
}

function nameOf(def: PyNode): string {
  return def.fields.name?.text ?? '';
}

function isMainGuard(stmt: PyNode, file: FileInfo): boolean {
  return stmt.type === 'if_statement' && /__name__/.test(nodeText(stmt.fields.condition ?? stmt, file.source));
}

const decoratedDefs = new WeakMap<PyNode, string[]>();
function markDecorated(def: PyNode, decorated: PyNode, file: FileInfo): PyNode {
  decoratedDefs.set(def, decorated.children.filter((c) => c.type === 'decorator').map((d) => nodeText(d, file.source)));
  return def;
}

/** How a method binds its first parameter: `@classmethod` to the class, `@staticmethod` to nothing. */
function methodBinding(def: PyNode): 'instance' | 'class' | 'static' {
  const decorators = decoratedDefs.get(def);
  if (!decorators) return 'instance';
  if (decorators.some((d) => /^@(?:builtins\.)?classmethod\b/.test(d))) return 'class';
  if (decorators.some((d) => /^@(?:builtins\.)?staticmethod\b/.test(d))) return 'static';
  return 'instance';
}

function isProperty(def: PyNode, _file: FileInfo): boolean {
  return (decoratedDefs.get(def) ?? []).some((d) => /^@(?:\w+\.)?(?:property|cached_property)\b/.test(d));
}

function isModuleValue(v: Value): boolean {
  return v.t === 'layer' || v.t === 'container' || v.t === 'moduledict' || (v.t === 'instance' && v.cls.isModule);
}

function isModuleBase(b: Value): boolean {
  if (b.t === 'builtin') return b.name === 'nn.Module' || b.name === 'nn.Sequential';
  if (b.t === 'class') return b.cls.isModule;
  return false;
}

export function linearBases(cls: ClassInfo, seen = new Set<ClassInfo>()): ClassInfo[] {
  if (seen.has(cls)) return [];
  seen.add(cls);
  const out = [cls];
  for (const b of cls.bases) if (b.t === 'class') out.push(...linearBases(b.cls, seen));
  return out;
}

export function findMethod(cls: ClassInfo, name: string): { def: PyNode; cls: ClassInfo } | undefined {
  for (const c of linearBases(cls)) {
    const def = c.methods.get(name);
    if (def) return { def, cls: c };
  }
  return undefined;
}

function findClassAttr(cls: ClassInfo, name: string): Value | undefined {
  for (const c of linearBases(cls)) {
    const v = c.classAttrs.get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}

function recordArgs(instance: InstanceValue, def: PyNode, args: CallArgs): void {
  const params = (def.fields.parameters?.children ?? [])
    .map((p) => (p.type === 'identifier' ? p.text : p.fields.name?.text ?? p.children.find((c) => c.type === 'identifier')?.text))
    .filter((n): n is string => !!n)
    .slice(1);
  params.forEach((name, i) => {
    const v = i < args.positional.length ? args.positional[i] : args.keywords.get(name);
    if (v) instance.args.set(name, v);
  });
}

const pythonBuiltins = new Set(['range', 'len', 'list', 'tuple', 'dict', 'int', 'float', 'str', 'bool', 'isinstance', 'hasattr', 'getattr',
  'setattr', 'super', 'print', 'min', 'max', 'sum', 'abs', 'enumerate', 'zip', 'reversed', 'round', 'OrderedDict']);

function builtinName(name: string): Value {
  if (pythonBuiltins.has(name)) return { t: 'builtin', name };
  if (name === '__name__') return { t: 'str', v: '__main__' };
  return unknown;
}

function namespaceValue(path: string): Value {
  return { t: 'namespace', path };
}

function namespaceAttribute(path: string, name: string): Value {
  if (path === 'torch' && name === 'nn') return { t: 'namespace', path: 'torch.nn' };
  if (path === 'torch.nn' && name === 'functional') return { t: 'namespace', path: 'torch.nn.functional' };
  if (path === 'torch.nn' && (name === 'init' || name === 'utils' || name === 'modules' || name === 'parameter')) return { t: 'namespace', path: `torch.nn.${name}` };
  if (path === 'torch.nn' || path === 'torch.nn.modules' || path === 'torch.nn.parameter') {
    if (layerTable.has(name) || containerNames.has(name) || name === 'Module' || name === 'Parameter') return { t: 'builtin', name: `nn.${name}` };
    return { t: 'builtin', name: `nn.${name}` };
  }
  if (path === 'torch.nn.functional') return { t: 'builtin', name: `F.${name}` };
  // The check follows eager PyTorch: not scripting, tracing, exporting or compiling.
  if (path === 'torch' && (name === 'jit' || name === 'onnx' || name === 'compiler' || name === '_dynamo')) return { t: 'namespace', path: `torch.${name}` };
  if (/^torch\.(jit|onnx|compiler|_dynamo)$/.test(path) && /^(is_scripting|is_tracing|is_in_onnx_export|is_compiling|is_dynamo_compiling|is_exporting)$/.test(name)) return { t: 'builtin', name: 'eager.false' };
  if (path === 'torch') return { t: 'builtin', name: `torch.${name}` };
  if (path === 'collections' && name === 'OrderedDict') return { t: 'builtin', name: 'OrderedDict' };
  if (path === 'math') return { t: 'builtin', name: `math.${name}` };
  if (path === 'functools' && name === 'partial') return { t: 'builtin', name: 'partial' };
  // Drop-path regularisers of the model libraries keep their input's shape, as dropout does.
  if (/^torchvision\.ops(\.stochastic_depth)?$/.test(path) && name === 'StochasticDepth') return { t: 'builtin', name: 'nn.Dropout' };
  if (/^timm(\.models)?\.layers(\.drop)?$/.test(path) && name === 'DropPath') return { t: 'builtin', name: 'nn.Dropout' };
  if (path === 'copy' && (name === 'copy' || name === 'deepcopy')) return { t: 'builtin', name: `copy.${name}` };
  return { t: 'namespace', path: `${path}.${name}` };
}

function keyOf(v: Value): string | undefined {
  if (v.t === 'str') return v.v;
  if (v.t === 'int' && isConcrete(v.v)) return `#${v.v}`;
  return undefined;
}

function isNum(v: Value): boolean {
  return (v.t === 'int' && isConcrete(v.v)) || v.t === 'float' || (v.t === 'bool' && typeof v.v === 'boolean');
}

function numberOf(v: Value): number | undefined {
  if (v.t === 'int' && isConcrete(v.v)) return v.v;
  if (v.t === 'float') return v.v;
  if (v.t === 'bool' && typeof v.v === 'boolean') return v.v ? 1 : 0;
  return undefined;
}

/**
 * The sizes of `view(B, C, H, W)`, `view((B, C, H, W))` or `zeros(*shape)`; null when a
 * spread of unknown length (`*size`) leaves the rank unknown.
 */
function sizeArguments(args: Value[]): ShapeDim[] | null {
  const first = args[0];
  const sizes = args.length === 1 && (first?.t === 'tuple' || first?.t === 'list') ? first.items : args;
  if (sizes.length === 1 && sizes[0]?.t === 'tuple') return null;
  if (sizes.some(isUnknownSpread)) return null;
  return sizes.map((v) => numericDim(v) ?? null);
}

/** A layer argument that is one symbol alone (`kernel_size=k`). */
function bareSymbol(v: ParamValue): string | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? symbolName(v) : undefined;
}

function numericDim(v: Value): Dim | undefined {
  if (v.t === 'int') return v.v;
  if (v.t === 'bool' && typeof v.v === 'boolean') return v.v ? 1 : 0;
  return undefined;
}

function numberArg(v: Value | undefined, fallback: number | undefined): number | undefined {
  if (!v || v.t === 'none') return fallback;
  return v.t === 'int' && isConcrete(v.v) ? v.v : undefined;
}

function dimValue(d: ShapeDim): Value {
  return d === null ? unknown : intValue(d);
}

function sizeOf(t: TensorValue, dimArg: Value | undefined): Value {
  const shape = t.cell.lazy ? null : t.cell.shape;
  if (dimArg && dimArg.t !== 'none') {
    const d = numberArg(dimArg, undefined);
    if (!shape || d === undefined) return unknown;
    const axis = normalizeAxis(d, shape.length);
    return axis === undefined ? unknown : dimValue(shape[axis]!);
  }
  if (t.cell.lazy) return { t: 'lazysize', tensor: t };
  if (!shape) return unknown;
  return { t: 'tuple', items: shape.map(dimValue) };
}

export function toParam(v: Value): ParamValue {
  switch (v.t) {
    case 'int': return v.v;
    case 'float': return v.v;
    case 'bool': return typeof v.v === 'boolean' ? v.v : undefined;
    case 'str': return v.v;
    case 'none': return null;
    case 'tuple':
    case 'list': return v.t === 'list' && v.incomplete ? undefined : v.items.map(toParam);
    default: return undefined;
  }
}

function paramToValue(p: ParamValue): Value {
  if (p === undefined) return unknown;
  if (p === null) return none;
  if (typeof p === 'boolean') return { t: 'bool', v: p };
  if (typeof p === 'string') return { t: 'str', v: p };
  if (Array.isArray(p)) return { t: 'tuple', items: p.map(paramToValue) };
  if (typeof p === 'number') return Number.isInteger(p) ? intValue(p) : { t: 'float', v: p };
  return intValue(p);
}

function layoutOf(type: string): Layout | undefined {
  if (/^(Conv|ConvTranspose|BatchNorm[23]d|InstanceNorm[23]d|GroupNorm|MaxPool|AvgPool|AdaptiveAvgPool|AdaptiveMaxPool|Upsample|PixelShuffle)/.test(type)) return 'channels-first';
  if (/^(Linear|Embedding|LayerNorm|RMSNorm|MultiheadAttention)$/.test(type)) return 'channels-last';
  return undefined;
}

function unknownTensorLike(v: Value | undefined): Value {
  return v?.t === 'tensor' ? tensor(null, v.layout, v.depth + 1) : unknown;
}

function repeatSeq(seq: Extract<Value, { t: 'list' } | { t: 'tuple' }>, times: Dim): Value {
  if (!isConcrete(times) || times > 100000) return seq.t === 'list' ? { t: 'list', items: [], incomplete: true } : unknown;
  const items: Value[] = [];
  for (let i = 0; i < times; i++) items.push(...seq.items);
  return seq.t === 'list' ? { t: 'list', items, ...(seq.incomplete ? { incomplete: true } : {}) } : { t: 'tuple', items };
}

function sliceBound(v: Value, fallback: number, length: number): number | undefined {
  if (v.t === 'none') return fallback;
  if (v.t !== 'int' || !isConcrete(v.v)) return undefined;
  const i = v.v < 0 ? v.v + length : v.v;
  return Math.max(0, Math.min(length, i));
}

/** Length of `x[start:stop:step]` along an axis of `length`. */
function sliceLength(length: ShapeDim, s: Extract<Value, { t: 'slice' }>): ShapeDim {
  const step = s.step.t === 'none' ? 1 : s.step.t === 'int' ? s.step.v : undefined;
  if (step === undefined || (isConcrete(step) && step <= 0)) return null;
  const start = s.start.t === 'none' ? 0 : s.start.t === 'int' ? s.start.v : undefined;
  let stop: ShapeDim | undefined = s.stop.t === 'none' ? length : s.stop.t === 'int' ? s.stop.v : undefined;
  if (start === undefined || stop === undefined || stop === null || length === null) return null;
  if (isConcrete(start) && start < 0) return null;
  if (isConcrete(stop) && stop < 0) stop = add(length, stop);
  if (isConcrete(stop) && isConcrete(length) && stop > length) stop = length;
  if (isConcrete(start) && isConcrete(stop) && isConcrete(step)) return Math.max(0, Math.ceil((stop - start) / step));
  return ceilDiv(sub(stop, start), step);
}

function matmulShape(a: Shape, b: Shape): Shape {
  if (!a || !b || a.length < 1 || b.length < 1) return null;
  if (a.length === 1 || b.length === 1) return null;
  const batchA = a.slice(0, -2);
  const batchB = b.slice(0, -2);
  const outcome = broadcast(batchA, batchB);
  if (!('shape' in outcome) || !outcome.shape) return null;
  return [...outcome.shape, a[a.length - 2]!, b[b.length - 1]!];
}

function isInstanceOf(v: Value, cls: Value): boolean | undefined {
  if (cls.t === 'class') {
    if (v.t !== 'instance') return v.t === 'layer' || v.t === 'container' || v.t === 'int' || v.t === 'str' || v.t === 'tensor' ? false : undefined;
    return linearBases(v.cls).includes(cls.cls);
  }
  if (cls.t === 'builtin') {
    if (cls.name === 'int') return v.t === 'int';
    if (cls.name === 'float') return v.t === 'float';
    if (cls.name === 'str') return v.t === 'str';
    if (cls.name === 'list') return v.t === 'list';
    if (cls.name === 'tuple') return v.t === 'tuple';
    if (cls.name === 'bool') return v.t === 'bool';
    if (cls.name.startsWith('nn.')) {
      const type = cls.name.slice(3);
      if (v.t === 'layer') return v.desc.type === type || type === 'Module';
      if (v.t === 'container') return v.kind === type || type === 'Module';
      if (v.t === 'instance') return type === 'Module' ? v.cls.isModule : false;
    }
  }
  return undefined;
}
