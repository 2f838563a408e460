import * as vscode from 'vscode';
import { startAnalysisClient, type AnalysisClient } from './analysisClient';
import { registerCommands } from './commands';
import { registerDepthProbe } from './probe/depthProbe';
import { registerVerifyShapes } from './torch/verifyShapesCommand';

/** What the extension hands to other extensions and to its own tests. */
export interface ResidualLensApi {
  readonly activationMs: number;
  readonly analysis: AnalysisClient;
}

let analysis: AnalysisClient | undefined;

export function activate(context: vscode.ExtensionContext): ResidualLensApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Residual Lens', { log: true });
  context.subscriptions.push(log);
  analysis = startAnalysisClient(context, log);
  registerCommands(context, log, analysis);
  registerDepthProbe(context, log);
  registerVerifyShapes(context, log);
  const activationMs = performance.now() - started;
  log.info(`Residual Lens ${String(context.extension.packageJSON.version)} activated in ${activationMs.toFixed(1)} ms`);
  return { activationMs, analysis };
}

export function deactivate(): Promise<void> | undefined {
  return analysis?.stop();
}
