// Folders that never hold the user's own model code, shared by the CLI's walk and the
// language server's workspace scan (which also skips build output).

/** Version control, dependencies, caches and virtual environments. */
export const toolFolders: ReadonlySet<string> = new Set([
  'node_modules', '.git', '.hg', '.svn', '__pycache__', '.venv', 'venv', '.tox', '.mypy_cache', 'site-packages', '.cache',
]);

/** Generated output: skipped by the startup scan, still checked when named on the command line. */
export const buildOutputFolders: ReadonlySet<string> = new Set(['dist', 'out', 'build']);

/** A folder holding this file is a Python virtual environment, whatever its name. */
export const virtualEnvironmentMarker = 'pyvenv.cfg';
