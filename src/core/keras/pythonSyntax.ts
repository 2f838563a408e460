// Keras front end, first half: tree-sitter Python → the shared layers program.
// Anything it does not model becomes an `unknown` expression or an `opaque`
// statement, so half-typed code and ERROR nodes only lose what they cover.
// It reads the file's plain-object syntax tree (parse/syntaxTree.ts), shared with the
// PyTorch front end: crossing into the wasm parser for every node would cost more than
// the whole interpretation.
import type { SyntaxNode } from '../parse/syntaxTree';
import type { Arg, Expr, FunctionDef, Param, Program, Span, Stmt, Target } from './syntax';

type Node = SyntaxNode;

const maxDepth = 200;

/**
 * The statement each top-level syntax node became. After an edit the syntax tree keeps the
 * nodes of the statements before it (parse/documentTrees.ts): their conversion is kept too.
 * Only the node's own text goes into its statement, and nothing changes either afterwards.
 */
const convertedStatements = new WeakMap<SyntaxNode, Stmt | undefined>();

/** `root`: the module's syntax tree (toSyntaxTree with the python grammar). */
export function pythonProgram(root: SyntaxNode, text: string): Program {
  const converter = new PythonConverter(text);
  const body: Stmt[] = [];
  for (const child of named(root)) {
    let statement = convertedStatements.get(child);
    if (statement === undefined && !convertedStatements.has(child)) {
      statement = converter.statement(child);
      convertedStatements.set(child, statement);
    }
    if (statement) body.push(statement);
  }
  return { body, text, language: 'python' };
}

export function spanOf(node: Node): Span {
  return {
    range: { start: { line: node.startRow, character: node.startCol }, end: { line: node.endRow, character: node.endCol } },
    start: node.startIndex,
    end: node.endIndex,
  };
}

function named(node: Node): Node[] {
  // Most nodes hold no comment: hand back their own array then.
  return node.children.some((c) => c.type === 'comment') ? node.children.filter((c) => c.type !== 'comment') : node.children;
}

function field(node: Node, name: string): Node | null {
  return node.fields[name] ?? null;
}

class PythonConverter {
  private depth = 0;
  constructor(private readonly text: string) {}

  block(node: Node | null): Stmt[] {
    if (!node) return [];
    const out: Stmt[] = [];
    for (const child of named(node)) {
      const s = this.stmt(child);
      if (s) out.push(s);
    }
    return out;
  }

  statement(node: Node): Stmt | undefined {
    return this.stmt(node);
  }

  private stmt(node: Node): Stmt | undefined {
    const span = spanOf(node);
    if (node.type === 'ERROR' || node.type === 'too_deep') return { k: 'opaque', assigned: assignedNames(node), span };
    switch (node.type) {
      case 'expression_statement': {
        const inner = named(node)[0];
        if (!inner) return undefined;
        if (inner.type === 'assignment') return this.assignment(inner, span);
        if (inner.type === 'augmented_assignment') {
          const op = inner.ops.find((o) => o.endsWith('=')) ?? '+=';
          return { k: 'augassign', target: this.target(field(inner, 'left')), op: op.slice(0, -1), value: this.expr(field(inner, 'right')), span };
        }
        return { k: 'expr', e: this.expr(inner), span };
      }
      case 'if_statement': return this.ifStatement(node, span);
      case 'for_statement':
        return { k: 'for', target: this.target(field(node, 'left')), iter: this.expr(field(node, 'right')), body: this.block(field(node, 'body')), span };
      case 'return_statement': {
        const value = named(node)[0];
        return value ? { k: 'return', value: this.expr(value), span } : { k: 'return', span };
      }
      case 'function_definition': return { k: 'def', def: this.functionDef(node), span };
      case 'too_deep': return { k: 'opaque', assigned: [], span };
      case 'decorated_definition': {
        const def = field(node, 'definition');
        return def ? this.stmt(def) : undefined;
      }
      case 'class_definition': {
        const bases = field(node, 'superclasses');
        return {
          k: 'class',
          name: field(node, 'name')?.text || '?',
          bases: bases ? named(bases).filter((b) => b.type !== 'keyword_argument').map((b) => this.expr(b)) : [],
          body: this.block(field(node, 'body')),
          span,
        };
      }
      case 'import_statement':
      case 'import_from_statement':
        return { k: 'import', bindings: importBindings(node, this.text), span };
      case 'with_statement':
        return { k: 'block', body: this.block(field(node, 'body')), span };
      case 'try_statement':
        return { k: 'block', body: this.block(field(node, 'body')), span };
      case 'block':
        return { k: 'block', body: this.block(node), span };
      case 'break_statement': return { k: 'break', span };
      case 'continue_statement': return { k: 'continue', span };
      case 'pass_statement':
      case 'comment':
        return undefined;
      default:
        return { k: 'opaque', assigned: assignedNames(node), span };
    }
  }

  private ifStatement(node: Node, span: Span): Stmt {
    const alternatives = node.children.filter((c) => c.type === 'elif_clause' || c.type === 'else_clause');
    let orelse: Stmt[] = [];
    // Build the elif chain from the back.
    for (let i = alternatives.length - 1; i >= 0; i--) {
      const alt = alternatives[i]!;
      if (alt.type === 'else_clause') orelse = this.block(field(alt, 'body'));
      else orelse = [{ k: 'if', test: this.expr(field(alt, 'condition')), body: this.block(field(alt, 'consequence')), orelse, span: spanOf(alt) }];
    }
    return { k: 'if', test: this.expr(field(node, 'condition')), body: this.block(field(node, 'consequence')), orelse, span };
  }

  private assignment(node: Node, span: Span): Stmt {
    const targets: Target[] = [];
    let current: Node | null = node;
    while (current && current.type === 'assignment') {
      targets.push(this.target(field(current, 'left')));
      const right: Node | null = field(current, 'right');
      if (!right) return { k: 'expr', e: { k: 'unknown', span }, span };
      current = right;
    }
    return { k: 'assign', targets, value: this.expr(current), span };
  }

  private target(node: Node | null): Target {
    if (!node) return { k: 'ignored' };
    switch (node.type) {
      case 'identifier': return { k: 'name', name: node.text, span: spanOf(node) };
      case 'attribute': return { k: 'attr', obj: this.expr(field(node, 'object')), name: field(node, 'attribute')?.text || '?' };
      case 'subscript': return { k: 'index', obj: this.expr(field(node, 'value')), index: this.expr(field(node, 'subscript')) };
      case 'pattern_list':
      case 'tuple_pattern':
      case 'list_pattern':
      case 'expression_list':
      case 'tuple':
      case 'list':
        return { k: 'unpack', items: named(node).map((c) => this.target(c)) };
      case 'parenthesized_expression': return this.target(named(node)[0] ?? null);
      default: return { k: 'ignored' };
    }
  }

  functionDef(node: Node): FunctionDef {
    const params: Param[] = [];
    const paramsNode = field(node, 'parameters');
    for (const p of paramsNode ? named(paramsNode) : []) {
      switch (p.type) {
        case 'identifier': params.push({ name: p.text }); break;
        case 'typed_parameter': {
          const id = named(p).find((c) => c.type === 'identifier');
          const splat = named(p).find((c) => c.type === 'list_splat_pattern' || c.type === 'dictionary_splat_pattern');
          if (id) params.push({ name: id.text });
          else if (splat) params.push({ name: named(splat)[0]?.text ?? '_', rest: splat.type === 'list_splat_pattern' ? 'positional' : 'keyword' });
          break;
        }
        case 'default_parameter':
        case 'typed_default_parameter':
          params.push({ name: field(p, 'name')?.text ?? '_', default: this.expr(field(p, 'value')) });
          break;
        case 'list_splat_pattern': params.push({ name: named(p)[0]?.text ?? '_', rest: 'positional' }); break;
        case 'dictionary_splat_pattern': params.push({ name: named(p)[0]?.text ?? '_', rest: 'keyword' }); break;
        default: break;
      }
    }
    const body = field(node, 'body');
    const def: FunctionDef = { name: field(node, 'name')?.text ?? '<lambda>', params, body: [], span: spanOf(node) };
    if (node.type === 'lambda') def.expressionBody = this.expr(body);
    else def.body = this.block(body);
    return def;
  }

  expr(node: Node | null): Expr {
    if (!node) return { k: 'unknown', span: { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, start: 0, end: 0 } };
    if (this.depth > maxDepth) return { k: 'unknown', span: spanOf(node) };
    this.depth++;
    try {
      return this.exprInner(node);
    } finally {
      this.depth--;
    }
  }

  private exprInner(node: Node): Expr {
    const span = spanOf(node);
    switch (node.type) {
      case 'identifier': return { k: 'name', name: node.text, span };
      case 'integer': {
        const value = Number(node.text.replace(/_/g, '').replace(/[lL]$/, ''));
        return Number.isSafeInteger(value) ? { k: 'num', value, integer: true, span } : { k: 'unknown', span };
      }
      case 'float': return { k: 'num', value: Number(node.text.replace(/_/g, '')), integer: false, span };
      case 'string': return { k: 'str', value: pythonStringValue(this.text.slice(node.startIndex, node.endIndex)), span };
      case 'concatenated_string': return { k: 'str', value: undefined, span };
      case 'true': return { k: 'bool', value: true, span };
      case 'false': return { k: 'bool', value: false, span };
      case 'none': return { k: 'none', span };
      case 'list': return { k: 'list', items: named(node).map((c) => this.expr(c)), span };
      case 'tuple':
      case 'expression_list':
        return { k: 'tuple', items: named(node).map((c) => this.expr(c)), span };
      case 'dictionary': {
        const entries: { key: string; value: Expr }[] = [];
        for (const pair of named(node)) {
          if (pair.type !== 'pair') return { k: 'unknown', span };
          const key = field(pair, 'key');
          const keyValue = key?.type === 'string' ? pythonStringValue(this.text.slice(key.startIndex, key.endIndex)) : undefined;
          if (keyValue === undefined) return { k: 'unknown', span };
          entries.push({ key: keyValue, value: this.expr(field(pair, 'value')) });
        }
        return { k: 'object', entries, span };
      }
      case 'parenthesized_expression': {
        const inner = named(node)[0];
        return inner ? this.expr(inner) : { k: 'unknown', span };
      }
      case 'call': {
        const argsNode = field(node, 'arguments');
        if (!argsNode || argsNode.type !== 'argument_list') return { k: 'unknown', span };
        const args: Arg[] = [];
        for (const a of named(argsNode)) {
          if (a.type === 'keyword_argument') args.push({ keyword: field(a, 'name')?.text || '?', value: this.expr(field(a, 'value')) });
          else if (a.type === 'list_splat') args.push({ value: this.expr(named(a)[0] ?? null), spread: 'positional' });
          else if (a.type === 'dictionary_splat') args.push({ value: this.expr(named(a)[0] ?? null), spread: 'keyword' });
          else args.push({ value: this.expr(a) });
        }
        return { k: 'call', func: this.expr(field(node, 'function')), args, span };
      }
      case 'attribute':
        return { k: 'attr', obj: this.expr(field(node, 'object')), name: field(node, 'attribute')?.text || '?', span };
      case 'subscript': {
        const value = field(node, 'value');
        const subs = named(node).filter((c) => c !== value);
        const index: Expr = subs.length === 1 ? this.expr(subs[0]!) : { k: 'tuple', items: subs.map((s) => this.expr(s)), span };
        return { k: 'index', obj: this.expr(field(node, 'value')), index, span };
      }
      case 'slice': {
        // Parts are told apart by the colons between them.
        const parts: (Expr | undefined)[] = [undefined, undefined, undefined];
        for (const c of named(node)) {
          const slot = node.opStarts.filter((start, i) => node.ops[i] === ':' && start < c.startIndex).length;
          if (slot < 3) parts[slot] = this.expr(c);
        }
        const s: Expr = { k: 'slice', span };
        if (parts[0]) s.start = parts[0];
        if (parts[1]) s.stop = parts[1];
        if (parts[2]) s.step = parts[2];
        return s;
      }
      case 'binary_operator': {
        const op = node.ops[0] ?? '?';
        return { k: 'binop', op, left: this.expr(field(node, 'left')), right: this.expr(field(node, 'right')), span };
      }
      case 'unary_operator':
        return { k: 'unop', op: node.ops[0] ?? '?', operand: this.expr(field(node, 'argument')), span };
      case 'not_operator':
        return { k: 'unop', op: 'not', operand: this.expr(field(node, 'argument')), span };
      case 'boolean_operator': {
        const op = node.ops[0] === 'or' ? 'or' : 'and';
        return { k: 'boolop', op, values: [this.expr(field(node, 'left')), this.expr(field(node, 'right'))], span };
      }
      case 'comparison_operator': {
        // Operators sit between the operands; `not in` / `is not` may come as two tokens.
        const operandNodes = named(node);
        const operands = operandNodes.map((c) => this.expr(c));
        const ops = operandNodes.slice(1).map((c, i) => {
          const before = operandNodes[i]!;
          return node.ops.filter((_, j) => node.opStarts[j]! >= before.endIndex && node.opStarts[j]! < c.startIndex).join(' ');
        });
        return { k: 'compare', ops, operands, span };
      }
      case 'conditional_expression': {
        const [then, test, otherwise] = named(node);
        return { k: 'ternary', test: this.expr(test ?? null), then: this.expr(then ?? null), otherwise: this.expr(otherwise ?? null), span };
      }
      case 'lambda': return { k: 'lambda', def: this.functionDef(node), span };
      default:
        return { k: 'unknown', span };
    }
  }
}

/** A plain (not f-) string literal's value from its source text; undefined for f-strings. */
function pythonStringValue(raw: string): string | undefined {
  const m = /^([rRbBuU]*)("""|'''|"|')([\s\S]*)\2$/.exec(raw);
  if (!m || /[fF]/.test(m[1]!)) return undefined;
  return m[3];
}

function importBindings(node: Node, text: string): { local: string; path: string }[] {
  const source = (n: Node) => text.slice(n.startIndex, n.endIndex);
  const out: { local: string; path: string }[] = [];
  if (node.type === 'import_statement') {
    for (const c of named(node)) {
      if (c.type === 'dotted_name') out.push({ local: source(c).split('.')[0]!, path: source(c).split('.')[0]! });
      else if (c.type === 'aliased_import') out.push({ local: source(field(c, 'alias') ?? c), path: source(field(c, 'name') ?? c) });
    }
    return out;
  }
  const moduleNode = field(node, 'module_name');
  const moduleName = moduleNode ? source(moduleNode) : '';
  for (const c of named(node)) {
    if (c === moduleNode) continue;
    if (c.type === 'dotted_name') out.push({ local: source(c), path: `${moduleName}.${source(c)}` });
    else if (c.type === 'aliased_import') out.push({ local: source(field(c, 'alias') ?? c), path: `${moduleName}.${source(field(c, 'name') ?? c)}` });
  }
  return out;
}

/** Names a statement the interpreter skips may have bound, so they are not trusted afterwards. */
export function assignedNames(node: Node): string[] {
  const names = new Set<string>();
  const visit = (n: Node, depth: number): void => {
    if (depth > 60) return;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement') && field(n, 'left')) {
      collectTargetNames(field(n, 'left')!, names);
    }
    if (n.type === 'function_definition' || n.type === 'class_definition') {
      const name = field(n, 'name');
      if (name) names.add(name.text);
      return;
    }
    for (const c of n.children) visit(c, depth + 1);
  };
  visit(node, 0);
  return [...names];
}

function collectTargetNames(node: Node, into: Set<string>): void {
  if (node.type === 'identifier') into.add(node.text);
  else if (['pattern_list', 'tuple_pattern', 'list_pattern', 'expression_list', 'tuple', 'list', 'parenthesized_expression'].includes(node.type)) {
    for (const c of node.children) collectTargetNames(c, into);
  }
}
