import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSuiteSummary } from '../suite/summary';
import * as vscode from 'vscode';
import type { ResidualLensApi } from '../../../src/extension/main';

// Runs in a VS Code whose workspace is NOT trusted (restricted mode). Residual Lens
// declares limited support: the static check still runs, since it only reads files.
export async function run(): Promise<void> {
  const summary = { passed: 0, failed: 0, skipped: 0 };
  const check = async (name: string, body: () => Promise<void>): Promise<void> => {
    try {
      await body();
      summary.passed++;
      console.log(`  ✔ ${name}`);
    } catch (err) {
      summary.failed++;
      console.error(`  ✖ ${name}: ${err instanceof Error ? err.stack : String(err)}`);
    }
  };
  await check('the workspace is untrusted', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });
  await check('the extension activates in restricted mode and still shape-checks', async () => {
    const extension = vscode.extensions.getExtension<ResidualLensApi>('residual-lens.residual-lens')!;
    const uri = vscode.Uri.file(join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'pytorch', 'missing_projection.py'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const deadline = Date.now() + 45000;
    let diagnostics: vscode.Diagnostic[] = [];
    while (Date.now() < deadline) {
      diagnostics = vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Residual Lens');
      if (extension.isActive && diagnostics.length) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.ok(extension.isActive, 'active');
    assert.equal(diagnostics[0]?.code, 'residual-shape-mismatch');
  });
  await check('a workspace-chosen interpreter is not honoured', async () => {
    // Declared in capabilities.untrustedWorkspaces.restrictedConfigurations: while the
    // workspace is untrusted, VS Code hides the workspace's value from the extension.
    const config = () => vscode.workspace.getConfiguration('residualLens');
    await config().update('python.path', '/tmp/not-a-python', vscode.ConfigurationTarget.Workspace);
    try {
      assert.equal(config().inspect<string>('python.path')?.workspaceValue, undefined);
      assert.equal(config().get('python.path'), '');
    } finally {
      await config().update('python.path', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
  await check('Verify Shapes with PyTorch is refused with the reason (it would run workspace code)', async () => {
    const uri = vscode.Uri.file(join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'pytorch', 'missing_projection.py'));
    const outcome = await vscode.commands.executeCommand<{ refused?: string; verification?: unknown }>('residualLens.verifyShapesWithTorch', uri);
    assert.equal(outcome?.verification, undefined);
    assert.match(outcome?.refused ?? '', /runs the model file’s code, so it is off in an untrusted workspace/);
  });
  await check('Probe This Model runs in an untrusted workspace: it builds the model from its parsed description, never runs the file', async () => {
    const uri = vscode.Uri.file(join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'pytorch', 'resnet_cifar.py'));
    const outcome = await vscode.commands.executeCommand<{ started: boolean; reason?: string; variants?: string[]; finished?: Promise<void> }>('residualLens.probeModel', uri, 'CifarResNet', { steps: 2 });
    assert.equal(outcome?.started, true, outcome?.reason);
    assert.deepEqual(outcome?.variants?.slice(0, 2), ['model', 'model-plain']);
    await outcome?.finished;
    const api = vscode.extensions.getExtension<ResidualLensApi>('residual-lens.residual-lens')!.exports;
    const record = api.probePanel.lastRun;
    assert.equal(record?.outcome, 'completed', record?.outcomeMessage ?? '');
    assert.ok(record?.messages.some((m) => m.type === 'done' && m.variant === 'model'), 'the model trained');
  });
  writeSuiteSummary(summary);
  console.log(`untrusted suite: ${summary.passed} passed, ${summary.failed} failed`);
  if (summary.failed) throw new Error('untrusted-workspace checks failed');
}
