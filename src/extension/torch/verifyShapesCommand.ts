import * as vscode from 'vscode';
import { staticAdditionsMethod, type StaticAdditionsResult } from '../../server/verifyProtocol';
import { formatVerification, summarizeVerification, VerificationError, verifyShapes, type ShapeVerification, type StaticAdditions } from '../../torch/shapeVerification';
import { checkTorchAsync } from '../../torch/torchEngine';
import type { AnalysisClient } from '../analysisClient';
import { choosePythonForExtension } from './pythonInterpreter';

const commandId = 'residualLens.verifyShapesWithTorch';

/** What the command resolves to (for tests and other extensions); messages are not awaited. */
export type VerifyShapesOutcome = { verification: ShapeVerification } | { refused: string };

/**
 * "Verify Shapes with PyTorch": runs the model file in a child Python with torch and
 * compares the real shapes at each addition with the static analysis, which the language
 * server computes meanwhile (nothing is analysed in the extension host). It executes
 * workspace code, so it is refused in an untrusted workspace. Cancelling the progress
 * cancels the server's request and kills the Python process.
 */
export function registerVerifyShapes(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, analysis: AnalysisClient): void {
  let report: vscode.OutputChannel | undefined;
  let busy = false;

  const refuse = (reason: string): VerifyShapesOutcome => {
    log.info(`verify shapes: refused: ${reason}`);
    return { refused: reason };
  };

  const run = async (target?: vscode.Uri): Promise<VerifyShapesOutcome> => {
    if (!vscode.workspace.isTrusted) {
      const reason = 'Verify Shapes with PyTorch runs the model file’s code, so it is off in an untrusted workspace. Trust the workspace to use it; the static shape check still runs.';
      void vscode.window.showWarningMessage(`Residual Lens: ${reason}`, 'Manage Workspace Trust').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
      });
      return refuse(reason);
    }
    const uri = target ?? vscode.window.activeTextEditor?.document.uri;
    if (!uri || uri.scheme !== 'file' || !uri.fsPath.endsWith('.py')) {
      const reason = 'open a PyTorch model file (.py) to verify its shapes with PyTorch.';
      void vscode.window.showErrorMessage(`Residual Lens: ${reason}`);
      return refuse(reason);
    }
    if (busy) {
      void vscode.window.showInformationMessage('Residual Lens: a shape verification is already running.');
      return refuse('a shape verification is already running');
    }
    busy = true;
    try {
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      if (open?.isDirty) log.info(`verify shapes: ${uri.fsPath} has unsaved changes; torch imports the saved file, so the saved version is verified`);
      const python = choosePythonForExtension(uri);
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Residual Lens: verifying shapes with PyTorch…', cancellable: true },
        async (_progress, token) => {
          const check = await checkTorchAsync(python);
          if (token.isCancellationRequested) return { kind: 'cancelled' } as const;
          if (!check.ok) return { kind: 'problem', problem: check.message } as const;
          const abort = new AbortController();
          const cancelling = token.onCancellationRequested(() => abort.abort());
          const requestCancel = new vscode.CancellationTokenSource();
          const cancelRequest = token.onCancellationRequested(() => requestCancel.cancel());
          try {
            const staticAdditions = analysis.request<StaticAdditionsResult>(staticAdditionsMethod, { uri: uri.toString() }, requestCancel.token).then((answer): StaticAdditions => {
              if ('error' in answer) throw new VerificationError(`the static analysis could not read the file: ${answer.error}`);
              log.info(`verify shapes: the language server's static pass took ${answer.ms.toFixed(0)} ms`);
              return answer.additions;
            });
            const verification = await verifyShapes({ file: uri.fsPath, python, staticAdditions, signal: abort.signal });
            return { kind: 'verified', verification } as const;
          } catch (err) {
            if (token.isCancellationRequested) return { kind: 'cancelled' } as const;
            throw err;
          } finally {
            cancelling.dispose();
            cancelRequest.dispose();
            requestCancel.dispose();
          }
        },
      );
      if (outcome.kind === 'cancelled') return refuse('cancelled');
      if (outcome.kind === 'problem') {
        log.warn(`verify shapes: ${outcome.problem}`);
        void vscode.window.showErrorMessage(`Residual Lens: cannot verify with PyTorch: ${outcome.problem}`);
        return { refused: outcome.problem };
      }
      const v = outcome.verification;
      report ??= vscode.window.createOutputChannel('Residual Lens: PyTorch Verification');
      report.clear();
      report.appendLine(formatVerification(v));
      report.show(true);
      const summary = summarizeVerification(v);
      log.info(`verify shapes: ${uri.fsPath}: ${summary}`);
      if (v.importError) {
        const line = v.importError.line;
        void vscode.window
          .showErrorMessage(`Residual Lens: ${uri.fsPath.split('/').pop()} raised on import: ${v.importError.message}${line ? ` (line ${line})` : ''}`, ...(line ? ['Go to Line'] : []))
          .then(async (choice) => {
            if (!choice || !line) return;
            const editor = await vscode.window.showTextDocument(uri);
            const position = new vscode.Position(line - 1, 0);
            editor.selection = new vscode.Selection(position, position);
            editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenter);
          });
        return { verification: v };
      }
      const show = v.counts.disagree > 0 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      void show(`Residual Lens: ${summary}.`);
      return { verification: v };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.error(`verify shapes: ${message}`);
      void vscode.window.showErrorMessage(`Residual Lens: shape verification failed: ${message}`);
      return { refused: message };
    } finally {
      busy = false;
    }
  };

  context.subscriptions.push(vscode.commands.registerCommand(commandId, run), { dispose: () => report?.dispose() });
}
