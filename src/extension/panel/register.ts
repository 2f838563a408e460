import * as vscode from 'vscode';
import { exportFormats, type ExportFormat } from '../../core/probe/panelProtocol';
import { GradientFlowPanel, gradientFlowViewType, panelOptions } from './gradientFlowPanel';
import { GradientFlowService } from './gradientFlowService';

/**
 * The gradient-flow panel feature: the panel serializer (restores the panel after a
 * reload), "Show Gradient Flow" and "Export Probe Report". Returns the service the
 * probe command flow streams its messages into.
 */
export function registerGradientFlowPanel(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): GradientFlowService {
  const service = new GradientFlowService(context, log);
  context.subscriptions.push(
    service,
    vscode.window.registerWebviewPanelSerializer(gradientFlowViewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
        // The page restores its own saved state at once; the service sends the stored run on `ready`.
        panel.webview.options = panelOptions(context.extensionUri);
        service.adopt(new GradientFlowPanel(panel, context.extensionUri, log));
      },
    }),
    // With a file argument (a result file from the explorer, a test, or the CLI's --json record) it opens that file.
    vscode.commands.registerCommand('residualLens.showGradientFlow', async (file?: vscode.Uri) => {
      if (file instanceof vscode.Uri) return service.openResultFile(file);
      service.show();
      return true;
    }),
    vscode.commands.registerCommand('residualLens.exportProbeReport', async (format?: ExportFormat, target?: vscode.Uri) => {
      const descriptions: Record<ExportFormat, string> = {
        html: 'Self-contained report with the charts; opens in any browser',
        json: 'The probe result; opens again in the panel',
        csv: 'Every recorded value, one row each',
        png: 'The charts as an image',
      };
      const chosen =
        format && (exportFormats as readonly string[]).includes(format)
          ? format
          : (await vscode.window.showQuickPick(
              exportFormats.map((f) => ({ label: f.toUpperCase(), description: descriptions[f], format: f })).sort((a, b) => (a.format === 'html' ? -1 : b.format === 'html' ? 1 : 0)),
              { title: 'Export Probe Report', placeHolder: 'Format' },
            ))?.format;
      if (!chosen) return undefined;
      return service.exportWith(chosen, null, target);
    }),
  );
  return service;
}
