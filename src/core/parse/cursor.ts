// The cursor that the plain-tree conversion walks a tree-sitter tree with. Every call of
// web-tree-sitter's TreeCursor copies the cursor into the wasm transfer buffer and back
// (eight heap writes and reads around each call); over the 30 000 nodes of a 2 000-line
// file that copying costs more than the walk itself. The direct cursor calls the same
// wasm functions with the cursor left in the transfer buffer between calls. It depends
// on web-tree-sitter's internals, so `enableDirectCursor` turns it on only after it has
// walked a sample tree exactly as the public cursor does; otherwise the public one is used.
import type { Tree, TreeCursor } from 'web-tree-sitter';

/** What the conversion asks of a cursor: numbers only, so nothing but ints cross from wasm. */
export interface SyntaxCursor {
  typeId(): number;
  isNamed(): boolean;
  isMissing(): boolean;
  fieldId(): number;
  startIndex(): number;
  endIndex(): number;
  gotoFirstChild(): boolean;
  gotoNextSibling(): boolean;
  gotoParent(): boolean;
}

class PublicCursor implements SyntaxCursor {
  constructor(private readonly cursor: TreeCursor) {}
  typeId(): number { return this.cursor.nodeTypeId; }
  isNamed(): boolean { return this.cursor.nodeIsNamed; }
  isMissing(): boolean { return this.cursor.nodeIsMissing; }
  fieldId(): number { return this.cursor.currentFieldId; }
  startIndex(): number { return this.cursor.startIndex; }
  endIndex(): number { return this.cursor.endIndex; }
  gotoFirstChild(): boolean { return this.cursor.gotoFirstChild(); }
  gotoNextSibling(): boolean { return this.cursor.gotoNextSibling(); }
  gotoParent(): boolean { return this.cursor.gotoParent(); }
}

/** The emscripten module's exports that the direct cursor calls; each takes the tree's address. */
interface CursorExports {
  _ts_init(): number;
  getValue(address: number, type: 'i32'): number;
  _ts_tree_cursor_current_node_type_id_wasm(tree: number): number;
  _ts_tree_cursor_current_node_is_named_wasm(tree: number): number;
  _ts_tree_cursor_current_node_is_missing_wasm(tree: number): number;
  _ts_tree_cursor_current_field_id_wasm(tree: number): number;
  _ts_tree_cursor_start_index_wasm(tree: number): number;
  _ts_tree_cursor_end_index_wasm(tree: number): number;
  _ts_tree_cursor_goto_first_child_wasm(tree: number): number;
  _ts_tree_cursor_goto_next_sibling_wasm(tree: number): number;
  _ts_tree_cursor_goto_parent_wasm(tree: number): number;
}

const exportNames: (keyof CursorExports)[] = [
  '_ts_init', 'getValue', '_ts_tree_cursor_current_node_type_id_wasm', '_ts_tree_cursor_current_node_is_named_wasm',
  '_ts_tree_cursor_current_node_is_missing_wasm', '_ts_tree_cursor_current_field_id_wasm', '_ts_tree_cursor_start_index_wasm',
  '_ts_tree_cursor_end_index_wasm', '_ts_tree_cursor_goto_first_child_wasm', '_ts_tree_cursor_goto_next_sibling_wasm',
  '_ts_tree_cursor_goto_parent_wasm',
];

class DirectCursor implements SyntaxCursor {
  constructor(private readonly m: CursorExports, private readonly tree: number) {}
  typeId(): number { return this.m._ts_tree_cursor_current_node_type_id_wasm(this.tree); }
  isNamed(): boolean { return this.m._ts_tree_cursor_current_node_is_named_wasm(this.tree) === 1; }
  isMissing(): boolean { return this.m._ts_tree_cursor_current_node_is_missing_wasm(this.tree) === 1; }
  fieldId(): number { return this.m._ts_tree_cursor_current_field_id_wasm(this.tree); }
  startIndex(): number { return this.m._ts_tree_cursor_start_index_wasm(this.tree); }
  endIndex(): number { return this.m._ts_tree_cursor_end_index_wasm(this.tree); }
  gotoFirstChild(): boolean { return this.m._ts_tree_cursor_goto_first_child_wasm(this.tree) === 1; }
  gotoNextSibling(): boolean { return this.m._ts_tree_cursor_goto_next_sibling_wasm(this.tree) === 1; }
  gotoParent(): boolean { return this.m._ts_tree_cursor_goto_parent_wasm(this.tree) === 1; }
}

interface Direct {
  exports: CursorExports;
  transferBuffer: number;
}
let direct: Direct | undefined;

/** The parts of web-tree-sitter objects the direct cursor reads: a tree's and a cursor's handles. */
interface TreeInternals { 0?: unknown }
interface CursorInternals { handles?: unknown }

function treeAddress(tree: Tree): number | undefined {
  const address = (tree as unknown as TreeInternals)[0];
  return typeof address === 'number' ? address : undefined;
}

function cursorHandles(cursor: TreeCursor): number[] | undefined {
  const handles = (cursor as unknown as CursorInternals).handles;
  return Array.isArray(handles) && handles.length === 4 && handles.every((h) => typeof h === 'number') ? (handles as number[]) : undefined;
}

/**
 * Walks `tree` from its root with the fastest cursor available. The cursor is valid only
 * inside `visit`, which must not use any other web-tree-sitter API meanwhile.
 */
export function withCursor<T>(tree: Tree, visit: (cursor: SyntaxCursor) => T): T {
  const cursor = tree.walk();
  const handles = direct ? cursorHandles(cursor) : undefined;
  const address = direct ? treeAddress(tree) : undefined;
  if (!direct || !handles || address === undefined) {
    try {
      return visit(new PublicCursor(cursor));
    } finally {
      cursor.delete();
    }
  }
  // `tree.walk()` left the new cursor in the transfer buffer; each direct call moves it
  // there. Its stack may be reallocated on the way, so the handles are read back before
  // the public cursor deletes it.
  const { exports, transferBuffer } = direct;
  try {
    return visit(new DirectCursor(exports, address));
  } finally {
    for (let i = 0; i < 4; i++) handles[i] = exports.getValue(transferBuffer + 4 * i, 'i32');
    cursor.delete();
  }
}

/**
 * Turns the direct cursor on for the module that web-tree-sitter's `Parser.init` filled in,
 * if `agrees` (a comparison of a sample walk with both cursors) says it walks identically.
 */
export function enableDirectCursor(module: Record<string, unknown>, agrees: () => boolean): boolean {
  direct = undefined;
  if (!exportNames.every((name) => typeof module[name] === 'function')) return false;
  const exports = module as unknown as CursorExports;
  const candidate: Direct = { exports, transferBuffer: exports._ts_init() };
  let same = false;
  try {
    direct = candidate;
    same = agrees();
  } catch {
    same = false;
  }
  direct = same ? candidate : undefined;
  return same;
}

/** Whether conversions currently use the direct cursor (for tests and benchmarks). */
export function directCursorEnabled(): boolean {
  return direct !== undefined;
}

/** Runs `run` with the public cursor only (the self-check's reference walk, and tests). */
export function withPublicCursor<T>(run: () => T): T {
  const saved = direct;
  direct = undefined;
  try {
    return run();
  } finally {
    direct = saved;
  }
}
