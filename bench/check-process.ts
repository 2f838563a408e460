// The check benchmarks time the checker in the process settings the language server has
// (src/core/analysisProcess.ts): a bench started without them runs itself again with them.
// `--plain-heap` keeps V8's defaults, to see what the settings change.
import { spawnSync } from 'node:child_process';
import { analysisProcessFlags } from '../src/core/analysisProcess';

/** True when the bench ran in a child with the server's flags (the caller then stops). */
export function rerunWithServerFlags(): boolean {
  if (process.argv.includes('--plain-heap') || analysisProcessFlags.every((f) => process.execArgv.includes(f))) return false;
  const child = spawnSync(process.execPath, [...analysisProcessFlags, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exitCode = child.status ?? 1;
  return true;
}

export function processFlagsLine(): string {
  return process.execArgv.length ? `node flags ${process.execArgv.join(' ')} (as the language server)` : 'V8 default heap (--plain-heap)';
}
