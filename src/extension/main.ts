import * as vscode from 'vscode';
import { startAnalysisClient, type AnalysisClient } from './analysisClient';
import { registerCommands } from './commands';
import type { GradientFlowService } from './panel/gradientFlowService';
import { registerDepthProbe } from './probe/depthProbe';
import { registerProbeModel } from './probe/probeModel';
import { registerVerifyShapes } from './torch/verifyShapesCommand';

/** What the extension hands to other extensions and to its own tests. */
export interface ResidualLensApi {
  readonly activationMs: number;
  readonly analysis: AnalysisClient;
  /** The gradient-flow panel's run state (what it shows, and whether its source changed since). */
  readonly probePanel: GradientFlowService;
}

let analysis: AnalysisClient | undefined;

export function activate(context: vscode.ExtensionContext): ResidualLensApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Residual Lens', { log: true });
  context.subscriptions.push(log);
  analysis = startAnalysisClient(context, log);
  registerCommands(context, log, analysis);
  const probe = registerDepthProbe(context, log);
  registerProbeModel(context, log, analysis, probe.controller, probe.panel);
  registerVerifyShapes(context, log, analysis);
  const activationMs = performance.now() - started;
  log.info(`Residual Lens ${String(context.extension.packageJSON.version)} activated in ${activationMs.toFixed(1)} ms`);
  return { activationMs, analysis, probePanel: probe.panel };
}

export function deactivate(): Promise<void> | undefined {
  return analysis?.stop();
}
