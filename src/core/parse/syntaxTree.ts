// One plain-object copy of a tree-sitter tree per file, shared by every front end
// (PyTorch and Keras read Python, TF.js reads TypeScript/JavaScript). The interpreters
// visit the same nodes many times (every block instance runs its forward); crossing
// into the wasm parser for each visit would cost more than the interpretation itself,
// so the copy is made in one cursor walk (cursor.ts) that asks only for numbers.
import type { Tree } from 'web-tree-sitter';
import type { SourceRange } from '../diagnostic';
import type { GrammarName } from './grammars';
import { type SyntaxCursor, withCursor } from './cursor';

export interface SyntaxNode {
  type: string;
  /** Named children in source order. */
  children: SyntaxNode[];
  /** The first named child under each field name. */
  fields: Record<string, SyntaxNode>;
  /** Anonymous tokens between children (operators, keywords: `+`, `is not`, `//=`, `const`, `of`). */
  ops: string[];
  /** Where each of `ops` starts (a slice's colons tell its start, stop and step apart). */
  opStarts: number[];
  /** Source text of leaves (identifiers, numbers; in Python also strings and comments); '' for others. */
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

/** Deeper nesting than this becomes a `too_deep` node, which the front ends treat as unknown. */
export const maxSyntaxDepth = 150;

/** How one grammar family is copied: what is kept of leaves, strings and annotations. */
interface ConversionPolicy {
  /** Leaves whose text is kept (a slice of the source). */
  textLeaves: ReadonlySet<string>;
  /** Nodes not descended into (their parts are read from the source when needed). */
  opaque: (type: string, text: string) => boolean;
  /** Fields whose subtree is never read: only the node's place and text are kept. */
  stubFields: ReadonlySet<string>;
  /** Parent types whose children never carry a field name: the cursor is not asked. */
  fieldless: ReadonlySet<string>;
  /** Node types whose anonymous tokens the front ends read. */
  opTypes: ReadonlySet<string>;
  /** Nodes whose children are statements that an edit elsewhere leaves as they were (besides the root's). */
  statementLists: ReadonlySet<string>;
}

const fStringPrefix = /^[rRbBuU]*[fF]/;

const pythonTextLeaves = new Set(['identifier', 'integer', 'float', 'string', 'comment', 'true', 'false', 'none', 'string_content', 'escape_sequence']);

const pythonPolicy: ConversionPolicy = {
  textLeaves: pythonTextLeaves,
  // A string's parts are needed only for f-strings (told by their prefix); docstrings are many.
  opaque: (type, text) => pythonTextLeaves.has(type) && (type !== 'string' || !fStringPrefix.test(text)),
  // Type annotations are never evaluated (torchvision's are long).
  stubFields: new Set(['type', 'return_type']),
  // From tree-sitter-python 0.25's node-types.json: types with an empty `fields`.
  fieldless: new Set([
    'argument_list', 'assert_statement', 'await', 'break_statement', 'case_pattern', 'chevron', 'class_pattern', 'complex_pattern',
    'concatenated_string', 'conditional_expression', 'constrained_type', 'continue_statement', 'decorator', 'delete_statement',
    'dictionary', 'dictionary_splat', 'dictionary_splat_pattern', 'dotted_name', 'expression_list', 'expression_statement',
    'finally_clause', 'format_specifier', 'generic_type', 'global_statement', 'if_clause', 'import_prefix', 'keyword_pattern',
    'keyword_separator', 'lambda_parameters', 'list', 'list_pattern', 'list_splat', 'list_splat_pattern', 'member_type', 'module',
    'nonlocal_statement', 'parameters', 'parenthesized_expression', 'parenthesized_list_splat', 'pass_statement', 'pattern_list',
    'positional_separator', 'relative_import', 'return_statement', 'set', 'slice', 'splat_pattern', 'splat_type', 'string',
    'string_content', 'tuple', 'tuple_pattern', 'type', 'type_parameter', 'union_pattern', 'union_type', 'wildcard_import',
    'with_clause', 'yield',
  ]),
  opTypes: new Set(['binary_operator', 'augmented_assignment', 'unary_operator', 'boolean_operator', 'comparison_operator', 'not_operator', 'slice']),
  // A statement inside a class or def parses from its own text: its column and its end (a
  // dedent) are compared before it is kept, so what surrounds it cannot change it.
  statementLists: new Set(['block']),
};

const scriptPolicy: ConversionPolicy = {
  textLeaves: new Set(['identifier', 'integer', 'float', 'true', 'false', 'none']),
  // The TF.js front end reads strings and templates from the source.
  opaque: (type) => type === 'string' || type === 'comment' || type === 'template_string',
  stubFields: new Set(),
  fieldless: new Set(),
  opTypes: new Set([
    'binary_expression', 'unary_expression', 'update_expression', 'augmented_assignment_expression', 'lexical_declaration',
    'variable_declaration', 'for_in_statement',
  ]),
  statementLists: new Set(),
};

/**
 * The copy of the previous text's tree and the one edit since (documentTrees.ts): top-level
 * statements the edit did not touch are taken from it instead of being copied from wasm.
 */
export interface PreviousSyntax {
  root: SyntaxNode;
  grammar: GrammarName;
  /** The edited span: [start, oldEnd) of the old text became [start, newEnd) of the new one. */
  start: number;
  oldEnd: number;
  newEnd: number;
  /** Rows the edit added (negative: removed). */
  rowDelta: number;
}

/** The plain copy of `tree`, whose text is `source`. */
export function toSyntaxTree(tree: Tree, source: string, grammar: GrammarName, previous?: PreviousSyntax): SyntaxNode {
  const lineStarts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const language = tree.language;
  const policy = grammar === 'python' ? pythonPolicy : scriptPolicy;
  const hasError = tree.rootNode.hasError;
  const context: ConvertContext = {
    source,
    lineStarts,
    checkMissing: hasError,
    policy,
    typeNames: language.types,
    fieldNames: language.fields,
    types: new Map(),
    // Error recovery can read the same text differently depending on what surrounds it
    // (an edit elsewhere can turn a statement's block into an ERROR): a tree with errors is copied whole.
    reusable: previous && previous.grammar === grammar && !hasError ? reusableStatements(previous, policy) : undefined,
  };
  return withCursor(tree, (cursor) => convert(cursor, context, 0, typeOf(cursor, context), -1));
}

/**
 * The previous statements outside the edit, by where they start in the new text: the
 * top-level ones, and those in the statement lists (class and def bodies) on the way
 * down to the edit, so an edit inside one method keeps the rest of its class.
 */
function reusableStatements(previous: PreviousSyntax, policy: ConversionPolicy): Reusable {
  const byStart = new Map<number, ReusableStatement>();
  const indexDelta = previous.newEnd - previous.oldEnd;
  const touchesEdit = (node: SyntaxNode): boolean => node.endIndex >= previous.start && node.startIndex <= previous.oldEnd;
  /** `depth`: the statements' depth in the copy, where the too-deep cut-off is counted from. */
  const collect = (statements: SyntaxNode[], depth: number): void => {
    for (const node of statements) {
      // Touching the edit is not enough to keep: typing at a statement's end changes it.
      if (touchesEdit(node)) descend(node, depth);
      else if (node.broken) continue;
      else if (node.endIndex < previous.start) byStart.set(node.startIndex, { node, depth });
      else byStart.set(node.startIndex + indexDelta, { node, depth });
    }
  };
  const descend = (node: SyntaxNode, depth: number): void => {
    for (const child of node.children) {
      if (!touchesEdit(child)) continue;
      if (policy.statementLists.has(child.type)) collect(child.children, depth + 2);
      else descend(child, depth + 1);
    }
  };
  collect(previous.root.children, 1);
  return { byStart, indexDelta, rowDelta: previous.rowDelta, editStart: previous.start, newEditEnd: previous.newEnd };
}

interface ReusableStatement {
  node: SyntaxNode;
  depth: number;
}

interface Reusable {
  byStart: Map<number, ReusableStatement>;
  indexDelta: number;
  rowDelta: number;
  editStart: number;
  newEditEnd: number;
}

/**
 * The previous copy of the statement at the cursor, where the same text of the same type
 * sits there outside the edit, at the same depth: the same text there parses the same.
 */
function reuseStatement(cursor: SyntaxCursor, context: ConvertContext, reusable: Reusable, type: string, knownStart: number, depth: number): SyntaxNode | undefined {
  const startIndex = knownStart >= 0 ? knownStart : cursor.startIndex();
  const entry = reusable.byStart.get(startIndex);
  if (!entry || entry.depth !== depth) return undefined;
  const old = entry.node;
  if (old.type !== type) return undefined;
  const endIndex = cursor.endIndex();
  const after = startIndex > reusable.newEditEnd;
  if (!after && endIndex >= reusable.editStart) return undefined;
  const shift = after ? reusable.indexDelta : 0;
  if (old.endIndex + shift !== endIndex) return undefined;
  const startRow = rowOf(context.lineStarts, startIndex);
  if (startRow !== old.startRow + (after ? reusable.rowDelta : 0) || startIndex - context.lineStarts[startRow]! !== old.startCol) return undefined;
  return shift === 0 && startRow === old.startRow ? old : shifted(old, shift, startRow - old.startRow);
}

/** A copy of `node` moved by `indexDelta` code units and `rowDelta` rows (columns stay). */
function shifted(node: SyntaxNode, indexDelta: number, rowDelta: number): SyntaxNode {
  // Written out field by field: the same object shape as `convert` makes, and far faster than a spread.
  const copy: SyntaxNode = {
    type: node.type,
    children: noNodes,
    fields: noFields,
    ops: node.ops,
    opStarts: node.opStarts,
    text: node.text,
    startRow: node.startRow + rowDelta,
    startCol: node.startCol,
    endRow: node.endRow + rowDelta,
    endCol: node.endCol,
    startIndex: node.startIndex + indexDelta,
    endIndex: node.endIndex + indexDelta,
    broken: node.broken,
  };
  if (node.opStarts.length) {
    const opStarts: number[] = [];
    for (const at of node.opStarts) opStarts.push(at + indexDelta);
    copy.opStarts = opStarts;
  }
  const count = node.children.length;
  if (count) {
    const children: SyntaxNode[] = [];
    for (let i = 0; i < count; i++) children.push(shifted(node.children[i]!, indexDelta, rowDelta));
    copy.children = children;
    if (node.fields !== noFields) {
      const fields: Record<string, SyntaxNode> = {};
      for (const name in node.fields) fields[name] = children[node.children.indexOf(node.fields[name]!)]!;
      copy.fields = fields;
    }
  }
  return copy;
}

interface ConvertContext {
  source: string;
  lineStarts: number[];
  /** MISSING tokens exist only in trees with errors; asking every node costs a call into wasm. */
  checkMissing: boolean;
  policy: ConversionPolicy;
  typeNames: readonly (string | null)[];
  fieldNames: readonly (string | null)[];
  types: Map<number, NodeType>;
  /** Top-level statements of the previous copy that may be kept. */
  reusable: Reusable | undefined;
}

interface NodeType {
  type: string;
  named: boolean;
  textLeaf: boolean;
  opTokens: boolean;
  fieldless: boolean;
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

/**
 * The grammar's name for a node type as an internalized string. The front ends compare
 * node types and operators with string literals thousands of times per check; V8 tells two
 * internalized strings apart by pointer, but compares a grammar's name (decoded from wasm
 * memory) with a literal character by character. A property key is always internalized.
 */
const internalizedNames = new Map<string, string>();
function internalized(name: string): string {
  let known = internalizedNames.get(name);
  if (known === undefined) {
    known = Object.keys({ [name]: 0 })[0] ?? name;
    internalizedNames.set(name, known);
  }
  return known;
}

// Numbers cross the wasm boundary cheaply; strings do not. What a type id means is looked
// up once per id, rows and columns computed from offsets.
function typeOf(cursor: SyntaxCursor, context: ConvertContext): NodeType {
  const id = cursor.typeId();
  let entry = context.types.get(id);
  if (!entry) {
    const name = context.typeNames[id];
    const type = name ? internalized(name) : 'ERROR';
    const { policy } = context;
    entry = { type, named: cursor.isNamed(), textLeaf: policy.textLeaves.has(type), opTokens: policy.opTypes.has(type), fieldless: policy.fieldless.has(type) };
    context.types.set(id, entry);
  }
  return entry;
}

// Leaves share these; only inner nodes get their own.
const noNodes: SyntaxNode[] = [];
const noOps: string[] = [];
const noStarts: number[] = [];
const noFields: Record<string, SyntaxNode> = {};

/** A node whose subtree is dropped (a type annotation): its place and text only. */
function stub(cursor: SyntaxCursor, context: ConvertContext, type: string, knownStart: number): SyntaxNode {
  const startIndex = knownStart >= 0 ? knownStart : cursor.startIndex();
  const endIndex = cursor.endIndex();
  const startRow = rowOf(context.lineStarts, startIndex);
  const endRow = rowOf(context.lineStarts, endIndex);
  return {
    type, children: noNodes, fields: noFields, ops: noOps, opStarts: noStarts, text: context.source.slice(startIndex, endIndex),
    startRow, startCol: startIndex - context.lineStarts[startRow]!, endRow, endCol: endIndex - context.lineStarts[endRow]!,
    startIndex, endIndex, broken: false,
  };
}

/** `knownStart`: the node's start where the caller knows it (a first child starts where its parent does), else -1. */
function convert(cursor: SyntaxCursor, context: ConvertContext, depth: number, nodeType: NodeType, knownStart: number): SyntaxNode {
  const { type } = nodeType;
  const startIndex = knownStart >= 0 ? knownStart : cursor.startIndex();
  const endIndex = cursor.endIndex();
  const startRow = rowOf(context.lineStarts, startIndex);
  const endRow = rowOf(context.lineStarts, endIndex);
  const node: SyntaxNode = {
    type,
    children: noNodes,
    fields: noFields,
    ops: noOps,
    opStarts: noStarts,
    text: nodeType.textLeaf ? context.source.slice(startIndex, endIndex) : '',
    startRow,
    startCol: startIndex - context.lineStarts[startRow]!,
    endRow,
    endCol: endIndex - context.lineStarts[endRow]!,
    startIndex,
    endIndex,
    broken: type === 'ERROR' || (context.checkMissing && cursor.isMissing()),
  };
  const { policy } = context;
  if (policy.opaque(type, node.text)) return node;
  if (depth >= maxSyntaxDepth) {
    node.type = 'too_deep';
    return node;
  }
  if (!cursor.gotoFirstChild()) return node;
  const children: SyntaxNode[] = [];
  node.children = children;
  const askField = context.checkMissing || !nodeType.fieldless;
  // In a tree without errors a node starts where its first child does: tree-sitter gives a
  // parent its first child's leading whitespace. Error recovery may not keep to that.
  let childStart = context.checkMissing ? -1 : startIndex;
  do {
    const childType = typeOf(cursor, context);
    if (childType.named) {
      const fieldId = askField ? cursor.fieldId() : 0;
      const field = fieldId ? context.fieldNames[fieldId] : null;
      const reused = context.reusable && (depth === 0 || policy.statementLists.has(type))
        ? reuseStatement(cursor, context, context.reusable, childType.type, childStart, depth + 1)
        : undefined;
      const child = reused ?? (field && policy.stubFields.has(field)
        ? stub(cursor, context, childType.type, childStart)
        : convert(cursor, context, depth + 1, childType, childStart));
      children.push(child);
      if (field && !(field in node.fields)) {
        if (node.fields === noFields) node.fields = {};
        node.fields[field] = child;
      }
      if (child.broken) node.broken = true;
    } else {
      if (context.checkMissing && cursor.isMissing()) node.broken = true;
      if (nodeType.opTokens) {
        if (node.ops === noOps) {
          node.ops = [];
          node.opStarts = [];
        }
        node.ops.push(childType.type);
        node.opStarts.push(childStart >= 0 ? childStart : cursor.startIndex());
      }
    }
    childStart = -1;
  } while (cursor.gotoNextSibling());
  cursor.gotoParent();
  return node;
}

/**
 * Everything the copy holds, as text, for comparing two copies. A field names one of the
 * children, so it is written as the child's index: written out again, every level of
 * fields would double the size.
 */
export function describeSyntaxTree(node: SyntaxNode): string {
  const parts: string[] = [];
  const visit = (n: SyntaxNode): void => {
    const fields = Object.entries(n.fields).map(([name, child]) => `${name}=${n.children.indexOf(child)}`).join(',');
    parts.push(`(${n.type} ${n.startIndex}-${n.endIndex} ${n.startRow}:${n.startCol}-${n.endRow}:${n.endCol}${n.broken ? ' broken' : ''} ${JSON.stringify(n.text)} [${n.ops.map((op, i) => `${op}@${n.opStarts[i]}`).join(' ')}] {${fields}}`);
    for (const child of n.children) visit(child);
    parts.push(')');
  };
  visit(node);
  return parts.join('');
}

export function rangeOf(node: SyntaxNode): SourceRange {
  return { start: { line: node.startRow, character: node.startCol }, end: { line: node.endRow, character: node.endCol } };
}
