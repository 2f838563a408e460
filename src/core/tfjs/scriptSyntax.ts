// TF.js front end, first half: tree-sitter TypeScript/JavaScript → the shared layers
// program. Types are syntax only here (`as tf.SymbolicTensor`, annotations): they are
// dropped, never checked.
// It reads the file's plain-object syntax tree (parse/syntaxTree.ts), far cheaper to
// walk than the wasm node API.
import type { SyntaxNode } from '../parse/syntaxTree';
import { spanOf } from '../keras/pythonSyntax';
import type { Arg, Expr, FunctionDef, Param, Program, Span, Stmt, Target } from '../keras/syntax';

type Node = SyntaxNode;

const maxDepth = 200;

/**
 * The statements each top-level syntax node became: after an edit the syntax tree keeps the
 * nodes before it (parse/documentTrees.ts), and so their conversion (see pythonSyntax.ts).
 */
const convertedStatements = new WeakMap<SyntaxNode, Stmt[]>();

/** `root`: the program's syntax tree (toSyntaxTree with a TypeScript or JavaScript grammar). */
export function scriptProgram(root: SyntaxNode, text: string): Program {
  const converter = new ScriptConverter(text);
  const body: Stmt[] = [];
  for (const child of named(root)) {
    let statements = convertedStatements.get(child);
    if (!statements) {
      statements = converter.statement(child);
      convertedStatements.set(child, statements);
    }
    body.push(...statements);
  }
  return { body, text, language: 'script' };
}

function named(node: Node): Node[] {
  // Most nodes hold no comment: hand back their own array then.
  return node.children.some((c) => c.type === 'comment') ? node.children.filter((c) => c.type !== 'comment') : node.children;
}

function field(node: Node, name: string): Node | null {
  return node.fields[name] ?? null;
}

const comparisonOps: Record<string, string> = { '===': '==', '==': '==', '!==': '!=', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const transparent = new Set(['parenthesized_expression', 'as_expression', 'satisfies_expression', 'non_null_expression', 'type_assertion', 'await_expression']);

class ScriptConverter {
  private depth = 0;
  constructor(private readonly text: string) {}

  /** Source text of a node (the plain tree keeps text only for some leaves). */
  private src(node: Node): string {
    return this.text.slice(node.startIndex, node.endIndex);
  }

  private srcOf(node: Node | null): string {
    return node ? this.src(node) : '?';
  }

  block(node: Node | null): Stmt[] {
    if (!node) return [];
    const out: Stmt[] = [];
    for (const child of named(node)) out.push(...this.stmt(child));
    return out;
  }

  statement(node: Node): Stmt[] {
    return this.stmt(node);
  }

  private stmt(node: Node): Stmt[] {
    const span = spanOf(node);
    if (node.type === 'ERROR' || node.type === 'too_deep') return [{ k: 'opaque', assigned: assignedNames(node, this.text), span }];
    switch (node.type) {
      case 'expression_statement': {
        const inner = named(node)[0];
        if (!inner) return [];
        return [this.expressionStatement(inner, span)];
      }
      case 'lexical_declaration':
      case 'variable_declaration': {
        const kind = node.ops[0];
        const declaration = kind === 'const' || kind === 'let' || kind === 'var' ? kind : 'let';
        const out: Stmt[] = [];
        for (const d of named(node)) {
          if (d.type !== 'variable_declarator') continue;
          const value = field(d, 'value');
          const converted: Expr = value ? this.expr(value) : { k: 'none', span: spanOf(d) };
          // `const block = (x) => ...`: the function is called by the variable's name in messages.
          const name = field(d, 'name');
          if (converted.k === 'lambda' && name?.type === 'identifier' && converted.def.name === '<anonymous>') converted.def.name = this.src(name);
          out.push({ k: 'assign', targets: [this.target(name)], value: converted, declaration, span });
        }
        return out;
      }
      case 'if_statement': {
        const alternative = field(node, 'alternative');
        const elseBody = alternative ? named(alternative)[0] ?? null : null;
        return [{ k: 'if', test: this.expr(field(node, 'condition')), body: this.body(field(node, 'consequence')), orelse: this.body(elseBody), span }];
      }
      case 'for_statement': {
        const init = field(node, 'initializer');
        const condition = field(node, 'condition');
        const increment = field(node, 'increment');
        const test = condition && condition.type !== ';' ? (condition.type === 'expression_statement' ? named(condition)[0] ?? null : condition) : null;
        const s: Stmt = {
          k: 'cfor',
          init: init ? this.stmt(init.type === 'expression' ? init : init) : [],
          update: increment ? [this.expr(increment)] : [],
          body: this.body(field(node, 'body')),
          span,
        };
        if (test) s.test = this.expr(test);
        return [s];
      }
      case 'for_in_statement': {
        const isOf = node.ops.includes('of');
        if (!isOf) return [{ k: 'opaque', assigned: assignedNames(node, this.text), span }];
        return [{ k: 'for', target: this.target(field(node, 'left')), iter: this.expr(field(node, 'right')), body: this.body(field(node, 'body')), span }];
      }
      case 'return_statement': {
        const value = named(node)[0];
        return [value ? { k: 'return', value: this.expr(value), span } : { k: 'return', span }];
      }
      case 'function_declaration':
      case 'generator_function_declaration':
        return [{ k: 'def', def: this.functionDef(node), span }];
      case 'export_statement': {
        const declaration = field(node, 'declaration');
        if (declaration) return this.stmt(declaration);
        const value = field(node, 'value');
        return value ? [{ k: 'expr', e: this.expr(value), span }] : [];
      }
      case 'import_statement': return [{ k: 'import', bindings: importBindings(node, this.text), span }];
      case 'statement_block': return [{ k: 'block', body: this.block(node), span }];
      case 'try_statement': return [{ k: 'block', body: this.body(field(node, 'body')), span }];
      case 'break_statement': return [{ k: 'break', span }];
      case 'continue_statement': return [{ k: 'continue', span }];
      case 'empty_statement':
      case 'comment':
      case 'interface_declaration':
      case 'type_alias_declaration':
        return [];
      default:
        return [{ k: 'opaque', assigned: assignedNames(node, this.text), span }];
    }
  }

  private body(node: Node | null): Stmt[] {
    if (!node) return [];
    return node.type === 'statement_block' ? this.block(node) : this.stmt(node);
  }

  private expressionStatement(inner: Node, span: Span): Stmt {
    if (inner.type === 'assignment_expression') {
      return { k: 'assign', targets: [this.target(field(inner, 'left'))], value: this.expr(field(inner, 'right')), span };
    }
    if (inner.type === 'augmented_assignment_expression') {
      const op = inner.ops.find((o) => o.endsWith('=')) ?? '+=';
      return { k: 'augassign', target: this.target(field(inner, 'left')), op: op.slice(0, -1), value: this.expr(field(inner, 'right')), span };
    }
    if (inner.type === 'update_expression') return { k: 'expr', e: this.expr(inner), span };
    return { k: 'expr', e: this.expr(inner), span };
  }

  private target(node: Node | null): Target {
    if (!node) return { k: 'ignored' };
    switch (node.type) {
      case 'identifier': return { k: 'name', name: this.src(node), span: spanOf(node) };
      case 'member_expression': return { k: 'attr', obj: this.expr(field(node, 'object')), name: this.srcOf(field(node, 'property')) };
      case 'subscript_expression': return { k: 'index', obj: this.expr(field(node, 'object')), index: this.expr(field(node, 'index')) };
      case 'array_pattern': return { k: 'unpack', items: named(node).map((c) => this.target(c)) };
      case 'parenthesized_expression':
      case 'non_null_expression':
        return this.target(named(node)[0] ?? null);
      default: return { k: 'ignored' };
    }
  }

  functionDef(node: Node): FunctionDef {
    const params: Param[] = [];
    const single = field(node, 'parameter');
    const paramNodes = single ? [single] : named(field(node, 'parameters') ?? node).filter((c) => c !== field(node, 'body'));
    if (!single && !field(node, 'parameters')) paramNodes.length = 0;
    for (const p of paramNodes) {
      const param = this.param(p);
      if (param) params.push(param);
    }
    const nameNode = field(node, 'name');
    const name = nameNode ? this.src(nameNode) : '<anonymous>';
    const body = field(node, 'body');
    const def: FunctionDef = { name, params, body: [], span: spanOf(node) };
    if (body && body.type !== 'statement_block') def.expressionBody = this.expr(body);
    else def.body = this.block(body);
    return def;
  }

  private param(p: Node): Param | undefined {
    let pattern: Node | null = p;
    let value: Node | null = null;
    if (p.type === 'required_parameter' || p.type === 'optional_parameter') {
      pattern = field(p, 'pattern');
      value = field(p, 'value');
    } else if (p.type === 'assignment_pattern') {
      pattern = field(p, 'left');
      value = field(p, 'right');
    }
    if (!pattern) return undefined;
    if (pattern.type === 'rest_pattern') return { name: this.srcOf(named(pattern)[0] ?? null), rest: 'positional' };
    if (pattern.type === 'identifier') return value ? { name: this.src(pattern), default: this.expr(value) } : { name: this.src(pattern) };
    if (pattern.type === 'object_pattern') {
      const properties: { key: string; local: string; default?: Expr }[] = [];
      for (const prop of named(pattern)) {
        if (prop.type === 'shorthand_property_identifier_pattern') properties.push({ key: this.src(prop), local: this.src(prop) });
        else if (prop.type === 'object_assignment_pattern') {
          const left = field(prop, 'left');
          const right = field(prop, 'right');
          if (left) properties.push({ key: this.src(left), local: this.src(left), ...(right ? { default: this.expr(right) } : {}) });
        } else if (prop.type === 'pair_pattern') {
          const key = this.srcOf(field(prop, 'key'));
          const local = field(prop, 'value');
          if (local?.type === 'identifier') properties.push({ key, local: this.src(local) });
          else if (local?.type === 'assignment_pattern') {
            const right = field(local, 'right');
            properties.push({ key, local: this.srcOf(field(local, 'left')), ...(right ? { default: this.expr(right) } : {}) });
          }
        }
      }
      return { name: '{}', properties, ...(value ? { default: this.expr(value) } : {}) };
    }
    return { name: '_' };
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
    if (transparent.has(node.type)) return this.expr(named(node)[0] ?? null);
    switch (node.type) {
      case 'identifier':
      case 'shorthand_property_identifier':
        return this.src(node) === 'undefined' ? { k: 'none', span } : { k: 'name', name: this.src(node), span };
      case 'this': return { k: 'name', name: 'this', span };
      case 'number': {
        const value = Number(this.src(node).replace(/_/g, ''));
        return { k: 'num', value, integer: Number.isInteger(value), span };
      }
      case 'string': return { k: 'str', value: scriptStringValue(this.src(node)), span };
      case 'template_string': return { k: 'str', value: undefined, span };
      case 'true': return { k: 'bool', value: true, span };
      case 'false': return { k: 'bool', value: false, span };
      case 'null':
      case 'undefined':
        return { k: 'none', span };
      case 'array': return { k: 'list', items: named(node).map((c) => this.expr(c)), span };
      case 'object': {
        const entries: { key: string; value: Expr }[] = [];
        for (const c of named(node)) {
          if (c.type === 'pair') {
            const key = field(c, 'key');
            if (!key) continue;
            const keyText = key.type === 'string' ? scriptStringValue(this.src(key)) : key.type === 'computed_property_name' ? undefined : this.src(key);
            if (keyText === undefined) return { k: 'unknown', span };
            entries.push({ key: keyText, value: this.expr(field(c, 'value')) });
          } else if (c.type === 'shorthand_property_identifier') {
            entries.push({ key: this.src(c), value: { k: 'name', name: this.src(c), span: spanOf(c) } });
          } else return { k: 'unknown', span };
        }
        return { k: 'object', entries, span };
      }
      case 'call_expression':
      case 'new_expression': {
        const argsNode = field(node, 'arguments');
        const func = field(node, node.type === 'call_expression' ? 'function' : 'constructor');
        if (argsNode && argsNode.type !== 'arguments') return { k: 'unknown', span };
        const args: Arg[] = argsNode
          ? named(argsNode).map((a) => (a.type === 'spread_element' ? { value: this.expr(named(a)[0] ?? null), spread: 'positional' as const } : { value: this.expr(a) }))
          : [];
        return { k: 'call', func: this.expr(func), args, span };
      }
      case 'member_expression':
        return { k: 'attr', obj: this.expr(field(node, 'object')), name: this.srcOf(field(node, 'property')), span };
      case 'subscript_expression':
        return { k: 'index', obj: this.expr(field(node, 'object')), index: this.expr(field(node, 'index')), span };
      case 'binary_expression': {
        const op = node.ops[0] ?? '?';
        const left = this.expr(field(node, 'left'));
        const right = this.expr(field(node, 'right'));
        if (op in comparisonOps) return { k: 'compare', ops: [comparisonOps[op]!], operands: [left, right], span };
        if (op === '&&' || op === '||') return { k: 'boolop', op: op === '&&' ? 'and' : 'or', values: [left, right], span };
        if (op === '??') return { k: 'binop', op: '??', left, right, span };
        return { k: 'binop', op: op === '/' ? '/' : op, left, right, span };
      }
      case 'unary_expression': {
        const op = node.ops[0] ?? '?';
        return { k: 'unop', op: op === '!' ? 'not' : op, operand: this.expr(field(node, 'argument')), span };
      }
      case 'update_expression': {
        // `i++` as an expression statement: the loop update of a C-style for.
        const argument = field(node, 'argument');
        const op = node.ops.includes('--') ? '-' : '+';
        return { k: 'call', func: { k: 'name', name: '__update__', span }, args: [{ value: this.expr(argument) }, { value: { k: 'str', value: op, span } }], span };
      }
      case 'assignment_expression':
      case 'augmented_assignment_expression': {
        // Only as a loop update (`i += 1`): encoded as a call the interpreter knows.
        const op = node.type === 'assignment_expression' ? '=' : (node.ops.find((o) => o.endsWith('=')) ?? '+=');
        return {
          k: 'call',
          func: { k: 'name', name: '__assign__', span },
          args: [{ value: this.expr(field(node, 'left')) }, { value: { k: 'str', value: op, span } }, { value: this.expr(field(node, 'right')) }],
          span,
        };
      }
      case 'ternary_expression':
        return { k: 'ternary', test: this.expr(field(node, 'condition')), then: this.expr(field(node, 'consequence')), otherwise: this.expr(field(node, 'alternative')), span };
      case 'arrow_function':
      case 'function_expression':
      case 'function':
        return { k: 'lambda', def: this.functionDef(node), span };
      default:
        return { k: 'unknown', span };
    }
  }
}

/**
 * A string literal's value from its source text, so that it does not depend on how the
 * plain tree keeps a string's parts; undefined when it holds escapes we do not read.
 */
function scriptStringValue(raw: string): string | undefined {
  const m = /^(['"])([\s\S]*)\1$/.exec(raw);
  if (!m || m[2]!.includes('\\')) return undefined;
  return m[2];
}

function importBindings(node: Node, text: string): { local: string; path: string }[] {
  const src = (n: Node) => text.slice(n.startIndex, n.endIndex);
  const source = field(node, 'source');
  const module = source ? scriptStringValue(src(source)) ?? '' : '';
  const out: { local: string; path: string }[] = [];
  const clause = named(node).find((c) => c.type === 'import_clause');
  if (!clause) return out;
  for (const c of named(clause)) {
    if (c.type === 'identifier') out.push({ local: src(c), path: module });
    else if (c.type === 'namespace_import') {
      const id = named(c)[0];
      if (id) out.push({ local: src(id), path: module });
    } else if (c.type === 'named_imports') {
      for (const spec of named(c)) {
        if (spec.type !== 'import_specifier') continue;
        const nameNode = field(spec, 'name');
        const aliasNode = field(spec, 'alias');
        const name = nameNode ? src(nameNode) : '?';
        out.push({ local: aliasNode ? src(aliasNode) : name, path: `${module}#${name}` });
      }
    }
  }
  return out;
}

function assignedNames(node: Node, text: string): string[] {
  const src = (n: Node) => text.slice(n.startIndex, n.endIndex);
  const names = new Set<string>();
  const visit = (n: Node, depth: number): void => {
    if (depth > 60) return;
    if (n.type === 'variable_declarator' || n.type === 'assignment_expression' || n.type === 'augmented_assignment_expression') {
      const left = field(n, n.type === 'variable_declarator' ? 'name' : 'left');
      if (left?.type === 'identifier') names.add(src(left));
    }
    const declared = field(n, 'name');
    if ((n.type === 'class_declaration' || n.type === 'function_declaration') && declared) names.add(src(declared));
    for (const c of n.children) visit(c, depth + 1);
  };
  visit(node, 0);
  return [...names];
}
