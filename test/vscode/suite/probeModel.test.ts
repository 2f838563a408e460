import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ResidualLensApi } from '../../../src/extension/main';
import { ui, uiBridgeUrl } from './ui';
import { tinyResidualWithoutInputShape } from '../../support/probeModelSources';

const panelHook = 'globalThis.residualLensPanel';

/** The extension's API, activating it if no model file has done so yet. */
function residualLens(): Thenable<ResidualLensApi> {
  return vscode.extensions.getExtension<ResidualLensApi>('residual-lens.residual-lens')!.activate();
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, intervalMs));
  }
}

suite('Probe This Model: the example CIFAR ResNet-20 from the command palette', () => {
  const examplePath = (): string => join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'pytorch', 'resnet_cifar.py');

  // The default settings (100 steps): the timed run is what a user gets; it is stopped from the panel once checked.

  test('the CodeLens above the model offers "Probe depth" for it', async () => {
    const uri = vscode.Uri.file(examplePath());
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const classLine = document.getText().split('\n').findIndex((l) => l.startsWith('class CifarResNet('));
    const lenses = await waitFor(
      async () => {
        const found = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
        return found.some((l) => l.command?.title === '$(pulse) Probe depth') ? found : undefined;
      },
      30000,
      'the Probe depth lens',
      300,
    );
    const probe = lenses.find((l) => l.command?.title === '$(pulse) Probe depth' && l.range.start.line === classLine);
    assert.ok(probe, `lenses: ${lenses.map((l) => `${l.range.start.line}: ${l.command?.title}`).join(', ')}`);
    assert.equal(probe.command?.command, 'residualLens.probeModel');
    assert.equal(probe.command?.arguments?.[1], 'CifarResNet');
    assert.ok(!lenses.some((l) => l.command?.arguments?.[1] === 'BasicBlock'), 'no lens on the block used inside the model');

    // residualLens.codeLens turns them off.
    const config = vscode.workspace.getConfiguration('residualLens');
    await config.update('codeLens', false, vscode.ConfigurationTarget.Global);
    try {
      const off = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      assert.ok(!off.some((l) => l.command?.command === 'residualLens.probeModel'), 'no Probe depth lens with the setting off');
    } finally {
      await config.update('codeLens', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('cursor in the class, command palette: the panel shows the gradient flow with source names, and a click on a layer moves the cursor to its line', async function () {
    if (!uiBridgeUrl) this.skip();
    this.timeout(300000);
    const uri = vscode.Uri.file(examplePath());
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const lines = document.getText().split('\n');
    const cursorLine = lines.findIndex((l) => l.trim() === 'out = self.layer2(out)');
    editor.selection = new vscode.Selection(cursorLine, 8, cursorLine, 8);
    const api = await residualLens();

    await ui.press('F1');
    await ui.type('Residual Lens: Probe This Model');
    await ui.waitForText('.quick-input-widget', 'Probe This Model', 15000);
    const started = Date.now();
    await ui.press('Enter');
    // Time to the first gradient-flow chart: the page has drawn the model's init gradients.
    await waitFor(() => ui.frameEvaluate<boolean>('.chart-gradient canvas', 'true', 2000).catch(() => false), 120000, 'the panel page', 50);
    const pageMs = Date.now() - started;
    await waitFor(
      () =>
        ui
          .frameEvaluate<boolean>('.chart-gradient canvas', `${panelHook}.inspectChart('gradient').datasets.some((d) => d.variantId === 'model' && d.points.some((p) => p.y !== null))`, 2000)
          .catch(() => false),
      120000,
      'the first gradient-flow chart',
      50,
    );
    const firstChartMs = Date.now() - started;
    console.log(`Probe This Model, CIFAR ResNet-20 (PyTorch): command to first gradient-flow chart ${(firstChartMs / 1000).toFixed(2)} s (the panel page was up after ${(pageMs / 1000).toFixed(2)} s)`);
    await ui.screenshot('probe-model-first-chart');

    const labels = await ui.frameEvaluate<string[]>('.chart-gradient canvas', `${panelHook}.gradientAxisLabels()`);
    for (const name of ['conv1', 'layer1.0.conv1', 'layer2.0.conv1', 'layer3.2.conv2', 'linear']) assert.ok(labels.includes(name), `axis labels: ${labels.join(', ')}`);
    const pageText = await ui.frameWaitForText('Gradient flow: CifarResNet', 10000);
    assert.match(pageText, /plain twin/);
    // The default plan trains ResNet-20 at a small batch: the panel's notes say so and name the smaller input.
    assert.match(pageText, /batch size \d+ only: .*Scale Down \(input size ÷ \d, input \(2, 3, \d+, \d+\)\) allows batch \d+/);
    assert.equal(api.probePanel.runSource?.model, 'CifarResNet');

    // A click on layer2.0.conv1's point of the gradient chart: the editor moves to its definition.
    const target = lines.findIndex((l) => l.trim().startsWith('self.conv1 = nn.Conv2d(in_planes, planes'));
    await ui.frameClick('.chart-gradient canvas', `${panelHook}.layerPointOnPage('model', 'layer2.0.conv1')`);
    const moved = await waitFor(
      () => {
        const active = vscode.window.activeTextEditor;
        return active?.document.uri.fsPath === uri.fsPath && active.selection.active.line === target ? active : undefined;
      },
      10000,
      `the cursor on line ${target + 1}`,
    );
    assert.equal(moved.selection.active.character, lines[target]!.indexOf('self.conv1'), 'at the start of the definition');
    const visible = moved.visibleRanges[0]!;
    assert.ok(visible.start.line <= target && target <= visible.end.line, 'the line is in view');
    await ui.screenshot('probe-model-layer-revealed');

    // The layer list does the same for the classifier.
    const linearLine = lines.findIndex((l) => l.trim().startsWith('self.linear = nn.Linear('));
    await ui.frameClick('.layer-link[data-layer="linear"]');
    await waitFor(() => vscode.window.activeTextEditor?.selection.active.line === linearLine, 10000, `the cursor on line ${linearLine + 1}`);

    // The panel's Stop: the run ends with partial curves.
    await ui.frameClick('vscode-button:has-text("Stop")');
    await ui.frameWaitForText('Cancelled at step', 60000);
    await ui.screenshot('probe-model-stopped');

    // The small-batch offer: Scale Down probes the model on the smaller input at a larger batch.
    await vscode.commands.executeCommand('notifications.showList');
    try {
      const offer = await ui.waitForText('.notifications-center', 'trains at batch', 20000);
      assert.match(offer, /CifarResNet trains at batch \d+ on its input \(2, 3, 32, 32\).*probe it on input \(2, 3, (16|8), \1\) at batch \d+/);
      await ui.screenshot('probe-model-small-batch-offer');
      await ui.click('.notifications-center .monaco-button:has-text("Scale Down")');
      await waitFor(() => (api.probePanel.isRunning && api.probePanel.lastRun?.plan?.batchSize !== undefined && api.probePanel.lastRun.plan.batchSize >= 16 ? true : undefined), 60000, 'the scaled-down run');
    } finally {
      await vscode.commands.executeCommand('notifications.hideList');
    }
    // Stopped once the model and its twin have trained a step, so the verdict lens (next test) has losses to compare.
    const stepped = (variant: string) => api.probePanel.lastRun?.messages.some((m) => m.type === 'step' && m.variant === variant);
    await waitFor(() => (stepped('model') && stepped('model-plain') ? true : undefined), 120000, 'a step of the scaled-down model and its twin');
    await ui.frameWaitForText('scaled down: probed on input (2, 3,', 10000);
    await ui.screenshot('probe-model-scaled-down');
    await vscode.commands.executeCommand('residualLens.stopProbe');
    await waitFor(() => (!api.probePanel.isRunning ? true : undefined), 60000, 'the scaled-down probe to stop');
  });

  test('after the probe, the CodeLens shows its verdict; an edit marks the panel’s results as from an older version of the code', async function () {
    if (!uiBridgeUrl) this.skip();
    this.timeout(60000);
    const uri = vscode.Uri.file(examplePath());
    const verdict = await waitFor(
      async () => {
        const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
        return lenses.find((l) => /^residual \d/.test(l.command?.title ?? ''));
      },
      20000,
      'the verdict lens',
      300,
    );
    assert.match(verdict.command!.title, /^residual \d+\.\d\d vs plain twin \d+\.\d\d: .*\(stopped early\)$/);
    console.log(`Probe This Model verdict lens: ${verdict.command!.title}`);
    // What the user sees: the lens above the class in the editor.
    await ui.waitForText('.codelens-decoration', 'vs plain twin', 20000);
    await ui.screenshot('probe-model-verdict-lens');

    // The host opens only what a layer of the run names: a page cannot make it open anything else.
    const api = await residualLens();
    assert.equal(await api.probePanel.revealSource('file:///etc/passwd', 0), false);
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.uri.path === '/etc/passwd'), 'not opened');

    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    await editor.edit((edit) => edit.insert(new vscode.Position(document.lineCount, 0), '# an edit after the probe\n'));
    await waitFor(() => api.probePanel.runSource?.stale, 5000, 'the run marked stale');
    await ui.frameWaitForText('older version of the code', 10000);
    await ui.screenshot('probe-model-stale');
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  async function stopTheProbe(api: ResidualLensApi): Promise<void> {
    await vscode.commands.executeCommand('residualLens.stopProbe');
    await waitFor(() => !api.probePanel.isRunning, 60000, 'the probe to stop');
  }

  test('a model whose file does not say its input: an input box asks for the shape (validated) and it is remembered for the class', async function () {
    await vscode.workspace.getConfiguration('residualLens.probe').update('steps', 20, vscode.ConfigurationTarget.Global);
    if (!uiBridgeUrl) this.skip();
    this.timeout(120000);
    const api = await residualLens();
    const document = await vscode.workspace.openTextDocument({
      language: 'python',
      content: tinyResidualWithoutInputShape,
    });
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    editor.selection = new vscode.Selection(11, 8, 11, 8);
    const outcome = vscode.commands.executeCommand<{ started: boolean; reason?: string; inputShape?: number[] }>('residualLens.probeModel');
    await ui.waitForText('.quick-input-widget', 'input shape of TinyResidual', 20000);
    await ui.type('1, 3, 0');
    await ui.waitForText('.quick-input-widget', 'Positive whole numbers', 5000);
    await ui.screenshot('probe-model-input-shape-invalid');
    await ui.press('Control+A');
    await ui.type('1, 3, 16, 16');
    await ui.press('Enter');
    const started = await outcome;
    assert.equal(started?.started, true, started?.reason);
    assert.deepEqual(started?.inputShape, [1, 3, 16, 16]);
    await stopTheProbe(api);

    // The second time, the shape given before is used without asking.
    const again = await vscode.commands.executeCommand<{ started: boolean; reason?: string; inputShape?: number[] }>('residualLens.probeModel', document.uri, 'TinyResidual');
    assert.equal(again?.started, true, again?.reason);
    assert.deepEqual(again?.inputShape, [1, 3, 16, 16]);
    await stopTheProbe(api);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.workspace.getConfiguration('residualLens.probe').update('steps', undefined, vscode.ConfigurationTarget.Global);
  });

  test('a layer that cannot be built is named, with the offer to probe the buildable prefix', async function () {
    if (!uiBridgeUrl) this.skip();
    this.timeout(120000);
    const api = await residualLens();
    const document = await vscode.workspace.openTextDocument({
      language: 'python',
      content: [
        'import torch',
        'import torch.nn as nn',
        '',
        'class Tagger(nn.Module):',
        '    def __init__(self):',
        '        super().__init__()',
        '        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)',
        '        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)',
        '        self.pool = nn.AdaptiveAvgPool2d(1)',
        '        self.head = nn.Bilinear(8, 8, 10)',
        '',
        '    def forward(self, x):',
        '        x = self.conv1(x)',
        '        x = x + self.conv2(x)',
        '        x = torch.flatten(self.pool(x), 1)',
        '        return self.head(x, x)',
        '',
        'if __name__ == "__main__":',
        '    Tagger()(torch.randn(2, 3, 16, 16))',
        '',
      ].join('\n'),
    });
    await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const outcome = vscode.commands.executeCommand<{ started: boolean; reason?: string; variants?: string[] }>('residualLens.probeModel', document.uri, 'Tagger');
    // The notification centre lists it whether or not a toast is showing.
    await new Promise((ok) => setTimeout(ok, 1000));
    await vscode.commands.executeCommand('notifications.showList');
    const toast = await ui.waitForText('.notifications-center', 'cannot build all of Tagger', 20000);
    assert.match(toast, /head \(Bilinear\) \(line 10\)/);
    await ui.screenshot('probe-model-unsupported');
    await ui.click('.notifications-center .monaco-button:has-text("Probe Buildable Prefix")');
    const started = await outcome;
    assert.equal(started?.started, true, started?.reason);
    assert.deepEqual(started?.variants, ['model', 'model-plain']);
    await stopTheProbe(api);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
