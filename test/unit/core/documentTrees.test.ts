import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Grammars, grammarFor } from '../../../src/core/parse/grammars';
import { DocumentTrees, textEdit } from '../../../src/core/parse/documentTrees';
import { describeSyntaxTree, toSyntaxTree } from '../../../src/core/parse/syntaxTree';
import { analyzeDocument, defaultAnalysisOptions } from '../../../src/core/analysis';
import { registerBuiltinCheckers } from '../../../src/core/checkers';
import { pythonProgram } from '../../../src/core/keras/pythonSyntax';
import { scriptProgram } from '../../../src/core/tfjs/scriptSyntax';
import { fixturesDir, grammarsDir } from '../../support/paths';

registerBuiltinCheckers();
const grammarsReady = Grammars.load(grammarsDir);

/** A small seeded generator, so a failure names an edit that can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const insertions = ['x', ' ', '\n', '(', ')', ':', '    ', '+ 1', '# é 😀\n', '"', 'def f(', '\r\n', ',', '[2, 2]'];

function edited(text: string, next: () => number): string {
  const at = Math.floor(next() * (text.length + 1));
  const roll = next();
  if (roll < 0.4) return text.slice(0, at) + insertions[Math.floor(next() * insertions.length)]! + text.slice(at);
  if (roll < 0.7) return text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + Math.floor(next() * 12)));
  // Replace a whole line, as a paste or an undo does.
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const lineEnd = text.indexOf('\n', at);
  return text.slice(0, lineStart) + 'y = x + self.shortcut(x)' + (lineEnd < 0 ? '' : text.slice(lineEnd));
}

test('the tree and its plain copy after a run of random edits, made incrementally, are those of a fresh parse', async () => {
  const grammars = await grammarsReady;
  const trees = new DocumentTrees();
  const files = ['pytorch', 'keras', 'tfjs'].flatMap((dir) => readdirSync(join(fixturesDir, dir)).slice(0, 6).map((f) => join(fixturesDir, dir, f)));
  const next = random(6);
  let compared = 0;
  for (const file of files) {
    const grammar = grammarFor(file);
    if (!grammar) continue;
    let text = readFileSync(file, 'utf8');
    for (let step = 0; step < 25; step++) {
      text = edited(text, next);
      const incremental = trees.parse(grammars, file, grammar, text);
      const fresh = grammars.parse(grammar, text);
      try {
        assert.equal(incremental.rootNode.toString(), fresh.rootNode.toString(), `${file}, edit ${step}`);
        // The copy keeps the statements the edit did not touch from the previous copy.
        assert.equal(describeSyntaxTree(trees.syntax(file)), describeSyntaxTree(toSyntaxTree(fresh, text, grammar)), `${file}, edit ${step}`);
        compared++;
      } finally {
        fresh.delete();
      }
    }
  }
  assert.equal(trees.size, files.length);
  trees.clear();
  assert.equal(trees.size, 0);
  assert.ok(compared > 300, `${compared} edits compared`);
});

test('the edit between two texts covers exactly what changed and never splits a surrogate pair', () => {
  const edit = textEdit('a = 1\nb = 22\nc = 3\n', 'a = 1\nb = 2\nc = 3\n');
  assert.deepEqual(
    { start: edit.startIndex, oldEnd: edit.oldEndIndex, newEnd: edit.newEndIndex, startPosition: edit.startPosition, oldEndPosition: edit.oldEndPosition, newEndPosition: edit.newEndPosition },
    { start: 11, oldEnd: 12, newEnd: 11, startPosition: { row: 1, column: 5 }, oldEndPosition: { row: 1, column: 6 }, newEndPosition: { row: 1, column: 5 } },
  );
  // 😀 and 😃 share their high surrogate: the edit must start before it.
  const emoji = textEdit('# 😀\nx', '# 😃\nx');
  assert.equal(emoji.startIndex, 2);
  assert.equal(emoji.oldEndIndex, 4);
  const lines = textEdit('x\n', 'x\ny\nz\n');
  assert.deepEqual([lines.startIndex, lines.oldEndIndex, lines.newEndIndex], [2, 2, 6]);
  assert.deepEqual(lines.newEndPosition, { row: 3, column: 0 });
});

test('checking through the tree cache gives the same findings as a fresh check, edit after edit', async () => {
  const grammars = await grammarsReady;
  const trees = new DocumentTrees();
  const options = { ...defaultAnalysisOptions, budgetMs: 10_000 };
  for (const [dir, name] of [['pytorch', 'stride'], ['keras', 'bug'], ['tfjs', 'bug']]) {
    const file = join(fixturesDir, dir, readdirSync(join(fixturesDir, dir)).find((f) => f.includes(name))!);
    const grammar = grammarFor(file)!;
    const comment = grammar === 'python' ? '# ' : '// ';
    const original = readFileSync(file, 'utf8');
    const lines = original.split('\n');
    let findings = 0;
    for (let i = 0; i < lines.length; i += 2) {
      // Comment a line out and back in, as a user trying a change does.
      for (const text of [[...lines.slice(0, i), `${comment}${lines[i]}`, ...lines.slice(i + 1)].join('\n'), original]) {
        const cached = analyzeDocument({ uri: file, grammar, text }, grammars, options, trees);
        const fresh = analyzeDocument({ uri: file, grammar, text }, grammars, options);
        assert.deepEqual(cached.findings, fresh.findings, `${file}, line ${i + 1}`);
        assert.deepEqual(cached.annotations, fresh.annotations, `${file}, line ${i + 1}`);
        findings += fresh.findings.length;
      }
    }
    assert.ok(findings > 0, `${file} has findings to compare`);
  }
  trees.clear();
});

test('statements before an edit are kept as they were, those after it are moved, the edited one is copied anew', async () => {
  const grammars = await grammarsReady;
  const trees = new DocumentTrees();
  const uri = 'edit.py';
  const text = 'import torch\n\ndef a(x):\n    return x + 1\n\ndef b(x):\n    return x * 2\n\ndef c(x):\n    return x - 3\n';
  trees.parse(grammars, uri, 'python', text);
  const before = trees.syntax(uri);
  const edited = text.replace('x * 2', 'x * 2 + (\n  4)');
  trees.parse(grammars, uri, 'python', edited);
  const after = trees.syntax(uri);
  const fresh = grammars.parse('python', edited);
  try {
    assert.equal(describeSyntaxTree(after), describeSyntaxTree(toSyntaxTree(fresh, edited, 'python')));
  } finally {
    fresh.delete();
  }
  assert.equal(after.children[0], before.children[0], 'the import is the same object');
  assert.equal(after.children[1], before.children[1], 'a() is the same object');
  assert.notEqual(after.children[2], before.children[2], 'b() was edited');
  assert.notEqual(after.children[3], before.children[3], 'c() moved down a row');
  assert.equal(after.children[3]!.startRow, before.children[3]!.startRow + 1);
  trees.clear();
});

test('the layers program of a file after an edit, reusing the conversions of the statements the edit did not touch, is that of a fresh conversion', async () => {
  const grammars = await grammarsReady;
  const trees = new DocumentTrees();
  const files = ['keras', 'tfjs'].flatMap((dir) => readdirSync(join(fixturesDir, dir)).slice(0, 8).map((f) => join(fixturesDir, dir, f)));
  const next = random(9);
  let kept = 0;
  for (const file of files) {
    const grammar = grammarFor(file);
    if (!grammar) continue;
    const program = (root: ReturnType<typeof toSyntaxTree>, text: string) => (grammar === 'python' ? pythonProgram(root, text) : scriptProgram(root, text));
    let text = readFileSync(file, 'utf8');
    for (let step = 0; step < 20; step++) {
      // Typing in the first half of the file keeps the statements before it and moves those after it.
      const at = Math.floor(next() * text.length * 0.5);
      text = step % 2 ? text.slice(0, at) + insertions[Math.floor(next() * insertions.length)]! + text.slice(at) : edited(text, next);
      trees.parse(grammars, file, grammar, text);
      const previousRoot = trees.syntax(file);
      const fresh = grammars.parse(grammar, text);
      try {
        assert.deepEqual(program(previousRoot, text), program(toSyntaxTree(fresh, text, grammar), text), `${file}, edit ${step}`);
      } finally {
        fresh.delete();
      }
      kept += previousRoot.children.filter((c) => c.endIndex < at).length;
    }
  }
  trees.clear();
  assert.ok(kept > 100, `${kept} kept statements compared`);
});

test('an edit inside one method keeps the class\'s other statements; a tree with errors is copied whole', async () => {
  const grammars = await grammarsReady;
  const trees = new DocumentTrees();
  const uri = 'nested.py';
  const text = 'class Net:\n    width = 4\n\n    def a(self, x):\n        y = x + 1\n        return y\n\n    def b(self, x):\n        return x * 2\n';
  const body = (root: ReturnType<typeof toSyntaxTree>) => root.children[0]!.fields.body!.children;
  const compareWithFresh = (source: string) => {
    const fresh = grammars.parse('python', source);
    try {
      assert.equal(describeSyntaxTree(trees.syntax(uri)), describeSyntaxTree(toSyntaxTree(fresh, source, 'python')));
    } finally {
      fresh.delete();
    }
  };
  trees.parse(grammars, uri, 'python', text);
  const before = trees.syntax(uri);
  const edited = text.replace('y = x + 1', 'y = x + 1  # typed');
  trees.parse(grammars, uri, 'python', edited);
  const after = trees.syntax(uri);
  compareWithFresh(edited);
  assert.notEqual(after.children[0], before.children[0], 'the class holds the edit');
  assert.equal(body(after)[0], body(before)[0], 'the class attribute before the edit is the same object');
  const [methodBefore, methodAfter] = [body(before)[1]!, body(after)[1]!];
  assert.notEqual(methodAfter, methodBefore, 'a() holds the edit');
  assert.equal(methodAfter.fields.body!.children.at(-1)!.startRow, methodBefore.fields.body!.children.at(-1)!.startRow, 'return y is kept on its row');
  assert.notEqual(body(after)[2], body(before)[2], 'b() after the edit is moved');
  assert.equal(body(after)[2]!.startIndex, body(before)[2]!.startIndex + '  # typed'.length);

  // Half-typed: error recovery may read unchanged statements differently, so nothing is kept.
  const broken = edited.replace('return x * 2', 'return x * (2');
  trees.parse(grammars, uri, 'python', broken);
  const recovered = trees.syntax(uri);
  compareWithFresh(broken);
  assert.notEqual(body(recovered)[0], body(after)[0]);
  trees.clear();
});
