import { runTests } from '@vscode/test-electron';
import { join } from 'node:path';
import { examplesDir, repoRoot } from '../support/paths';

// Runs the extension tests in a real VS Code. Here that is code-server driven by
// Debian's Chromium (through the launcher); with RESIDUAL_LENS_VSCODE set to a desktop
// VS Code executable, the same suite runs there unchanged.
async function main(): Promise<void> {
  const vscodeExecutablePath = process.env.RESIDUAL_LENS_VSCODE ?? join(repoRoot, 'test/vscode/code-server-launcher.mjs');
  try {
    await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: join(repoRoot, 'out/test/vscode/suite/index.js'),
      launchArgs: [examplesDir],
      extensionTestsEnv: { RESIDUAL_LENS_TEST_SUMMARY: process.env.RESIDUAL_LENS_TEST_SUMMARY ?? join(repoRoot, 'test-results/vscode-summary.json') },
    });
  } catch (err) {
    console.error(`vscode tests: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

void main();
