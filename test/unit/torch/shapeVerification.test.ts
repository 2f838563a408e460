// "Verify Shapes with PyTorch" on real fixtures with Debian's python3-torch: the
// static analysis and real PyTorch must agree at every addition both reach; a model
// file that raises on import is reported with its error and line. Without torch
// these tests fail and say how to install it: they are never skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatVerification, summarizeVerification, verifyShapes, VerificationError, type ShapeVerification } from '../../../src/torch/shapeVerification';
import { distDir, fixturesDir } from '../../support/paths';
import { loadGrammars } from '../../support/pytorchFixtures';

const python = { path: '/usr/bin/python3', source: 'test' };
const verifierPath = join(distDir, 'python', 'verify_shapes.py');

function requireTorch(): void {
  const probe = spawnSync(python.path, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${python.path} cannot import torch: install Debian's PyTorch with \`apt-get install python3-torch\` (these tests need it and are never skipped)\n${probe.stderr ?? ''}`);
}

async function verify(file: string): Promise<ShapeVerification> {
  // A generous analysis budget: on a loaded machine the editor's 2 s would leave shapes unknown.
  return verifyShapes({ file, python, grammars: await loadGrammars(), verifierPath, analysisBudgetMs: 30_000 });
}

const fixture = (name: string): string => join(fixturesDir, 'pytorch', name);

test('a missing projection: torch raises where the analysis reports the error, on the same line', async () => {
  requireTorch();
  const v = await verify(fixture('b01_missing_projection.py'));
  assert.equal(v.counts.disagree, 0, formatVerification(v));
  const errorLine = v.additions.find((a) => a.torchError);
  assert.ok(errorLine, formatVerification(v));
  assert.equal(errorLine.verdict, 'agree');
  assert.match(errorLine.torchError!, /must match the size of tensor b/);
  assert.match(errorLine.staticFinding!, /shortcut needs a projection/);
  assert.ok(v.entries.some((e) => e.device === 'meta'), 'the forward ran on the meta device');
});

for (const name of ['c01_cifar_resnet_shortcut.py', 'c04_nanogpt.py', 'b12_silent_broadcast.py', 'b21_torch_add_bug.py', 'b25_main_input.py', 'c18_cross_file_main.py']) {
  test(`${name}: the analysis and PyTorch agree at every addition both reach`, async () => {
    requireTorch();
    const v = await verify(fixture(name));
    assert.equal(v.importError, undefined);
    assert.equal(v.counts.disagree, 0, formatVerification(v));
    assert.ok(v.counts.agree >= 1, formatVerification(v));
    for (const a of v.additions.filter((x) => x.verdict === 'agree')) assert.ok(a.torchShapes.length > 0 && a.staticShapes.length > 0, `line ${a.line}`);
  });
}

test('concrete shapes of the analysis are the ones torch saw (c01: every stage of ResNet18)', async () => {
  requireTorch();
  const v = await verify(fixture('c01_cifar_resnet_shortcut.py'));
  const line = v.additions.find((a) => a.staticShapes.includes('(2, 128, 16, 16) + (2, 128, 16, 16)'));
  assert.ok(line, formatVerification(v));
  assert.ok(line.torchShapes.includes('(2, 128, 16, 16) + (2, 128, 16, 16)'));
});

test('a model file that raises on import: the error and its line are reported', async () => {
  requireTorch();
  const dir = mkdtempSync(join(tmpdir(), 'rl-verify-'));
  const broken = join(dir, 'broken_model.py');
  writeFileSync(broken, ['import torch.nn as nn', '', 'WIDTH = undefined_name * 2', '', 'class Net(nn.Module):', '    def forward(self, x):', '        return x + x', ''].join('\n'));
  const v = await verify(broken);
  assert.ok(v.importError, formatVerification(v));
  assert.equal(v.importError.line, 3);
  assert.match(v.importError.message, /^NameError: name 'undefined_name' is not defined/);
  assert.match(summarizeVerification(v), /the file raised on import: NameError: .* \(line 3\)/);

  const syntax = join(dir, 'syntax_model.py');
  writeFileSync(syntax, ['import torch', '', 'def f(:', '    pass', ''].join('\n'));
  const s = await verify(syntax);
  assert.equal(s.importError?.type, 'SyntaxError');
  assert.equal(s.importError?.line, 3);
});

test('an interpreter that does not exist is one clear error', async () => {
  await assert.rejects(
    verifyShapes({ file: fixture('c01_cifar_resnet_shortcut.py'), python: { path: '/nonexistent/python3', source: 'residualLens.python.path' }, grammars: await loadGrammars(), verifierPath }),
    (err: unknown) => err instanceof VerificationError && /could not run \/nonexistent\/python3 \(residualLens\.python\.path\)/.test(err.message),
  );
});
