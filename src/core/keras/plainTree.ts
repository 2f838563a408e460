// A plain-object copy of a tree-sitter tree for the Keras and TF.js front ends, built
// with one cursor walk: reading nodes through the wasm API one property at a time costs
// more than the interpretation. Like parse/python-ast's PyNode, but for any grammar:
// every node keeps its anonymous tokens (TS/JS operators, `const`, `of`), and string
// literals are read from the source text by the front ends.
import type { Tree, TreeCursor } from 'web-tree-sitter';

export interface PlainNode {
  type: string;
  /** Named children in source order. */
  children: PlainNode[];
  /** The first named child under each field name. */
  fields: Record<string, PlainNode>;
  /** Anonymous tokens between children (operators, keywords) and where each starts. */
  ops: string[];
  opStarts: number[];
  /** Source text of identifier-like leaves; '' for other nodes (slice the source). */
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
export const maxPlainDepth = 150;

const textLeaves = new Set(['identifier', 'integer', 'float', 'true', 'false', 'none']);

// Leaves share these empty arrays; inner nodes get their own.
const noNodes: PlainNode[] = [];
const noOps: string[] = [];
const noStarts: number[] = [];
const noFields: Record<string, PlainNode> = {};

/** Node types whose anonymous tokens the front ends read (operators, `const`, `of`); reading the others costs wasm calls. */
const typesWithOps = new Set([
  'binary_operator', 'augmented_assignment', 'unary_operator', 'boolean_operator', 'comparison_operator', 'not_operator', 'slice',
  'binary_expression', 'unary_expression', 'update_expression', 'augmented_assignment_expression', 'lexical_declaration',
  'variable_declaration', 'for_in_statement',
]);

interface Context {
  source: string;
  lineStarts: number[];
  /** MISSING tokens exist only in trees with errors; asking every node costs a call into wasm. */
  checkMissing: boolean;
  types: Map<number, { type: string; named: boolean }>;
  fields: Map<number, string | null>;
}

export function toPlainTree(tree: Tree, source: string): PlainNode {
  const cursor = tree.walk();
  try {
    const lineStarts = [0];
    for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    return convert(cursor, { source, lineStarts, checkMissing: tree.rootNode.hasError, types: new Map(), fields: new Map() }, 0);
  } finally {
    cursor.delete();
  }
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

function typeOf(cursor: TreeCursor, context: Context): { type: string; named: boolean } {
  const id = cursor.nodeTypeId;
  let entry = context.types.get(id);
  if (!entry) {
    entry = { type: cursor.nodeType, named: cursor.nodeIsNamed };
    context.types.set(id, entry);
  }
  return entry;
}

function convert(cursor: TreeCursor, context: Context, depth: number): PlainNode {
  const { type } = typeOf(cursor, context);
  const startIndex = cursor.startIndex;
  const endIndex = cursor.endIndex;
  const startRow = rowOf(context.lineStarts, startIndex);
  const endRow = rowOf(context.lineStarts, endIndex);
  const node: PlainNode = {
    type,
    children: noNodes,
    fields: noFields,
    ops: noOps,
    opStarts: noStarts,
    text: textLeaves.has(type) ? context.source.slice(startIndex, endIndex) : '',
    startRow,
    startCol: startIndex - context.lineStarts[startRow]!,
    endRow,
    endCol: endIndex - context.lineStarts[endRow]!,
    startIndex,
    endIndex,
    broken: type === 'ERROR' || (context.checkMissing && cursor.nodeIsMissing),
  };
  // Strings and comments: the front ends read their text from the source.
  if (type === 'string' || type === 'comment' || type === 'template_string') return node;
  if (depth >= maxPlainDepth) {
    node.type = 'too_deep';
    return node;
  }
  if (cursor.gotoFirstChild()) {
    node.children = [];
    const keepOps = typesWithOps.has(type);
    do {
      const childType = typeOf(cursor, context);
      if (childType.named) {
        const fieldId = cursor.currentFieldId;
        let field: string | null | undefined = null;
        if (fieldId) {
          field = context.fields.get(fieldId);
          if (field === undefined) {
            field = cursor.currentFieldName;
            context.fields.set(fieldId, field);
          }
        }
        const child = convert(cursor, context, depth + 1);
        node.children.push(child);
        if (field && !(field in node.fields)) {
          if (node.fields === noFields) node.fields = {};
          node.fields[field] = child;
        }
        if (child.broken) node.broken = true;
      } else {
        if (context.checkMissing && cursor.nodeIsMissing) node.broken = true;
        if (keepOps) {
          if (node.ops === noOps) {
            node.ops = [];
            node.opStarts = [];
          }
          node.ops.push(childType.type);
          node.opStarts.push(cursor.startIndex);
        }
      }
    } while (cursor.gotoNextSibling());
    cursor.gotoParent();
  }
  return node;
}
