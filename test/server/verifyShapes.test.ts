// "Verify Shapes with PyTorch" through the real language server over JSON-RPC: the
// analysis's side of the comparison comes from the server's staticAdditions request (the
// extension host does no analysis), and with real torch it gives the verification the
// in-process analysis gives. Bad requests are answered with a reason; a cancel is honoured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { staticAdditionsMethod, type StaticAdditionsResult } from '../../src/server/verifyProtocol';
import { analyseAdditions, formatVerification, verifyShapes, type StaticAdditions } from '../../src/torch/shapeVerification';
import { LanguageServerProcess } from '../support/lspClient';
import { distDir, fixturesDir } from '../support/paths';
import { loadGrammars } from '../support/pytorchFixtures';

const python = { path: '/usr/bin/python3', source: 'test' };
const verifierPath = join(distDir, 'python', 'verify_shapes.py');
const fixture = (name: string): string => join(fixturesDir, 'pytorch', name);
const shapeText = (shape: StaticAdditions['pairs'][number]['left']): string => (shape ? `(${shape.map((d) => d ?? '?').join(', ')})` : '(?)');

async function askServer(server: LanguageServerProcess, path: string): Promise<StaticAdditions> {
  const answer = (await server.connection.sendRequest(staticAdditionsMethod, { uri: `file://${path}` })) as StaticAdditionsResult;
  assert.ok(!('error' in answer), 'error' in answer ? answer.error : '');
  assert.ok(answer.ms >= 0);
  return answer.additions;
}

test('staticAdditions gives the concrete operand shapes and the findings the analysis has at each addition', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    const resnet = await askServer(server, fixture('c01_cifar_resnet_shortcut.py'));
    assert.ok(
      resnet.pairs.some((p) => shapeText(p.left) === '(2, 128, 16, 16)' && shapeText(p.right) === '(2, 128, 16, 16)'),
      `pairs: ${resnet.pairs.map((p) => `${p.line}: ${shapeText(p.left)} + ${shapeText(p.right)}`).join('; ')}`,
    );
    // The missing projection: an error finding on the addition, as the editor's diagnostic has it.
    const missing = await askServer(server, fixture('b01_missing_projection.py'));
    const local = await analyseAdditions(fixture('b01_missing_projection.py'), readFileSync(fixture('b01_missing_projection.py'), 'utf8'), await loadGrammars(), 30_000);
    const errors = (found: StaticAdditions) => found.findings.filter((f) => f.rule.startsWith('residual-') && f.severity === 'error').map((f) => `${f.line}: ${f.rule}`);
    assert.ok(errors(missing).length >= 1, JSON.stringify(missing.findings));
    assert.deepEqual(errors(missing), errors(local!), 'the same error findings as the analysis run in-process');
  } finally {
    await server.stop();
  }
});

test('with real torch, the server’s static side gives the verification the in-process analysis gives', async () => {
  const torch = spawnSync(python.path, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(torch.status, 0, `${python.path} cannot import torch (apt-get install python3-torch): ${torch.stderr}`);
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    for (const name of ['c01_cifar_resnet_shortcut.py', 'b01_missing_projection.py']) {
      const file = fixture(name);
      const viaServer = await verifyShapes({ file, python, verifierPath, staticAdditions: askServer(server, file) });
      const inProcess = await verifyShapes({ file, python, verifierPath, grammars: await loadGrammars(), analysisBudgetMs: 30_000 });
      assert.deepEqual(viaServer.counts, inProcess.counts, `${name}\nserver:\n${formatVerification(viaServer)}\nin process:\n${formatVerification(inProcess)}`);
      assert.equal(viaServer.counts.disagree, 0, formatVerification(viaServer));
      assert.ok(viaServer.counts.agree >= 1, formatVerification(viaServer));
    }
  } finally {
    await server.stop();
  }
});

test('staticAdditions: bad requests are answered with a reason, a cancel with RequestCancelled, and the server keeps serving', async () => {
  const { server } = await LanguageServerProcess.start({ workspaceScan: false });
  try {
    const errorOf = async (params: unknown): Promise<string> => {
      const answer = (await server.connection.sendRequest(staticAdditionsMethod, params)) as StaticAdditionsResult;
      return 'error' in answer ? answer.error : '(no error)';
    };
    assert.match(await errorOf({}), /needs the file: URI of a saved Python file/);
    assert.match(await errorOf({ uri: 'untitled:Untitled-1' }), /needs the file: URI/);
    assert.match(await errorOf({ uri: 'file:///no/such/model.py' }), /\/no\/such\/model\.py cannot be read/);
    assert.match(await errorOf({ uri: `file://${join(fixturesDir, 'tfjs')}/x.ts` }), /is not a Python file/);

    const source = new CancellationTokenSource();
    const pending = server.connection.sendRequest(staticAdditionsMethod, { uri: `file://${fixture('c01_cifar_resnet_shortcut.py')}` }, source.token);
    source.cancel();
    await assert.rejects(pending, (err: unknown) => err instanceof ResponseError && err.code === -32800);
    const after = await askServer(server, fixture('c01_cifar_resnet_shortcut.py'));
    assert.ok(after.pairs.length > 0);
  } finally {
    await server.stop();
  }
});
