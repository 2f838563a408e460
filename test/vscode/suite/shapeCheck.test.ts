import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { join } from 'node:path';
import { ui, uiBridgeUrl } from './ui';

const source = 'Residual Lens';

function residualDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === source);
}

async function waitForDiagnostics(uri: vscode.Uri, accept: (d: vscode.Diagnostic[]) => boolean, timeoutMs = 20000): Promise<vscode.Diagnostic[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diagnostics = residualDiagnostics(uri);
    if (accept(diagnostics)) return diagnostics;
    if (Date.now() > deadline) throw new Error(`diagnostics never matched; last: ${JSON.stringify(diagnostics.map((d) => d.message))}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

suite('Shape check in the editor', () => {
  const examples = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;

  test('a missing projection shortcut shows in the Problems panel with both shapes, and the quick fix from the light bulb removes it', async function () {
    const uri = vscode.Uri.file(join(examples(), 'pytorch', 'missing_projection.py'));
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document);
    const [error] = await waitForDiagnostics(uri, (d) => d.some((x) => x.severity === vscode.DiagnosticSeverity.Error));
    assert.ok(error);
    assert.equal(error.code, 'residual-shape-mismatch');
    assert.equal(document.lineAt(error.range.start.line).text.trim(), 'out = out + x');
    assert.match(error.message, /32/);
    assert.match(error.message, /16/);

    if (uiBridgeUrl) {
      await vscode.commands.executeCommand('workbench.actions.view.problems');
      const panelText = await ui.waitForText('.markers-panel', 'residual-shape-mismatch', 15000);
      assert.match(panelText, /missing_projection\.py/);
      await ui.screenshot('shape-check-problems-panel');
    }

    editor.selection = new vscode.Selection(error.range.start, error.range.start);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, error.range);
    const projection = actions.find((a) => /projection shortcut/i.test(a.title));
    assert.ok(projection, `quick fixes offered: ${actions.map((a) => a.title).join(', ')}`);

    if (uiBridgeUrl) {
      // The user's path: the light bulb menu (Ctrl+.), then the fix.
      await vscode.commands.executeCommand('editor.action.quickFix');
      await ui.waitForText('.action-widget', 'projection shortcut', 15000);
      await ui.screenshot('shape-check-quick-fix-menu');
      await ui.press('Enter'); // the preferred fix is the focused item
    } else {
      assert.ok(projection.edit);
      await vscode.workspace.applyEdit(projection.edit);
    }
    await waitForDiagnostics(uri, (d) => d.length === 0);
    assert.match(document.getText(), /shortcut|downsample/);
    if (uiBridgeUrl) {
      await ui.waitForTextGone('.markers-panel .monaco-list-row', 'missing_projection.py', 15000);
      await ui.screenshot('shape-check-after-fix');
    }
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('a correct ResNet has no findings', async () => {
    const uri = vscode.Uri.file(join(examples(), 'pytorch', 'resnet_cifar.py'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    await new Promise((ok) => setTimeout(ok, 1500));
    assert.deepEqual(residualDiagnostics(uri).map((d) => d.message), []);
  });

  test('a TF.js model with a mismatch shows the error in the Problems panel', async () => {
    const uri = vscode.Uri.file(join(examples(), 'tfjs', 'residual.ts'));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const [error] = await waitForDiagnostics(uri, (d) => d.some((x) => x.severity === vscode.DiagnosticSeverity.Error));
    assert.equal(error!.code, 'residual-shape-mismatch');
    assert.match(document.lineAt(error!.range.start.line).text, /tf\.layers\.add\(\)\.apply\(\[y, input\]\)/);
    assert.match(error!.message, /32/);
    if (uiBridgeUrl) {
      await vscode.commands.executeCommand('workbench.actions.view.problems');
      await ui.waitForText('.markers-panel', 'residual.ts', 15000);
      await ui.screenshot('shape-check-tfjs-problems-panel');
    }
  });
});
