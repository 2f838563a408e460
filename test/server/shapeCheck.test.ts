import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeAction, Hover, InlayHint, TextEdit } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { LanguageServerProcess } from '../support/lspClient';
import { examplesDir } from '../support/paths';

const buggyPath = join(examplesDir, 'pytorch', 'missing_projection.py');
const buggyText = readFileSync(buggyPath, 'utf8');
const uri = `file://${buggyPath}`;

test('the server publishes the mismatch with both shapes, offers a quick fix, and the fixed text checks clean', async () => {
  const { server } = await LanguageServerProcess.start({ debounceMs: 50, workspaceScan: false });
  try {
    await server.open(uri, 'python', buggyText);
    const published = await server.nextDiagnostics(uri);
    assert.equal(published.diagnostics.length, 1, JSON.stringify(published.diagnostics));
    const [diagnostic] = published.diagnostics;
    assert.equal(diagnostic!.source, 'Residual Lens');
    assert.equal(diagnostic!.code, 'residual-shape-mismatch');
    assert.equal(diagnostic!.severity, 1);
    assert.equal(buggyText.split('\n')[diagnostic!.range.start.line]!.trim(), 'out = out + x');
    const message = diagnostic!.message;
    assert.match(typeof message === 'string' ? message : message.value, /\(2, 32, 16, 16\).*\(2, 16, 32, 32\)/);

    const actions = (await server.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostic!.range,
      context: { diagnostics: [diagnostic], only: ['quickfix'] },
    })) as CodeAction[];
    const projection = actions.find((a) => /projection shortcut/i.test(a.title));
    assert.ok(projection, `actions: ${actions.map((a) => a.title).join(', ')}`);
    assert.equal(projection.kind, 'quickfix');
    const edits = projection.edit!.changes![uri] as TextEdit[];
    const fixed = TextDocument.applyEdits(TextDocument.create(uri, 'python', 1, buggyText), edits);

    await server.change(uri, 2, fixed);
    const after = await server.nextDiagnostics(uri, (p) => p.version === 2);
    assert.deepEqual(after.diagnostics, [], `fixed text:\n${fixed}`);
  } finally {
    await server.stop();
  }
});

test('hover shows a tensor shape in forward, and inlay hints show shapes at line ends', async () => {
  const { server } = await LanguageServerProcess.start({ debounceMs: 0, workspaceScan: false });
  try {
    const path = join(examplesDir, 'pytorch', 'resnet_cifar.py');
    const text = readFileSync(path, 'utf8');
    const resnetUri = `file://${path}`;
    await server.open(resnetUri, 'python', text);
    await server.nextDiagnostics(resnetUri);
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.trim() === 'out = self.layer2(out)');
    assert.ok(line > 0);
    const hover = (await server.connection.sendRequest('textDocument/hover', {
      textDocument: { uri: resnetUri },
      position: { line, character: lines[line]!.indexOf('out') + 1 },
    })) as Hover | null;
    assert.ok(hover, 'a hover on `out`');
    const value = typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : JSON.stringify(hover.contents);
    assert.match(value, /32/, value);

    const hints = (await server.connection.sendRequest('textDocument/inlayHint', {
      textDocument: { uri: resnetUri },
      range: { start: { line: 0, character: 0 }, end: { line: lines.length, character: 0 } },
    })) as InlayHint[];
    assert.ok(hints.length >= 3, `hints: ${JSON.stringify(hints)}`);
    const atLayer2 = hints.find((h) => h.position.line === line);
    assert.ok(atLayer2, `a hint on the layer2 line; hints on lines ${hints.map((h) => h.position.line).join(',')}`);
    assert.match(String(atLayer2.label), /^→ \(.*32.*\)$/);
  } finally {
    await server.stop();
  }
});

test('incremental edits, typed a change at a time, end in the findings of the text they make; close and reopen start afresh', async () => {
  const { server } = await LanguageServerProcess.start({ debounceMs: 20, workspaceScan: false });
  try {
    await server.open(uri, 'python', buggyText);
    const published = await server.nextDiagnostics(uri);
    assert.equal(published.diagnostics.length, 1);
    const mirror = TextDocument.create(uri, 'python', 1, buggyText);

    // The quick fix's edits sent as one incremental change, last edit first so each range still holds.
    const addLine = published.diagnostics[0]!.range.start.line;
    const fix = (await server.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri },
      range: published.diagnostics[0]!.range,
      context: { diagnostics: published.diagnostics, only: ['quickfix'] },
    })) as CodeAction[];
    const edits = [...(fix.find((a) => /projection shortcut/i.test(a.title))?.edit?.changes?.[uri] ?? [])] as TextEdit[];
    assert.ok(edits.length > 0, 'a projection fix to type');
    edits.sort((a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character);
    TextDocument.update(mirror, edits.map((e) => ({ range: e.range, text: e.newText })), 2);
    await server.edit(uri, 2, edits.map((e) => ({ range: e.range, text: e.newText })));
    assert.deepEqual((await server.nextDiagnostics(uri, (p) => p.version === 2)).diagnostics, []);

    // A comment typed one key at a time after the addition, then the addition broken again by hand.
    let version = 2;
    const fixedLines = mirror.getText().split('\n');
    const line = fixedLines.findIndex((l) => l.includes('out = out +'));
    for (const [i, key] of [...'  # typed'].entries()) {
      const at = { line, character: fixedLines[line]!.length + i };
      version++;
      TextDocument.update(mirror, [{ range: { start: at, end: at }, text: key }], version);
      await server.edit(uri, version, [{ range: { start: at, end: at }, text: key }]);
    }
    const start = { line, character: fixedLines[line]!.indexOf('out +') };
    const end = { line, character: fixedLines[line]!.length };
    version++;
    TextDocument.update(mirror, [{ range: { start, end }, text: 'out + x' }], version);
    await server.edit(uri, version, [{ range: { start, end }, text: 'out + x' }]);
    const broken = await server.nextDiagnostics(uri, (p) => p.version === version);
    assert.equal(mirror.getText().split('\n')[line]!.trim(), 'out = out + x  # typed');
    assert.equal(broken.diagnostics.length, 1, `text:\n${mirror.getText()}`);
    assert.equal(broken.diagnostics[0]!.range.start.line, line);

    await server.close(uri);
    await server.open(uri, 'python', buggyText, 1);
    const reopened = await server.nextDiagnostics(uri, (p) => p.diagnostics.length > 0);
    assert.equal(reopened.diagnostics[0]!.range.start.line, addLine);
  } finally {
    await server.stop();
  }
});
