// A light copy of tree-sitter's Python tree in plain objects. The interpreter visits
// the same nodes many times (every block instance runs its forward); crossing into
// the wasm parser for each visit would cost more than the interpretation itself.
import type { Tree, TreeCursor } from 'web-tree-sitter';
import type { SourceRange } from '../diagnostic';

export interface PyNode {
  type: string;
  /** Named children in source order. */
  children: PyNode[];
  /** The first named child under each field name. */
  fields: Record<string, PyNode>;
  /** Anonymous tokens between children: operators (`+`, `is not`, `and`, `//=`). */
  ops: string[];
  /** Where each of `ops` starts (a slice's colons tell its start, stop and step apart). */
  opStarts: number[];
  /** Source text of leaves (identifiers, numbers, strings, comments). */
  text: string;
  /** 0-based rows; columns in UTF-16 code units (web-tree-sitter indexes a JS string by them). */
  startRow: number;
  startCol: number;
  endRow: number;
  endCol: number;
  startIndex: number;
  endIndex: number;
  /** This node or one below it is an ERROR or a MISSING token. */
  broken: boolean;
}

/** Deeper nesting than this becomes a `too_deep` node that the interpreter treats as unknown. */
export const maxSyntaxDepth = 150;

const leafTypes = new Set(['identifier', 'integer', 'float', 'string', 'comment', 'true', 'false', 'none', 'string_content', 'escape_sequence']);

export function toPyAst(tree: Tree, source: string): PyNode {
  const cursor = tree.walk();
  try {
    const lineStarts = [0];
    for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    const context: ConvertContext = { source, lineStarts, checkMissing: tree.rootNode.hasError, types: new Map(), fields: new Map() };
    return convert(cursor, context, 0, typeOf(cursor, context).type, -1);
  } finally {
    cursor.delete();
  }
}

interface ConvertContext {
  source: string;
  lineStarts: number[];
  /** MISSING tokens exist only in trees with errors; asking every node costs a call into wasm. */
  checkMissing: boolean;
  types: Map<number, { type: string; named: boolean }>;
  fields: Map<number, string | null>;
}

function rowOf(lineStarts: number[], index: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Numbers cross the wasm boundary cheaply; strings and position objects do not. Types and
// field names are looked up once per id, rows and columns computed from offsets.
function typeOf(cursor: TreeCursor, context: ConvertContext): { type: string; named: boolean } {
  const id = cursor.nodeTypeId;
  let entry = context.types.get(id);
  if (!entry) {
    entry = { type: cursor.nodeType, named: cursor.nodeIsNamed };
    context.types.set(id, entry);
  }
  return entry;
}

// Leaves share these; only inner nodes get arrays of their own.
const noNodes: PyNode[] = [];
const noOps: string[] = [];
const noStarts: number[] = [];

/** Node types whose anonymous tokens the interpreter reads (operators; a slice's colons). */
const typesWithOps = new Set([
  'binary_operator', 'augmented_assignment', 'unary_operator', 'boolean_operator', 'comparison_operator', 'not_operator', 'slice',
]);

/**
 * Node types whose children never carry a field name, from tree-sitter-python 0.25's
 * node-types.json (an empty `fields`). Under these the cursor is not asked for a child's
 * field: that is a call into wasm per child. A tree with errors asks everywhere, since
 * error recovery can put any child under any parent.
 */
const typesWithoutFields = new Set([
  'argument_list', 'assert_statement', 'await', 'break_statement', 'case_pattern', 'chevron', 'class_pattern', 'complex_pattern',
  'concatenated_string', 'conditional_expression', 'constrained_type', 'continue_statement', 'decorator', 'delete_statement',
  'dictionary', 'dictionary_splat', 'dictionary_splat_pattern', 'dotted_name', 'expression_list', 'expression_statement',
  'finally_clause', 'format_specifier', 'generic_type', 'global_statement', 'if_clause', 'import_prefix', 'keyword_pattern',
  'keyword_separator', 'lambda_parameters', 'list', 'list_pattern', 'list_splat', 'list_splat_pattern', 'member_type', 'module',
  'nonlocal_statement', 'parameters', 'parenthesized_expression', 'parenthesized_list_splat', 'pass_statement', 'pattern_list',
  'positional_separator', 'relative_import', 'return_statement', 'set', 'slice', 'splat_pattern', 'splat_type', 'string',
  'string_content', 'tuple', 'tuple_pattern', 'type', 'type_parameter', 'union_pattern', 'union_type', 'wildcard_import',
  'with_clause', 'yield',
]);

function stub(cursor: TreeCursor, context: ConvertContext, type: string, knownStart: number): PyNode {
  const startIndex = knownStart >= 0 ? knownStart : cursor.startIndex;
  const endIndex = cursor.endIndex;
  const startRow = rowOf(context.lineStarts, startIndex);
  const endRow = rowOf(context.lineStarts, endIndex);
  const text = context.source.slice(startIndex, endIndex);
  return {
    type, children: noNodes, fields: {}, ops: noOps, opStarts: noStarts, text,
    startRow, startCol: startIndex - context.lineStarts[startRow]!, endRow, endCol: endIndex - context.lineStarts[endRow]!,
    startIndex, endIndex, broken: false,
  };
}

/**
 * `type` is the cursor's node type, already asked by the caller; `knownStart` its start
 * where the caller knows it (a first child starts where its parent does), else -1.
 */
function convert(cursor: TreeCursor, context: ConvertContext, depth: number, type: string, knownStart: number): PyNode {
  const startIndex = knownStart >= 0 ? knownStart : cursor.startIndex;
  const endIndex = cursor.endIndex;
  const startRow = rowOf(context.lineStarts, startIndex);
  const endRow = rowOf(context.lineStarts, endIndex);
  const node: PyNode = {
    type,
    children: noNodes,
    fields: {},
    ops: noOps,
    opStarts: noStarts,
    text: '',
    startRow,
    startCol: startIndex - context.lineStarts[startRow]!,
    endRow,
    endCol: endIndex - context.lineStarts[endRow]!,
    startIndex,
    endIndex,
    broken: type === 'ERROR' || (context.checkMissing && cursor.nodeIsMissing),
  };
  if (leafTypes.has(type)) {
    node.text = context.source.slice(startIndex, endIndex);
    // A string's parts are not needed (f-strings are told by their prefix): docstrings are many.
    if (type !== 'string' || !/^[rRbBuU]*[fF]/.test(node.text)) return node;
  }
  if (depth >= maxSyntaxDepth) {
    node.type = 'too_deep';
    return node;
  }
  if (cursor.gotoFirstChild()) {
    node.children = [];
    const keepOps = typesWithOps.has(type);
    const askField = context.checkMissing || !typesWithoutFields.has(type);
    if (keepOps) {
      node.ops = [];
      node.opStarts = [];
    }
    // In a tree without errors a node starts where its first child does: tree-sitter gives a
    // parent its first child's leading whitespace. Error recovery may not keep to that.
    let childStart = context.checkMissing ? -1 : startIndex;
    do {
      const childType = typeOf(cursor, context);
      if (childType.named) {
        const fieldId = askField ? cursor.currentFieldId : 0;
        let field: string | null | undefined = null;
        if (fieldId) {
          field = context.fields.get(fieldId);
          if (field === undefined) {
            field = cursor.currentFieldName;
            context.fields.set(fieldId, field);
          }
        }
        // Type annotations are never evaluated; only their place is kept (torchvision's are long).
        const child =
          field === 'type' || field === 'return_type'
            ? stub(cursor, context, childType.type, childStart)
            : convert(cursor, context, depth + 1, childType.type, childStart);
        node.children.push(child);
        if (field && !(field in node.fields)) node.fields[field] = child;
        if (child.broken) node.broken = true;
      } else {
        if (context.checkMissing && cursor.nodeIsMissing) node.broken = true;
        if (keepOps) {
          node.ops.push(childType.type);
          node.opStarts.push(childStart >= 0 ? childStart : cursor.startIndex);
        }
      }
      childStart = -1;
    } while (cursor.gotoNextSibling());
    cursor.gotoParent();
  }
  return node;
}

export function rangeOf(node: PyNode): SourceRange {
  return { start: { line: node.startRow, character: node.startCol }, end: { line: node.endRow, character: node.endCol } };
}

export function nodeText(node: PyNode, source: string): string {
  return source.slice(node.startIndex, node.endIndex);
}

/** The string literal's value for plain (non f-) strings, else undefined. */
export function stringValue(node: PyNode, source: string): string | undefined {
  if (node.type !== 'string') return undefined;
  if (/^[rRbBuU]*[fF]/.test(node.text) || node.children.some((c) => c.type === 'interpolation')) return undefined;
  const raw = nodeText(node, source);
  const m = /^[rRbBuU]*("""|'''|"|')([\s\S]*)\1$/.exec(raw);
  return m ? m[2] : undefined;
}

/** The top-level class statement of a module that holds `node`. */
export function enclosingClass(root: PyNode, node: PyNode): PyNode | undefined {
  for (const top of root.children) {
    const def = top.type === 'decorated_definition' && top.fields.definition ? top.fields.definition : top;
    if (def.type === 'class_definition' && def.startIndex <= node.startIndex && node.endIndex <= def.endIndex) return def;
  }
  return undefined;
}

/** A method defined directly in a class body. */
export function methodOf(cls: PyNode, name: string): PyNode | undefined {
  for (const stmt of cls.fields.body?.children ?? []) {
    const def = stmt.type === 'decorated_definition' && stmt.fields.definition ? stmt.fields.definition : stmt;
    if (def.type === 'function_definition' && def.fields.name?.text === name) return def;
  }
  return undefined;
}

/** Every node below `node` (itself included), depth first, in source order. */
export function* walk(node: PyNode): Generator<PyNode> {
  yield node;
  for (const c of node.children) yield* walk(c);
}
