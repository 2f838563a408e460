import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { ResidualLensApi } from '../../../src/extension/main';
import { ui, uiBridgeUrl } from './ui';

const extensionId = 'residual-lens.residual-lens';

suite('Activation', () => {
  test('the extension is not active before a model file is opened, and activates on a Python file', async () => {
    const extension = vscode.extensions.getExtension<ResidualLensApi>(extensionId);
    assert.ok(extension, `extension ${extensionId} is installed`);
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the examples workspace is open');
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(join(folder.uri.fsPath, 'pytorch', 'resnet_cifar.py')));
    await vscode.window.showTextDocument(document);
    assert.equal(document.languageId, 'python');
    const api = await waitFor(() => (extension.isActive ? extension.exports : undefined), 20000, 'activation on a Python file');
    assert.ok(api.activationMs >= 0 && api.activationMs < 5000, `activation took ${api.activationMs} ms`);
    console.log(`Residual Lens activation: ${api.activationMs.toFixed(1)} ms`);
  });

  test('its commands are registered', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const command of ['residualLens.showLog', 'residualLens.restartServer']) {
      assert.ok(commands.includes(command), `${command} is registered`);
    }
  });

  test('the language server is running and survives a restart', async () => {
    const api = vscode.extensions.getExtension<ResidualLensApi>(extensionId)!.exports;
    await api.analysis.ready();
    assert.equal(api.analysis.state(), 'running');
    await vscode.commands.executeCommand('residualLens.restartServer');
    assert.equal(api.analysis.state(), 'running');
  });

  test('the workbench shows the model file with the extension loaded (screenshot)', async function () {
    if (!uiBridgeUrl) this.skip();
    await ui.waitForText('.monaco-editor .view-lines', 'class', 20000);
    const path = await ui.screenshot('vscode-workbench');
    console.log(`screenshot: ${path}`);
  });
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}
