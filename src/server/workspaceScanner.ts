import type { Connection } from 'vscode-languageserver/node';
import { URI } from 'vscode-uri';
import type { DocumentAnalyzer } from './documentAnalyzer';
import { enabledExcludeGlobs, listWorkspaceSources } from './workspaceScan';

/**
 * Checks every model file of the workspace once at startup so the Problems panel lists
 * all findings. One file per turn of the event loop: edits and requests that arrive
 * meanwhile are served first.
 */
export async function scanWorkspace(
  connection: Connection,
  analyzer: DocumentAnalyzer,
  folders: string[],
  isOpen: (uri: string) => boolean,
): Promise<void> {
  if (folders.length === 0) return;
  const started = performance.now();
  let excludeSetting: unknown = {};
  try {
    [excludeSetting] = (await connection.workspace.getConfiguration([{ section: 'files.exclude' }])) as unknown[];
  } catch {
    // a client without workspace/configuration: no excludes beyond the defaults
  }
  const files = folders.flatMap((folder) => listWorkspaceSources(folder, enabledExcludeGlobs(excludeSetting)));
  const progress = await connection.window.createWorkDoneProgress().catch(() => undefined);
  progress?.begin('Residual Lens: checking model files', 0, `0/${files.length}`, true);
  let modelFiles = 0;
  let findings = 0;
  for (const [index, file] of files.entries()) {
    if (progress?.token.isCancellationRequested) break;
    await new Promise((resolve) => setImmediate(resolve));
    if (isOpen(URI.file(file).toString())) continue;
    const result = await analyzer.analyzeFileOnDisk(file);
    if (result && !result.skipped) modelFiles++;
    findings += result?.findings.length ?? 0;
    if (index % 10 === 0) progress?.report(Math.round((100 * index) / files.length), `${index}/${files.length}`);
  }
  progress?.done();
  connection.console.log(
    `Workspace scan: ${files.length} source files, ${modelFiles} with model code, ${findings} finding(s) in ${(performance.now() - started).toFixed(0)} ms`,
  );
}
