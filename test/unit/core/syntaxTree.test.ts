import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'web-tree-sitter';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import { directCursorEnabled, withPublicCursor } from '../../../src/core/parse/cursor';
import { type SyntaxNode, describeSyntaxTree, toSyntaxTree } from '../../../src/core/parse/syntaxTree';
import { examplesDir, fixturesDir, grammarsDir } from '../../support/paths';

const grammarsReady = Grammars.load(grammarsDir);

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => grammarFor(f) !== undefined).map((f) => join(dir, f)).sort();
}

const files = [...sourceFiles(fixturesDir), ...sourceFiles(examplesDir)];

/** Compares the copy with tree-sitter's own node API, node by node, where the copy kept children. */
function compareWithNodeApi(copy: SyntaxNode, node: Node, where: string): void {
  assert.equal(copy.startIndex, node.startIndex, `${where}: start of ${node.type}`);
  assert.equal(copy.endIndex, node.endIndex, `${where}: end of ${node.type}`);
  assert.equal(copy.startRow, node.startPosition.row, `${where}: start row of ${node.type}`);
  assert.equal(copy.startCol, node.startPosition.column, `${where}: start column of ${node.type}`);
  assert.equal(copy.endRow, node.endPosition.row, `${where}: end row of ${node.type}`);
  assert.equal(copy.endCol, node.endPosition.column, `${where}: end column of ${node.type}`);
  if (copy.type === 'too_deep') return;
  assert.equal(copy.type, node.type, where);
  if (copy.children.length === 0) return;
  const named = node.namedChildren.filter((c): c is Node => c !== null);
  assert.equal(copy.children.length, named.length, `${where}: children of ${node.type}`);
  copy.children.forEach((child, i) => compareWithNodeApi(child, named[i]!, where));
}

test('the direct cursor is on and copies every fixture and example exactly as the public cursor does', async () => {
  const grammars = await grammarsReady;
  assert.ok(directCursorEnabled(), 'the direct cursor failed its self-check with this web-tree-sitter');
  assert.ok(files.length > 100, `only ${files.length} files found`);
  for (const file of files) {
    const grammar = grammarFor(file)!;
    const text = readFileSync(file, 'utf8');
    const tree = grammars.parse(grammar, text);
    try {
      const direct = toSyntaxTree(tree, text, grammar);
      const reference = withPublicCursor(() => toSyntaxTree(tree, text, grammar));
      assert.equal(describeSyntaxTree(direct), describeSyntaxTree(reference), file);
      compareWithNodeApi(direct, tree.rootNode, file);
    } finally {
      tree.delete();
    }
  }
});

test('a broken file keeps its ERROR and MISSING marks, and its positions, in the copy', async () => {
  const grammars = await grammarsReady;
  for (const [grammar, text] of [
    ['python', 'class A(nn.Module):\n    def forward(self, x):\n        return self.conv(x +\n\nx = (1, 2\n'],
    ['typescript', 'const y = tf.layers.add().apply([x, \nfunction f( {\n'],
  ] as const) {
    const tree = grammars.parse(grammar, text);
    try {
      const copy = toSyntaxTree(tree, text, grammar);
      assert.equal(copy.broken, true, grammar);
      compareWithNodeApi(copy, tree.rootNode, grammar);
      assert.equal(describeSyntaxTree(copy), describeSyntaxTree(withPublicCursor(() => toSyntaxTree(tree, text, grammar))), grammar);
    } finally {
      tree.delete();
    }
  }
});

test('nesting deeper than the limit becomes a too_deep node instead of a stack overflow', async () => {
  const grammars = await grammarsReady;
  const text = `x = ${'('.repeat(400)}1${')'.repeat(400)}\n`;
  const tree = grammars.parse('python', text);
  try {
    const copy = toSyntaxTree(tree, text, 'python');
    let depth = 0;
    let deepest: SyntaxNode = copy;
    for (let node: SyntaxNode | undefined = copy; node; node = node.children[node.children.length - 1]) {
      deepest = node;
      depth++;
    }
    assert.equal(deepest.type, 'too_deep');
    assert.ok(depth <= 152, `depth ${depth}`);
  } finally {
    tree.delete();
  }
});
