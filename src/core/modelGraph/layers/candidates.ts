// The models a Keras or TF.js file defines, read from its syntax: builder functions that
// return a `keras.Model` / `tf.model` / Sequential (directly, through a variable, or by
// returning another builder's model), and module-level `model = keras.Model(...)` /
// Sequential assignments.
import type { Expr, FunctionDef, Program, Stmt } from '../../keras/syntax';
import type { GraphFramework } from '../graph';
import type { ModelCandidate } from '../extract';

export interface LayersModelCandidate extends ModelCandidate {
  kind: 'function' | 'variable' | 'class';
}

/** `class ResNet(keras.Model)` with a `call` method: the subclassing API. */
function isModelClass(program: Program, s: Stmt): boolean {
  if (s.k !== 'class') return false;
  const subclassesModel = s.bases.some((b) => /(?:^|\.)Model$/.test(program.text.slice(b.span.start, b.span.end).replace(/\s+/g, '')));
  return subclassesModel && s.body.some((m) => m.k === 'def' && m.def.name === 'call');
}

const modelConstructor = /(?:^|\.)(?:Model|Sequential|model|sequential)$/;

function calleeName(program: Program, e: Expr): string | undefined {
  if (e.k !== 'call') return undefined;
  return program.text.slice(e.func.span.start, e.func.span.end).replace(/\s+/g, '');
}

/** A call that makes a model: `keras.Model(...)`, `tf.sequential(...)`, or a builder of the file. */
function makesModel(program: Program, e: Expr | undefined, builders: ReadonlySet<string>, modelVariables: ReadonlySet<string>): boolean {
  if (!e) return false;
  if (e.k === 'name') return modelVariables.has(e.name);
  const callee = calleeName(program, e);
  if (!callee) return false;
  return modelConstructor.test(callee) || builders.has(callee);
}

/** Statements of a function body, nested blocks included, nested functions not. */
function* ownStatements(stmts: Stmt[]): Generator<Stmt> {
  for (const s of stmts) {
    yield s;
    if (s.k === 'if') {
      yield* ownStatements(s.body);
      yield* ownStatements(s.orelse);
    } else if (s.k === 'for' || s.k === 'block') yield* ownStatements(s.body);
    else if (s.k === 'cfor') yield* ownStatements(s.body);
  }
}

function returnsModel(program: Program, def: FunctionDef, builders: ReadonlySet<string>): boolean {
  if (def.expressionBody) return makesModel(program, def.expressionBody, builders, new Set());
  const modelVariables = new Set<string>();
  const statements = [...ownStatements(def.body)];
  for (const s of statements) {
    if (s.k === 'assign' && makesModel(program, s.value, builders, modelVariables)) {
      for (const t of s.targets) if (t.k === 'name') modelVariables.add(t.name);
    }
  }
  return statements.some((s) => s.k === 'return' && makesModel(program, s.value, builders, modelVariables));
}

/** Module-level functions (`def`, `function`, `const f = () => ...`), by name. */
function moduleFunctions(program: Program): { def: FunctionDef; stmt: Stmt }[] {
  const out: { def: FunctionDef; stmt: Stmt }[] = [];
  for (const s of program.body) {
    if (s.k === 'def') out.push({ def: s.def, stmt: s });
    else if (s.k === 'assign' && s.value.k === 'lambda' && s.targets.length === 1 && s.targets[0]!.k === 'name') {
      out.push({ def: { ...s.value.def, name: s.targets[0]!.name }, stmt: s });
    }
  }
  return out;
}

/** Module-level statements outside functions and classes, `if __name__ == "__main__":` blocks included. */
function* moduleCode(stmts: Stmt[]): Generator<Stmt> {
  for (const s of stmts) {
    if (s.k === 'def' || s.k === 'class') continue;
    if (s.k === 'assign' && s.value.k === 'lambda') continue;
    yield s;
    if (s.k === 'if') {
      yield* moduleCode(s.body);
      yield* moduleCode(s.orelse);
    } else if (s.k === 'block' || s.k === 'for' || s.k === 'cfor') yield* moduleCode(s.body);
  }
}

function calledNames(stmts: Iterable<Stmt>, into: Set<string>): void {
  const visit = (e: Expr | undefined): void => {
    if (!e) return;
    switch (e.k) {
      case 'call':
        if (e.func.k === 'name') into.add(e.func.name);
        visit(e.func);
        for (const a of e.args) {
          if (a.value.k === 'name') into.add(a.value.name);
          visit(a.value);
        }
        return;
      case 'attr': visit(e.obj); return;
      case 'index': visit(e.obj); visit(e.index); return;
      case 'binop': visit(e.left); visit(e.right); return;
      case 'unop': visit(e.operand); return;
      case 'compare': e.operands.forEach(visit); return;
      case 'boolop': e.values.forEach(visit); return;
      case 'ternary': visit(e.test); visit(e.then); visit(e.otherwise); return;
      case 'list':
      case 'tuple':
        e.items.forEach(visit);
        return;
      case 'object': e.entries.forEach((entry) => visit(entry.value)); return;
      case 'lambda': calledNames(e.def.body, into); visit(e.def.expressionBody); return;
      default: return;
    }
  };
  for (const s of stmts) {
    switch (s.k) {
      case 'expr': visit(s.e); break;
      case 'assign': visit(s.value); break;
      case 'augassign': visit(s.value); break;
      case 'if': visit(s.test); calledNames(s.body, into); calledNames(s.orelse, into); break;
      case 'for': visit(s.iter); calledNames(s.body, into); break;
      case 'cfor': calledNames(s.init, into); visit(s.test); s.update.forEach(visit); calledNames(s.body, into); break;
      case 'return': visit(s.value); break;
      case 'def': calledNames(s.def.body, into); visit(s.def.expressionBody); break;
      case 'block': calledNames(s.body, into); break;
      default: break;
    }
  }
}

export function layersModelCandidates(program: Program, framework: Exclude<GraphFramework, 'pytorch'>, uri: string): LayersModelCandidate[] {
  const functions = moduleFunctions(program);
  // Builders: a fixpoint, as a builder may return another builder's model (ResNet50 → ResNet).
  const builders = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const { def } of functions) {
      if (!builders.has(def.name) && returnsModel(program, def, builders)) {
        builders.add(def.name);
        changed = true;
      }
    }
  }
  const atModuleLevel = new Set<string>();
  calledNames(moduleCode(program.body), atModuleLevel);
  // `residual_unit(32)(x)`: a builder whose model is applied as a layer is part of another model.
  const appliedAsLayer = new Set<string>();
  collectAppliedBuilders(program.body, appliedAsLayer);
  const candidates: LayersModelCandidate[] = [];
  for (const { def, stmt } of functions) {
    if (!builders.has(def.name)) continue;
    const usedByOtherBuilder = functions.some((f) => {
      if (f.def === def || !builders.has(f.def.name)) return false;
      const names = new Set<string>();
      calledNames(f.def.body, names);
      if (f.def.expressionBody) calledNames([{ k: 'expr', e: f.def.expressionBody, span: f.def.span }], names);
      return names.has(def.name);
    });
    candidates.push({
      framework,
      name: def.name,
      source: { uri, line: stmt.span.range.start.line, character: stmt.span.range.start.character },
      endLine: stmt.span.range.end.line,
      topLevel: !appliedAsLayer.has(def.name) && (atModuleLevel.has(def.name) || !usedByOtherBuilder),
      kind: 'function',
    });
  }
  const classes = program.body.filter((s) => isModelClass(program, s)) as Extract<Stmt, { k: 'class' }>[];
  for (const cls of classes) {
    // Used inside another model of the file (a sub-model): no lens of its own.
    const usedInside = classes.some((other) => {
      if (other === cls) return false;
      const names = new Set<string>();
      calledNames(other.body, names);
      return names.has(cls.name);
    }) || functions.some((f) => builders.has(f.def.name) && (() => {
      const names = new Set<string>();
      calledNames(f.def.body, names);
      return names.has(cls.name);
    })());
    candidates.push({
      framework,
      name: cls.name,
      source: { uri, line: cls.span.range.start.line, character: cls.span.range.start.character },
      endLine: cls.span.range.end.line,
      topLevel: atModuleLevel.has(cls.name) || !usedInside,
      kind: 'class',
    });
  }
  // Module-level models: their code runs from the statement after the last definition before them.
  let codeStart: Stmt | undefined;
  const visitModule = (stmts: Stmt[]): void => {
    for (const s of stmts) {
      const isRequire = s.k === 'assign' && s.value.k === 'call' && s.value.func.k === 'name' && s.value.func.name === 'require';
      if (s.k === 'def' || s.k === 'class' || s.k === 'import' || isRequire || (s.k === 'assign' && s.value.k === 'lambda')) {
        codeStart = undefined;
        continue;
      }
      codeStart ??= s;
      if (s.k === 'if' || s.k === 'block') {
        visitModule(s.body);
        if (s.k === 'if') visitModule(s.orelse);
        continue;
      }
      if (s.k !== 'assign' || s.targets.length !== 1 || s.targets[0]!.k !== 'name') continue;
      const callee = calleeName(program, s.value);
      if (!callee || !modelConstructor.test(callee)) continue;
      const name = s.targets[0]!.name;
      if (candidates.some((c) => c.name === name)) continue;
      candidates.push({
        framework,
        name,
        source: { uri, line: codeStart.span.range.start.line, character: codeStart.span.range.start.character },
        endLine: lastUseLine(program.body, name, s.span.range.end.line),
        topLevel: true,
        kind: 'variable',
      });
      codeStart = undefined;
    }
  };
  visitModule(program.body);
  return candidates;
}

/** A Sequential grows by `model.add(...)` lines after its assignment: the candidate ends at the last one. */
function lastUseLine(stmts: Stmt[], name: string, from: number): number {
  let last = from;
  for (const s of stmts) {
    if (s.span.range.start.line <= from || s.k !== 'expr' || s.e.k !== 'call') continue;
    const f = s.e.func;
    if (f.k === 'attr' && f.name === 'add' && f.obj.k === 'name' && f.obj.name === name) last = s.span.range.end.line;
  }
  return last;
}

/** Names `f` the file calls as `f(...)(...)`: builders of sub-networks. */
function collectAppliedBuilders(stmts: Stmt[], into: Set<string>): void {
  const visit = (e: Expr | undefined): void => {
    if (!e) return;
    switch (e.k) {
      case 'call':
        if (e.func.k === 'call' && e.func.func.k === 'name') into.add(e.func.func.name);
        visit(e.func);
        e.args.forEach((a) => visit(a.value));
        return;
      case 'attr': visit(e.obj); return;
      case 'binop': visit(e.left); visit(e.right); return;
      case 'list':
      case 'tuple':
        e.items.forEach(visit);
        return;
      case 'ternary': visit(e.then); visit(e.otherwise); return;
      default: return;
    }
  };
  for (const s of stmts) {
    switch (s.k) {
      case 'expr': visit(s.e); break;
      case 'assign': visit(s.value); break;
      case 'augassign': visit(s.value); break;
      case 'return': visit(s.value); break;
      case 'if': collectAppliedBuilders(s.body, into); collectAppliedBuilders(s.orelse, into); break;
      case 'for':
      case 'cfor':
      case 'block':
        collectAppliedBuilders(s.body, into);
        break;
      case 'def': collectAppliedBuilders(s.def.body, into); break;
      default: break;
    }
  }
}

/** `net = ResNet(...)` then `net.build((None, 32, 32, 3))` at module level: the input shape it gives (without the batch). */
export function builtInputShape(program: Program, className: string): Expr | undefined {
  const variables = new Set<string>();
  for (const s of moduleCode(program.body)) {
    if (s.k === 'assign' && s.value.k === 'call' && s.value.func.k === 'name' && s.value.func.name === className) {
      for (const t of s.targets) if (t.k === 'name') variables.add(t.name);
    }
    if (s.k !== 'expr' || s.e.k !== 'call' || s.e.func.k !== 'attr' || s.e.func.name !== 'build') continue;
    const obj = s.e.func.obj;
    if (obj.k !== 'name' || !variables.has(obj.name)) continue;
    const arg = s.e.args.find((a) => !a.keyword || a.keyword === 'input_shape')?.value;
    if (arg && (arg.k === 'tuple' || arg.k === 'list') && arg.items.length >= 2) return { ...arg, items: arg.items.slice(1) };
  }
  return undefined;
}
