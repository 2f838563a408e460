import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ui, uiBridgeUrl } from './ui';

const debianPython = '/usr/bin/python3';

function requireTorch(): void {
  const probe = spawnSync(debianPython, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${debianPython} cannot import torch: install it with \`apt-get install python3-torch\` (this test needs it and is never skipped)`);
}

suite('PyTorch engine in VS Code', () => {
  suiteSetup(async () => {
    await vscode.workspace.getConfiguration('residualLens').update('python.path', debianPython, vscode.ConfigurationTarget.Global);
  });

  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('residualLens').update('python.path', undefined, vscode.ConfigurationTarget.Global);
    const probe = vscode.workspace.getConfiguration('residualLens.probe');
    for (const key of ['engine', 'depths', 'steps']) await probe.update(key, undefined, vscode.ConfigurationTarget.Global);
  });

  test('Verify Shapes with PyTorch: torch raises where the analysis reports the missing projection', async function () {
    this.timeout(120000);
    requireTorch();
    const uri = vscode.Uri.file(join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'pytorch', 'missing_projection.py'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const outcome = await vscode.commands.executeCommand<{
      refused?: string;
      verification?: { counts: Record<string, number>; additions: { verdict: string; torchError?: string; staticFinding?: string }[] };
    }>('residualLens.verifyShapesWithTorch', uri);
    assert.equal(outcome?.refused, undefined);
    const v = outcome!.verification!;
    assert.equal(v.counts['disagree'], 0, JSON.stringify(v.additions));
    assert.ok(v.additions.some((a) => a.verdict === 'agree' && a.torchError && a.staticFinding), JSON.stringify(v.additions));
  });

  test('the depth probe trains with the torch engine and the panel shows it', async function () {
    if (!uiBridgeUrl) this.skip();
    this.timeout(240000);
    requireTorch();
    const probe = vscode.workspace.getConfiguration('residualLens.probe');
    await probe.update('engine', 'torch', vscode.ConfigurationTarget.Global);
    await probe.update('depths', [8], vscode.ConfigurationTarget.Global);
    await probe.update('steps', 12, vscode.ConfigurationTarget.Global);
    void vscode.commands.executeCommand('residualLens.runDepthProbe');
    for (let step = 1; step <= 3; step++) {
      await ui.waitForText('.quick-input-widget', `${step}/3`, 15000);
      await ui.press('Enter');
    }
    await ui.frameWaitForText('Completed:', 180000);
    const page = await ui.frameWaitForText('torch', 10000);
    assert.match(page, /residual-8/);
    await ui.screenshot('probe-panel-torch');
  });
});
