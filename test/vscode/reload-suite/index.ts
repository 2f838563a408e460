import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeSuiteSummary } from '../suite/summary';
import * as vscode from 'vscode';
import { ui } from '../suite/ui';
import { repoRoot } from '../../support/paths';
import { execFileSync } from 'node:child_process';

// Two phases around a window reload: the extension tests start again after it, and a
// marker file says which phase this is. Phase 1 opens the panel on a recorded probe;
// phase 2 checks that VS Code restored it (serializer + setState) without a command.
export async function run(): Promise<void> {
  const summaryPath = process.env.RESIDUAL_LENS_TEST_SUMMARY!;
  const marker = join(dirname(summaryPath), 'reload-phase-1.done');
  if (!existsSync(marker)) {
    const extension = vscode.extensions.getExtension('residual-lens.residual-lens')!;
    await extension.activate();
    // A real probe result, written by the CLI (a few seconds of training).
    const record = join(dirname(summaryPath), 'reload-probe.json');
    execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'probe', '--depths', '8', '--steps', '6', '--quiet', '--json', record], { stdio: 'inherit' });
    const opened = await vscode.commands.executeCommand('residualLens.showGradientFlow', vscode.Uri.file(record));
    console.log(`reload phase 1: opened ${record}: ${String(opened)}; tabs: ${vscode.window.tabGroups.all.flatMap((g) => g.tabs.map((t) => t.label)).join(', ')}`);
    try {
      await ui.frameWaitForText('plain-8', 30000);
    } finally {
      await ui.screenshot('probe-panel-before-reload');
    }
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, 'phase 1 done');
    await vscode.commands.executeCommand('workbench.action.reloadWindow');
    await new Promise(() => {}); // the reload ends this extension host
  }
  rmSync(marker);
  const summary = { passed: 0, failed: 0, skipped: 0 };
  try {
    let text: string;
    try {
      text = await ui.frameWaitForText('plain-8', 60000);
    } finally {
      await ui.screenshot('probe-panel-after-reload');
    }
    assert.match(text, /residual-8/);
    summary.passed = 1;
    console.log('  ✔ the gradient-flow panel is restored after a window reload');
  } catch (err) {
    summary.failed = 1;
    console.error(`  ✖ the panel was not restored after a reload: ${err instanceof Error ? err.stack : String(err)}`);
  }
  writeSuiteSummary(summary);
  if (summary.failed) throw new Error('reload check failed');
}
