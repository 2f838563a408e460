// The PyTorch front end: parses the file into the light AST, finds the entry points
// that give concrete values (module code, `__main__`, factory functions, classes
// with default arguments), runs each on the interpreter with path enumeration,
// then runs every module class once with symbolic arguments. The rules decide.
import type { Tree } from 'web-tree-sitter';
import { type CheckContext, type CheckerOutput, type ModelChecker, syntaxOf } from '../analysis';
import type { Grammars } from '../parse/grammars';
import { type PyNode, enclosingClass, importFromParts, toPyAst } from '../parse/python-ast';
import { broadcast } from '../shapes/shape';
import type { Dim } from '../shapes/dim';
import type { SymbolDomainRole } from '../shapes/witness';
import {
  type AddObservation, type ImportResolver, type RunLimits, type ShapeNote, type SymbolRole, BudgetExhausted, Interpreter, PathAborted, findMethod,
} from './interpreter';
import { type ClassInfo, type FileInfo, type InstanceValue, type TensorValue, type Value, Scope, inputTensor, intValue, unknown } from './values';
import { decideResidualSites } from '../rules/residual-shape-mismatch';
import { buildAnnotations } from './annotations';

export interface PyTorchRunResult {
  concrete: AddObservation[];
  symbolic: AddObservation[];
  roles: Map<string, SymbolDomainRole>;
  /** Classes whose forward ran in a concrete entry. */
  reached: Set<string>;
  concreteNotes: ShapeNote[];
  symbolicNotes: ShapeNote[];
  main: FileInfo;
}

const maxPathsPerEntry = 16;

export const pytorchChecker: ModelChecker = {
  name: 'pytorch-residual-shapes',
  framework: 'pytorch',
  check(context: CheckContext): CheckerOutput {
    const run = runPyTorchAnalysis(context);
    const findings = decideResidualSites(run, context.document.text);
    return { findings, annotations: buildAnnotations(run) };
  },
};

/** Runs every entry point of the file and every module class; exported for tests and tools. */
export function runPyTorchAnalysis(context: CheckContext): PyTorchRunResult {
  const { document, options, log } = context;
  const asts = new Map<string, { source: string; root: PyNode; uri: string } | null>();
  const mainAst = { source: document.text, root: syntaxOf(context), uri: document.uri };
  const limits: RunLimits = { steps: 60000, deadline: context.deadline, callDepth: 24, loopIterations: 512, decisions: 10 };
  const result: PyTorchRunResult = {
    concrete: [],
    symbolic: [],
    roles: new Map(),
    reached: new Set(),
    concreteNotes: [],
    symbolicNotes: [],
    main: freshFile(mainAst),
  };
  const inputComments = parseInputComments(document.text);
  const defaultInput = options.inputShape;

  // Each run gets fresh globals; the ASTs of imported files are parsed once.
  const makeResolver = (files: Map<string, FileInfo>, interp: () => Interpreter): ImportResolver => {
    const resolve: ImportResolver = (from, moduleName, level, names) => {
      if (!options.readWorkspaceFile) return undefined;
      const candidates = modulePathCandidates(from.uri, moduleName, level);
      for (const path of candidates) {
        const existing = files.get(path);
        if (existing) return existing;
        let ast = asts.get(path);
        if (ast === undefined) {
          ast = loadAst(path, options.readWorkspaceFile, context.grammars);
          asts.set(path, ast);
        }
        if (!ast) continue;
        // `from ..ops import StochasticDepth`: a package whose __init__ re-exports the names from
        // its submodules gives them from those alone, not from every module it imports.
        if (names?.length && /(^|\/)__init__\.py$/.test(path)) {
          const key = `${path}#${names.join(',')}`;
          const kept = files.get(key);
          if (kept) return kept;
          const reexports = reexportedNames(ast, names);
          if (reexports) {
            const file = freshFile(ast);
            files.set(key, file);
            for (const { name, module, level: subLevel, original } of reexports) {
              const sub = resolve(file, module, subLevel, [original]);
              file.globals.vars.set(name, sub?.globals.vars.get(original) ?? unknown);
            }
            return file;
          }
        }
        if (files.size >= 12) return undefined;
        const file = freshFile(ast);
        files.set(path, file);
        interp().execFile(file, true);
        return file;
      }
      if (candidates.length) log(`${document.uri}: could not read ${candidates[0]} for an import; its names are unknown`);
      return undefined;
    };
    return resolve;
  };

  const enumerate = (label: string, body: (interp: Interpreter, main: FileInfo) => void, collect: (interp: Interpreter, main: FileInfo) => void): void => {
    let choices: boolean[] = [];
    for (let n = 0; n < maxPathsPerEntry; n++) {
      if (performance.now() > context.deadline) {
        log(`${document.uri}: ${label}: time budget spent before it ran; its additions are not checked`);
        return;
      }
      const files = new Map<string, FileInfo>();
      const holder: { interp?: Interpreter } = {};
      const interp = new Interpreter(limits, choices.slice(), makeResolver(files, () => holder.interp!), log);
      holder.interp = interp;
      const main = freshFile(mainAst);
      main.inputComments = inputComments;
      try {
        body(interp, main);
      } catch (err) {
        // A path that raises ends there; what it recorded before still stands.
        if (err instanceof PathAborted) {
          // fall through to collect and the next path
        } else if (err instanceof BudgetExhausted) {
          log(`${document.uri}: ${label}: ${err.message}; the rest of this entry is unknown`);
          collect(interp, main);
          return;
        } else throw err;
      }
      collect(interp, main);
      const made = interp.choices;
      let i = made.length - 1;
      while (i >= 0 && !made[i]) i--;
      if (i < 0) return;
      choices = [...made.slice(0, i), false];
      if (n === maxPathsPerEntry - 1) log(`${document.uri}: ${label}: more than ${maxPathsPerEntry} branch combinations; the rest are not explored`);
    }
  };

  // The classes and functions of the file, defined once for all symbolic class runs: a file
  // with hundreds of classes must not redefine all of them for each one.
  let definitions: FileInfo | undefined;
  const sharedDefinitions = (): FileInfo => {
    if (definitions) return definitions;
    const files = new Map<string, FileInfo>();
    const holder: { interp?: Interpreter } = {};
    const interp = new Interpreter(limits, [], makeResolver(files, () => holder.interp!), log);
    holder.interp = interp;
    definitions = freshFile(mainAst);
    definitions.inputComments = inputComments;
    try {
      interp.execFile(definitions, true);
    } catch (err) {
      if (!(err instanceof BudgetExhausted)) throw err;
      log(`${document.uri}: definitions: ${err.message}; later classes are unknown`);
    }
    return definitions;
  };

  const mergeRoles = (interp: Interpreter): void => {
    for (const [name, role] of interp.symbolRoles) if (!result.roles.has(name)) result.roles.set(name, interp.kernelSymbols.has(name) && role === 'param' ? 'kernel' : domainRole(role));
  };

  // 1. Concrete entries: module code and __main__, factories, classes with default arguments.
  enumerate(
    'module entry points',
    (interp, main) => {
      interp.execFile(main, false);
      // Each model runs as soon as it is built: a file of many factories (efficientnet_b0 … b7)
      // can spend the step budget before the last one, and the first ones are then checked.
      const forward = (root: Value | undefined): void => {
        if (root?.t !== 'instance' || !root.cls.isModule || root.forwarded || root.incomplete) return;
        const known = interp.concreteInputs.get(root.cls);
        const input = known ? inputTensor(known, false) : makeInput(interp, root.cls, defaultInput);
        guarded(() => interp.callModule(root, { positional: [input], keywords: new Map() }, undefined, { scope: new Scope(), file: main, inForward: false }));
      };
      for (const def of main.root.children.map(unwrapDecorated)) {
        if (def.type !== 'function_definition' || !allParamsDefaulted(def, false)) continue;
        const fn = main.globals.vars.get(def.fields.name?.text ?? '');
        if (fn?.t !== 'function') continue;
        const made = guarded(() => interp.callFunction(fn, { positional: [], keywords: new Map() }));
        forward(made);
      }
      for (const value of main.globals.vars.values()) {
        if (value.t !== 'class' || !value.cls.isModule || value.cls.file !== main) continue;
        const init = findMethod(value.cls, '__init__');
        if (init && !allParamsDefaulted(init.def, true)) continue;
        if (!findMethod(value.cls, 'forward')) continue;
        if (interp.concreteInputs.has(value.cls)) continue; // the file already runs it on a real input
        forward(guarded(() => interp.instantiate(value.cls, { positional: [], keywords: new Map() })));
      }
      for (const value of main.globals.vars.values()) forward(value);
    },
    (interp) => {
      nameInstances(interp.instances);
      result.concrete.push(...interp.observations);
      result.concreteNotes.push(...interp.notes);
      for (const cls of interp.forwardedClasses) result.reached.add(classKey(cls));
      mergeRoles(interp);
    },
  );

  // 2. Every module class of this file once with symbolic arguments.
  // A class that the entry points reached with every addition agreeing needs nothing
  // more: its warnings, fixes and annotations all come from the concrete runs.
  const classNodes = mainAst.root.children.map(unwrapDecorated).filter((n) => n.type === 'class_definition');
  const disagreeing = new Set<string>();
  for (const obs of result.concrete) {
    if (obs.file.uri !== document.uri || broadcast(obs.left, obs.right).kind === 'same') continue;
    const cls = enclosingClass(mainAst.root, obs.site)?.fields.name?.text;
    if (cls) disagreeing.add(cls);
  }
  for (const classNode of classNodes) {
    const className = classNode.fields.name?.text ?? '';
    if (result.reached.has(`${document.uri}#${className}`) && !disagreeing.has(className)) continue;
    enumerate(
      `class ${className}`,
      (interp) => {
        const main = sharedDefinitions();
        const value = main.globals.vars.get(className);
        if (value?.t !== 'class' || !value.cls.isModule || !findMethod(value.cls, 'forward')) return;
        const args = symbolicArguments(interp, value.cls);
        const instance = interp.instantiate(value.cls, { positional: [], keywords: args });
        if (instance.t !== 'instance' || instance.incomplete) return;
        nameInstances(interp.instances);
        const input = makeInput(interp, value.cls, defaultInput);
        interp.callModule(instance, { positional: [input], keywords: callerFilledForwardArguments(value.cls) }, undefined, { scope: new Scope(), file: main, inForward: false });
      },
      (interp) => {
        result.symbolic.push(...interp.observations.filter((o) => o.instance?.cls.name === className));
        result.symbolicNotes.push(...interp.notes);
        mergeRoles(interp);
      },
    );
  }
  return result;
}

/** One entry point that raises must not end the others in the same run. */
function guarded<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch (err) {
    if (err instanceof PathAborted) return undefined;
    throw err;
  }
}

export function freshFile(ast: { source: string; root: PyNode; uri: string }): FileInfo {
  return { uri: ast.uri, source: ast.source, root: ast.root, globals: new Scope(), inputComments: new Map() };
}

export function unwrapDecorated(n: PyNode): PyNode {
  return n.type === 'decorated_definition' && n.fields.definition ? n.fields.definition : n;
}

export function classKey(cls: ClassInfo): string {
  return `${cls.file.uri}#${cls.name}`;
}

function domainRole(role: SymbolRole): SymbolDomainRole {
  if (role === 'batch' || role === 'spatial' || role === 'sequence' || role === 'channels') return role;
  return 'param';
}

/** Parameters after `self`; a factory must be callable without arguments. */
export function allParamsDefaulted(def: PyNode, isMethod: boolean): boolean {
  const params = (def.fields.parameters?.children ?? []).slice(isMethod ? 1 : 0);
  return params.every((p) => p.type !== 'identifier' && p.type !== 'typed_parameter' || p.children[0]?.type === 'list_splat_pattern' || p.children[0]?.type === 'dictionary_splat_pattern');
}

/** The name of one parameter node of a `def` (none for `*args`, `**kw`, `*`, `/`) and its default value, if any. */
export function parameterNameAndDefault(p: PyNode): { name?: string; defaultNode?: PyNode } {
  if (p.type === 'identifier') return { name: p.text };
  if (p.type === 'typed_parameter') return p.children[0]?.type === 'identifier' ? { name: p.children[0].text } : {};
  if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') {
    const name = p.fields.name?.text;
    const defaultNode = p.fields.value;
    return { ...(name !== undefined ? { name } : {}), ...(defaultNode ? { defaultNode } : {}) };
  }
  return {};
}

/**
 * Constructor arguments for a class checked on its own: ints and parameters without a
 * default become symbols named after the parameter; other defaults are kept. A `None`
 * default that is stored on `self` (a `downsample` the caller may pass) stays unknown.
 */
function symbolicArguments(interp: Interpreter, cls: ClassInfo): Map<string, Value> {
  const args = new Map<string, Value>();
  const init = findMethod(cls, '__init__');
  if (!init) return args;
  const source = init.cls.file.source;
  const body = init.def.fields.body ? source.slice(init.def.fields.body.startIndex, init.def.fields.body.endIndex) : '';
  for (const p of (init.def.fields.parameters?.children ?? []).slice(1)) {
    const { name, defaultNode } = parameterNameAndDefault(p);
    if (!name) continue;
    if (!defaultNode || defaultNode.type === 'integer' || (defaultNode.type === 'unary_operator' && defaultNode.fields.argument?.type === 'integer')) {
      args.set(name, intValue(interp.newSymbol(name, 'param') as Dim));
      continue;
    }
    if (defaultNode.type === 'none' && new RegExp(`self\\.\\w+\\s*=\\s*${name}\\b`).test(body)) {
      args.set(name, { t: 'unknown', label: name });
      continue;
    }
    // Any other default (None, a bool, a float, a string, a layer class) is used as is.
  }
  return args;
}

/**
 * Forward arguments after the input that default to `None` and that forward replaces
 * when they are missing (`if shortcut is None: shortcut = x`): a caller may pass its own
 * (a projected shortcut), so a class checked on its own keeps them unknown.
 */
function callerFilledForwardArguments(cls: ClassInfo): Map<string, Value> {
  const args = new Map<string, Value>();
  const forward = findMethod(cls, 'forward');
  const body = forward?.def.fields.body;
  if (!forward || !body) return args;
  const text = forward.cls.file.source.slice(body.startIndex, body.endIndex);
  for (const p of (forward.def.fields.parameters?.children ?? []).slice(2)) {
    const { name, defaultNode } = parameterNameAndDefault(p);
    if (!name || defaultNode?.type !== 'none') continue;
    if (new RegExp(`^\\s*${name}\\s*=(?!=)`, 'm').test(text)) args.set(name, { t: 'unknown', label: name });
  }
  return args;
}

/**
 * Where a package's __init__ takes each of `names` from (`from .misc import Conv2dNormActivation`);
 * undefined when one of them is defined or assigned there in another way.
 */
function reexportedNames(ast: { source: string; root: PyNode }, names: string[]): { name: string; module: string; level: number; original: string }[] | undefined {
  const found = new Map<string, { name: string; module: string; level: number; original: string }>();
  for (const stmt of ast.root.children) {
    const parts = stmt.type === 'import_from_statement' ? importFromParts(stmt, ast.source) : undefined;
    if (!parts || parts.level === 0) continue;
    for (const { original, bound } of parts.names) {
      if (names.includes(bound)) found.set(bound, { name: bound, module: parts.moduleName, level: parts.level, original });
    }
  }
  return names.every((n) => found.has(n)) ? names.map((n) => found.get(n)!) : undefined;
}

/** The model input: the class's `# residual-lens: input=` comment, the CLI's shape, or a lazy input. */
function makeInput(interp: Interpreter, cls: ClassInfo, fallback: (number | string)[] | undefined): TensorValue {
  const dims = cls.file.inputComments.get(cls.name) ?? fallback?.map(String);
  if (!dims) return interp.lazyInput();
  const shape = dims.map((d, axis) => {
    if (/^-?\d+$/.test(d)) return Number(d);
    const role: SymbolRole = axis === 0 ? 'batch' : /^(c|ch|channels?)$/i.test(d) ? 'channels' : dims.length === 3 && axis === 1 ? 'sequence' : 'spatial';
    return interp.newSymbol(d, role);
  });
  return inputTensor(shape, false, dims.length === 3 && !/^\d+$/.test(dims[2] ?? '') ? 'channels-last' : 'channels-first');
}

/** `# residual-lens: input=(N, 3, 224, 224)` on or just above a class line, or inside its body. */
export function parseInputComments(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const lines = text.split('\n');
  const pattern = /#\s*residual-lens:\s*input\s*=\s*\(([^)]*)\)/;
  for (let i = 0; i < lines.length; i++) {
    const m = pattern.exec(lines[i]!);
    if (!m) continue;
    const dims = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
    if (!dims.every((d) => /^(?:\d+|[A-Za-z_]\w*)$/.test(d))) continue;
    let className: string | undefined;
    for (let j = i; j < Math.min(lines.length, i + 4) && !className; j++) className = /^\s*class\s+(\w+)/.exec(lines[j]!)?.[1];
    for (let j = i - 1; j >= 0 && !className; j--) {
      const c = /^class\s+(\w+)/.exec(lines[j]!);
      if (c) className = c[1];
      else if (/^\S/.test(lines[j]!) && !lines[j]!.startsWith('#')) break;
    }
    if (className) found.set(className, dims);
  }
  return found;
}

/** Names instances by where they sit under their root: `ResNet.layer2[0]`. */
function nameInstances(instances: InstanceValue[]): void {
  const contained = new Set<InstanceValue>();
  const children = (v: Value, visit: (child: InstanceValue, suffix: string) => void, prefix: string, depth: number): void => {
    if (depth > 12) return;
    if (v.t === 'instance') visit(v, prefix);
    else if (v.t === 'container') v.items.forEach((item, i) => children(item, visit, `${prefix}${v.names?.[i] !== undefined ? `.${v.names[i]}` : `[${i}]`}`, depth + 1));
    else if (v.t === 'moduledict') for (const [k, item] of v.entries) children(item, visit, `${prefix}['${k}']`, depth + 1);
  };
  for (const inst of instances) {
    for (const [name, v] of inst.attrs) children(v, (child) => contained.add(child), name, 0);
  }
  const walk = (inst: InstanceValue, path: string, depth: number, seen: Set<InstanceValue>): void => {
    if (seen.has(inst) || depth > 12) return;
    seen.add(inst);
    inst.path = path;
    for (const [name, v] of inst.attrs) children(v, (child, suffix) => walk(child, `${path}.${suffix}`, depth + 1, seen), name, 0);
  };
  for (const inst of instances) if (!contained.has(inst)) walk(inst, inst.cls.name, 0, new Set());
}

/**
 * Where `from .blocks import X` or `from models.blocks import X` may live, next to the
 * importing file (a path or a file: URI): a module file or a package's __init__.py, and
 * for absolute names also in the folders above, since the workspace root is not known here.
 */
export function modulePathCandidates(fromUri: string, moduleName: string, level: number): string[] {
  const isUri = fromUri.startsWith('file:');
  const base = isUri ? fromUri.replace(/^file:\/\//, '') : fromUri;
  const parts = base.split('/');
  parts.pop();
  for (let i = 1; i < level; i++) parts.pop();
  const rel = moduleName.split('.').filter(Boolean);
  if (rel.length === 0) return [];
  const roots = level > 0 ? [parts] : [0, 1, 2].map((up) => parts.slice(0, Math.max(0, parts.length - up)));
  const candidates: string[] = [];
  for (const root of roots) {
    const dir = [...root, ...rel].join('/');
    candidates.push(`${dir}.py`, `${dir}/__init__.py`);
  }
  return [...new Set(candidates)].map((p) => (isUri ? `file://${p}` : p));
}

// Imported files are parsed once per text and kept (bounded): a module that every model
// file imports (torchvision's `_meta.py`, 1 500 lines) was parsed again on every check,
// most of the check time of a short model file. A kept tree costs 25 to 35 bytes of heap
// per source character, so 1.5 MB of source (torchvision's models are 0.5 MB) is about 50 MB.
const parsedImports = new Map<string, { source: string; root: PyNode; uri: string }>();
let parsedImportChars = 0;
const parsedImportCharLimit = 1_500_000;

function keepParsedImport(path: string, ast: { source: string; root: PyNode; uri: string }): void {
  const old = parsedImports.get(path);
  if (old) parsedImportChars -= old.source.length;
  parsedImports.delete(path);
  parsedImports.set(path, ast);
  parsedImportChars += ast.source.length;
  for (const [oldest, kept] of parsedImports) {
    if (parsedImportChars <= parsedImportCharLimit || oldest === path) break;
    parsedImports.delete(oldest);
    parsedImportChars -= kept.source.length;
  }
}

export function loadAst(path: string, read: (path: string) => string | undefined, grammars: Grammars | undefined): { source: string; root: PyNode; uri: string } | null {
  if (!grammars) return null;
  const text = read(path);
  if (text === undefined || text.length > 2_000_000) return null;
  const kept = parsedImports.get(path);
  if (kept && kept.source === text) {
    keepParsedImport(path, kept); // most recently used
    return kept;
  }
  let tree: Tree | undefined;
  try {
    tree = grammars.parse('python', text);
    const ast = { source: text, root: toPyAst(tree, text), uri: path };
    keepParsedImport(path, ast);
    return ast;
  } finally {
    tree?.delete();
  }
}

