import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  CodeActionKind,
  FileChangeType,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { join } from 'node:path';
import { Grammars } from '../core/parse/grammars';
import { registerBuiltinCheckers } from '../core/checkers';
import { DocumentAnalyzer } from './documentAnalyzer';
import { readSettings, type ServerSettings } from './settings';
import { codeActionsFor } from './codeActions';
import { hoverFor, inlayHintsFor } from './shapeViews';
import { scanWorkspace } from './workspaceScanner';
import { registerModelRequests } from './modelRequests';
import { registerVerifyRequests } from './verifyRequests';
import { URI } from 'vscode-uri';

// The analysis process: the extension starts it over IPC, and tests start the same
// bundle and speak JSON-RPC to it over stdio.
const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
registerBuiltinCheckers();

let analyzer: DocumentAnalyzer | undefined;
let settings: ServerSettings = readSettings(undefined);
let workspaceFolders: string[] = [];
let canRefreshInlayHints = false;
let grammarsReady: Promise<Grammars> | undefined;

connection.onInitialize((params): InitializeResult => {
  settings = readSettings(params.initializationOptions);
  canRefreshInlayHints = params.capabilities.workspace?.inlayHint?.refreshSupport === true;
  workspaceFolders = (params.workspaceFolders ?? []).map((f) => URI.parse(f.uri)).filter((u) => u.scheme === 'file').map((u) => u.fsPath);
  const grammarDir = join(__dirname, 'grammars');
  grammarsReady = Grammars.load(grammarDir);
  const isOpen = (uri: string): boolean => documents.get(uri) !== undefined;
  analyzer = new DocumentAnalyzer(grammarsReady, connection, () => settings, isOpen, () => {
    // Hints are asked for before the debounced analysis lands; ask the editor again after.
    if (canRefreshInlayHints && settings.inlayHints) void connection.languages.inlayHint.refresh();
  });
  grammarsReady.catch((err: unknown) => {
    connection.console.error(`Residual Lens: could not load the tree-sitter grammars from ${grammarDir}: ${String(err)}`);
  });
  return {
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      hoverProvider: true,
      inlayHintProvider: true,
    },
    serverInfo: { name: 'Residual Lens analysis server', version: process.env.RESIDUAL_LENS_VERSION ?? 'dev' },
  };
});

connection.onDidChangeConfiguration((change) => {
  const section = (change.settings as { residualLens?: unknown } | undefined)?.residualLens;
  if (section !== undefined) settings = readSettings(section);
  for (const document of documents.all()) analyzer?.schedule(document, 0);
});

documents.onDidOpen((event) => analyzer?.schedule(event.document, 0));
documents.onDidChangeContent((event) => analyzer?.schedule(event.document, settings.debounceMs));
documents.onDidSave((event) => analyzer?.schedule(event.document, 0));
documents.onDidClose((event) => {
  analyzer?.closed(event.document.uri);
  // A closed file keeps its on-disk findings in the Problems panel when the scan is on.
  const path = event.document.uri.startsWith('file:') ? URI.parse(event.document.uri).fsPath : undefined;
  if (settings.workspaceScan && path) {
    analyzer?.cancel(event.document.uri);
    void analyzer?.analyzeFileOnDisk(path);
  } else {
    void analyzer?.clear(event.document.uri);
  }
});

connection.onInitialized(() => {
  if (!settings.workspaceScan || !analyzer) return;
  void scanWorkspace(connection, analyzer, workspaceFolders, (uri) => documents.get(uri) !== undefined);
});

connection.onDidChangeWatchedFiles((change) => {
  for (const event of change.changes) {
    if (documents.get(event.uri) || !event.uri.startsWith('file:')) continue; // open documents follow the editor
    if (event.type === FileChangeType.Deleted) void analyzer?.clear(event.uri);
    else if (settings.workspaceScan) void analyzer?.analyzeFileOnDisk(URI.parse(event.uri).fsPath);
  }
});

connection.onCodeAction((params) => {
  const document = documents.get(params.textDocument.uri);
  if (!document) return [];
  return codeActionsFor(params, analyzer?.lastResult(document.uri, document.version));
});

connection.onHover((params) => {
  const document = documents.get(params.textDocument.uri);
  return document ? hoverFor(analyzer?.lastResult(document.uri, document.version), params.position) : null;
});

connection.languages.inlayHint.on((params) => {
  const document = documents.get(params.textDocument.uri);
  if (!document || !settings.inlayHints) return [];
  return inlayHintsFor(analyzer?.lastResult(document.uri, document.version), params.range);
});

registerModelRequests(connection, documents, () => grammarsReady, () => settings);
registerVerifyRequests(connection, () => grammarsReady, () => settings);

documents.listen(connection);
connection.listen();
