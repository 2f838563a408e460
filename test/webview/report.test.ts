// The exported HTML report: one self-contained file that opens in Chromium from disk
// (no server, no network) and draws the same charts as the panel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ProbeRunState, createProbeRun } from '../../src/core/probe/probeRun';
import { renderProbeReportHtml } from '../../src/core/probe/reportHtml';
import { distDir, repoRoot, testResultsDir } from '../support/paths';
import { launchChromium, openPanel, settled, startPanelServer, type Browser, type PanelServer } from './support/panelBrowser';
import { loadRecordedStream, probeMessages, withDivergence } from './support/streams';

interface Inspection {
  scaleType: string;
  datasets: { label: string; variantId: string; points: { x: number; y: number | null }[]; end: { style: string } | null }[];
}

let server: PanelServer;
let browser: Browser;

before(async () => {
  server = await startPanelServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the HTML report opens from disk in Chromium with the same charts as the panel', async () => {
  const stream = withDivergence(loadRecordedStream(), 'residual-20', 12);
  const state = new ProbeRunState(createProbeRun(stream.plan, '2026-11-27T09:41:00.000Z'));
  for (const m of probeMessages(stream)) state.apply(m);
  state.end('completed');
  const html = renderProbeReportHtml({ run: state.record, scriptText: readFileSync(join(distDir, 'webview.js'), 'utf8'), styleText: readFileSync(join(repoRoot, 'media', 'panel.css'), 'utf8') });
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-[0-9a-f]{32}'/);
  assert.doesNotMatch(html, /unsafe-inline|<script[^>]+src=|<link /, 'nothing loaded from outside the file');
  mkdirSync(join(testResultsDir, 'webview'), { recursive: true });
  const file = join(testResultsDir, 'webview', 'probe-report.html');
  writeFileSync(file, html);

  const report = await openPanel(browser, pathToFileURL(file).href, { theme: null, withVsCodeApi: false });
  await settled(report);
  const inspectIn = (page: typeof report.page, name: string): Promise<Inspection> =>
    page.evaluate((n) => (globalThis as unknown as { residualLensPanel: { inspectChart(c: string): Inspection } }).residualLensPanel.inspectChart(n), name);

  const panel = await openPanel(browser, `${server.origin}/panel.html`, { theme: 'light' });
  await panel.post({ type: 'load', run: state.record });
  await settled(panel);

  for (const chart of ['gradient', 'loss', 'accuracy', 'activation']) {
    const fromReport = await inspectIn(report.page, chart);
    const fromPanel = await inspectIn(panel.page, chart);
    assert.equal(fromReport.datasets.length, 4, `${chart}: four variants in the report`);
    assert.deepEqual(
      fromReport.datasets.map((d) => ({ id: d.variantId, points: d.points, end: d.end })),
      fromPanel.datasets.map((d) => ({ id: d.variantId, points: d.points, end: d.end })),
      `${chart}: the report draws what the panel draws`,
    );
  }
  assert.equal(await report.page.locator('.verdict').innerText(), await panel.page.locator('.verdict').innerText());
  assert.match(await report.page.locator('.note-diverged').innerText(), /residual-20 \(A\) diverged at step 12/);
  assert.equal(await report.page.locator('vscode-button', { hasText: 'Re-run' }).isVisible(), false, 'no run controls in a report');
  assert.equal(await report.page.locator('vscode-button', { hasText: 'CSV' }).isVisible(), true, 'exports still work, as downloads');
  const download = report.page.waitForEvent('download');
  await report.page.locator('vscode-button', { hasText: 'CSV' }).click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  assert.match(csv.split('\n')[0]!, /^variant,series,step,layer_index,layer_name,value$/);
  assert.ok(csv.includes('plain-20,loss,0,,,'), 'the CSV holds the losses');

  const violations = await report.page.evaluate(() => (globalThis as unknown as { __cspViolations: string[] }).__cspViolations);
  assert.deepEqual(violations, [], 'the report runs under its own CSP without violations');
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.outsideRequests, [], 'the report loads nothing from anywhere');
  await report.page.screenshot({ path: join(testResultsDir, 'webview', 'report-light.png'), fullPage: true });
  // The report follows the browser's colour scheme; the toolkit reads the theme on load.
  await report.page.emulateMedia({ colorScheme: 'dark' });
  await report.page.reload();
  await settled(report);
  assert.equal((await inspectIn(report.page, 'gradient')).datasets.length, 4);
  await report.page.screenshot({ path: join(testResultsDir, 'webview', 'report-dark.png'), fullPage: true });
  assert.deepEqual(report.problems, []);
  await report.page.close();
  await panel.page.close();
});

test('a report whose data cannot be read says so instead of drawing', async () => {
  const html = renderProbeReportHtml({
    run: { ...createProbeRun(null), version: 7 as 1 },
    scriptText: readFileSync(join(distDir, 'webview.js'), 'utf8'),
    styleText: readFileSync(join(repoRoot, 'media', 'panel.css'), 'utf8'),
  });
  const file = join(testResultsDir, 'webview', 'probe-report-newer.html');
  writeFileSync(file, html);
  const report = await openPanel(browser, pathToFileURL(file).href, { theme: null, withVsCodeApi: false });
  await settled(report);
  assert.match(await report.page.locator('.notice').innerText(), /format version 7, written by a newer Residual Lens/);
  assert.deepEqual(report.problems, []);
  await report.page.close();
});
