import type { Connection, Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { readFileSync, statSync } from 'node:fs';
import { URI } from 'vscode-uri';
import { analyzeDocument, defaultAnalysisOptions, type AnalysisResult } from '../core/analysis';
import { grammarFor, type Grammars } from '../core/parse/grammars';
import { toLspDiagnostic } from './convert';
import type { ServerSettings } from './settings';

/**
 * Debounced, newest-wins analysis of open documents. Each document has at most one
 * pending timer; a result is published only if the document is still at the version
 * that was analysed, so a stale result never reaches the editor.
 */
export class DocumentAnalyzer {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly results = new Map<string, { version: number; result: AnalysisResult }>();

  constructor(
    private readonly grammars: Promise<Grammars>,
    private readonly connection: Connection,
    private readonly settings: () => ServerSettings,
  ) {}

  schedule(document: TextDocument, delayMs: number): void {
    const pending = this.timers.get(document.uri);
    if (pending) clearTimeout(pending);
    this.timers.set(
      document.uri,
      setTimeout(() => {
        this.timers.delete(document.uri);
        void this.analyze(document);
      }, delayMs),
    );
  }

  forget(uri: string): void {
    const pending = this.timers.get(uri);
    if (pending) clearTimeout(pending);
    this.timers.delete(uri);
    this.results.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  lastResult(uri: string, version: number): AnalysisResult | undefined {
    const entry = this.results.get(uri);
    return entry && entry.version === version ? entry.result : undefined;
  }

  private async analyze(document: TextDocument): Promise<void> {
    const grammar = grammarFor(document.languageId) ?? grammarFor(document.uri);
    if (!grammar) return;
    const settings = this.settings();
    if (!settings.enable) {
      await this.connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
      return;
    }
    let grammars: Grammars;
    try {
      grammars = await this.grammars;
    } catch {
      return; // already reported once at startup
    }
    const version = document.version;
    const result = analyzeDocument(
      { uri: document.uri, grammar, text: document.getText() },
      grammars,
      { ...defaultAnalysisOptions, maxFileBytes: settings.maxFileBytes, readWorkspaceFile: readFileBesides },
    );
    for (const line of result.log) this.connection.console.log(line);
    if (version !== document.version) return; // an edit arrived meanwhile; its own run will publish
    this.results.set(document.uri, { version, result });
    const diagnostics: Diagnostic[] = result.findings.map(toLspDiagnostic);
    await this.connection.sendDiagnostics({ uri: document.uri, version, diagnostics });
  }
}

function readFileBesides(path: string): string | undefined {
  try {
    const fsPath = path.startsWith('file:') ? URI.parse(path).fsPath : path;
    if (statSync(fsPath).size > defaultAnalysisOptions.maxFileBytes) return undefined;
    return readFileSync(fsPath, 'utf8');
  } catch {
    return undefined;
  }
}
