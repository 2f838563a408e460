import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { grammarFor } from '../core/parse/grammars';
import { toolFolders, virtualEnvironmentMarker } from '../core/sourceFolders';


/** Every file below `paths` that has a grammar, skipping VCS folders, node_modules and virtual environments. */
export function collectSourceFiles(paths: string[]): string[] {
  const files: string[] = [];
  const visit = (path: string, explicit: boolean): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      if (existsSync(join(path, virtualEnvironmentMarker))) return;
      for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (entry.isDirectory() && toolFolders.has(entry.name)) continue;
        if (entry.isDirectory() || entry.isFile()) visit(join(path, entry.name), false);
      }
    } else if (stat.isFile() && (explicit || grammarFor(path))) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path, true);
  return files;
}

export type ReadOutcome = { text: string } | { skipped: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readSourceFile(path: string, maxBytes: number): ReadOutcome {
  const size = statSync(path).size;
  if (size > maxBytes) return { skipped: `${(size / 1024 / 1024).toFixed(1)} MB is over the ${(maxBytes / 1024 / 1024).toFixed(1)} MB limit` };
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 8192).includes(0)) return { skipped: 'binary file' };
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { skipped: 'not UTF-8 text' };
  }
}
