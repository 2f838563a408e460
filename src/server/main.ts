import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { join } from 'node:path';
import { Grammars } from '../core/parse/grammars';
import { registerBuiltinCheckers } from '../core/checkers';
import { DocumentAnalyzer } from './documentAnalyzer';
import { readSettings, type ServerSettings } from './settings';

// The analysis process: the extension starts it over IPC, and tests start the same
// bundle and speak JSON-RPC to it over stdio.
const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
registerBuiltinCheckers();

let analyzer: DocumentAnalyzer | undefined;
let settings: ServerSettings = readSettings(undefined);

connection.onInitialize((params): InitializeResult => {
  settings = readSettings(params.initializationOptions);
  const grammarDir = join(__dirname, 'grammars');
  const grammarsReady = Grammars.load(grammarDir);
  analyzer = new DocumentAnalyzer(grammarsReady, connection, () => settings);
  grammarsReady.catch((err: unknown) => {
    connection.console.error(`Residual Lens: could not load the tree-sitter grammars from ${grammarDir}: ${String(err)}`);
  });
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
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
documents.onDidClose((event) => analyzer?.forget(event.document.uri));

documents.listen(connection);
connection.listen();
