import { runTests } from '@vscode/test-electron';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { examplesDir, repoRoot, testResultsDir } from '../support/paths';

// Runs the extension tests in a real VS Code. Here that is code-server driven by
// Debian's Chromium (through the launcher); with RESIDUAL_LENS_VSCODE set to a desktop
// VS Code executable, the same suite runs there unchanged. Two runs: the source tree
// as a development extension (the main suite), then the packaged .vsix installed.
type Counts = { passed: number; failed: number; skipped: number };

async function runSuite(
  name: string,
  options: { extensionDevelopmentPath: string; extensionTestsPath: string; env?: Record<string, string>; workspace?: string },
): Promise<Counts> {
  const summary = join(testResultsDir, `vscode-${name}-summary.json`);
  const vscodeExecutablePath = process.env.RESIDUAL_LENS_VSCODE ?? join(repoRoot, 'test/vscode/code-server-launcher.mjs');
  try {
    await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: options.extensionDevelopmentPath,
      extensionTestsPath: options.extensionTestsPath,
      launchArgs: [options.workspace ?? examplesDir],
      extensionTestsEnv: { RESIDUAL_LENS_TEST_SUMMARY: summary, ...options.env },
    });
  } catch (err) {
    console.error(`vscode ${name} tests: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!existsSync(summary)) return { passed: 0, failed: 1, skipped: 0 };
  return JSON.parse(readFileSync(summary, 'utf8')) as Counts;
}

function packageVsix(): string | undefined {
  const vsix = join(repoRoot, 'out', 'residual-lens-test.vsix');
  const vsce = spawnSync(process.execPath, [join(repoRoot, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--out', vsix], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (vsce.status !== 0) {
    console.error(`vsce package failed:\n${vsce.stdout}\n${vsce.stderr}`);
    return undefined;
  }
  console.log(`packaged ${vsix}: ${(statSync(vsix).size / 1024 / 1024).toFixed(2)} MB`);
  return vsix;
}

async function main(): Promise<void> {
  const totals: Counts = await runSuite('extension', {
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(repoRoot, 'out/test/vscode/suite/index.js'),
  });
  const vsix = packageVsix();
  const vsixCounts = vsix
    ? await runSuite('vsix', {
        extensionDevelopmentPath: join(repoRoot, 'test/vscode/vsix-host'),
        extensionTestsPath: join(repoRoot, 'out/test/vscode/vsix-suite/index.js'),
        env: { RESIDUAL_LENS_INSTALL_VSIX: vsix },
      })
    : { passed: 0, failed: 1, skipped: 0 };
  // A copy, since this suite writes workspace settings.
  const untrustedWorkspace = mkdtempSync(join(tmpdir(), 'residual-lens-untrusted-'));
  cpSync(examplesDir, untrustedWorkspace, { recursive: true });
  const untrustedCounts = await runSuite('untrusted', {
    workspace: untrustedWorkspace,
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(repoRoot, 'out/test/vscode/untrusted-suite/index.js'),
    env: { RESIDUAL_LENS_UNTRUSTED: '1' },
  });
  rmSync(untrustedWorkspace, { recursive: true, force: true });
  const reloadCounts = await runSuite('reload', {
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(repoRoot, 'out/test/vscode/reload-suite/index.js'),
  });
  for (const counts of [vsixCounts, untrustedCounts, reloadCounts]) for (const key of ['passed', 'failed', 'skipped'] as const) totals[key] += counts[key];
  const summaryPath = process.env.RESIDUAL_LENS_TEST_SUMMARY ?? join(testResultsDir, 'vscode-summary.json');
  writeFileSync(summaryPath, JSON.stringify(totals));
  process.exitCode = totals.failed > 0 ? 1 : 0;
}

void main();
