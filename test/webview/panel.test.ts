// The real built panel page (dist/webview.js, media/panel.css, the host's HTML and CSP)
// in Debian's Chromium, fed the probe stream recorded from the real engine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createProbeRun } from '../../src/core/probe/probeRun';
import { ProbeRecorder } from '../../src/core/probe/record';
import { formatNumber } from '../../src/core/probe/probeSummary';
import type { ProbeMessage } from '../../src/core/probe/protocol';
import { testResultsDir } from '../support/paths';
import { cspProblems, launchChromium, openPanel, settled, startPanelServer, type Browser, type PanelPage, type PanelServer } from './support/panelBrowser';
import { cutShort, loadRecordedStream, probeMessages, withDivergence, type RecordedStream } from './support/streams';

interface Inspection {
  scaleType: string;
  xTickCount: number;
  yTickLabels: string[];
  residualMarks: number[];
  datasets: { label: string; variantId: string; hidden: boolean; dashed: boolean; color: string; points: { x: number; y: number | null }[]; end: { style: string; radius: number } | null }[];
}

const screenshots = join(testResultsDir, 'webview');
let server: PanelServer;
let browser: Browser;

before(async () => {
  mkdirSync(screenshots, { recursive: true });
  server = await startPanelServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const panelUrl = (): string => `${server.origin}/panel.html`;

function inspect(panel: PanelPage, chart: 'gradient' | 'loss' | 'accuracy' | 'activation'): Promise<Inspection> {
  return panel.page.evaluate((name) => (globalThis as unknown as { residualLensPanel: { inspectChart(n: string): Inspection } }).residualLensPanel.inspectChart(name), chart);
}

function renderCount(panel: PanelPage): Promise<number> {
  return panel.page.evaluate(() => (globalThis as unknown as { residualLensPanel: { renderCount: number } }).residualLensPanel.renderCount);
}

/** Streams like the host does: a new run, then the messages as they arrived, then the end. */
async function streamRun(panel: PanelPage, stream: RecordedStream, outcome: 'completed' | 'cancelled' | null = 'completed'): Promise<void> {
  await panel.post({ type: 'load', run: createProbeRun(stream.plan, '2026-11-27T09:41:00.000Z') });
  await panel.post({ type: 'controls', canRerun: true, canStop: true });
  for (const { message } of stream.messages) await panel.post({ type: 'probe', messages: [message] });
  if (outcome) await panel.post({ type: 'runEnded', outcome, message: outcome === 'cancelled' ? 'stopped by the user' : null });
  await settled(panel);
}

async function assertClean(panel: PanelPage): Promise<void> {
  assert.deepEqual(await cspProblems(panel), [], 'no CSP violation or console error');
  assert.deepEqual(panel.outsideRequests, [], 'no request leaves 127.0.0.1');
}

function gradientsAt(messages: ProbeMessage[], variant: string, step: number): number[] {
  const found = messages.find((m) => m.type === 'gradients' && m.variant === variant && m.step === step);
  assert.ok(found && found.type === 'gradients', `recorded gradients of ${variant} at step ${step}`);
  return found.gradNorms;
}

describe('gradient-flow panel in Chromium', () => {
  const recorded = loadRecordedStream();
  const messages = probeMessages(recorded);

  test('an empty panel says ready, then explains how to start a probe', async () => {
    const panel = await openPanel(browser, panelUrl(), { theme: 'dark' });
    const posted = await panel.posted();
    assert.equal(posted[0]?.type, 'ready', 'the page says ready first');
    const empty = panel.page.locator('.empty-state');
    assert.equal(await empty.isVisible(), true);
    assert.match(await empty.innerText(), /Residual Lens: Run Depth Probe/);
    assert.match(await empty.innerText(), /Command Palette/);
    assert.equal(await panel.page.locator('.probe-content').isVisible(), false);
    assert.equal(await panel.page.locator('.export-group').isVisible(), false, 'nothing to export yet');
    assert.equal(await panel.page.locator('.toolbar vscode-button').filter({ visible: true }).count(), 0, 'no run controls without a run');
    await panel.post({ type: 'controls', canRerun: true, canStop: false });
    await settled(panel);
    await panel.page.locator('.empty-state vscode-button').click();
    assert.ok((await panel.posted()).some((m) => m.type === 'rerun'), 'the empty state button asks the host to run a probe');
    await panel.page.screenshot({ path: join(screenshots, 'panel-empty-dark.png') });
    await assertClean(panel);
    await panel.page.close();
  });

  test('a recorded probe stream fills the charts, the table and the verdict', async () => {
    const panel = await openPanel(browser, panelUrl(), { theme: 'light' });
    const rendersBefore = await renderCount(panel);
    const started = Date.now();
    await streamRun(panel, recorded);
    const elapsed = Date.now() - started;
    const renders = (await renderCount(panel)) - rendersBefore;
    assert.ok(renders <= Math.ceil(elapsed / 100) + 2, `${renders} renders in ${elapsed} ms: at most ~10 a second`);

    const gradient = await inspect(panel, 'gradient');
    assert.equal(gradient.scaleType, 'logarithmic');
    assert.equal(new Set(gradient.yTickLabels).size, gradient.yTickLabels.length, `no repeated y labels: ${gradient.yTickLabels.join(' ')}`);
    assert.ok(gradient.yTickLabels.length >= 2, `some y labels: ${gradient.yTickLabels.join(' ')}`);
    assert.deepEqual(
      gradient.datasets.map((d) => d.label),
      recorded.plan.variants.map((v) => v.label),
    );
    for (const spec of recorded.plan.variants) {
      const dataset = gradient.datasets.find((d) => d.variantId === spec.id)!;
      const init = gradientsAt(messages, spec.id, 0);
      assert.deepEqual(
        dataset.points.map((p) => p.y),
        init,
        `${spec.id}: init gradient norms per layer, as recorded`,
      );
      assert.deepEqual(
        dataset.points.map((p) => p.x),
        init.map((_, i) => i),
      );
      assert.equal(dataset.dashed, spec.architecture === 'plain', 'plain dashed, residual solid');
    }
    const colorOf = (id: string): string => gradient.datasets.find((d) => d.variantId === id)!.color;
    assert.equal(colorOf('plain-20'), colorOf('residual-20'), 'one colour per depth');
    assert.notEqual(colorOf('plain-8'), colorOf('plain-20'));
    const residual20 = messages.find((m) => m.type === 'started' && m.variant === 'residual-20');
    assert.ok(residual20 && residual20.type === 'started');
    const residualAdds = residual20.layers.filter((l) => l.residualAddAfter).length;
    assert.ok(residualAdds > 0, 'the engine marks residual additions');
    const residual8 = messages.find((m) => m.type === 'started' && m.variant === 'residual-8');
    const adds8 = residual8 && residual8.type === 'started' ? residual8.layers.filter((l) => l.residualAddAfter).length : 0;
    assert.equal(gradient.residualMarks.length, residualAdds + adds8, 'every residual addition is marked on the gradient chart');

    const loss = await inspect(panel, 'loss');
    for (const spec of recorded.plan.variants) {
      const steps = messages.filter((m): m is Extract<ProbeMessage, { type: 'step' }> => m.type === 'step' && m.variant === spec.id);
      const dataset = loss.datasets.find((d) => d.variantId === spec.id)!;
      assert.deepEqual(
        dataset.points,
        steps.map((s) => ({ x: s.step, y: s.loss })),
        `${spec.id}: loss per step, unsmoothed`,
      );
    }
    const activation = await inspect(panel, 'activation');
    const stds = messages.find((m) => m.type === 'activations' && m.variant === 'plain-20' && m.step === 0);
    assert.ok(stds && stds.type === 'activations');
    assert.deepEqual(
      activation.datasets.find((d) => d.variantId === 'plain-20')!.points.map((p) => p.y),
      stds.stds,
    );

    const rows = await panel.page.locator('vscode-data-grid-row').allInnerTexts();
    assert.equal(rows.length, 1 + recorded.plan.variants.length, 'a header and a row per variant');
    for (const m of messages) {
      if (m.type !== 'done') continue;
      const label = recorded.plan.variants.find((v) => v.id === m.variant)!.label;
      const row = rows.find((r) => r.startsWith(label));
      assert.ok(row, `row for ${label}`);
      assert.ok(row.includes(formatNumber(m.finalLoss)), `${label}: final loss ${formatNumber(m.finalLoss)} in "${row}"`);
      assert.ok(row.includes('wasm'), 'backend shown');
    }
    const verdict = await panel.page.locator('.verdict').innerText();
    assert.match(verdict, /plain-20 ends at loss/);
    assert.match(verdict, /ResNet paper/);
    assert.match(verdict, /not explained by vanishing gradients/);
    assert.match(await panel.page.locator('.status').innerText(), /^Completed: 4 variants, 30 steps/);
    assert.match(await panel.page.locator('.note-info').innerText(), /native TensorFlow .* is not installed/, "the worker's backend note is shown");

    const saved = (await panel.savedState()) as { version: number; run: { messages: unknown[]; outcome: string } };
    assert.equal(saved.version, 1);
    assert.equal(saved.run.messages.length, messages.length, 'setState keeps the whole run');
    assert.equal(saved.run.outcome, 'completed');

    await panel.page.screenshot({ path: join(screenshots, 'panel-recorded-light.png'), fullPage: true });
    await panel.setTheme('dark');
    await settled(panel);
    const darkGradient = await inspect(panel, 'gradient');
    assert.notEqual(darkGradient.datasets[0]!.color, gradient.datasets[0]!.color, 'a theme change recolours the charts');
    await panel.page.screenshot({ path: join(screenshots, 'panel-recorded-dark.png'), fullPage: true });
    await panel.setTheme('high-contrast');
    await settled(panel);
    await panel.page.screenshot({ path: join(screenshots, 'panel-recorded-high-contrast.png'), fullPage: true });
    await assertClean(panel);

    // The same page, reloaded with what it saved: the serializer's restore path.
    const restored = await openPanel(browser, panelUrl(), { theme: 'dark', state: saved, width: 420, height: 1000 });
    await settled(restored);
    const restoredLoss = await inspect(restored, 'loss');
    assert.deepEqual(restoredLoss.datasets, loss.datasets.map((d) => ({ ...d, color: restoredLoss.datasets.find((r) => r.variantId === d.variantId)!.color })), 'restored from setState without the host');
    assert.equal(await restored.page.locator('.empty-state').isVisible(), false);
    const overflow = await restored.page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    assert.ok(overflow <= 0, `no horizontal page scroll at 420 px (overflow ${overflow} px)`);
    await restored.page.screenshot({ path: join(screenshots, 'panel-narrow-dark.png'), fullPage: true });
    await assertClean(restored);
    await restored.page.close();
    await panel.page.close();
  });

  test('controls work from the keyboard and post to the host', async () => {
    const panel = await openPanel(browser, panelUrl(), { theme: 'dark' });
    await streamRun(panel, recorded);
    const page = panel.page;

    const toggle = page.locator('vscode-checkbox[data-variant="plain-8"]');
    await toggle.focus();
    await page.keyboard.press('Space');
    await settled(panel);
    let gradient = await inspect(panel, 'gradient');
    assert.equal(gradient.datasets.find((d) => d.variantId === 'plain-8')!.hidden, true, 'Space on a variant toggle hides it');
    assert.equal((await inspect(panel, 'loss')).datasets.find((d) => d.variantId === 'plain-8')!.hidden, true);

    await page.locator('.view-controls vscode-checkbox').focus();
    await page.keyboard.press('Space');
    await settled(panel);
    gradient = await inspect(panel, 'gradient');
    assert.equal(gradient.scaleType, 'linear', 'log scale off');

    await page.locator('vscode-radio[value="latest"]').click();
    await settled(panel);
    gradient = await inspect(panel, 'gradient');
    const latest = gradientsAt(messages, 'residual-20', 25);
    assert.deepEqual(
      gradient.datasets.find((d) => d.variantId === 'residual-20')!.points.map((p) => p.y),
      latest,
      'latest snapshot shows the step-25 gradients',
    );

    const rawLoss = (await inspect(panel, 'loss')).datasets.find((d) => d.variantId === 'plain-20')!.points;
    await page.locator('.smoothing input').focus();
    for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowRight');
    await settled(panel);
    const smoothLoss = (await inspect(panel, 'loss')).datasets.find((d) => d.variantId === 'plain-20')!.points;
    assert.equal(await page.locator('.smoothing output').innerText(), '0.60');
    assert.equal(smoothLoss[0]!.y, rawLoss[0]!.y, 'debiased smoothing keeps the first value');
    assert.notDeepEqual(smoothLoss, rawLoss, 'smoothing changes the loss curve');

    const saved = (await panel.savedState()) as { view: { hiddenVariants: string[]; logScale: boolean; smoothing: number; gradientSnapshot: string } };
    assert.deepEqual(saved.view, { hiddenVariants: ['plain-8'], logScale: false, smoothing: 0.6, gradientSnapshot: 'latest' }, 'view choices are saved for a restore');

    await page.locator('vscode-button', { hasText: 'PNG' }).click();
    await page.locator('vscode-button', { hasText: 'CSV' }).click();
    await page.locator('vscode-button', { hasText: 'JSON' }).click();
    await page.locator('vscode-button', { hasText: 'HTML' }).click();
    const exports = (await panel.posted()).filter((m) => m.type === 'export') as unknown as { format: string; dataUrl: string | null }[];
    assert.deepEqual(
      exports.map((e) => e.format),
      ['png', 'csv', 'json', 'html'],
    );
    assert.match(exports[0]!.dataUrl ?? '', /^data:image\/png;base64,/);
    assert.ok((exports[0]!.dataUrl ?? '').length > 20_000, 'the PNG holds the charts');
    writeFileSync(join(screenshots, 'export-charts.png'), Buffer.from(exports[0]!.dataUrl!.split(',')[1]!, 'base64'));
    assert.equal(await page.locator('vscode-button', { hasText: 'Re-run' }).getAttribute('disabled'), null, 'Re-run enabled once the run ended');
    await page.locator('vscode-button', { hasText: 'Re-run' }).click();
    assert.ok((await panel.posted()).some((m) => m.type === 'rerun'));

    await panel.post({ type: 'load', run: createProbeRun(recorded.plan) });
    await panel.post({ type: 'probe', messages: messages.slice(0, 10) });
    await settled(panel);
    const stop = page.locator('vscode-button', { hasText: 'Stop' });
    assert.equal(await stop.getAttribute('disabled'), null, 'Stop enabled while running');
    await stop.focus();
    await page.keyboard.press('Enter');
    assert.ok((await panel.posted()).some((m) => m.type === 'stop'), 'Enter on Stop asks the host to stop');
    await assertClean(panel);
    await panel.page.close();
  });

  test('a narrow gradient range (depth 8 only) gets distinct log-axis labels', async () => {
    const panel = await openPanel(browser, panelUrl());
    const shallow = { plan: { ...recorded.plan, variants: recorded.plan.variants.filter((v) => v.depth === 8) }, messages: recorded.messages.filter((m) => m.message.variant.endsWith('-8')) };
    await streamRun(panel, shallow);
    const labels = (await inspect(panel, 'gradient')).yTickLabels;
    assert.equal(new Set(labels).size, labels.length, `no repeated y labels: ${labels.join(' ')}`);
    assert.ok(labels.length >= 2, `at least two labels: ${labels.join(' ')}`);
    await panel.page.close();
  });

  test('a diverged variant ends with a cross and the reason', async () => {
    const panel = await openPanel(browser, panelUrl(), { theme: 'dark' });
    await streamRun(panel, withDivergence(recorded, 'residual-20', 12));
    const loss = await inspect(panel, 'loss');
    const diverged = loss.datasets.find((d) => d.variantId === 'residual-20')!;
    assert.equal(diverged.points[diverged.points.length - 1]!.x, 11, 'the curve stops at the last finite step');
    assert.equal(diverged.end?.style, 'crossRot', 'and ends with a cross');
    assert.notEqual(loss.datasets.find((d) => d.variantId === 'plain-20')!.end?.style, 'crossRot');
    assert.match(await panel.page.locator('.note-diverged').innerText(), /residual-20 \(A\) diverged at step 12: the loss became NaN/);
    assert.match(await panel.page.locator('vscode-checkbox[data-variant="residual-20"]').innerText(), /diverged/);
    assert.match(await panel.page.locator('.verdict').innerText(), /diverged/);
    await panel.page.screenshot({ path: join(screenshots, 'panel-diverged-dark.png'), fullPage: true });
    await assertClean(panel);
    await panel.page.close();
  });

  test('a run stopped half way shows partial curves, marked', async () => {
    const panel = await openPanel(browser, panelUrl(), { theme: 'light' });
    const half = cutShort(recorded, 0.5);
    await streamRun(panel, half, 'cancelled');
    assert.match(await panel.page.locator('.status').innerText(), /^Cancelled at step \d+ of 30: partial results/);
    const loss = await inspect(panel, 'loss');
    const unfinished = recorded.plan.variants.filter((v) => !half.messages.some((m) => m.message.type === 'done' && m.message.variant === v.id));
    assert.ok(unfinished.length > 0, 'some variants had not finished');
    for (const spec of unfinished) {
      const dataset = loss.datasets.find((d) => d.variantId === spec.id)!;
      if (dataset.points.length) assert.equal(dataset.end?.style, 'rectRot', `${spec.id}: a diamond marks where the curve was cut`);
    }
    const rows = await panel.page.locator('vscode-data-grid-row').allInnerTexts();
    for (const spec of unfinished) assert.ok(rows.some((r) => r.startsWith(`${spec.label} (partial)`)), `${spec.label} marked partial in the table`);
    assert.match(await panel.page.locator('.notes').innerText(), /partial curve, the probe was stopped/);
    await panel.page.screenshot({ path: join(screenshots, 'panel-cancelled-light.png'), fullPage: true });
    await assertClean(panel);
    await panel.page.close();
  });

  test('unexpected fields and unknown messages are ignored and logged', async () => {
    const panel = await openPanel(browser, panelUrl());
    await panel.post({ type: 'load', run: createProbeRun(recorded.plan) });
    const withExtras = messages.map((m) => (m.type === 'step' ? { ...m, gpuTemperature: 71 } : m));
    await panel.post({ type: 'probe', messages: withExtras, compressed: false });
    await panel.post({ type: 'telemetry', payload: 1 });
    await panel.post({ type: 'probe', messages: [{ type: 'step', variant: 'plain-8', step: 'x' }] });
    await panel.post({ type: 'runEnded', outcome: 'completed', message: null });
    await settled(panel);
    const logs = (await panel.posted()).filter((m) => m.type === 'log').map((m) => String(m.text));
    assert.ok(logs.some((t) => t.includes('gpuTemperature')), `the unexpected field is logged: ${logs.join(' | ')}`);
    assert.ok(logs.some((t) => t.includes('compressed')));
    assert.ok(logs.some((t) => t.includes("unknown host message type \"telemetry\"")));
    assert.ok(logs.some((t) => t.includes('step must be a finite number')));
    const loss = await inspect(panel, 'loss');
    assert.equal(loss.datasets.find((d) => d.variantId === 'plain-8')!.points.length, 30, 'the valid messages all count, the broken one does not');
    await assertClean(panel);
    await panel.page.close();
  });

  test('result files: the CLI record is migrated, other versions are refused with a message', async () => {
    const recorder = new ProbeRecorder(recorded.plan);
    for (const m of messages) recorder.add(m);
    const cliRecord = JSON.parse(JSON.stringify(recorder.record())) as Record<string, unknown>;
    const panel = await openPanel(browser, panelUrl());
    await panel.post({ type: 'load', run: cliRecord });
    await settled(panel);
    const gradient = await inspect(panel, 'gradient');
    assert.equal(gradient.datasets.length, 4, 'the CLI record opens in the panel');
    assert.deepEqual(
      gradient.datasets.find((d) => d.variantId === 'plain-20')!.points.map((p) => p.y),
      gradientsAt(messages, 'plain-20', 0),
    );

    await panel.post({ type: 'load', run: { ...cliRecord, version: 2 } });
    await settled(panel);
    assert.match(await panel.page.locator('.notice').innerText(), /version 2, written by a newer Residual Lens/);
    await panel.post({ type: 'load', run: { format: 'residual-lens-probe-run', version: 0, messages: [] } });
    await settled(panel);
    assert.match(await panel.page.locator('.notice').innerText(), /format version 0, from an older Residual Lens .* run the probe again/);
    assert.equal((await inspect(panel, 'gradient')).datasets.length, 4, 'a refused file leaves the shown run alone');
    await assertClean(panel);
    await panel.page.close();

    const stale = await openPanel(browser, panelUrl(), { state: { version: 1, run: { format: 'residual-lens-probe-run', version: 0, messages: [] }, view: {} } });
    await settled(stale);
    assert.match(await stale.page.locator('.notice').innerText(), /saved panel could not be restored: .*older Residual Lens/);
    await assertClean(stale);
    await stale.page.close();
  });

  test('110-layer variants stay readable', async () => {
    const panel = await openPanel(browser, panelUrl(), { theme: 'dark' });
    const deep = loadRecordedStream('recorded-depth-110.jsonl');
    await streamRun(panel, deep);
    const gradient = await inspect(panel, 'gradient');
    for (const d of gradient.datasets) assert.equal(d.points.length, 110, `${d.variantId}: every weight layer`);
    assert.ok(gradient.xTickCount <= 12, `${gradient.xTickCount} x ticks`);
    assert.equal(gradient.residualMarks.length, 54, 'every residual addition of residual-110 marked');
    const plain = gradient.datasets.find((d) => d.variantId === 'plain-110')!.points;
    assert.ok(plain[0]!.y! / plain[108]!.y! > 1000, 'plain-110 gradients grow by orders of magnitude towards the input, and the log axis holds them');
    const ticks = gradient.yTickLabels;
    assert.ok(ticks.length >= 3 && ticks.length <= 9, `readable log ticks: ${ticks.join(' ')}`);
    assert.match(await panel.page.locator('.verdict').innerText(), /plain-110's gradients at init do not vanish: their norm grows 4\.6e\+6× from the last conv to the first\./);
    await panel.page.screenshot({ path: join(screenshots, 'panel-110-layers-dark.png'), fullPage: true });
    await assertClean(panel);
    await panel.page.close();
  });

  test('bursts of steps are drawn at most ~10 times a second', async () => {
    const panel = await openPanel(browser, panelUrl());
    await panel.post({ type: 'load', run: createProbeRun(recorded.plan) });
    await settled(panel);
    const before = await renderCount(panel);
    const elapsed = await panel.page.evaluate(async () => {
      const started = performance.now();
      for (let step = 0; step < 600; step++) {
        (globalThis as unknown as { postMessage(m: unknown, target: string): void }).postMessage({ type: 'probe', messages: [{ type: 'step', variant: 'plain-8', step, loss: 2.3 - step / 1000, accuracy: 0.1, ms: 5 }] }, '*');
        if (step % 20 === 0) await new Promise((r) => setTimeout(r, 30));
      }
      await new Promise((r) => setTimeout(r, 300));
      return performance.now() - started;
    });
    const renders = (await renderCount(panel)) - before;
    assert.ok(renders >= 2, 'it did redraw');
    assert.ok(renders <= Math.ceil(elapsed / 100) + 1, `${renders} renders for 600 messages in ${elapsed.toFixed(0)} ms`);
    assert.equal((await inspect(panel, 'loss')).datasets.find((d) => d.variantId === 'plain-8')!.points.length, 600, 'no message lost');
    await panel.page.close();
  });

  test('render cost of a 56-layer x 4-variant update (benchmark in the page)', async () => {
    const panel = await openPanel(browser, panelUrl(), { theme: 'dark' });
    await streamRun(panel, recorded);
    const cost = await panel.page.evaluate(() =>
      (globalThis as unknown as { residualLensPanel: { benchmarkRender(l: number, v: number, u: number): { medianMs: number; p95Ms: number; maxMs: number } } }).residualLensPanel.benchmarkRender(56, 4, 60),
    );
    console.log(`render cost, 56 layers x 4 variants, 60 updates: median ${cost.medianMs.toFixed(2)} ms, p95 ${cost.p95Ms.toFixed(2)} ms, max ${cost.maxMs.toFixed(2)} ms (target < 16 ms)`);
    assert.ok(cost.medianMs > 0);
    assert.ok(cost.medianMs < 50, `median ${cost.medianMs} ms is far over the 16 ms target`);
    assert.equal((await inspect(panel, 'gradient')).datasets.length, 4, 'the benchmark puts the shown run back');
    await panel.page.close();
  });
});
