import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LanguageServerProcess } from '../support/lspClient';

test('the server starts, answers initialize with its capabilities, and exits cleanly on shutdown', async () => {
  const { server, initialize } = await LanguageServerProcess.start();
  assert.equal(initialize.serverInfo?.name, 'Residual Lens analysis server');
  assert.ok(initialize.capabilities.textDocumentSync, 'syncs documents');
  assert.equal(await server.stop(), 0);
});

test('a syntax error in a model file is only a log line: no diagnostic reaches the user', async () => {
  const { server } = await LanguageServerProcess.start();
  try {
    const uri = 'file:///tmp/half_typed.py';
    await server.open(uri, 'python', 'import torch\nimport torch.nn as nn\nclass Block(nn.Module:\n    def forward(self, x):\n        return x +\n');
    const published = await server.nextDiagnostics(uri);
    assert.deepEqual(published.diagnostics, []);
    assert.ok(server.logs.some((line) => /syntax error/.test(line)), `log mentions the syntax error: ${server.logs.join(' | ')}`);
  } finally {
    await server.stop();
  }
});

test('edits are debounced: a burst of changes is analysed once, at the newest version', async () => {
  const { server } = await LanguageServerProcess.start({ debounceMs: 150 });
  try {
    const uri = 'file:///tmp/burst.py';
    await server.open(uri, 'python', 'import torch\n', 1);
    await server.nextDiagnostics(uri);
    for (let version = 2; version <= 20; version++) await server.change(uri, version, `import torch\nx = ${version}\n`);
    const published = await server.nextDiagnostics(uri);
    assert.equal(published.version, 20, 'only the newest version is published');
    await new Promise((ok) => setTimeout(ok, 400));
    assert.equal(server.diagnostics.get(uri)!.length, 2, 'one publish for open, one for the whole burst');
  } finally {
    await server.stop();
  }
});

test('oversized and binary documents are skipped with a log line', async () => {
  const { server } = await LanguageServerProcess.start({ maxFileSizeKB: 4 });
  try {
    const big = 'file:///tmp/big.py';
    await server.open(big, 'python', 'import torch\n' + '# padding\n'.repeat(1000));
    assert.deepEqual((await server.nextDiagnostics(big)).diagnostics, []);
    const binary = 'file:///tmp/binary.py';
    await server.open(binary, 'python', 'import torch\u0000\u0001\u0002');
    assert.deepEqual((await server.nextDiagnostics(binary)).diagnostics, []);
    assert.ok(server.logs.some((l) => /big\.py: skipped \(.*over the/.test(l)), server.logs.join(' | '));
    assert.ok(server.logs.some((l) => /binary\.py: skipped \(binary file\)/.test(l)), server.logs.join(' | '));
  } finally {
    await server.stop();
  }
});
