// The last syntax tree of each open document, so that the check after an edit re-parses
// only what the edit touched (tree-sitter's incremental parsing: `tree.edit` + parse with
// the old tree). The edit is found by comparing the old and new text, so it is exact
// whatever the editor sent (one keystroke, several debounced changes, a whole new text).
import { Edit, type Point, type Tree } from 'web-tree-sitter';
import type { GrammarName, Grammars } from './grammars';
import { type PreviousSyntax, type SyntaxNode, toSyntaxTree } from './syntaxTree';

interface Entry {
  grammar: GrammarName;
  text: string;
  tree: Tree;
  /** The plain copy of `tree`, once a checker asked for it. */
  syntax?: SyntaxNode;
  /** The previous text's copy and the edit since, until this text's copy is made from them. */
  previous?: PreviousSyntax;
}

export class DocumentTrees {
  private readonly entries = new Map<string, Entry>();

  /**
   * The tree of `text`, parsed from the document's previous tree where there is one. The
   * tree belongs to this cache: callers must not delete it, nor keep it past the next call.
   */
  parse(grammars: Grammars, uri: string, grammar: GrammarName, text: string): Tree {
    const previous = this.entries.get(uri);
    if (previous && previous.grammar === grammar && previous.text === text) return previous.tree;
    this.entries.delete(uri);
    let tree: Tree;
    let previousSyntax: PreviousSyntax | undefined;
    try {
      if (previous && previous.grammar === grammar) {
        const edit = textEdit(previous.text, text);
        previous.tree.edit(edit);
        tree = grammars.parse(grammar, text, previous.tree);
        if (previous.syntax) {
          previousSyntax = {
            root: previous.syntax, grammar, start: edit.startIndex, oldEnd: edit.oldEndIndex, newEnd: edit.newEndIndex,
            rowDelta: edit.newEndPosition.row - edit.oldEndPosition.row,
          };
        }
      } else {
        tree = grammars.parse(grammar, text);
      }
    } finally {
      previous?.tree.delete();
    }
    this.entries.set(uri, { grammar, text, tree, ...(previousSyntax ? { previous: previousSyntax } : {}) });
    return tree;
  }

  /**
   * The plain copy of the tree the last `parse` of `uri` returned, made once; top-level
   * statements that the edit since the previous copy did not touch are taken from it.
   */
  syntax(uri: string): SyntaxNode {
    const entry = this.entries.get(uri);
    if (!entry) throw new Error(`no tree for ${uri}: parse it first`);
    if (!entry.syntax) {
      entry.syntax = toSyntaxTree(entry.tree, entry.text, entry.grammar, entry.previous);
      delete entry.previous;
    }
    return entry.syntax;
  }

  /** Frees the document's tree (the document was closed). */
  delete(uri: string): void {
    this.entries.get(uri)?.tree.delete();
    this.entries.delete(uri);
  }

  clear(): void {
    for (const entry of this.entries.values()) entry.tree.delete();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The one edit that turns `before` into `after`: the span between their common prefix and suffix. */
export function textEdit(before: string, after: string): Edit {
  const shorter = Math.min(before.length, after.length);
  let start = 0;
  while (start < shorter && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  // Never split a surrogate pair: tree-sitter reads the text as UTF-16 characters.
  if (start > 0 && isHighSurrogate(before.charCodeAt(start - 1))) start--;
  let oldEnd = before.length;
  let newEnd = after.length;
  while (oldEnd > start && newEnd > start && before.charCodeAt(oldEnd - 1) === after.charCodeAt(newEnd - 1)) {
    oldEnd--;
    newEnd--;
  }
  if (oldEnd < before.length && (isHighSurrogate(before.charCodeAt(oldEnd - 1)) || isHighSurrogate(after.charCodeAt(newEnd - 1)))) {
    oldEnd++;
    newEnd++;
  }
  const startPosition = pointAt(before, start);
  return new Edit({
    startIndex: start,
    oldEndIndex: oldEnd,
    newEndIndex: newEnd,
    startPosition,
    oldEndPosition: pointAfter(before, start, startPosition, oldEnd),
    newEndPosition: pointAfter(after, start, startPosition, newEnd),
  });
}

/** Row and column (UTF-16 code units, as web-tree-sitter counts them) of `index`. */
function pointAt(text: string, index: number): Point {
  return pointAfter(text, 0, { row: 0, column: 0 }, index);
}

/** The point of `index`, counting on from `from` at `fromPoint` (the text before `from` is the same). */
function pointAfter(text: string, from: number, fromPoint: Point, index: number): Point {
  let row = fromPoint.row;
  let lineStart = from - fromPoint.column;
  for (let i = text.indexOf('\n', from); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: index - lineStart };
}
