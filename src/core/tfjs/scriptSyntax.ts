// TF.js front end, first half: tree-sitter TypeScript/JavaScript → the shared layers
// program. Types are syntax only here (`as tf.SymbolicTensor`, annotations): they are
// dropped, never checked.
import type { Node } from 'web-tree-sitter';
import type { Arg, Expr, FunctionDef, Param, Program, Span, Stmt, Target } from '../keras/syntax';

const maxDepth = 200;

export function scriptProgram(root: Node, text: string): Program {
  return { body: new ScriptConverter().block(root), text, language: 'script' };
}

function spanOf(node: Node): Span {
  return {
    range: { start: { line: node.startPosition.row, character: node.startPosition.column }, end: { line: node.endPosition.row, character: node.endPosition.column } },
    start: node.startIndex,
    end: node.endIndex,
  };
}

function named(node: Node): Node[] {
  return node.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
}

const comparisonOps: Record<string, string> = { '===': '==', '==': '==', '!==': '!=', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const transparent = new Set(['parenthesized_expression', 'as_expression', 'satisfies_expression', 'non_null_expression', 'type_assertion', 'await_expression']);

class ScriptConverter {
  private depth = 0;

  block(node: Node | null): Stmt[] {
    if (!node) return [];
    const out: Stmt[] = [];
    for (const child of named(node)) out.push(...this.stmt(child));
    return out;
  }

  private stmt(node: Node): Stmt[] {
    const span = spanOf(node);
    if (node.type === 'ERROR' || node.isMissing) return [{ k: 'opaque', assigned: assignedNames(node), span }];
    switch (node.type) {
      case 'expression_statement': {
        const inner = named(node)[0];
        if (!inner) return [];
        return [this.expressionStatement(inner, span)];
      }
      case 'lexical_declaration':
      case 'variable_declaration': {
        const kind = node.children[0]?.type;
        const declaration = kind === 'const' || kind === 'let' || kind === 'var' ? kind : 'let';
        const out: Stmt[] = [];
        for (const d of named(node)) {
          if (d.type !== 'variable_declarator') continue;
          const value = d.childForFieldName('value');
          const converted: Expr = value ? this.expr(value) : { k: 'none', span: spanOf(d) };
          // `const block = (x) => ...`: the function is called by the variable's name in messages.
          const name = d.childForFieldName('name');
          if (converted.k === 'lambda' && name?.type === 'identifier' && converted.def.name === '<anonymous>') converted.def.name = name.text;
          out.push({ k: 'assign', targets: [this.target(name)], value: converted, declaration, span });
        }
        return out;
      }
      case 'if_statement': {
        const alternative = node.childForFieldName('alternative');
        const elseBody = alternative ? named(alternative)[0] ?? null : null;
        return [{ k: 'if', test: this.expr(node.childForFieldName('condition')), body: this.body(node.childForFieldName('consequence')), orelse: this.body(elseBody), span }];
      }
      case 'for_statement': {
        const init = node.childForFieldName('initializer');
        const condition = node.childForFieldName('condition');
        const increment = node.childForFieldName('increment');
        const test = condition && condition.type !== ';' ? (condition.type === 'expression_statement' ? named(condition)[0] ?? null : condition) : null;
        const s: Stmt = {
          k: 'cfor',
          init: init ? this.stmt(init.type === 'expression' ? init : init) : [],
          update: increment ? [this.expr(increment)] : [],
          body: this.body(node.childForFieldName('body')),
          span,
        };
        if (test) s.test = this.expr(test);
        return [s];
      }
      case 'for_in_statement': {
        const isOf = node.children.some((c) => c && !c.isNamed && c.type === 'of');
        if (!isOf) return [{ k: 'opaque', assigned: assignedNames(node), span }];
        return [{ k: 'for', target: this.target(node.childForFieldName('left')), iter: this.expr(node.childForFieldName('right')), body: this.body(node.childForFieldName('body')), span }];
      }
      case 'return_statement': {
        const value = named(node)[0];
        return [value ? { k: 'return', value: this.expr(value), span } : { k: 'return', span }];
      }
      case 'function_declaration':
      case 'generator_function_declaration':
        return [{ k: 'def', def: this.functionDef(node), span }];
      case 'export_statement': {
        const declaration = node.childForFieldName('declaration');
        if (declaration) return this.stmt(declaration);
        const value = node.childForFieldName('value');
        return value ? [{ k: 'expr', e: this.expr(value), span }] : [];
      }
      case 'import_statement': return [{ k: 'import', bindings: importBindings(node), span }];
      case 'statement_block': return [{ k: 'block', body: this.block(node), span }];
      case 'try_statement': return [{ k: 'block', body: this.body(node.childForFieldName('body')), span }];
      case 'break_statement': return [{ k: 'break', span }];
      case 'continue_statement': return [{ k: 'continue', span }];
      case 'empty_statement':
      case 'comment':
      case 'interface_declaration':
      case 'type_alias_declaration':
        return [];
      default:
        return [{ k: 'opaque', assigned: assignedNames(node), span }];
    }
  }

  private body(node: Node | null): Stmt[] {
    if (!node) return [];
    return node.type === 'statement_block' ? this.block(node) : this.stmt(node);
  }

  private expressionStatement(inner: Node, span: Span): Stmt {
    if (inner.type === 'assignment_expression') {
      return { k: 'assign', targets: [this.target(inner.childForFieldName('left'))], value: this.expr(inner.childForFieldName('right')), span };
    }
    if (inner.type === 'augmented_assignment_expression') {
      const op = inner.childForFieldName('operator')?.type ?? inner.children.find((c) => c && !c.isNamed)?.type ?? '+=';
      return { k: 'augassign', target: this.target(inner.childForFieldName('left')), op: op.slice(0, -1), value: this.expr(inner.childForFieldName('right')), span };
    }
    if (inner.type === 'update_expression') return { k: 'expr', e: this.expr(inner), span };
    return { k: 'expr', e: this.expr(inner), span };
  }

  private target(node: Node | null): Target {
    if (!node) return { k: 'ignored' };
    switch (node.type) {
      case 'identifier': return { k: 'name', name: node.text };
      case 'member_expression': return { k: 'attr', obj: this.expr(node.childForFieldName('object')), name: node.childForFieldName('property')?.text ?? '?' };
      case 'subscript_expression': return { k: 'index', obj: this.expr(node.childForFieldName('object')), index: this.expr(node.childForFieldName('index')) };
      case 'array_pattern': return { k: 'unpack', items: named(node).map((c) => this.target(c)) };
      case 'parenthesized_expression':
      case 'non_null_expression':
        return this.target(named(node)[0] ?? null);
      default: return { k: 'ignored' };
    }
  }

  functionDef(node: Node): FunctionDef {
    const params: Param[] = [];
    const single = node.childForFieldName('parameter');
    const paramNodes = single ? [single] : named(node.childForFieldName('parameters') ?? node).filter((c) => c !== node.childForFieldName('body'));
    if (!single && !node.childForFieldName('parameters')) paramNodes.length = 0;
    for (const p of paramNodes) {
      const param = this.param(p);
      if (param) params.push(param);
    }
    const name = node.childForFieldName('name')?.text ?? '<anonymous>';
    const body = node.childForFieldName('body');
    const def: FunctionDef = { name, params, body: [], span: spanOf(node) };
    if (body && body.type !== 'statement_block') def.expressionBody = this.expr(body);
    else def.body = this.block(body);
    return def;
  }

  private param(p: Node): Param | undefined {
    let pattern: Node | null = p;
    let value: Node | null = null;
    if (p.type === 'required_parameter' || p.type === 'optional_parameter') {
      pattern = p.childForFieldName('pattern');
      value = p.childForFieldName('value');
    } else if (p.type === 'assignment_pattern') {
      pattern = p.childForFieldName('left');
      value = p.childForFieldName('right');
    }
    if (!pattern) return undefined;
    if (pattern.type === 'rest_pattern') return { name: named(pattern)[0]?.text ?? '_', rest: 'positional' };
    if (pattern.type === 'identifier') return value ? { name: pattern.text, default: this.expr(value) } : { name: pattern.text };
    if (pattern.type === 'object_pattern') {
      const properties: { key: string; local: string; default?: Expr }[] = [];
      for (const prop of named(pattern)) {
        if (prop.type === 'shorthand_property_identifier_pattern') properties.push({ key: prop.text, local: prop.text });
        else if (prop.type === 'object_assignment_pattern') {
          const left = prop.childForFieldName('left');
          const right = prop.childForFieldName('right');
          if (left) properties.push({ key: left.text, local: left.text, ...(right ? { default: this.expr(right) } : {}) });
        } else if (prop.type === 'pair_pattern') {
          const key = prop.childForFieldName('key')?.text ?? '?';
          const local = prop.childForFieldName('value');
          if (local?.type === 'identifier') properties.push({ key, local: local.text });
          else if (local?.type === 'assignment_pattern') {
            const right = local.childForFieldName('right');
            properties.push({ key, local: local.childForFieldName('left')?.text ?? '_', ...(right ? { default: this.expr(right) } : {}) });
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
        return node.text === 'undefined' ? { k: 'none', span } : { k: 'name', name: node.text, span };
      case 'this': return { k: 'name', name: 'this', span };
      case 'number': {
        const value = Number(node.text.replace(/_/g, ''));
        return { k: 'num', value, integer: Number.isInteger(value), span };
      }
      case 'string': {
        const fragments = named(node).filter((c) => c.type === 'string_fragment' || c.type === 'escape_sequence');
        return { k: 'str', value: fragments.map((f) => f.text).join(''), span };
      }
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
            const key = c.childForFieldName('key');
            if (!key) continue;
            const keyText = key.type === 'string' ? named(key).map((f) => f.text).join('') : key.type === 'computed_property_name' ? undefined : key.text;
            if (keyText === undefined) return { k: 'unknown', span };
            entries.push({ key: keyText, value: this.expr(c.childForFieldName('value')) });
          } else if (c.type === 'shorthand_property_identifier') {
            entries.push({ key: c.text, value: { k: 'name', name: c.text, span: spanOf(c) } });
          } else return { k: 'unknown', span };
        }
        return { k: 'object', entries, span };
      }
      case 'call_expression':
      case 'new_expression': {
        const argsNode = node.childForFieldName('arguments');
        const func = node.childForFieldName(node.type === 'call_expression' ? 'function' : 'constructor');
        if (argsNode && argsNode.type !== 'arguments') return { k: 'unknown', span };
        const args: Arg[] = argsNode
          ? named(argsNode).map((a) => (a.type === 'spread_element' ? { value: this.expr(named(a)[0] ?? null), spread: 'positional' as const } : { value: this.expr(a) }))
          : [];
        return { k: 'call', func: this.expr(func), args, span };
      }
      case 'member_expression':
        return { k: 'attr', obj: this.expr(node.childForFieldName('object')), name: node.childForFieldName('property')?.text ?? '?', span };
      case 'subscript_expression':
        return { k: 'index', obj: this.expr(node.childForFieldName('object')), index: this.expr(node.childForFieldName('index')), span };
      case 'binary_expression': {
        const op = node.childForFieldName('operator')?.type ?? '?';
        const left = this.expr(node.childForFieldName('left'));
        const right = this.expr(node.childForFieldName('right'));
        if (op in comparisonOps) return { k: 'compare', ops: [comparisonOps[op]!], operands: [left, right], span };
        if (op === '&&' || op === '||') return { k: 'boolop', op: op === '&&' ? 'and' : 'or', values: [left, right], span };
        if (op === '??') return { k: 'binop', op: '??', left, right, span };
        return { k: 'binop', op: op === '/' ? '/' : op, left, right, span };
      }
      case 'unary_expression': {
        const op = node.childForFieldName('operator')?.type ?? '?';
        return { k: 'unop', op: op === '!' ? 'not' : op, operand: this.expr(node.childForFieldName('argument')), span };
      }
      case 'update_expression': {
        // `i++` as an expression statement: the loop update of a C-style for.
        const argument = node.childForFieldName('argument');
        const op = node.children.find((c) => c && !c.isNamed)?.type === '--' ? '-' : '+';
        return { k: 'call', func: { k: 'name', name: '__update__', span }, args: [{ value: this.expr(argument) }, { value: { k: 'str', value: op, span } }], span };
      }
      case 'assignment_expression':
      case 'augmented_assignment_expression': {
        // Only as a loop update (`i += 1`): encoded as a call the interpreter knows.
        const op = node.type === 'assignment_expression' ? '=' : (node.childForFieldName('operator')?.type ?? '+=');
        return {
          k: 'call',
          func: { k: 'name', name: '__assign__', span },
          args: [{ value: this.expr(node.childForFieldName('left')) }, { value: { k: 'str', value: op, span } }, { value: this.expr(node.childForFieldName('right')) }],
          span,
        };
      }
      case 'ternary_expression':
        return { k: 'ternary', test: this.expr(node.childForFieldName('condition')), then: this.expr(node.childForFieldName('consequence')), otherwise: this.expr(node.childForFieldName('alternative')), span };
      case 'arrow_function':
      case 'function_expression':
      case 'function':
        return { k: 'lambda', def: this.functionDef(node), span };
      default:
        return { k: 'unknown', span };
    }
  }
}

function importBindings(node: Node): { local: string; path: string }[] {
  const source = node.childForFieldName('source');
  const module = source ? named(source).map((f) => f.text).join('') : '';
  const out: { local: string; path: string }[] = [];
  const clause = named(node).find((c) => c.type === 'import_clause');
  if (!clause) return out;
  for (const c of named(clause)) {
    if (c.type === 'identifier') out.push({ local: c.text, path: module });
    else if (c.type === 'namespace_import') {
      const id = named(c)[0];
      if (id) out.push({ local: id.text, path: module });
    } else if (c.type === 'named_imports') {
      for (const spec of named(c)) {
        if (spec.type !== 'import_specifier') continue;
        const name = spec.childForFieldName('name')?.text ?? '?';
        out.push({ local: spec.childForFieldName('alias')?.text ?? name, path: `${module}#${name}` });
      }
    }
  }
  return out;
}

function assignedNames(node: Node): string[] {
  const names = new Set<string>();
  const visit = (n: Node, depth: number): void => {
    if (depth > 60) return;
    if (n.type === 'variable_declarator' || n.type === 'assignment_expression' || n.type === 'augmented_assignment_expression') {
      const left = n.childForFieldName(n.type === 'variable_declarator' ? 'name' : 'left');
      if (left?.type === 'identifier') names.add(left.text);
    }
    if ((n.type === 'class_declaration' || n.type === 'function_declaration') && n.childForFieldName('name')) names.add(n.childForFieldName('name')!.text);
    for (const c of n.namedChildren) if (c) visit(c, depth + 1);
  };
  visit(node, 0);
  return [...names];
}
