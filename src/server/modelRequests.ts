import { readFileSync, statSync } from 'node:fs';
import { LSPErrorCodes, ResponseError, type CancellationToken, type Connection, type TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { URI } from 'vscode-uri';
import { defaultAnalysisOptions, reasonToSkip, type SourceDocument } from '../core/analysis';
import { extractModel, listModels } from '../core/modelGraph/frontEnds';
import { grammarFor, type Grammars } from '../core/parse/grammars';
import {
  extractModelMethod,
  listModelsMethod,
  type ExtractModelParams,
  type ExtractModelResult,
  type ListModelsParams,
  type ListModelsResult,
} from './modelProtocol';
import type { ServerSettings } from './settings';
import { readFileBesides } from './documentAnalyzer';

type ReadDocument = { document: SourceDocument; version: number | null } | { error: string };

/**
 * "Probe This Model" in the server process: the models of a document (for CodeLenses and
 * the cursor lookup) and the model graphs of one of them. The editor's text wins over
 * the file on disk; the answer names the version it read, so the extension can tell
 * when a probe's results come from an older version of the code.
 */
export function registerModelRequests(
  connection: Connection,
  documents: TextDocuments<TextDocument>,
  grammars: () => Promise<Grammars> | undefined,
  settings: () => ServerSettings,
): void {
  const log = (line: string): void => connection.console.log(line);

  function read(uri: unknown): ReadDocument {
    if (typeof uri !== 'string' || uri === '') return { error: 'the request has no document uri' };
    const open = documents.get(uri);
    let text: string;
    let version: number | null = null;
    const grammar = grammarFor(open?.languageId ?? '') ?? grammarFor(uri);
    if (!grammar) return { error: `${uri} is not a Python, TypeScript or JavaScript file` };
    if (open) {
      text = open.getText();
      version = open.version;
    } else {
      if (!uri.startsWith('file:')) return { error: `${uri} is not open and not a file on disk` };
      const path = URI.parse(uri).fsPath;
      try {
        if (statSync(path).size > settings().maxFileBytes) return { error: `${path} is over the size limit of ${Math.round(settings().maxFileBytes / 1024)} KB` };
        text = readFileSync(path, 'utf8');
      } catch (err) {
        return { error: `${path} cannot be read: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    const document: SourceDocument = { uri, grammar, text };
    const skip = reasonToSkip(document, { ...defaultAnalysisOptions, maxFileBytes: settings().maxFileBytes });
    if (skip) return { error: `${uri} was not analysed: ${skip}` };
    return { document, version };
  }

  async function loadedGrammars(): Promise<Grammars> {
    const ready = grammars();
    if (!ready) throw new ResponseError(LSPErrorCodes.ServerCancelled, 'the server is not initialised yet');
    return ready;
  }

  /** Lets a cancel notification sent just after the request arrive before the work starts. */
  async function yieldThenCheck(token: CancellationToken): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
  }

  connection.onRequest(listModelsMethod, async (params: ListModelsParams, token: CancellationToken): Promise<ListModelsResult> => {
    await yieldThenCheck(token);
    const read_ = read(params?.uri);
    if ('error' in read_) return { models: [], documentVersion: null };
    const models = listModels(read_.document, await loadedGrammars(), log);
    return { models, documentVersion: read_.version };
  });

  connection.onRequest(extractModelMethod, async (params: ExtractModelParams, token: CancellationToken): Promise<ExtractModelResult> => {
    await yieldThenCheck(token);
    const read_ = read(params?.uri);
    if ('error' in read_) return { error: read_.error, models: [], documentVersion: null };
    const inputShape = params.inputShape;
    if (inputShape !== undefined && (!Array.isArray(inputShape) || inputShape.length < 2 || inputShape.some((d) => !Number.isInteger(d) || d < 1 || d > 1e6))) {
      return { error: 'the input shape must be two or more positive whole numbers, batch first', models: [], documentVersion: read_.version };
    }
    const line = params.position?.line;
    if (params.modelName === undefined && (typeof line !== 'number' || !Number.isInteger(line) || line < 0)) {
      return { error: 'name a model or give a position inside one', models: [], documentVersion: read_.version };
    }
    const started = performance.now();
    const result = extractModel(
      read_.document,
      params.modelName !== undefined ? { modelName: String(params.modelName) } : { line: line! },
      {
        ...(inputShape ? { inputShape } : {}),
        options: { budgetMs: defaultAnalysisOptions.budgetMs, readWorkspaceFile: readFileBesides },
        log,
      },
      await loadedGrammars(),
    );
    // The work above is synchronous: a cancel that arrived meanwhile is answered now.
    if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    log(`${read_.document.uri}: extracted ${params.modelName ?? `the model at line ${(line ?? 0) + 1}`} in ${(performance.now() - started).toFixed(0)} ms`);
    if ('error' in result) return { ...result, documentVersion: read_.version };
    return { extraction: result, documentVersion: read_.version };
  });
}
