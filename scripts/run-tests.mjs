// Runs every test suite on real components and prints one closing line,
// `N passed, N failed, N skipped`, over all of them.
//   unit     node --test over out/test/unit (the pure core)
//   server   node --test over out/test/server (the real language server over JSON-RPC)
//   webview  node --test over out/test/webview (the real panel page in Debian's Chromium)
//   vscode   the extension in a real VS Code (code-server + Chromium, or desktop VS Code)
// `npm test -- unit server` runs only the named suites.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const allSuites = ['unit', 'server', 'webview', 'vscode'];
const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = requested.length ? requested : allSuites;
for (const suite of suites) {
  if (!allSuites.includes(suite)) {
    console.error(`run-tests: unknown suite '${suite}' (known: ${allSuites.join(', ')})`);
    process.exit(2);
  }
}

const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const resultsDir = join(root, 'test-results');
mkdirSync(resultsDir, { recursive: true });
const totals = { passed: 0, failed: 0, skipped: 0 };
const perSuite = [];

function hasTests(dir) {
  return existsSync(dir) && readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.test.js'));
}

function runNodeTests(suite) {
  const dir = join(root, 'out', 'test', suite);
  if (!hasTests(dir)) return { passed: 0, failed: 1, skipped: 0, note: `no tests found under out/test/${suite}` };
  // Per process, so two runs in one checkout never read each other's counts.
  const tap = join(resultsDir, `${suite}-${process.pid}.tap`);
  rmSync(tap, { force: true });
  const files = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.test.js')).map((f) => join(dir, f)).sort();
  const run = spawnSync(
    process.execPath,
    ['--enable-source-maps', '--test', '--test-concurrency=1', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, RESIDUAL_LENS_TEST_SUITE: suite } },
  );
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  rmSync(tap, { force: true });
  const count = (name) => Number((text.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const counts = { passed: count('pass'), failed: count('fail') + count('cancelled'), skipped: count('skipped') + count('todo') };
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1; // crashed before reporting
  return counts;
}

function runVsCodeTests() {
  const runner = join(root, 'out', 'test', 'vscode', 'runTests.js');
  if (!existsSync(runner)) return { passed: 0, failed: 1, skipped: 0, note: 'out/test/vscode/runTests.js is missing' };
  const summary = join(resultsDir, 'vscode-summary.json');
  rmSync(summary, { force: true });
  const run = spawnSync(process.execPath, ['--enable-source-maps', runner], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, RESIDUAL_LENS_TEST_SUMMARY: summary },
  });
  if (!existsSync(summary)) return { passed: 0, failed: 1, skipped: 0, note: `the VS Code suite ended (exit ${run.status}) without a summary` };
  const counts = JSON.parse(readFileSync(summary, 'utf8'));
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1;
  return counts;
}

for (const suite of suites) {
  console.log(`\n=== ${suite} tests ===`);
  const counts = suite === 'vscode' ? runVsCodeTests() : runNodeTests(suite);
  if (counts.note) console.error(`run-tests: ${suite}: ${counts.note}`);
  perSuite.push(`${suite}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  totals.skipped += counts.skipped;
}

console.log('\n' + perSuite.join('\n'));
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 ? 1 : 0);
