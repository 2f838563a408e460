import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { grammarFor } from '../core/parse/grammars';
import { buildOutputFolders, toolFolders, virtualEnvironmentMarker } from '../core/sourceFolders';


/**
 * The source files of a workspace folder that may hold model code, in a stable order:
 * skips VCS folders, node_modules, virtual environments, what the folder's .gitignore
 * files ignore, and VS Code's `files.exclude` globs (simple `**` and `*` patterns).
 */
export function listWorkspaceSources(folder: string, excludeGlobs: string[], limit = 20000): string[] {
  const files: string[] = [];
  const excluded = ignore().add(excludeGlobs.map((g) => g.replace(/^\*\*\//, '')));
  const visit = (dir: string, ignores: Array<{ base: string; rules: Ignore }>): void => {
    if (files.length >= limit) return;
    let rules = ignores;
    const gitignore = join(dir, '.gitignore');
    if (existsSync(gitignore)) {
      try {
        rules = [...ignores, { base: dir, rules: ignore().add(readFileSync(gitignore, 'utf8')) }];
      } catch {
        // unreadable .gitignore: scan as if absent
      }
    }
    if (existsSync(join(dir, virtualEnvironmentMarker))) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const isDir = entry.isDirectory();
      if (isDir && (toolFolders.has(entry.name) || buildOutputFolders.has(entry.name))) continue;
      const rel = relative(folder, path).split(sep).join('/');
      if (excluded.ignores(isDir ? rel + '/' : rel)) continue;
      if (rules.some(({ base, rules: r }) => r.ignores(relative(base, path).split(sep).join('/') + (isDir ? '/' : '')))) continue;
      if (isDir) visit(path, rules);
      else if (entry.isFile() && grammarFor(path) && grammarFor(path) !== 'tsx' && !entry.name.endsWith('.d.ts')) files.push(path);
      if (files.length >= limit) return;
    }
  };
  if (existsSync(folder) && statSync(folder).isDirectory()) visit(folder, []);
  return files;
}

/** The globs that are switched on in a `files.exclude` setting object. */
export function enabledExcludeGlobs(setting: unknown): string[] {
  if (typeof setting !== 'object' || setting === null) return [];
  return Object.entries(setting as Record<string, unknown>)
    .filter(([, on]) => on === true)
    .map(([glob]) => glob);
}
