// Runs layers-API model code (Keras in Python, TF.js in TypeScript/JavaScript) on
// abstract values, with a step budget, and records every residual addition with the
// two operand shapes, the path condition it was reached under and the call it sits in.
//
// Entry points, in order: the module's own code (concrete), then functions that need
// no argument (run with their defaults, like `ResNet50()`), then every helper and
// Layer subclass nothing reached, once, with symbolic parameters.
import { type Dim, add, ceilDiv, floorDiv, isConcrete, mod, mul, neg, sub, symbol } from '../shapes/dim';
import { type CompareOp, type Truth, compare, not, or } from '../shapes/condition';
import { type BroadcastOutcome, type Shape, type ShapeDim, broadcast } from '../shapes/shape';
import type { LayerParams, ParamValue } from '../shapes/layers';
import { alignForMerge, channelsLastLayers, concatenateShapes, kerasAliases, mergeLayers, tfjsLayerNames } from '../shapes/channelsLast';
import { conjoin } from './conditions';
import type { GraphRecorder, MergeOrigin } from './graphHooks';
import { canonicalAttribute, importPath, snakeCase, type Language } from './libraries';
import type { Expr, FunctionDef, Program, Span, Stmt, Target } from './syntax';
import {
  type AppliedLayer, type ClassDef, type LayerValue, type TensorValue, type Value,
  Scope, intValue, none, tensorOf, unknown,
} from './values';

export interface CallContext {
  /** `residual_block(x, 32, stride=2)` with the argument values it was called with. */
  text: string;
  /** 0-based line of the call. */
  line: number;
}

export interface AddObservation {
  /** The addition: `layers.add([x, y])`, `x + y`, `tf.layers.add().apply([x, y])`. */
  span: Span;
  /** The statement it is part of (fixes insert before it). */
  statement: Span | undefined;
  /** The function that holds it, if any. */
  enclosing: FunctionDef | undefined;
  left: TensorValue;
  right: TensorValue;
  leftShape: Shape;
  rightShape: Shape;
  /** The operand expressions when the code lists them (`[x, shortcut]`, `x + shortcut`). */
  operands: [Expr | undefined, Expr | undefined];
  cond: Truth;
  /** Reached from module code or a no-argument builder rather than a symbolic helper run. */
  concrete: boolean;
  context: CallContext | undefined;
  /** The function invocation that made the addition (see AppliedLayer.invocation). */
  invocation: number;
  /** An Add layer (Keras `Add`/`add`, TF.js `add`): inputs of lower rank get size-1 axes after the batch. */
  layerMerge: boolean;
}

/** A tensor the code names or a layer it applies, with its shape there: for hovers and inlay hints. */
export interface ShapeNote {
  span: Span;
  name: string;
  kind: 'variable' | 'layer';
  shape: Shape;
  concrete: boolean;
  /** Last line of the statement that made it (where a line-end hint goes). */
  statementEndLine: number;
}

export interface InterpretResult {
  observations: AddObservation[];
  notes: ShapeNote[];
  /** Symbols that stand for flags (`conv_shortcut`): written as flags in messages, tried as 0/1. */
  flags: Set<string>;
  /** Loop counters (`i`): tried from 0. */
  loopSymbols: Set<string>;
  /** The budget ran out; what was recorded so far is still sound. */
  incomplete: boolean;
}

class BudgetExceeded extends Error {}

type Completion = 'normal' | 'return' | 'break' | 'continue';

interface Frame {
  scope: Scope;
  path: Truth;
  returns: [Truth, Value][];
  concrete: boolean;
  def: FunctionDef | undefined;
  context: CallContext | undefined;
  statement: Span | undefined;
  depth: number;
  invocation: number;
  self?: Value;
}

const maxCallDepth = 40;
const maxRecursion = 2;
const maxLoopIterations = 2048;
const maxGuardOptions = 8;
const maxTrace = 16;
const maxSteps = 3_000_000;
const maxNotes = 20_000;

const pythonBuiltins = ['range', 'len', 'int', 'float', 'max', 'min', 'list', 'tuple', 'zip', 'enumerate', 'isinstance', 'print', 'str', 'sum', 'abs', 'round', 'getattr', 'hasattr', 'super', 'dict', 'bool', 'sorted', 'reversed'];

export function interpretProgram(program: Program, deadline: number, log: (line: string) => void): InterpretResult {
  const interpreter = new LayersInterpreter(program, deadline);
  let incomplete = false;
  try {
    interpreter.runEntries();
  } catch (err) {
    if (!(err instanceof BudgetExceeded)) throw err;
    incomplete = true;
    log(`layers interpreter: ${err.message}; findings so far are kept, the rest of the file is not checked`);
  }
  return { observations: interpreter.observations, notes: interpreter.notes, flags: interpreter.flags, loopSymbols: interpreter.loopSymbols, incomplete };
}

/** What "Probe This Model" needs from the interpreter: the module run, then its builder called or a Sequential applied. */
export class GraphSession {
  private readonly interpreter: LayersInterpreter;
  incomplete = false;

  constructor(program: Program, deadline: number, recorder: GraphRecorder, private readonly log: (line: string) => void) {
    this.interpreter = new LayersInterpreter(program, deadline, recorder);
  }

  /** The module's own code, as running the file does; false when the budget ran out. */
  runModule(): boolean {
    return this.guard(() => this.interpreter.runModule()) !== undefined;
  }

  lookup(name: string): Value | undefined {
    return this.interpreter.lookupGlobal(name);
  }

  /** Calls a builder with its defaults; the parameters without one when it cannot. */
  callWithDefaults(fn: Value): Value | { missing: string[] } | undefined {
    if (fn.t !== 'function') return undefined;
    const missing = fn.def.params.filter((p) => !p.default && !p.rest && !p.properties).map((p) => p.name);
    if (missing.length > 0) return { missing };
    return this.guard(() => this.interpreter.callForGraph(fn));
  }

  /** Instantiates a model class with its defaults; the parameters without one when it cannot. */
  instantiateWithDefaults(cls: Value): Value | { missing: string[] } | undefined {
    if (cls.t !== 'class') return undefined;
    const init = cls.cls.methods.get('__init__');
    const missing = init ? init.params.slice(1).filter((p) => !p.default && !p.rest && !p.properties).map((p) => p.name) : [];
    if (missing.length > 0) return { missing };
    return this.guard(() => this.interpreter.instantiateForGraph(cls.cls));
  }

  /** A Sequential (or any layer value) applied to a new model input of this shape. */
  applyToNewInput(layer: Value, shape: Value | undefined): { input: Value; output: Value } | undefined {
    return this.guard(() => this.interpreter.applyToNewInput(layer, shape));
  }

  applyToTensor(layer: Value, input: Value): Value | undefined {
    return this.guard(() => this.interpreter.applyTo(layer, input));
  }

  private guard<T>(run: () => T): T | undefined {
    try {
      return run();
    } catch (err) {
      if (!(err instanceof BudgetExceeded)) throw err;
      this.incomplete = true;
      this.log(`layers interpreter: ${err.message} while building the model graph`);
      return undefined;
    }
  }
}

class LayersInterpreter {
  readonly observations: AddObservation[] = [];
  readonly notes: ShapeNote[] = [];
  readonly flags = new Set<string>();
  readonly loopSymbols = new Set<string>();
  private readonly language: Language;
  private readonly globals = new Scope();
  private readonly called = new Set<FunctionDef>();
  private readonly instantiated = new Set<ClassDef>();
  private readonly definedFunctions: { def: FunctionDef; value: FunctionValue }[] = [];
  private readonly definedClasses: ClassDef[] = [];
  private steps = 0;
  private lazyInputs = 0;
  private inputs = 0;
  private invocations = 0;
  private readonly activeCalls = new Map<FunctionDef, number>();

  constructor(private readonly program: Program, private readonly deadline: number, private readonly recorder?: GraphRecorder) {
    this.language = program.language;
    if (this.language === 'python') {
      for (const name of pythonBuiltins) this.globals.vars.set(name, { t: 'ns', path: `builtins.${name}` });
      // The file is checked as the program being run: its `if __name__ == "__main__":` block is an entry point.
      this.globals.vars.set('__name__', { t: 'str', v: '__main__' });
    }
    else {
      this.globals.vars.set('Math', { t: 'ns', path: 'js.Math' });
      this.globals.vars.set('require', { t: 'ns', path: 'js.require' });
      this.globals.vars.set('console', { t: 'ns', path: 'js.console' });
    }
  }

  runModule(): true {
    this.execBlock(this.program.body, this.newFrame(this.globals, true, undefined, undefined, 0));
    return true;
  }

  lookupGlobal(name: string): Value | undefined {
    return this.globals.lookup(name);
  }

  callForGraph(fn: FunctionValue): Value {
    return this.callFunction(fn, [], new Map(), undefined, this.newFrame(this.globals, true, undefined, undefined, 0));
  }

  applyToNewInput(layer: Value, shape: Value | undefined): { input: Value; output: Value } {
    const input = this.makeInput(shape, undefined);
    return { input, output: this.applyTo(layer, input) };
  }

  applyTo(layer: Value, input: Value): Value {
    return this.callValue(layer, [input], new Map(), undefined, this.newFrame(this.globals, true, undefined, undefined, 0));
  }

  runEntries(): void {
    const moduleFrame = this.newFrame(this.globals, true, undefined, undefined, 0);
    this.execBlock(this.program.body, moduleFrame);

    // Builders that need no argument (`def ResNet50(include_top=True, ...)`) are entry points.
    for (const { def, value } of this.roots()) {
      if (this.called.has(def) || def.params.some((p) => !p.default && !p.rest)) continue;
      this.lazyInputs = 0;
      this.callFunction(value, [], new Map(), undefined, this.newFrame(this.globals, true, undefined, undefined, 0));
    }
    // Helpers nothing reached: once, with symbolic parameters.
    for (const { def, value } of this.roots()) {
      if (this.called.has(def)) continue;
      this.lazyInputs = 0;
      const frame = this.newFrame(this.globals, false, undefined, undefined, 0);
      const positional = def.params.filter((p) => !p.rest).map((p) => this.symbolicArgument(p.name, p.default, frame));
      const context = { text: `${def.name}(${def.params.filter((p) => !p.rest).map((p) => p.name).join(', ')})`, line: def.span.range.start.line };
      this.callFunction(value, positional, new Map(), undefined, frame, context);
    }
    for (const cls of this.definedClasses) {
      if (this.instantiated.has(cls) || !cls.methods.has('call')) continue;
      this.lazyInputs = 0;
      const frame = this.newFrame(this.globals, false, undefined, undefined, 0);
      const init = this.findMethod(cls, '__init__');
      const positional = init ? init.params.slice(1).filter((p) => !p.rest).map((p) => this.symbolicArgument(p.name, p.default, frame)) : [];
      const instance = this.instantiate(cls, positional, new Map(), undefined, frame);
      this.callValue(instance, [{ t: 'param', name: 'inputs', state: {} }], new Map(), undefined, frame);
    }
  }

  /** Functions no other function of the file calls by name come first: they give their callees the most specific arguments. */
  private roots(): { def: FunctionDef; value: FunctionValue }[] {
    if (this.rootOrder && this.rootOrder.length === this.definedFunctions.length) return this.rootOrder;
    this.rootOrder = this.orderRoots();
    return this.rootOrder;
  }

  private rootOrder: { def: FunctionDef; value: FunctionValue }[] | undefined;

  private orderRoots(): { def: FunctionDef; value: FunctionValue }[] {
    const calledNames = new Set<string>();
    for (const { def } of this.definedFunctions) for (const name of calledNamesOf(def)) calledNames.add(name);
    const roots = this.definedFunctions.filter(({ def }) => !calledNames.has(def.name)).reverse();
    const rest = this.definedFunctions.filter(({ def }) => calledNames.has(def.name)).reverse();
    return [...roots, ...rest];
  }

  private symbolicArgument(name: string, defaultExpr: Expr | undefined, frame: Frame): Value {
    if (defaultExpr) {
      const value = this.evalExpr(defaultExpr, frame);
      if (value.t === 'bool') {
        this.flags.add(name);
        return intValue(symbol(name));
      }
      if (value.t === 'int') return intValue(symbol(name));
      return value;
    }
    return { t: 'param', name, state: {} };
  }

  private newFrame(scope: Scope, concrete: boolean, def: FunctionDef | undefined, context: CallContext | undefined, depth: number): Frame {
    return { scope, path: true, returns: [], concrete, def, context, statement: undefined, depth, invocation: ++this.invocations };
  }

  private tick(): void {
    this.steps++;
    if ((this.steps & 1023) === 0 && performance.now() > this.deadline) throw new BudgetExceeded('time budget exhausted');
    if (this.steps > maxSteps) throw new BudgetExceeded('step budget exhausted');
  }

  // ---- statements ----

  private execBlock(stmts: Stmt[], frame: Frame): Completion {
    for (const stmt of stmts) {
      const completion = this.execStmt(stmt, frame);
      if (completion !== 'normal') return completion;
    }
    return 'normal';
  }

  private execStmt(stmt: Stmt, frame: Frame): Completion {
    this.tick();
    const outerStatement = frame.statement;
    if (stmt.k !== 'block' && stmt.k !== 'if' && stmt.k !== 'for' && stmt.k !== 'cfor') frame.statement = stmt.span;
    try {
      switch (stmt.k) {
        case 'expr':
          this.evalExpr(stmt.e, frame);
          return 'normal';
        case 'assign': {
          let value = this.evalExpr(stmt.value, frame);
          // Module-level `NUM_BLOCKS = 3`: the recorder may change it (depth variants of a model the module builds).
          if (this.recorder && frame.def === undefined && !frame.self && stmt.targets.length === 1 && stmt.targets[0]!.k === 'name') value = this.recorder.moduleAssigned(stmt.targets[0]!.name, value, stmt.span);
          for (const target of stmt.targets) this.assign(target, value, frame);
          return 'normal';
        }
        case 'augassign': {
          const current = this.evalTarget(stmt.target, frame);
          const right = this.evalExpr(stmt.value, frame);
          const left = stmt.target.k === 'name' ? ({ k: 'name', name: stmt.target.name, span: stmt.span } as Expr) : undefined;
          this.assign(stmt.target, this.binary(stmt.op, current, right, stmt.span, frame, [left, stmt.value]), frame);
          return 'normal';
        }
        case 'if': return this.execIf(stmt, frame);
        case 'for': return this.execFor(stmt.target, this.evalExpr(stmt.iter, frame), stmt.body, frame);
        case 'cfor': return this.execCFor(stmt, frame);
        case 'return': {
          const value = stmt.value ? this.evalExpr(stmt.value, frame) : none;
          frame.returns.push([frame.path, value]);
          return 'return';
        }
        case 'def': {
          const value: FunctionValue = { t: 'function', def: stmt.def, closure: frame.scope };
          frame.scope.vars.set(stmt.def.name, value);
          if (frame.def === undefined && !frame.self) this.definedFunctions.push({ def: stmt.def, value });
          return 'normal';
        }
        case 'class': {
          frame.scope.vars.set(stmt.name, this.defineClass(stmt, frame));
          return 'normal';
        }
        case 'import':
          for (const binding of stmt.bindings) {
            const path = importPath(binding.path, this.language);
            frame.scope.vars.set(binding.local, path ? { t: 'ns', path } : unknown);
          }
          return 'normal';
        case 'block': return this.execBlock(stmt.body, frame);
        case 'opaque':
          for (const name of stmt.assigned) frame.scope.vars.set(name, unknown);
          return 'normal';
        case 'break': return 'break';
        case 'continue': return 'continue';
      }
    } finally {
      frame.statement = outerStatement;
    }
  }

  private defineClass(stmt: Extract<Stmt, { k: 'class' }>, frame: Frame): Value {
    const cls: ClassDef = { name: stmt.name, bases: stmt.bases.map((b) => this.evalExpr(b, frame)), methods: new Map(), attrs: new Map(), span: stmt.span, closure: frame.scope };
    const classScope = new Scope(frame.scope);
    const classFrame: Frame = { ...this.newFrame(classScope, frame.concrete, undefined, undefined, frame.depth), self: { t: 'class', cls } };
    for (const s of stmt.body) {
      if (s.k === 'def') cls.methods.set(s.def.name, s.def);
      else this.execStmt(s, classFrame);
    }
    for (const [k, v] of classScope.vars) cls.attrs.set(k, v);
    this.definedClasses.push(cls);
    return { t: 'class', cls };
  }

  private execIf(stmt: Extract<Stmt, { k: 'if' }>, frame: Frame): Completion {
    const test = this.truth(this.evalExpr(stmt.test, frame), stmt.test);
    if (test === true) return this.execBlock(stmt.body, frame);
    if (test === false) return this.execBlock(stmt.orelse, frame);
    const path = frame.path;
    const before = this.snapshot(frame);
    frame.path = conjoin(path, test);
    const thenCompletion = frame.path === false ? 'return' : this.execBlock(stmt.body, frame);
    const afterThen = this.snapshot(frame);
    this.restore(frame, before);
    frame.path = conjoin(path, not(test));
    const elseCompletion = frame.path === false ? 'return' : this.execBlock(stmt.orelse, frame);
    const afterElse = this.snapshot(frame);
    if (thenCompletion !== 'normal' && elseCompletion !== 'normal') {
      frame.path = path;
      return thenCompletion === 'return' && elseCompletion === 'return' ? 'return' : 'normal';
    }
    if (thenCompletion !== 'normal') {
      frame.path = conjoin(path, not(test));
      return 'normal';
    }
    if (elseCompletion !== 'normal') {
      this.restore(frame, afterThen);
      frame.path = conjoin(path, test);
      return 'normal';
    }
    this.restore(frame, mergeSnapshots(afterThen, afterElse, test));
    frame.path = path;
    return 'normal';
  }

  private execFor(target: Target, iterable: Value, body: Stmt[], frame: Frame): Completion {
    const items = this.iterate(iterable);
    if (items) {
      let count = 0;
      for (const item of items) {
        if (++count > maxLoopIterations) throw new BudgetExceeded('a loop ran past its iteration limit');
        this.assign(target, item, frame);
        const completion = this.execBlock(body, frame);
        if (completion === 'break') break;
        if (completion === 'return') return 'return';
      }
      return 'normal';
    }
    // An iteration count the interpreter cannot tell: one pass, then trust only what it left unchanged.
    let loopCond: Truth = true;
    let item: Value = unknown;
    if (iterable.t === 'method' && iterable.name === '#range' && iterable.self.t === 'tuple' && target.k === 'name') {
      const [start, stop] = iterable.self.items.map((v) => (v.t === 'int' ? v.v : undefined));
      if (start !== undefined && stop !== undefined) {
        const counter = symbol(target.name);
        this.loopSymbols.add(target.name);
        item = intValue(counter);
        loopCond = conjoin(compare('>=', counter, start), compare('<', counter, stop));
      }
    }
    return this.runOnce(frame, loopCond, () => {
      this.assign(target, item, frame);
      return this.execBlock(body, frame);
    });
  }

  private execCFor(stmt: Extract<Stmt, { k: 'cfor' }>, frame: Frame): Completion {
    this.execBlock(stmt.init, frame);
    let count = 0;
    for (;;) {
      const test = stmt.test ? this.truth(this.evalExpr(stmt.test, frame), stmt.test) : true;
      if (test === false) return 'normal';
      if (test !== true) return this.runOnce(frame, test, () => this.execBlock(stmt.body, frame));
      if (++count > maxLoopIterations) throw new BudgetExceeded('a loop ran past its iteration limit');
      const completion = this.execBlock(stmt.body, frame);
      if (completion === 'break') return 'normal';
      if (completion === 'return') return 'return';
      for (const update of stmt.update) this.evalExpr(update, frame);
    }
  }

  private runOnce(frame: Frame, cond: Truth, body: () => Completion): Completion {
    const path = frame.path;
    const before = this.snapshot(frame);
    frame.path = conjoin(path, cond);
    if (frame.path !== false) body();
    const after = this.snapshot(frame);
    this.restore(frame, before);
    for (const [key, value] of after.vars) {
      const old = before.vars.get(key);
      if (old === value) continue;
      frame.scope.vars.set(key, old !== undefined && sameShapeValue(old, value) ? value : unknown);
    }
    for (const [key, value] of after.selfAttrs ?? []) {
      if (before.selfAttrs?.get(key) !== value) before.selfTarget?.set(key, unknown);
    }
    // Returns inside the pass were recorded under their own path; the code after the loop runs on.
    frame.path = path;
    return 'normal';
  }

  private iterate(v: Value): Value[] | undefined {
    if (v.t === 'list' || v.t === 'tuple') return v.items;
    if (v.t === 'dict') return [...v.entries.keys()].map((k) => ({ t: 'str', v: k }) as Value);
    return undefined;
  }

  private snapshot(frame: Frame): Snapshot {
    const selfValue = frame.scope.vars.get('self') ?? frame.scope.vars.get('this');
    const selfAttrs = selfValue?.t === 'instance' ? selfValue.attrs : undefined;
    return { vars: new Map(frame.scope.vars), selfAttrs: selfAttrs ? new Map(selfAttrs) : undefined, selfTarget: selfAttrs };
  }

  private restore(frame: Frame, snapshot: Snapshot): void {
    frame.scope.vars.clear();
    for (const [k, v] of snapshot.vars) frame.scope.vars.set(k, v);
    if (snapshot.selfTarget && snapshot.selfAttrs) {
      snapshot.selfTarget.clear();
      for (const [k, v] of snapshot.selfAttrs) snapshot.selfTarget.set(k, v);
    }
  }

  private assign(target: Target, value: Value, frame: Frame): void {
    switch (target.k) {
      case 'name':
        frame.scope.vars.set(target.name, value);
        if (target.span) this.note(target.span, target.name, 'variable', value, frame);
        return;
      case 'attr': {
        const obj = this.evalExpr(target.obj, frame);
        if (obj.t === 'instance') obj.attrs.set(target.name, value);
        else if (obj.t === 'dict') obj.entries.set(target.name, value);
        return;
      }
      case 'index': {
        const obj = this.evalExpr(target.obj, frame);
        const index = this.evalExpr(target.index, frame);
        if (obj.t === 'list' && index.t === 'int' && isConcrete(index.v)) {
          const i = index.v < 0 ? obj.items.length + index.v : index.v;
          if (i >= 0 && i < obj.items.length) obj.items[i] = value;
        } else if (obj.t === 'dict' && index.t === 'str' && index.v !== undefined) obj.entries.set(index.v, value);
        return;
      }
      case 'unpack': {
        const items = this.iterate(value);
        target.items.forEach((t, i) => this.assign(t, items && items.length === target.items.length ? items[i]! : unknown, frame));
        return;
      }
      case 'ignored':
        return;
    }
  }

  private evalTarget(target: Target, frame: Frame): Value {
    switch (target.k) {
      case 'name': return frame.scope.lookup(target.name) ?? unknown;
      case 'attr': return this.getAttr(this.evalExpr(target.obj, frame), target.name);
      case 'index': return this.index(this.evalExpr(target.obj, frame), this.evalExpr(target.index, frame));
      default: return unknown;
    }
  }

  // ---- expressions ----

  private evalExpr(e: Expr, frame: Frame): Value {
    this.tick();
    switch (e.k) {
      case 'name': return frame.scope.lookup(e.name) ?? unknown;
      case 'num': return e.integer ? intValue(e.value) : { t: 'float', v: e.value };
      case 'str': return { t: 'str', v: e.value };
      case 'bool': return { t: 'bool', v: e.value };
      case 'none': return none;
      case 'list':
      case 'tuple':
        return { t: e.k, items: e.items.map((i) => this.evalExpr(i, frame)) };
      case 'object': {
        const entries = new Map<string, Value>();
        for (const entry of e.entries) entries.set(entry.key, this.evalExpr(entry.value, frame));
        return { t: 'dict', entries };
      }
      case 'call': return this.evalCall(e, frame);
      case 'attr': return this.getAttr(this.evalExpr(e.obj, frame), e.name);
      case 'index': return this.index(this.evalExpr(e.obj, frame), this.evalExpr(e.index, frame));
      // A slice travels as a tuple tagged with a marker string, which index() recognises.
      case 'slice': return { t: 'tuple', items: [e.start, e.stop, e.step].map((p) => (p ? this.evalExpr(p, frame) : none)).concat([{ t: 'str', v: '#slice' }]) };
      case 'binop': {
        const left = this.evalExpr(e.left, frame);
        if (e.op === '??') return left.t === 'none' ? this.evalExpr(e.right, frame) : left;
        return this.binary(e.op, left, this.evalExpr(e.right, frame), e.span, frame, [e.left, e.right]);
      }
      case 'unop': {
        const operand = this.evalExpr(e.operand, frame);
        if (e.op === 'not') return { t: 'bool', v: not(this.truth(operand, e.operand)) };
        if (e.op === '-') return mapValue(operand, (v) => (v.t === 'int' ? intValue(neg(v.v)) : v.t === 'float' ? { t: 'float', v: -v.v } : unknown));
        if (e.op === '+') return operand;
        return unknown;
      }
      case 'compare': {
        let result: Truth = true;
        const values = e.operands.map((o) => this.evalExpr(o, frame));
        for (let i = 0; i < e.ops.length; i++) result = conjoin(result, this.compareValues(e.ops[i]!, values[i]!, values[i + 1]!, e));
        return { t: 'bool', v: result };
      }
      case 'boolop': return this.evalBoolOp(e, frame);
      case 'ternary': {
        const test = this.truth(this.evalExpr(e.test, frame), e.test);
        if (test === true) return this.evalExpr(e.then, frame);
        if (test === false) return this.evalExpr(e.otherwise, frame);
        return guarded([[test, this.evalExpr(e.then, frame)], [not(test), this.evalExpr(e.otherwise, frame)]]);
      }
      case 'lambda': return { t: 'function', def: e.def, closure: frame.scope };
      case 'unknown': return unknown;
    }
  }

  private evalBoolOp(e: Extract<Expr, { k: 'boolop' }>, frame: Frame): Value {
    let result = this.evalExpr(e.values[0]!, frame);
    for (const next of e.values.slice(1)) {
      const t = this.truth(result, e);
      if (e.op === 'and') {
        if (t === false) return result;
        if (t === true) { result = this.evalExpr(next, frame); continue; }
      } else {
        if (t === true) return result;
        if (t === false) { result = this.evalExpr(next, frame); continue; }
      }
      const other = this.evalExpr(next, frame);
      if ((result.t === 'bool' || result.t === 'int') && (other.t === 'bool' || other.t === 'int')) {
        const o = this.truth(other, next);
        result = { t: 'bool', v: e.op === 'and' ? conjoin(t, o) : or(t, o) };
      } else {
        result = e.op === 'and' ? guarded([[t, other], [not(t), result]]) : guarded([[t, result], [not(t), other]]);
      }
    }
    return result;
  }

  private compareValues(op: string, a: Value, b: Value, e: Expr): Truth {
    if (a.t === 'guarded') return a.options.reduce<Truth>((acc, [c, v]) => or(acc, conjoin(c, this.compareValues(op, v, b, e))), false);
    if (b.t === 'guarded') return b.options.reduce<Truth>((acc, [c, v]) => or(acc, conjoin(c, this.compareValues(op, a, v, e))), false);
    const opaque: Truth = { kind: 'opaque', text: this.program.text.slice(e.span.start, e.span.end) };
    if (op === 'is' || op === 'is not' || ((op === '==' || op === '!=') && (a.t === 'none' || b.t === 'none'))) {
      const positive = op === 'is' || op === '==';
      if (a.t === 'unknown' || b.t === 'unknown' || a.t === 'param' || b.t === 'param') return opaque;
      const same = a.t === 'none' && b.t === 'none' ? true : a.t === 'none' || b.t === 'none' ? false : a === b ? true : undefined;
      if (same === undefined) return opaque;
      return positive ? same : !same;
    }
    if (op === 'in' || op === 'not in') {
      const items = this.iterate(b);
      if (!items || a.t !== 'str' || a.v === undefined || items.some((i) => i.t !== 'str' || i.v === undefined)) return opaque;
      const found = items.some((i) => i.t === 'str' && i.v === a.v);
      return op === 'in' ? found : !found;
    }
    if (a.t === 'str' && b.t === 'str') {
      if (a.v === undefined || b.v === undefined) return opaque;
      if (op === '==') return a.v === b.v;
      if (op === '!=') return a.v !== b.v;
      return opaque;
    }
    if (a.t === 'str' || b.t === 'str') return op === '==' ? false : op === '!=' ? true : opaque;
    if ((a.t === 'tuple' || a.t === 'list') && (b.t === 'tuple' || b.t === 'list') && (op === '==' || op === '!=')) {
      // Sequences of dims (`strides != (1, 1)`, `x.shape[1:] == y.shape[1:]`): equal when every item is.
      let equal: Truth = a.items.length === b.items.length;
      for (let i = 0; equal !== false && i < a.items.length; i++) equal = conjoin(equal, this.compareValues('==', a.items[i]!, b.items[i]!, e));
      return op === '==' ? equal : not(equal);
    }
    if ((a.t === 'tuple' || a.t === 'list') !== (b.t === 'tuple' || b.t === 'list') && (a.t === 'int' || b.t === 'int')) return op === '==' ? false : op === '!=' ? true : opaque;
    if ((a.t === 'float' || b.t === 'float') && ['==', '!=', '<', '<=', '>', '>='].includes(op)) {
      const x = a.t === 'float' ? a.v : a.t === 'int' && isConcrete(a.v) ? a.v : undefined;
      const y = b.t === 'float' ? b.v : b.t === 'int' && isConcrete(b.v) ? b.v : undefined;
      if (x === undefined || y === undefined) return opaque;
      return compare(op as CompareOp, x, y);
    }
    const da = this.toDim(a);
    const db = this.toDim(b);
    if (da === undefined || db === undefined || !['==', '!=', '<', '<=', '>', '>='].includes(op)) return opaque;
    return compare(op as CompareOp, da, db);
  }

  private toDim(v: Value): Dim | undefined {
    if (v.t === 'int') return v.v;
    if (v.t === 'bool') return v.v === true ? 1 : v.v === false ? 0 : undefined;
    if (v.t === 'float') return Number.isInteger(v.v) ? v.v : undefined;
    if (v.t === 'param') return symbol(v.name);
    return undefined;
  }

  private truth(v: Value, e: Expr): Truth {
    switch (v.t) {
      case 'bool': return v.v;
      case 'int': return compare('!=', v.v, 0);
      case 'float': return v.v !== 0;
      case 'none': return false;
      case 'str': return v.v === undefined ? { kind: 'opaque', text: this.program.text.slice(e.span.start, e.span.end) } : v.v !== '';
      case 'list':
      case 'tuple':
        return v.items.length > 0;
      case 'dict': return v.entries.size > 0 || this.language === 'script';
      case 'param':
        this.flags.add(v.name);
        return compare('!=', symbol(v.name), 0);
      case 'guarded': return v.options.reduce<Truth>((acc, [c, o]) => or(acc, conjoin(c, this.truth(o, e))), false);
      case 'unknown':
      case 'method':
        return { kind: 'opaque', text: this.program.text.slice(e.span.start, e.span.end) };
      default: return true;
    }
  }

  private binary(op: string, a: Value, b: Value, span: Span, frame: Frame, operands: [Expr | undefined, Expr | undefined]): Value {
    if (a.t === 'guarded' || b.t === 'guarded') {
      if (op === '+' && (isTensorLike(a) || isTensorLike(b))) return this.mergeTensors('Add', [a, b], operands, span, frame, {}, false, { kind: 'operator', op });
      return mapValue(a, (x) => mapValue(b, (y) => this.binary(op, x, y, span, frame, operands)));
    }
    if (a.t === 'tensor' || b.t === 'tensor') {
      const aTensor = a.t === 'tensor' || a.t === 'param';
      const bTensor = b.t === 'tensor' || b.t === 'param';
      if (aTensor && bTensor) {
        if (op === '+') return this.mergeTensors('Add', [a, b], operands, span, frame, {}, false, { kind: 'operator', op });
        if (op === '*' || op === '-' || op === '/') return this.mergeTensors('Multiply', [a, b], operands, span, frame, {}, false, { kind: 'operator', op });
        return tensorOf(null);
      }
      // Tensor and number: the tensor's shape. With anything else (an unknown value may be a
      // bigger tensor that broadcasts) the result is unknown.
      const other = a.t === 'tensor' ? b : a;
      if (other.t !== 'int' && other.t !== 'float' && other.t !== 'bool') return tensorOf(null);
      const t = (a.t === 'tensor' ? a : b) as TensorValue;
      const scaled: TensorValue = { t: 'tensor', cell: t.cell, trace: t.trace };
      if (this.recorder) {
        const constant = other.t === 'bool' ? (other.v === true ? 1 : other.v === false ? 0 : Number.NaN) : other.t === 'int' ? (isConcrete(other.v) ? other.v : Number.NaN) : other.v;
        this.recorder.scalarOp(op, t, constant, a.t === 'tensor', scaled, span);
      }
      return scaled;
    }
    if ((a.t === 'list' || a.t === 'tuple') && op === '+' && b.t === a.t) return { t: a.t, items: [...a.items, ...b.items] };
    if ((a.t === 'list' || a.t === 'tuple') && op === '*' && b.t === 'int' && isConcrete(b.v) && b.v >= 0 && b.v * a.items.length <= 4096) {
      return { t: a.t, items: Array.from({ length: b.v }, () => a.items).flat() };
    }
    if (a.t === 'str' || b.t === 'str') return { t: 'str', v: a.t === 'str' && b.t === 'str' && op === '+' && a.v !== undefined && b.v !== undefined ? a.v + b.v : undefined };
    if (a.t === 'float' || b.t === 'float') {
      const x = a.t === 'float' ? a.v : a.t === 'int' && isConcrete(a.v) ? a.v : undefined;
      const y = b.t === 'float' ? b.v : b.t === 'int' && isConcrete(b.v) ? b.v : undefined;
      if (x === undefined || y === undefined) return unknown;
      const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : op === '//' ? Math.floor(x / y) : undefined;
      return r === undefined ? unknown : { t: 'float', v: r };
    }
    const x = this.toDim(a);
    const y = this.toDim(b);
    if (x === undefined || y === undefined) return unknown;
    switch (op) {
      case '+': return intValue(add(x, y));
      case '-': return intValue(sub(x, y));
      case '*': return intValue(mul(x, y));
      case '//': return y === 0 ? unknown : intValue(floorDiv(x, y));
      case '%': return y === 0 ? unknown : intValue(mod(x, y));
      case '**':
        if (isConcrete(y) && y >= 0 && y <= 16) {
          let r: Dim = 1;
          for (let i = 0; i < y; i++) r = mul(r, x);
          return intValue(r);
        }
        return unknown;
      case '/':
        if (isConcrete(x) && isConcrete(y) && y !== 0) {
          const r = x / y;
          return this.language === 'script' && Number.isInteger(r) ? intValue(r) : { t: 'float', v: r };
        }
        return unknown;
      default: return unknown;
    }
  }

  private getAttr(obj: Value, name: string): Value {
    switch (obj.t) {
      case 'guarded': return mapValue(obj, (o) => this.getAttr(o, name));
      case 'ns': return { t: 'ns', path: canonicalAttribute(obj.path, name, this.language) };
      case 'param':
        if (name === 'shape') return this.getAttr(this.coerceTensor(obj), name);
        return unknown;
      case 'tensor':
        if (name === 'shape') return this.shapeValue(obj);
        return unknown;
      case 'instance': {
        const own = obj.attrs.get(name);
        if (own) return own;
        const method = this.findMethod(obj.cls, name);
        if (method) return { t: 'function', def: method, closure: obj.cls.closure, self: obj };
        return this.classAttr(obj.cls, name) ?? unknown;
      }
      case 'class': {
        const method = this.findMethod(obj.cls, name);
        if (method) return { t: 'function', def: method, closure: obj.cls.closure };
        return this.classAttr(obj.cls, name) ?? unknown;
      }
      case 'layer':
        return ['apply', 'add', 'call'].includes(name) ? { t: 'method', self: obj, name } : unknown;
      case 'list':
      case 'tuple':
        if (name === 'length') return intValue(obj.items.length);
        return { t: 'method', self: obj, name };
      case 'dict':
        if (this.language === 'script') return obj.entries.get(name) ?? unknown;
        return { t: 'method', self: obj, name };
      default: return unknown;
    }
  }

  private findMethod(cls: ClassDef, name: string, depth = 0): FunctionDef | undefined {
    const own = cls.methods.get(name);
    if (own || depth > 10) return own;
    for (const base of cls.bases) if (base.t === 'class') {
      const found = this.findMethod(base.cls, name, depth + 1);
      if (found) return found;
    }
    return undefined;
  }

  private classAttr(cls: ClassDef, name: string, depth = 0): Value | undefined {
    const own = cls.attrs.get(name);
    if (own || depth > 10) return own;
    for (const base of cls.bases) if (base.t === 'class') {
      const found = this.classAttr(base.cls, name, depth + 1);
      if (found) return found;
    }
    return undefined;
  }

  private shapeValue(t: TensorValue): Value {
    const shape = t.cell.shape;
    if (!shape) return t.cell.lazy ? { t: 'method', self: t, name: '#lazyshape' } : unknown;
    return { t: 'tuple', items: shape.map((d, i) => (d === null ? unknown : i === 0 && isBatch(d) ? none : intValue(d))) };
  }

  private index(obj: Value, index: Value): Value {
    if (obj.t === 'guarded') return mapValue(obj, (o) => this.index(o, index));
    if (obj.t === 'method' && obj.name === '#lazyshape' && obj.self.t === 'tensor') {
      // The last axis of a channels-last tensor: its channel count, whatever its rank.
      if (index.t === 'int' && index.v === -1) {
        obj.self.cell.lastAxisRead = true;
        return intValue(symbol(`C${obj.self.cell.suffix}`));
      }
      return unknown;
    }
    if (obj.t === 'list' || obj.t === 'tuple') {
      if (index.t === 'int' && isConcrete(index.v)) {
        const i = index.v < 0 ? obj.items.length + index.v : index.v;
        return obj.items[i] ?? unknown;
      }
      if (index.t === 'tuple' && index.items.at(-1)?.t === 'str') {
        const [start, stop, step] = index.items.map((v) => (v.t === 'int' && isConcrete(v.v) ? v.v : v.t === 'none' ? undefined : Number.NaN));
        if ([start, stop, step].some((v) => Number.isNaN(v)) || (step !== undefined && step !== 1)) return unknown;
        return { t: obj.t, items: obj.items.slice(start, stop) };
      }
      return unknown;
    }
    if (obj.t === 'dict' && index.t === 'str' && index.v !== undefined) return obj.entries.get(index.v) ?? unknown;
    return unknown;
  }

  // ---- calls ----

  private evalCall(e: Extract<Expr, { k: 'call' }>, frame: Frame): Value {
    if (e.func.k === 'name' && (e.func.name === '__update__' || e.func.name === '__assign__')) return this.loopUpdate(e, frame);
    const fn = this.evalExpr(e.func, frame);
    const positional: Value[] = [];
    const keywords = new Map<string, Value>();
    for (const arg of e.args) {
      const value = this.evalExpr(arg.value, frame);
      if (arg.spread === 'positional') {
        const items = this.iterate(value);
        if (!items) return unknown;
        positional.push(...items);
      } else if (arg.spread === 'keyword') {
        if (value.t === 'dict') for (const [k, v] of value.entries) keywords.set(k, v);
      } else if (arg.keyword) keywords.set(arg.keyword, value);
      else positional.push(value);
    }
    const result = this.callValue(fn, positional, keywords, e, frame);
    return this.recorder ? this.recorder.afterCall(e, fn, positional, keywords, result) : result;
  }

  private loopUpdate(e: Extract<Expr, { k: 'call' }>, frame: Frame): Value {
    const [targetArg, opArg, valueArg] = e.args;
    if (!targetArg || targetArg.value.k !== 'name' || !opArg || opArg.value.k !== 'str') return unknown;
    const name = targetArg.value.name;
    const current = frame.scope.lookup(name) ?? unknown;
    const op = opArg.value.value ?? '+';
    let next: Value;
    if (e.func.k === 'name' && e.func.name === '__update__') next = this.binary(op, current, intValue(1), e.span, frame, [undefined, undefined]);
    else {
      const right = valueArg ? this.evalExpr(valueArg.value, frame) : unknown;
      next = op === '=' ? right : this.binary(op.slice(0, -1), current, right, e.span, frame, [undefined, undefined]);
    }
    frame.scope.vars.set(name, next);
    return next;
  }

  private callValue(fn: Value, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    switch (fn.t) {
      case 'guarded': return mapValue(fn, (f) => this.callValue(f, positional, keywords, call, frame));
      case 'function': return this.callFunction(fn, positional, keywords, call, frame);
      case 'class': return this.instantiate(fn.cls, positional, keywords, call, frame);
      case 'instance': return this.callInstance(fn, positional, keywords, call, frame);
      case 'layer':
        return this.liftGuards(positional, keywords, (p, k) => this.applyLayer(fn.layer, p, k, call, frame));
      case 'ns': {
        const result = this.liftGuards(positional, keywords, (p, k) => this.callLibrary(fn.path, p, k, call, frame), this.shapeArguments(fn.path));
        return this.recorder ? this.recorder.libraryCall(fn.path, positional, keywords, result, call?.span) : result;
      }
      case 'method': return this.callMethod(fn.self, fn.name, positional, keywords, call, frame);
      default: return unknown;
    }
  }

  /**
   * A library call with a guarded argument runs once per option. For a layer constructor only
   * the arguments its shape depends on count: `BatchNormalization(axis=bn_axis)` stays one layer.
   */
  private liftGuards(positional: Value[], keywords: Map<string, Value>, run: (p: Value[], k: Map<string, Value>) => Value, relevant?: (position: number | string) => boolean): Value {
    const i = positional.findIndex((v, j) => v.t === 'guarded' && (!relevant || relevant(j)));
    if (i >= 0) {
      const g = positional[i] as Extract<Value, { t: 'guarded' }>;
      return guarded(g.options.map(([c, v]) => [c, this.liftGuards(positional.map((p, j) => (j === i ? v : p)), keywords, run, relevant)]));
    }
    for (const [k, v] of keywords) {
      if (v.t !== 'guarded' || (relevant && !relevant(k))) continue;
      return guarded(v.options.map(([c, o]) => [c, this.liftGuards(positional, new Map([...keywords, [k, o]]), run, relevant)]));
    }
    return run(positional, keywords);
  }

  /** For a Keras layer constructor: which arguments its output shape depends on. */
  private shapeArguments(path: string): ((position: number | string) => boolean) | undefined {
    const m = /^keras\.layers\.([A-Z]\w*)$/.exec(path);
    if (!m) return undefined;
    const type = kerasAliases.get(m[1]!) ?? m[1]!;
    const names = type === 'MultiHeadAttention' ? ['num_heads', 'key_dim', 'value_dim', 'dropout', 'use_bias', 'output_shape'] : type === 'Concatenate' ? ['axis'] : channelsLastLayers.get(type)?.params.map(([n]) => n) ?? [];
    return (position) => (typeof position === 'number' ? position < names.length : names.includes(position));
  }

  private callFunction(fn: Extract<Value, { t: 'function' }>, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, caller: Frame, context?: CallContext): Value {
    const { def } = fn;
    // Recursion (`def f(x): return f(f(x))`) is not followed: its result is unknown.
    const active = this.activeCalls.get(def) ?? 0;
    if (caller.depth >= maxCallDepth || active >= maxRecursion) return unknown;
    this.called.add(def);
    this.activeCalls.set(def, active + 1);
    try {
      this.recorder?.functionEntered(def);
      const result = this.runFunction(fn, positional, keywords, call, caller, context);
      this.recorder?.functionReturned(def, result);
      return result;
    } finally {
      this.activeCalls.set(def, active);
    }
  }

  private runFunction(fn: Extract<Value, { t: 'function' }>, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, caller: Frame, context?: CallContext): Value {
    const { def } = fn;
    const scope = new Scope(fn.closure);
    const frame: Frame = {
      ...this.newFrame(scope, caller.concrete, def, context ?? (call ? { text: this.renderCall(def.name, call, positional, keywords), line: call.span.range.start.line } : caller.context), caller.depth + 1),
      path: caller.path,
    };
    const args = fn.self ? [fn.self, ...positional] : positional;
    if (fn.self) frame.self = fn.self;
    let i = 0;
    for (const param of def.params) {
      if (param.rest === 'positional') {
        scope.vars.set(param.name, { t: 'tuple', items: args.slice(i) });
        i = args.length;
        continue;
      }
      if (param.rest === 'keyword') {
        scope.vars.set(param.name, { t: 'dict', entries: new Map(keywords) });
        continue;
      }
      let value: Value | undefined = i < args.length ? args[i++] : keywords.get(param.name);
      if (value === undefined && param.default) value = this.evalExpr(param.default, frame);
      if (param.properties) {
        const obj = value;
        for (const prop of param.properties) {
          let v = obj?.t === 'dict' ? obj.entries.get(prop.key) : obj?.t === 'param' ? { t: 'param', name: prop.local, state: {} } as Value : undefined;
          if ((v === undefined || v.t === 'none') && prop.default) v = this.evalExpr(prop.default, frame);
          if (v === undefined && obj?.t === 'dict') v = none;
          scope.vars.set(prop.local, v ?? unknown);
        }
        continue;
      }
      scope.vars.set(param.name, this.recorder ? this.recorder.argument(def, param.name, value ?? unknown, call) : value ?? unknown);
    }
    if (def.expressionBody) return this.evalExpr(def.expressionBody, frame);
    const completion = this.execBlock(def.body, frame);
    if (completion !== 'return') frame.returns.push([frame.path, none]);
    return guarded(frame.returns);
  }

  private renderCall(name: string, call: Extract<Expr, { k: 'call' }>, positional: Value[], keywords: Map<string, Value>): string {
    const parts: string[] = [];
    let i = 0;
    for (const arg of call.args) {
      if (arg.spread) { parts.push(this.snippet(arg.value)); continue; }
      const value = arg.keyword ? keywords.get(arg.keyword) : positional[i++];
      const text = this.renderArg(value, arg.value);
      parts.push(arg.keyword ? `${arg.keyword}=${text}` : text);
    }
    return `${name}(${parts.join(', ')})`;
  }

  private renderArg(value: Value | undefined, expr: Expr): string {
    const py = this.language === 'python';
    if (!value) return this.snippet(expr);
    switch (value.t) {
      case 'int': return isConcrete(value.v) ? String(value.v) : this.snippet(expr);
      case 'float': return String(value.v);
      case 'str': return value.v === undefined ? this.snippet(expr) : `'${value.v}'`;
      case 'bool': return value.v === true ? (py ? 'True' : 'true') : value.v === false ? (py ? 'False' : 'false') : this.snippet(expr);
      case 'none': return py ? 'None' : 'null';
      case 'dict': {
        if (expr.k !== 'object') return this.snippet(expr);
        return `{${expr.entries.map((entry) => `${entry.key}: ${this.renderArg(value.entries.get(entry.key), entry.value)}`).join(', ')}}`;
      }
      default: return this.snippet(expr);
    }
  }

  private snippet(expr: Expr): string {
    const text = this.program.text.slice(expr.span.start, expr.span.end).replace(/\s+/g, ' ');
    return text.length > 40 ? `${text.slice(0, 37)}...` : text;
  }

  private defineArgText(call: Extract<Expr, { k: 'call' }> | undefined, names: string[]): Map<string, string> {
    const texts = new Map<string, string>();
    if (!call) return texts;
    let i = 0;
    for (const arg of call.args) {
      if (arg.spread === 'keyword') continue;
      if (arg.keyword) texts.set(arg.keyword, this.program.text.slice(arg.value.span.start, arg.value.span.end));
      else if (arg.value.k === 'object' && this.language === 'script') {
        for (const entry of arg.value.entries) texts.set(snakeCase(entry.key), this.program.text.slice(entry.value.span.start, entry.value.span.end));
        i++;
      } else {
        const name = names[i++];
        if (name) texts.set(name, this.program.text.slice(arg.value.span.start, arg.value.span.end));
      }
    }
    return texts;
  }

  private instantiate(cls: ClassDef, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    this.instantiated.add(cls);
    const description = call ? this.renderCall(cls.name, call, positional, keywords) : `${cls.name}(...)`;
    const instance: Value = { t: 'instance', cls, attrs: new Map(), built: false, description };
    const init = this.findMethod(cls, '__init__');
    if (init) {
      const context = { text: description, line: call?.span.range.start.line ?? cls.span.range.start.line };
      this.callFunction({ t: 'function', def: init, closure: cls.closure, self: instance }, positional, keywords, call, frame, context);
    }
    this.recorder?.instanceCreated(cls, instance);
    return instance;
  }

  instantiateForGraph(cls: ClassDef): Value {
    return this.instantiate(cls, [], new Map(), undefined, this.newFrame(this.globals, true, undefined, undefined, 0));
  }

  private callInstance(instance: Extract<Value, { t: 'instance' }>, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    const callMethod = this.findMethod(instance.cls, 'call');
    if (!callMethod) return unknown;
    const context = { text: instance.description, line: call?.span.range.start.line ?? instance.cls.span.range.start.line };
    const build = this.findMethod(instance.cls, 'build');
    if (build && !instance.built) {
      instance.built = true;
      const input = positional[0] ?? unknown;
      const shape = input.t === 'tensor' || input.t === 'param' ? this.shapeValue(this.coerceTensor(input)) : unknown;
      this.callFunction({ t: 'function', def: build, closure: instance.cls.closure, self: instance }, [shape], new Map(), call, frame, context);
    }
    const output = this.callFunction({ t: 'function', def: callMethod, closure: instance.cls.closure, self: instance }, positional, keywords, call, frame, context);
    this.recorder?.instanceCalled(instance, positional, keywords, output);
    return output;
  }

  private callMethod(self: Value, name: string, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    if (self.t === 'layer') {
      if (name === 'apply' || name === 'call') return this.liftGuards(positional.slice(0, 1), new Map(), (p) => this.applyLayer(self.layer, p, keywords, call, frame));
      if (name === 'add' && self.layer.kind === 'sequential') {
        if (positional[0]) self.layer.layers.push(positional[0]);
        return none;
      }
      return unknown;
    }
    if (self.t === 'list') {
      if (name === 'append' || name === 'push') {
        self.items.push(...(name === 'push' ? positional : positional.slice(0, 1)));
        return name === 'push' ? intValue(self.items.length) : none;
      }
      if (name === 'extend') {
        const items = positional[0] ? this.iterate(positional[0]) : undefined;
        if (items) self.items.push(...items);
        return none;
      }
    }
    if ((self.t === 'list' || self.t === 'tuple') && name === 'slice') {
      const [start, end] = positional.map((v) => (v.t === 'int' && isConcrete(v.v) ? v.v : undefined));
      return { t: self.t, items: self.items.slice(start, end) };
    }
    if ((self.t === 'list' || self.t === 'tuple') && (name === 'as_list' || name === 'copy')) return { t: self.t, items: [...self.items] };
    if (self.t === 'dict' && name === 'get') {
      const key = positional[0];
      return key?.t === 'str' && key.v !== undefined ? self.entries.get(key.v) ?? positional[1] ?? none : unknown;
    }
    return unknown;
  }

  private callLibrary(path: string, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    if (path.startsWith('builtins.')) return this.callBuiltin(path.slice(9), positional, keywords);
    if (path.startsWith('js.')) return this.callJs(path.slice(3), positional, call, frame);
    if (this.language === 'python') return this.callKeras(path, positional, keywords, call, frame);
    return this.callTfjs(path, positional, call);
  }

  private callKeras(path: string, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    const configured = this.recorder?.configValue(path);
    if (configured) return configured;
    if (path === 'keras.Input' || path === 'keras.layers.InputLayer') {
      const shape = keywords.get('shape') ?? positional[0];
      return this.makeInput(shape, keywords.get('batch_shape'), call?.span, keywords);
    }
    if (path === 'keras.Model' || path === 'keras.models.Model' || path === 'keras.Model.__call__') {
      const model: Value = { t: 'layer', layer: { kind: 'opaque' } };
      this.recorder?.modelBuilt(model, keywords.get('inputs') ?? positional[0], keywords.get('outputs') ?? positional[1], call?.span, keywords.get('name'));
      return model;
    }
    if (path === 'keras.Sequential') {
      const list = keywords.get('layers') ?? positional[0];
      return { t: 'layer', layer: { kind: 'sequential', layers: list && (list.t === 'list' || list.t === 'tuple') ? [...list.items] : [] } };
    }
    if (path === 'keras.backend.int_shape') return positional[0] ? this.getAttr(positional[0], 'shape') : unknown;
    if (['tf.add', 'tf.math.add', 'keras.ops.add', 'keras.backend.add'].includes(path) && positional.length >= 2) {
      return this.mergeTensors('Add', [positional[0]!, positional[1]!], [call?.args[0]?.value, call?.args[1]?.value], call?.span, frame, {}, false, { kind: 'function', path });
    }
    if (['tf.identity', 'tf.nn.relu', 'tf.nn.gelu', 'tf.nn.silu', 'tf.nn.swish', 'tf.nn.relu6', 'keras.ops.relu'].includes(path) || path.startsWith('keras.activations.')) {
      const t = positional[0];
      return t && (t.t === 'tensor' || t.t === 'param') ? this.reuse(this.coerceTensor(t)) : unknown;
    }
    const m = /^keras\.layers\.(\w+)$/.exec(path);
    if (!m) return unknown;
    const name = m[1]!;
    const functional: Record<string, string> = { add: 'Add', subtract: 'Subtract', multiply: 'Multiply', average: 'Average', maximum: 'Maximum', minimum: 'Minimum', concatenate: 'Concatenate' };
    if (functional[name]) {
      const inputs = positional[0] ?? keywords.get('inputs');
      const params: LayerParams = { axis: this.paramValue(keywords.get('axis') ?? intValue(-1)) };
      return this.mergeInputs(functional[name]!, inputs, call?.args[0]?.value, call?.span, frame, params, { kind: 'layer', layer: undefined, type: functional[name]! });
    }
    return { t: 'layer', layer: this.createLayer(kerasAliases.get(name) ?? name, positional, keywords, call) };
  }

  private callTfjs(path: string, positional: Value[], call: Extract<Expr, { k: 'call' }> | undefined): Value {
    const options = positional[0]?.t === 'dict' ? positional[0].entries : new Map<string, Value>();
    if (path === 'tf.input' || path === 'tf.layers.input') return this.makeInput(options.get('shape'), options.get('batchShape'), call?.span, options);
    if (path === 'tf.model') {
      const model: Value = { t: 'layer', layer: { kind: 'opaque' } };
      this.recorder?.modelBuilt(model, options.get('inputs'), options.get('outputs'), call?.span, options.get('name'));
      return model;
    }
    if (path === 'tf.sequential') {
      const list = options.get('layers');
      return { t: 'layer', layer: { kind: 'sequential', layers: list && list.t === 'list' ? [...list.items] : [] } };
    }
    const m = /^tf\.layers\.(\w+)$/.exec(path);
    if (!m) return unknown;
    const type = tfjsLayerNames.get(m[1]!);
    // `tf.layers.add([a, b])` builds an Add layer (its array is taken as options), as tfjs 4 does.
    if (!type) return { t: 'layer', layer: { kind: 'opaque' } };
    const keywords = new Map<string, Value>();
    for (const [k, v] of options) keywords.set(snakeCase(k), v);
    // tfjs-layers computes 'causal' output lengths as 'valid' (conv_utils.convOutputLength), unlike Keras.
    // The recorder reads the options as written (its own refusal of 'causal'); the shape check needs no copy.
    const written = this.recorder ? new Map(keywords) : keywords;
    const padding = keywords.get('padding');
    if (padding?.t === 'str' && padding.v === 'causal') keywords.set('padding', { t: 'str', v: 'valid' });
    return { t: 'layer', layer: this.createLayer(type, [], keywords, call, written) };
  }

  private callJs(name: string, positional: Value[], call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    if (name === 'require') {
      const module = positional[0];
      const path = module?.t === 'str' && module.v ? importPath(module.v, 'script') : undefined;
      return path ? { t: 'ns', path } : unknown;
    }
    if (name === 'Math.floor' || name === 'Math.ceil' || name === 'Math.trunc') {
      const argExpr = call?.args[0]?.value;
      // Math.floor(a / b) is integer division: keep it symbolic.
      if (argExpr && argExpr.k === 'binop' && argExpr.op === '/') {
        const a = this.toDim(this.evalExpr(argExpr.left, frame));
        const b = this.toDim(this.evalExpr(argExpr.right, frame));
        if (a !== undefined && b !== undefined && b !== 0) return intValue(name === 'Math.ceil' ? ceilDiv(a, b) : floorDiv(a, b));
      }
      const v = positional[0];
      if (v?.t === 'float') return intValue(name === 'Math.ceil' ? Math.ceil(v.v) : Math.floor(v.v));
      return v?.t === 'int' ? v : unknown;
    }
    if (name === 'Math.max' || name === 'Math.min') return this.callBuiltin(name === 'Math.max' ? 'max' : 'min', positional, new Map());
    if (name.startsWith('console.')) return none;
    return unknown;
  }

  private callBuiltin(name: string, positional: Value[], keywords: Map<string, Value>): Value {
    const first = positional[0];
    switch (name) {
      case 'range': {
        const bounds = positional.map((v) => this.toDim(v));
        if (bounds.length === 0 || bounds.some((b) => b === undefined)) return unknown;
        const [start, stop, step] = bounds.length === 1 ? [0, bounds[0]!, 1] : [bounds[0]!, bounds[1]!, bounds[2] ?? 1];
        if (isConcrete(start) && isConcrete(stop) && isConcrete(step) && step !== 0) {
          const count = Math.max(0, Math.ceil((stop - start) / step));
          if (count > maxLoopIterations) return unknown;
          return { t: 'list', items: Array.from({ length: count }, (_, i) => intValue(start + i * step)) };
        }
        if (step !== 1) return unknown;
        return { t: 'method', self: { t: 'tuple', items: [intValue(start), intValue(stop)] }, name: '#range' };
      }
      case 'len': {
        if (first?.t === 'list' || first?.t === 'tuple') return intValue(first.items.length);
        if (first?.t === 'dict') return intValue(first.entries.size);
        return unknown;
      }
      case 'int': return first?.t === 'int' ? first : first?.t === 'float' ? intValue(Math.trunc(first.v)) : unknown;
      case 'float': return first?.t === 'int' && isConcrete(first.v) ? { t: 'float', v: first.v } : first?.t === 'float' ? first : unknown;
      case 'max':
      case 'min': {
        const values = positional.length === 1 && first ? this.iterate(first) ?? [] : positional;
        const numbers = values.map((v) => (v.t === 'int' && isConcrete(v.v) ? v.v : v.t === 'float' ? v.v : undefined));
        if (numbers.length === 0 || numbers.some((n) => n === undefined)) return unknown;
        const r = name === 'max' ? Math.max(...(numbers as number[])) : Math.min(...(numbers as number[]));
        return Number.isInteger(r) && values.every((v) => v.t === 'int') ? intValue(r) : { t: 'float', v: r };
      }
      case 'list':
      case 'tuple': {
        const items = first ? this.iterate(first) : [];
        return items ? { t: name, items: [...items] } : unknown;
      }
      case 'zip': {
        const lists = positional.map((v) => this.iterate(v));
        if (lists.some((l) => !l)) return unknown;
        const n = Math.min(...lists.map((l) => l!.length));
        return { t: 'list', items: Array.from({ length: n }, (_, i) => ({ t: 'tuple', items: lists.map((l) => l![i]!) }) as Value) };
      }
      case 'enumerate': {
        const items = first ? this.iterate(first) : undefined;
        const start = positional[1]?.t === 'int' && isConcrete(positional[1].v) ? positional[1].v : 0;
        return items ? { t: 'list', items: items.map((v, i) => ({ t: 'tuple', items: [intValue(start + i), v] }) as Value) } : unknown;
      }
      case 'reversed': {
        const items = first ? this.iterate(first) : undefined;
        return items ? { t: 'list', items: [...items].reverse() } : unknown;
      }
      case 'sum': {
        const items = first ? this.iterate(first) : undefined;
        if (!items || items.some((v) => v.t !== 'int')) return unknown;
        return intValue(items.reduce<Dim>((acc, v) => add(acc, (v as { v: Dim }).v), 0));
      }
      case 'abs': return first?.t === 'int' && isConcrete(first.v) ? intValue(Math.abs(first.v)) : unknown;
      case 'str': return { t: 'str', v: first?.t === 'str' ? first.v : first?.t === 'int' && isConcrete(first.v) ? String(first.v) : undefined };
      case 'print': return none;
      case 'dict': return { t: 'dict', entries: new Map(keywords) };
      case 'super': return { t: 'ns', path: '#super' };
      default: return unknown;
    }
  }

  private makeInput(shapeArg: Value | undefined, batchShapeArg: Value | undefined, span?: Span, keywords?: Map<string, Value>): Value {
    if (!this.recorder) return this.makeInputShape(shapeArg, batchShapeArg);
    const requested = this.recorder.inputShapeOverride();
    const input = requested ? tensorOf(requested) : this.makeInputShape(shapeArg, batchShapeArg);
    if (input.t === 'tensor') this.recorder.inputCreated(input, span, keywords ?? new Map());
    return input;
  }

  private makeInputShape(shapeArg: Value | undefined, batchShapeArg: Value | undefined): Value {
    const suffix = this.inputs++ === 0 ? '' : `_${this.inputs}`;
    const fromBatchShape = batchShapeArg && (batchShapeArg.t === 'list' || batchShapeArg.t === 'tuple');
    const source = fromBatchShape ? batchShapeArg : shapeArg;
    // A shape the file computes elsewhere (`obtain_input_shape(...)`): symbolic, rank from the first layer.
    if (!source || (source.t !== 'list' && source.t !== 'tuple')) return this.coerceTensor({ t: 'param', name: 'input', state: {} });
    const dims = fromBatchShape ? source.items.slice(1) : source.items;
    const rank = dims.length;
    const spatial = spatialNames(rank - 1);
    const batch = fromBatchShape ? source.items[0] : undefined;
    const shape: ShapeDim[] = [batch?.t === 'int' ? batch.v : symbol('batch')];
    dims.forEach((d, i) => {
      if (d.t === 'int') shape.push(d.v);
      // None: any size the caller feeds, a symbol.
      else if (d.t === 'none') shape.push(symbol(`${i < rank - 1 ? spatial[i] ?? `d${i}` : 'C'}${suffix}`));
      else shape.push(null);
    });
    return tensorOf(shape);
  }

  private paramValue(v: Value | undefined): ParamValue {
    if (!v) return undefined;
    switch (v.t) {
      case 'int': return v.v;
      case 'float': return v.v;
      case 'str': return v.v;
      case 'bool': return typeof v.v === 'boolean' ? v.v : undefined;
      case 'none': return null;
      case 'list':
      case 'tuple':
        return v.items.map((i) => this.paramValue(i));
      case 'param': return symbol(v.name);
      default: return undefined;
    }
  }

  private createLayer(type: string, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, writtenKeywords = keywords): LayerValue {
    const spec = channelsLastLayers.get(type);
    const paramNames = type === 'MultiHeadAttention' ? ['num_heads', 'key_dim', 'value_dim', 'dropout', 'use_bias', 'output_shape'] : type === 'Concatenate' ? ['axis'] : spec?.params.map(([n]) => n) ?? [];
    if (!spec && !mergeLayers.has(type) && type !== 'MultiHeadAttention') return { kind: 'opaque' };
    const params: LayerParams = {};
    const defaults = spec?.params ?? (type === 'Concatenate' ? [['axis', -1]] : type === 'MultiHeadAttention' ? [['output_shape', null]] : []);
    for (const [name, fallback] of defaults as [string, ParamValue][]) params[name] = fallback;
    paramNames.forEach((name, i) => {
      if (i < positional.length) params[name] = this.paramValue(positional[i]);
    });
    for (const [k, v] of keywords) params[k] = this.paramValue(v);
    if (positional.length > paramNames.length && paramNames.length > 0) return { kind: 'opaque' };
    const span = call?.span ?? { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, start: 0, end: 0 };
    const calleeText = call ? this.program.text.slice(call.func.span.start, call.func.span.end) : type;
    const layer: LayerValue = { kind: 'builtin', type, params, argText: this.defineArgText(call, paramNames), calleeText, span };
    this.recorder?.layerCreated(layer, positional, writtenKeywords);
    return layer;
  }

  private coerceTensor(v: Value): TensorValue {
    if (v.t === 'tensor') return v;
    if (v.t === 'param') {
      if (!v.state.tensor) {
        const suffix = this.lazyInputs++ === 0 ? '' : `_${this.lazyInputs}`;
        v.state.tensor = { t: 'tensor', cell: { shape: null, lazy: true, suffix }, trace: [] };
      }
      return v.state.tensor;
    }
    return tensorOf(null);
  }

  private reuse(t: TensorValue): TensorValue {
    return { t: 'tensor', cell: t.cell, trace: t.trace };
  }

  private materialize(t: TensorValue, rank: number, channelsFirst: boolean): void {
    const cell = t.cell;
    if (!cell.lazy || cell.shape) return;
    cell.lazy = false;
    if (channelsFirst && cell.lastAxisRead) return;
    const spatial = spatialNames(rank - 2).map((n) => symbol(`${n}${cell.suffix}`));
    const channels = symbol(`C${cell.suffix}`);
    cell.shape = channelsFirst ? [symbol('batch'), channels, ...spatial] : [symbol('batch'), ...spatial, channels];
  }

  private applyLayer(layer: LayerValue, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    const output = this.applyLayerShapes(layer, positional, keywords, call, frame);
    if (this.recorder && layer.kind === 'builtin' && !mergeLayers.has(layer.type)) this.recorder.layerApplied(layer, positional, keywords, output, call?.span ?? layer.span);
    return output;
  }

  private applyLayerShapes(layer: LayerValue, positional: Value[], keywords: Map<string, Value>, call: Extract<Expr, { k: 'call' }> | undefined, frame: Frame): Value {
    if (layer.kind === 'opaque') return tensorOf(null);
    if (layer.kind === 'sequential') {
      let current: Value = positional[0] ?? keywords.get('inputs') ?? unknown;
      for (const item of layer.layers) {
        current = this.callValue(item, [current], new Map(), call, frame);
      }
      return current;
    }
    const input = positional[0] ?? keywords.get('inputs') ?? unknown;
    if (mergeLayers.has(layer.type)) {
      const argExpr = call?.args[0]?.value;
      return this.mergeInputs(layer.type, input, argExpr, call?.span, frame, layer.params, { kind: 'layer', layer, type: layer.type });
    }
    const callSpan = call?.span ?? layer.span;
    const applied: AppliedLayer = { layer, callSpan, invocation: frame.invocation };
    if (layer.type === 'MultiHeadAttention') {
      const query = this.coerceTensor(input);
      const value = positional[1] ?? keywords.get('value');
      if (value) this.coerceTensor(value);
      if (query.cell.lazy && !query.cell.shape) this.materialize(query, 3, false);
      const shape = query.cell.shape;
      const outputShape = layer.params.output_shape;
      const last: ShapeDim = typeof outputShape === 'number' ? outputShape : outputShape === null || outputShape === undefined ? (shape?.at(-1) ?? null) : null;
      const out: TensorValue = { t: 'tensor', cell: { shape: shape ? [...shape.slice(0, -1), last] : null, lazy: false, suffix: '' }, trace: extendTrace(query.trace, applied) };
      const scores = keywords.get('return_attention_scores');
      return scores?.t === 'bool' && scores.v === true ? { t: 'tuple', items: [out, tensorOf(null)] } : out;
    }
    if (input.t === 'list' || input.t === 'tuple') return tensorOf(null);
    const tensor = this.coerceTensor(input);
    const spec = channelsLastLayers.get(layer.type);
    if (!spec) return tensorOf(null);
    if (tensor.cell.lazy && !tensor.cell.shape && spec.inputRank) {
      const rank = spec.inputRank(layer.params);
      if (rank !== undefined) this.materialize(tensor, rank, layer.params.data_format === 'channels_first' || layer.params.data_format === 'channelsFirst');
    }
    // Shape-preserving layers keep the cell, so a helper's input still learns its rank further down.
    if (spec.preservesShape) return { t: 'tensor', cell: tensor.cell, trace: extendTrace(tensor.trace, applied) };
    if (!tensor.cell.shape) return { t: 'tensor', cell: { shape: null, lazy: false, suffix: '' }, trace: extendTrace(tensor.trace, applied) };
    const out: TensorValue = { t: 'tensor', cell: { shape: spec.output(layer.params, tensor.cell.shape), lazy: false, suffix: '' }, trace: extendTrace(tensor.trace, applied) };
    if (call) this.note(call.span, layer.calleeText, 'layer', out, frame);
    return out;
  }

  private mergeInputs(type: string, inputs: Value | undefined, argExpr: Expr | undefined, span: Span | undefined, frame: Frame, params: LayerParams, origin: MergeOrigin): Value {
    if (!inputs || (inputs.t !== 'list' && inputs.t !== 'tuple')) return tensorOf(null);
    const exprs = argExpr && (argExpr.k === 'list' || argExpr.k === 'tuple') ? argExpr.items : [];
    return this.mergeTensors(type, inputs.items, inputs.items.map((_, i) => exprs[i]), span, frame, params, true, origin);
  }

  /** Add and friends: broadcast the inputs; an Add records each pair as a residual site. */
  private mergeTensors(type: string, items: Value[], exprs: (Expr | undefined)[], span: Span | undefined, frame: Frame, params: LayerParams, layerMerge = false, origin?: MergeOrigin): Value {
    if (items.length === 0) return tensorOf(null);
    const guardIndex = items.findIndex((v) => v.t === 'guarded');
    if (guardIndex >= 0) {
      const g = items[guardIndex] as Extract<Value, { t: 'guarded' }>;
      const path = frame.path;
      const options: [Truth, Value][] = [];
      for (const [c, v] of g.options) {
        frame.path = conjoin(path, c);
        if (frame.path === false) continue;
        options.push([c, this.mergeTensors(type, items.map((item, j) => (j === guardIndex ? v : item)), exprs, span, frame, params, layerMerge, origin)]);
      }
      frame.path = path;
      return guarded(options);
    }
    const tensors = items.map((v) => this.coerceTensor(v));
    if (type === 'Concatenate') {
      const axis = typeof params.axis === 'number' ? params.axis : -1;
      const joined: TensorValue = { t: 'tensor', cell: { shape: concatenateShapes(tensors.map((t) => t.cell.shape), axis), lazy: false, suffix: '' }, trace: [] };
      if (this.recorder && origin) this.recorder.merged(origin, tensors, exprs, joined, span, params);
      return joined;
    }
    let acc = tensors[0]!;
    for (let i = 1; i < tensors.length; i++) {
      const next = tensors[i]!;
      if (type === 'Add' && span) this.record(span, acc, next, i === 1 ? exprs[0] : undefined, exprs[i], frame, layerMerge);
      const [accShape, nextShape] = layerMerge ? alignForMerge(acc.cell.shape, next.cell.shape) : [acc.cell.shape, next.cell.shape];
      const outcome = acc.cell === next.cell ? ({ kind: 'same', shape: acc.cell.shape } as BroadcastOutcome) : broadcast(accShape, nextShape);
      const shape = outcome.kind === 'mismatch' ? null : outcome.shape;
      const deeper = acc.trace.length >= next.trace.length ? acc : next;
      acc = { t: 'tensor', cell: outcome.kind === 'same' && acc.cell === next.cell ? acc.cell : { shape, lazy: false, suffix: '' }, trace: deeper.trace };
    }
    if (this.recorder && origin) this.recorder.merged(origin, tensors, exprs, acc, span, params);
    return acc;
  }

  private note(span: Span, name: string, kind: 'variable' | 'layer', value: Value, frame: Frame): void {
    if (this.notes.length >= maxNotes) return;
    const tensors = value.t === 'guarded' ? value.options.map(([, v]) => v) : [value];
    for (const t of tensors) {
      if (t.t === 'tensor' && t.cell.shape) {
        this.notes.push({ span, name, kind, shape: [...t.cell.shape], concrete: frame.concrete, statementEndLine: frame.statement?.range.end.line ?? span.range.end.line });
      }
    }
  }

  private record(span: Span, left: TensorValue, right: TensorValue, leftExpr: Expr | undefined, rightExpr: Expr | undefined, frame: Frame, layerMerge: boolean): void {
    if (left.cell === right.cell) return;
    this.observations.push({
      span,
      statement: frame.statement,
      enclosing: frame.def,
      left,
      right,
      leftShape: left.cell.shape ? [...left.cell.shape] : null,
      rightShape: right.cell.shape ? [...right.cell.shape] : null,
      operands: [leftExpr, rightExpr],
      cond: frame.path,
      concrete: frame.concrete,
      context: frame.context,
      invocation: frame.invocation,
      layerMerge,
    });
  }
}

type FunctionValue = Extract<Value, { t: 'function' }>;

interface Snapshot {
  vars: Map<string, Value>;
  selfAttrs: Map<string, Value> | undefined;
  selfTarget: Map<string, Value> | undefined;
}

function mergeSnapshots(a: Snapshot, b: Snapshot, test: Truth): Snapshot {
  const merge = (x: Map<string, Value>, y: Map<string, Value>): Map<string, Value> => {
    const out = new Map<string, Value>();
    for (const key of new Set([...x.keys(), ...y.keys()])) {
      const vx = x.get(key);
      const vy = y.get(key);
      out.set(key, vx === vy ? vx! : guarded([[test, vx ?? unknown], [not(test), vy ?? unknown]]));
    }
    return out;
  };
  return {
    vars: merge(a.vars, b.vars),
    selfAttrs: a.selfAttrs && b.selfAttrs ? merge(a.selfAttrs, b.selfAttrs) : a.selfAttrs,
    selfTarget: a.selfTarget,
  };
}

/** A guarded value, flattened, without impossible options; a single option is just its value. */
export function guarded(options: [Truth, Value][]): Value {
  const flat: [Truth, Value][] = [];
  for (const [c, v] of options) {
    if (c === false) continue;
    if (v.t === 'guarded') {
      for (const [c2, v2] of v.options) {
        const both = conjoin(c, c2);
        if (both !== false) flat.push([both, v2]);
      }
    } else flat.push([c, v]);
  }
  if (flat.length === 0) return unknown;
  const first = flat[0]![1];
  if (flat.every(([, v]) => v === first)) return first;
  if (flat.length > maxGuardOptions) return unknown;
  return { t: 'guarded', options: flat };
}

function mapValue(v: Value, f: (v: Value) => Value): Value {
  if (v.t !== 'guarded') return f(v);
  return guarded(v.options.map(([c, o]) => [c, f(o)]));
}

function isTensorLike(v: Value): boolean {
  if (v.t === 'guarded') return v.options.some(([, o]) => isTensorLike(o));
  return v.t === 'tensor' || v.t === 'param';
}

function isBatch(d: Dim): boolean {
  return !isConcrete(d) && d.key === symbol('batch').key;
}

function spatialNames(n: number): string[] {
  if (n === 1) return ['L'];
  if (n === 2) return ['H', 'W'];
  if (n === 3) return ['D', 'H', 'W'];
  return Array.from({ length: Math.max(0, n) }, (_, i) => `d${i + 1}`);
}

function extendTrace(trace: AppliedLayer[], applied: AppliedLayer): AppliedLayer[] {
  const next = [...trace, applied];
  return next.length > maxTrace ? next.slice(next.length - maxTrace) : next;
}

/** Two values that stand for the same shape (after one pass of a loop of unknown length). */
function sameShapeValue(a: Value, b: Value): boolean {
  if (a.t === 'tensor' && b.t === 'tensor') {
    if (a.cell === b.cell) return true;
    const sa = a.cell.shape;
    const sb = b.cell.shape;
    return !!sa && !!sb && sa.length === sb.length && broadcast(sa, sb).kind === 'same';
  }
  if (a.t === 'int' && b.t === 'int') return typeof a.v === 'number' ? a.v === b.v : typeof b.v !== 'number' && a.v.key === b.v.key;
  return false;
}

// A function's definition is kept across edits that do not touch it (pythonSyntax.ts,
// scriptSyntax.ts) and never changes: the names it calls are read once.
const calledNamesByDef = new WeakMap<FunctionDef, readonly string[]>();

function calledNamesOf(def: FunctionDef): readonly string[] {
  let names = calledNamesByDef.get(def);
  if (names === undefined) {
    const into = new Set<string>();
    collectCalledNames(def.body, into);
    names = [...into];
    calledNamesByDef.set(def, names);
  }
  return names;
}

function collectCalledNames(stmts: Stmt[], into: Set<string>): void {
  const visitExpr = (e: Expr | undefined): void => {
    if (!e) return;
    switch (e.k) {
      case 'call':
        if (e.func.k === 'name') into.add(e.func.name);
        visitExpr(e.func);
        for (const a of e.args) {
          // A function passed as an argument (`ResNet(stack_fn, ...)`) is called by its receiver.
          if (a.value.k === 'name') into.add(a.value.name);
          visitExpr(a.value);
        }
        return;
      case 'attr': visitExpr(e.obj); return;
      case 'index': visitExpr(e.obj); visitExpr(e.index); return;
      case 'binop': visitExpr(e.left); visitExpr(e.right); return;
      case 'unop': visitExpr(e.operand); return;
      case 'compare': e.operands.forEach(visitExpr); return;
      case 'boolop': e.values.forEach(visitExpr); return;
      case 'ternary': visitExpr(e.test); visitExpr(e.then); visitExpr(e.otherwise); return;
      case 'list':
      case 'tuple':
        e.items.forEach(visitExpr);
        return;
      case 'object': e.entries.forEach((entry) => visitExpr(entry.value)); return;
      case 'lambda': collectCalledNames(e.def.body, into); visitExpr(e.def.expressionBody); return;
      default: return;
    }
  };
  for (const s of stmts) {
    switch (s.k) {
      case 'expr': visitExpr(s.e); break;
      case 'assign': visitExpr(s.value); break;
      case 'augassign': visitExpr(s.value); break;
      case 'if': visitExpr(s.test); collectCalledNames(s.body, into); collectCalledNames(s.orelse, into); break;
      case 'for': visitExpr(s.iter); collectCalledNames(s.body, into); break;
      case 'cfor': collectCalledNames(s.init, into); visitExpr(s.test); s.update.forEach(visitExpr); collectCalledNames(s.body, into); break;
      case 'return': visitExpr(s.value); break;
      case 'def': collectCalledNames(s.def.body, into); visitExpr(s.def.expressionBody); break;
      case 'class': collectCalledNames(s.body, into); break;
      case 'block': collectCalledNames(s.body, into); break;
      default: break;
    }
  }
}

