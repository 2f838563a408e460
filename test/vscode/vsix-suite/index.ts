import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSuiteSummary } from '../suite/summary';
import * as vscode from 'vscode';
import type { ResidualLensApi } from '../../../src/extension/main';

// Runs in a VS Code where Residual Lens was installed from its .vsix (not from the
// source tree): the package must hold everything it needs at run time.
export async function run(): Promise<void> {
  const summary = { passed: 0, failed: 0, skipped: 0 };
  try {
    const extension = vscode.extensions.getExtension<ResidualLensApi>('residual-lens.residual-lens');
    assert.ok(extension, 'the .vsix is installed');
    assert.ok(!extension.extensionPath.includes('/test/vscode/'), `loaded from the installed package: ${extension.extensionPath}`);
    const folder = vscode.workspace.workspaceFolders![0]!;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(join(folder.uri.fsPath, 'pytorch', 'resnet_cifar.py')));
    await vscode.window.showTextDocument(document);
    const deadline = Date.now() + 20000;
    while (!extension.isActive && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
    assert.ok(extension.isActive, 'the installed extension activates on a Python file');
    await extension.exports.analysis.ready();
    assert.equal(extension.exports.analysis.state(), 'running');
    console.log(`vsix: installed at ${extension.extensionPath}, activated in ${extension.exports.activationMs.toFixed(1)} ms, server running`);
    summary.passed = 1;
  } catch (err) {
    console.error(`vsix: ${err instanceof Error ? err.stack : String(err)}`);
    summary.failed = 1;
  }
  writeSuiteSummary(summary);
  if (summary.failed) throw new Error('the .vsix check failed');
}
