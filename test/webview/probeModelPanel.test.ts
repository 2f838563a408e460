// "Probe This Model" in the real panel page (Chromium): a record of a real probe of the
// example CIFAR ResNet-20 (the CLI's --model run: the PyTorch front end, the TF.js worker)
// is loaded; the gradient chart's axis carries the source names, and clicking a layer,
// on the chart or in the layer list, posts the reveal request with its file and line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProbeRunFile, type ProbeRunRecord } from '../../src/core/probe/probeRun';
import type { ProbeLayer } from '../../src/core/probe/protocol';
import { distDir, examplesDir, repoRoot, testResultsDir } from '../support/paths';
import { cspProblems, launchChromium, openPanel, settled, startPanelServer, type Browser, type PanelPage, type PanelServer } from './support/panelBrowser';

const screenshots = join(testResultsDir, 'webview');
const examplePath = join(examplesDir, 'pytorch', 'resnet_cifar.py');
const exampleLines = readFileSync(examplePath, 'utf8').split('\n');
let server: PanelServer;
let browser: Browser;
let run: ProbeRunRecord;

before(async () => {
  mkdirSync(screenshots, { recursive: true });
  const folder = mkdtempSync(join(tmpdir(), 'rl-probe-model-'));
  try {
    const json = join(folder, 'probe.json');
    const cli = spawnSync(process.execPath, [join(distDir, 'cli.js'), 'probe', '--model', `${examplePath}:CifarResNet`, '--steps', '3', '--no-depth-twins', '--json', json, '--quiet'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(cli.status, 0, `the CLI probe of the example ran:\n${cli.stderr}`);
    const parsed = parseProbeRunFile(readFileSync(json, 'utf8'));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    run = parsed.value;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  server = await startPanelServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

function modelLayers(): ProbeLayer[] {
  const started = run.messages.find((m) => m.type === 'started' && m.variant === 'model');
  assert.ok(started && started.type === 'started', 'the model variant started');
  return started.layers;
}

async function openWithRun(): Promise<PanelPage> {
  const panel = await openPanel(browser, `${server.origin}/panel.html`, { theme: 'light', width: 1300 });
  await panel.post({ type: 'load', run });
  await panel.post({ type: 'source', model: 'CifarResNet', stale: null });
  await settled(panel);
  return panel;
}

describe('Probe This Model in the panel (Chromium)', () => {
  test('the gradient chart is labelled with the source names of the model’s layers', async () => {
    const panel = await openWithRun();
    const labels = await panel.page.evaluate(() => (globalThis as unknown as { residualLensPanel: { gradientAxisLabels(): string[] } }).residualLensPanel.gradientAxisLabels());
    assert.ok(labels.includes('layer1.0.conv1'), `axis labels: ${labels.join(', ')}`);
    assert.ok(labels.includes('layer3.2.conv2'), `axis labels: ${labels.join(', ')}`);
    assert.ok(labels.includes('linear'), `axis labels: ${labels.join(', ')}`);
    assert.match(await panel.page.locator('h1').innerText(), /Gradient flow: CifarResNet/);
    // The plain twin lacks the projections: its layers stand at the model's positions, matched by name.
    const gradient = await panel.page.evaluate(
      () => (globalThis as unknown as { residualLensPanel: { inspectChart(n: string): { datasets: { variantId: string; points: { x: number }[] }[] } } }).residualLensPanel.inspectChart('gradient'),
    );
    const twinLayers = run.messages.find((m) => m.type === 'started' && m.variant === 'model-plain');
    assert.ok(twinLayers && twinLayers.type === 'started');
    const modelIndex = new Map(modelLayers().map((l) => [l.name, l.index]));
    const twinXs = gradient.datasets.find((d) => d.variantId === 'model-plain')!.points.map((p) => p.x);
    assert.deepEqual(
      twinXs,
      twinLayers.layers.filter((l) => l.kind !== 'norm').map((l) => modelIndex.get(l.name)),
    );
    assert.ok(!twinXs.includes(modelIndex.get('layer2.0.shortcut.0')!), 'no twin point where the model has its projection');
    await panel.page.screenshot({ path: join(screenshots, 'probe-model-panel.png'), fullPage: true });
    assert.deepEqual(await cspProblems(panel), []);
    await panel.page.close();
  });

  test('clicking a layer’s point on the chart posts the reveal request with its file and line', async () => {
    const panel = await openWithRun();
    const layer = modelLayers().find((l) => l.name === 'layer2.0.conv1');
    assert.ok(layer, 'layer2.0.conv1 is a layer of the model');
    assert.equal(exampleLines[layer.sourceLine!]!.trim().startsWith('self.conv1 = nn.Conv2d(in_planes, planes'), true, `line ${layer.sourceLine! + 1}: ${exampleLines[layer.sourceLine!]}`);
    await panel.page.locator('.chart-gradient canvas').scrollIntoViewIfNeeded();
    const point = await panel.page.evaluate(
      (name) => (globalThis as unknown as { residualLensPanel: { layerPointOnPage(v: string, n: string): { x: number; y: number } | null } }).residualLensPanel.layerPointOnPage('model', name),
      layer.name,
    );
    assert.ok(point, 'the layer is drawn');
    await panel.page.mouse.click(point.x, point.y);
    // Chart.js hands canvas events to onClick on the next animation frame.
    await panel.page.waitForFunction(() => (globalThis as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'revealSource'), undefined, { timeout: 5000 });
    const reveals = (await panel.posted()).filter((m) => m.type === 'revealSource');
    assert.deepEqual(reveals, [{ type: 'revealSource', uri: layer.sourceUri, line: layer.sourceLine }]);
    assert.equal(reveals[0]!.uri, examplePath, 'the file the CLI read');
    await panel.page.close();
  });

  test('the layer list links every weight layer to its line; the stale note shows when the code changed', async () => {
    const panel = await openWithRun();
    const links = panel.page.locator('.layer-link');
    const weightLayers = modelLayers().filter((l) => l.kind !== 'norm');
    assert.equal(await links.count(), weightLayers.length);
    await panel.page.locator('.layer-link[data-layer="linear"]').click();
    const linear = weightLayers.find((l) => l.name === 'linear')!;
    assert.equal(exampleLines[linear.sourceLine!]!.trim(), 'self.linear = nn.Linear(64 * block.expansion, num_classes)');
    const reveals = (await panel.posted()).filter((m) => m.type === 'revealSource');
    assert.deepEqual(reveals.at(-1), { type: 'revealSource', uri: linear.sourceUri, line: linear.sourceLine });

    await panel.post({ type: 'source', model: 'CifarResNet', stale: 'These results are from an older version of the code: resnet_cifar.py was edited.' });
    await settled(panel);
    assert.equal(await panel.page.locator('.stale-note').isVisible(), true);
    assert.match(await panel.page.locator('.stale-note').innerText(), /older version of the code/);
    await panel.page.screenshot({ path: join(screenshots, 'probe-model-stale.png') });
    assert.deepEqual(await cspProblems(panel), []);
    await panel.page.close();
  });

  test('the plan’s notes (a batch under 16 and the Scale Down that allows more) are shown above the variants’ notes', async () => {
    const planNotes = run.plan?.notes ?? [];
    const smallBatch = planNotes.find((n) => /^batch size \d+ only: /.test(n));
    assert.ok(smallBatch, `the CLI's plan says the batch is small: ${JSON.stringify(planNotes)}`);
    const panel = await openWithRun();
    const shown = await panel.page.locator('.notes .note-plan').allInnerTexts();
    assert.deepEqual(shown, planNotes.map((n) => `ℹ ${n}`));
    assert.match(shown.join('\n'), /Scale Down \(input size ÷ \d, input \(2, 3, \d+, \d+\)\) allows batch \d+/);
    const all = await panel.page.locator('.notes .note').allInnerTexts();
    assert.ok(all.indexOf(`ℹ ${smallBatch}`) < all.findIndex((t) => /synthetic task/.test(t)), `order: ${all.join(' | ')}`);
    assert.equal(new Set(all).size, all.length, 'no note twice');
    await panel.page.locator('.notes').scrollIntoViewIfNeeded();
    await panel.page.screenshot({ path: join(screenshots, 'probe-model-plan-notes.png'), fullPage: true });
    assert.deepEqual(await cspProblems(panel), []);
    await panel.page.close();
  });
});
