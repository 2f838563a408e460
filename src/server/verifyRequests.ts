import { statSync, readFileSync } from 'node:fs';
import { LSPErrorCodes, ResponseError, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import { URI } from 'vscode-uri';
import { defaultAnalysisOptions } from '../core/analysis';
import type { Grammars } from '../core/parse/grammars';
import { analyseAdditions } from '../torch/shapeVerification';
import type { ServerSettings } from './settings';
import { staticAdditionsMethod, type StaticAdditionsParams, type StaticAdditionsResult } from './verifyProtocol';

/**
 * "Verify Shapes with PyTorch" in the server process: the static pass over the saved file
 * (torch imports the saved file, so both sides read the same text), within the editor's
 * analysis budget. A cancel is answered before the work, between its two passes and after it.
 */
export function registerVerifyRequests(connection: Connection, grammars: () => Promise<Grammars> | undefined, settings: () => ServerSettings): void {
  const cancelled = (): ResponseError<void> => new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
  /** Lets a cancel notification that is already on its way be read before going on. */
  const stillWanted = async (token: CancellationToken): Promise<boolean> => {
    await new Promise((resolve) => setImmediate(resolve));
    return !token.isCancellationRequested;
  };

  connection.onRequest(staticAdditionsMethod, async (params: StaticAdditionsParams, token: CancellationToken): Promise<StaticAdditionsResult> => {
    if (!(await stillWanted(token))) throw cancelled();
    const uri = params?.uri;
    if (typeof uri !== 'string' || !uri.startsWith('file:')) return { error: 'the request needs the file: URI of a saved Python file' };
    const path = URI.parse(uri).fsPath;
    if (!path.endsWith('.py')) return { error: `${path} is not a Python file` };
    let text: string;
    try {
      if (statSync(path).size > settings().maxFileBytes) return { error: `${path} is over the size limit of ${Math.round(settings().maxFileBytes / 1024)} KB` };
      text = readFileSync(path, 'utf8');
    } catch (err) {
      return { error: `${path} cannot be read: ${err instanceof Error ? err.message : String(err)}` };
    }
    const ready = grammars();
    if (!ready) throw new ResponseError(LSPErrorCodes.ServerCancelled, 'the server is not initialised yet');
    const loaded = await ready;
    const started = performance.now();
    const additions = await analyseAdditions(path, text, loaded, defaultAnalysisOptions.budgetMs, undefined, () => stillWanted(token));
    if (!additions || token.isCancellationRequested) throw cancelled();
    const ms = performance.now() - started;
    connection.console.log(`${uri}: static pass for Verify Shapes in ${ms.toFixed(0)} ms (${additions.pairs.length} operand pairs, ${additions.findings.length} findings)`);
    return { additions, ms };
  });
}
