import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeSuiteSummary } from './summary';

// Entry point that VS Code loads in the extension host (extensionTestsPath).
export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60000 });
  // While developing one feature: RESIDUAL_LENS_VSCODE_GREP=pattern runs only the matching tests.
  if (process.env.RESIDUAL_LENS_VSCODE_GREP) mocha.grep(process.env.RESIDUAL_LENS_VSCODE_GREP);
  for (const file of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, file));
  return new Promise((resolvePromise, reject) => {
    const runner = mocha.run((failures) => {
      const stats = runner.stats ?? { passes: 0, failures, pending: 0 };
      const summary = { passed: stats.passes, failed: stats.failures, skipped: stats.pending };
      writeSuiteSummary(summary);
      console.log(`vscode suite: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
      if (failures > 0) reject(new Error(`${failures} VS Code test(s) failed`));
      else resolvePromise();
    });
  });
}
