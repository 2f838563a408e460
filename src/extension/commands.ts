import * as vscode from 'vscode';
import type { AnalysisClient } from './analysisClient';

export function registerCommands(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, analysis: AnalysisClient): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('residualLens.showLog', () => log.show()),
    vscode.commands.registerCommand('residualLens.restartServer', async () => {
      await analysis.restart();
      log.info('Analysis server restarted');
    }),
  );
}
