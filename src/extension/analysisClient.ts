import * as vscode from 'vscode';
import { LanguageClient, State, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { analysisProcessFlags } from '../core/analysisProcess';

export type AnalysisServerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface AnalysisClient {
  state(): AnalysisServerState;
  /** Resolves once the server has answered `initialize` (or rejects if it could not start). */
  ready(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** A custom request to the server (the "Probe This Model" requests); waits for the server to be up. */
  request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R>;
}

const documentSelector = ['python', 'typescript', 'typescriptreact', 'javascript', 'javascriptreact'].flatMap((language) => [
  { scheme: 'file', language },
  { scheme: 'untitled', language },
]);

/** Starts the language server process and keeps its lifecycle behind a small interface. */
export function startAnalysisClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): AnalysisClient {
  const serverModule = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc, options: { env: serverEnvironment(context), execArgv: [...analysisProcessFlags] } },
    debug: {
      module: serverModule,
      transport: TransportKind.ipc,
      options: { env: serverEnvironment(context), execArgv: [...analysisProcessFlags, '--nolazy', '--inspect=6012'] },
    },
  };
  // Files changed outside the editor (git checkout, codegen) are re-checked by the workspace scan.
  const sourceWatcher = vscode.workspace.createFileSystemWatcher('**/*.{py,ts,js,mjs,cjs}');
  context.subscriptions.push(sourceWatcher);
  const clientOptions: LanguageClientOptions = {
    documentSelector,
    outputChannel: log,
    initializationOptions: vscode.workspace.getConfiguration('residualLens'),
    synchronize: { configurationSection: 'residualLens', fileEvents: sourceWatcher },
  };
  const client = new LanguageClient('residualLens', 'Residual Lens', serverOptions, clientOptions);
  let failed = false;
  let started: Promise<void> = startReportingFailure();
  context.subscriptions.push({ dispose: () => void client.stop() });

  function startReportingFailure(): Promise<void> {
    failed = false;
    const starting = client.start();
    starting.catch((err: unknown) => {
      failed = true;
      log.error(`The analysis server failed to start: ${err instanceof Error ? err.message : String(err)}`);
      void vscode.window
        .showErrorMessage(
          'Residual Lens: the analysis server failed to start, so skip connections are not being checked. Details are in Output ▸ Residual Lens.',
          'Show Log',
        )
        .then((choice) => {
          if (choice === 'Show Log') log.show();
        });
    });
    return starting;
  }

  return {
    state(): AnalysisServerState {
      if (failed) return 'failed';
      switch (client.state) {
        case State.Running:
          return 'running';
        case State.Starting:
          return 'starting';
        default:
          return 'stopped';
      }
    },
    ready: () => started,
    async restart() {
      if (client.isRunning()) await client.stop();
      started = startReportingFailure();
      await started;
    },
    async stop() {
      if (client.isRunning()) await client.stop();
    },
    async request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
      await started;
      return token ? client.sendRequest<R>(method, params, token) : client.sendRequest<R>(method, params);
    },
  };
}

function serverEnvironment(context: vscode.ExtensionContext): NodeJS.ProcessEnv {
  return { ...process.env, RESIDUAL_LENS_VERSION: String(context.extension.packageJSON.version) };
}
