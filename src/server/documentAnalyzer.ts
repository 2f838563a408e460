import type { Connection, Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { readFileSync, statSync } from 'node:fs';
import { URI } from 'vscode-uri';
import { analyzeDocument, defaultAnalysisOptions, type AnalysisResult } from '../core/analysis';
import { grammarFor, type Grammars } from '../core/parse/grammars';
import { DocumentTrees } from '../core/parse/documentTrees';
import { toLspDiagnostic } from './convert';
import type { ServerSettings } from './settings';

/**
 * Debounced, newest-wins analysis of open documents, plus one-off analysis of files
 * on disk for the workspace scan. Each open document has at most one pending timer;
 * a result is published only if the document is still at the version that was
 * analysed, so a stale result never reaches the editor.
 */
export class DocumentAnalyzer {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly results = new Map<string, { version: number; result: AnalysisResult }>();
  /** The last tree of each open document: an edit re-parses only what it touched. */
  private readonly trees = new DocumentTrees();

  constructor(
    private readonly grammars: Promise<Grammars>,
    private readonly connection: Connection,
    private readonly settings: () => ServerSettings,
    private readonly isOpen: (uri: string) => boolean,
    private readonly onPublished: () => void = () => {},
  ) {}

  schedule(document: TextDocument, delayMs: number): void {
    this.cancel(document.uri);
    this.timers.set(
      document.uri,
      setTimeout(() => {
        this.timers.delete(document.uri);
        void this.analyzeOpenDocument(document);
      }, delayMs),
    );
  }

  cancel(uri: string): void {
    const pending = this.timers.get(uri);
    if (pending) clearTimeout(pending);
    this.timers.delete(uri);
  }

  /** The document was closed: its tree is freed (the wasm heap does not shrink by itself). */
  closed(uri: string): void {
    this.trees.delete(uri);
  }

  async clear(uri: string): Promise<void> {
    this.cancel(uri);
    this.trees.delete(uri);
    this.results.delete(uri);
    await this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  lastResult(uri: string, version: number): AnalysisResult | undefined {
    const entry = this.results.get(uri);
    return entry && entry.version === version ? entry.result : undefined;
  }

  /** Analyses a file that is not open in the editor and publishes its findings. */
  async analyzeFileOnDisk(path: string): Promise<AnalysisResult | undefined> {
    const uri = URI.file(path).toString();
    const settings = this.settings();
    let text: string;
    try {
      const size = statSync(path).size;
      if (size > settings.maxFileBytes) {
        this.connection.console.log(`${path}: skipped (${(size / 1024 / 1024).toFixed(1)} MB is over the limit)`);
        return undefined;
      }
      text = readFileSync(path, 'utf8');
    } catch (err) {
      this.connection.console.log(`${path}: not readable (${err instanceof Error ? err.message : String(err)})`);
      return undefined;
    }
    const result = await this.analyze(uri, grammarFor(path), text, false);
    // Opened meanwhile: the editor's text wins over what is on disk.
    if (this.isOpen(uri)) return result;
    if (result && (result.findings.length > 0 || this.results.has(uri))) {
      this.results.set(uri, { version: -1, result });
      await this.connection.sendDiagnostics({ uri, diagnostics: result.findings.map(toLspDiagnostic) });
    }
    return result;
  }

  private async analyzeOpenDocument(document: TextDocument): Promise<void> {
    const version = document.version;
    const result = await this.analyze(document.uri, grammarFor(document.languageId) ?? grammarFor(document.uri), document.getText(), true);
    if (!result) return;
    if (version !== document.version) return; // an edit arrived meanwhile; its own run will publish
    this.results.set(document.uri, { version, result });
    const diagnostics: Diagnostic[] = result.findings.map(toLspDiagnostic);
    await this.connection.sendDiagnostics({ uri: document.uri, version, diagnostics });
    this.onPublished();
  }

  private async analyze(uri: string, grammar: ReturnType<typeof grammarFor>, text: string, open: boolean): Promise<AnalysisResult | undefined> {
    if (!grammar) return undefined;
    const settings = this.settings();
    if (!settings.enable) {
      await this.connection.sendDiagnostics({ uri, diagnostics: [] });
      return undefined;
    }
    let grammars: Grammars;
    try {
      grammars = await this.grammars;
    } catch {
      return undefined; // already reported once at startup
    }
    // Only open documents keep a tree (the workspace scan reads thousands of files); one
    // closed while the grammars loaded keeps none.
    const keepTree = open && this.isOpen(uri);
    const result = analyzeDocument(
      { uri, grammar, text },
      grammars,
      { ...defaultAnalysisOptions, maxFileBytes: settings.maxFileBytes, readWorkspaceFile: readFileBesides },
      keepTree ? this.trees : undefined,
    );
    for (const line of result.log) this.connection.console.log(line);
    return result;
  }
}

/** Reads a workspace file an analysed file imports (`from .blocks import BasicBlock`); undefined when absent or too large. */
export function readFileBesides(path: string): string | undefined {
  try {
    const fsPath = path.startsWith('file:') ? URI.parse(path).fsPath : path;
    if (statSync(fsPath).size > defaultAnalysisOptions.maxFileBytes) return undefined;
    return readFileSync(fsPath, 'utf8');
  } catch {
    return undefined;
  }
}
