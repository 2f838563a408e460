// The Python side of the plain syntax tree (syntaxTree.ts) as the PyTorch front end reads it.
import type { Tree } from 'web-tree-sitter';
import { type SyntaxNode, rangeOf, toSyntaxTree } from './syntaxTree';

export type PyNode = SyntaxNode;
export { rangeOf };

export function toPyAst(tree: Tree, source: string): PyNode {
  return toSyntaxTree(tree, source, 'python');
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

/** A `from ..ops.misc import A, B as C` statement: its dots, the module after them, and each name with the name it binds. */
export interface ImportFrom {
  level: number;
  moduleName: string;
  names: { original: string; bound: string }[];
  /** `from m import *` */
  wildcard: boolean;
}

export function importFromParts(node: PyNode, source: string): ImportFrom | undefined {
  const moduleNode = node.fields.module_name;
  if (!moduleNode) return undefined;
  const moduleText = nodeText(moduleNode, source).replace(/\s+/g, '');
  const level = /^\.*/.exec(moduleText)![0].length;
  const names: ImportFrom['names'] = [];
  for (const c of node.children) {
    if (c === moduleNode || (c.type !== 'dotted_name' && c.type !== 'aliased_import')) continue;
    const original = nodeText(c.type === 'aliased_import' ? c.fields.name! : c, source);
    names.push({ original, bound: c.type === 'aliased_import' ? c.fields.alias!.text : original });
  }
  return { level, moduleName: moduleText.slice(level), names, wildcard: node.children.some((c) => c.type === 'wildcard_import') };
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
