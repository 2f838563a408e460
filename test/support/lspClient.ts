import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { PublishDiagnosticsParams, InitializeResult, Range } from 'vscode-languageserver-protocol';
import { distDir } from './paths';
import { analysisProcessFlags } from '../../src/core/analysisProcess';

/** The real language server bundle, started as a process and spoken to over stdio JSON-RPC. */
export class LanguageServerProcess {
  readonly diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  readonly logs: string[] = [];
  /** What the test client answers to workspace/configuration, by section. */
  configuration: Record<string, unknown> = {};
  private readonly listeners: Array<(params: PublishDiagnosticsParams) => void> = [];

  private constructor(
    readonly child: ChildProcess,
    readonly connection: MessageConnection,
  ) {
    connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      const list = this.diagnostics.get(params.uri) ?? [];
      list.push(params);
      this.diagnostics.set(params.uri, list);
      for (const listener of this.listeners) listener(params);
    });
    connection.onNotification('window/logMessage', (params: { message: string }) => {
      this.logs.push(params.message);
    });
    connection.onRequest('workspace/configuration', (params: { items: Array<{ section?: string }> }) =>
      params.items.map((item) => this.configuration[item.section ?? ''] ?? {}),
    );
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('window/workDoneProgress/create', () => null);
  }

  static async start(
    initializationOptions: unknown = {},
    rootPath?: string,
    configuration: Record<string, unknown> = {},
  ): Promise<{ server: LanguageServerProcess; initialize: InitializeResult }> {
    // With the flags the extension starts it with.
    const child = spawn(process.execPath, [...analysisProcessFlags, join(distDir, 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const server = new LanguageServerProcess(child, connection);
    server.configuration = configuration;
    connection.listen();
    const initialize = (await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: rootPath ? `file://${rootPath}` : null,
      capabilities: { textDocument: { publishDiagnostics: { versionSupport: true } }, workspace: { configuration: true } },
      initializationOptions,
      workspaceFolders: rootPath ? [{ uri: `file://${rootPath}`, name: 'ws' }] : null,
    })) as InitializeResult;
    await connection.sendNotification('initialized', {});
    return { server, initialize };
  }

  open(uri: string, languageId: string, text: string, version = 1): Promise<void> {
    return this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
  }

  change(uri: string, version: number, text: string): Promise<void> {
    return this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  /** Incremental sync, as VS Code sends it: ranges of the text as each earlier change left it. */
  edit(uri: string, version: number, changes: { range: Range; text: string }[]): Promise<void> {
    return this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: changes });
  }

  close(uri: string): Promise<void> {
    return this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  /** The next diagnostics published for `uri` that satisfy `accept`. */
  nextDiagnostics(uri: string, accept: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 10000): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms; server log:\n${this.logs.join('\n')}`)), timeoutMs);
      const listener = (params: PublishDiagnosticsParams): void => {
        if (params.uri === uri && accept(params)) {
          clearTimeout(timer);
          this.listeners.splice(this.listeners.indexOf(listener), 1);
          resolve(params);
        }
      };
      this.listeners.push(listener);
    });
  }

  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    await this.connection.sendRequest('shutdown');
    await this.connection.sendNotification('exit');
    const code = await exited;
    this.connection.dispose();
    return code;
  }
}
