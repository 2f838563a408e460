// The panel's pure side: message validation both ways, the run model the charts are
// drawn from, result files, the verdict, CSV, the host's batching and HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostToPanelMessage, parsePanelState, parsePanelToHostMessage } from '../../src/core/probe/panelProtocol';
import { parseProbeMessage } from '../../src/core/probe/probeMessageValidation';
import { ProbeRunState, createProbeRun, parseProbeRunFile } from '../../src/core/probe/probeRun';
import { composeVerdict, probeRunToCsv, summaryRow } from '../../src/core/probe/probeSummary';
import { ProbeRecorder } from '../../src/core/probe/record';
import { renderProbeReportHtml } from '../../src/core/probe/reportHtml';
import { MessageBatcher } from '../../src/extension/panel/messageBatcher';
import { panelContentSecurityPolicy, renderPanelHtml } from '../../src/extension/panel/panelHtml';
import { cutShort, loadRecordedStream, probeMessages, withDivergence } from './support/streams';

const recorded = loadRecordedStream();
const messages = probeMessages(recorded);

function replay(stream = recorded, outcome: 'completed' | 'cancelled' | null = 'completed'): ProbeRunState {
  const state = new ProbeRunState(createProbeRun(stream.plan, '2026-11-27T09:41:00.000Z'));
  for (const m of probeMessages(stream)) state.apply(m);
  if (outcome) state.end(outcome);
  return state;
}

test('probe messages: known fields kept, unknown fields dropped and named, bad ones refused', () => {
  const step = parseProbeMessage({ type: 'step', variant: 'plain-8', step: 3, loss: 2.1, accuracy: 0.2, ms: 140, gpu: 'none' });
  assert.ok(step.ok);
  assert.deepEqual(step.value, { type: 'step', variant: 'plain-8', step: 3, loss: 2.1, accuracy: 0.2, ms: 140 });
  assert.deepEqual(step.ignoredFields, ["probe message 'step'.gpu"]);
  const nan = parseProbeMessage({ type: 'step', variant: 'v', step: 1, loss: null, accuracy: Number.NaN, ms: 1 });
  assert.ok(nan.ok && nan.value.type === 'step');
  assert.equal(nan.value.loss, null, 'NaN crosses JSON as null and stays a gap');
  assert.equal(nan.value.accuracy, null);
  assert.deepEqual(parseProbeMessage({ type: 'step', variant: 'v', step: '1', loss: 1, accuracy: 0, ms: 1 }), { ok: false, error: "probe message 'step'.step must be a finite number" });
  assert.equal(parseProbeMessage({ type: 'gossip' }).ok, false);
  assert.equal(parseProbeMessage(null).ok, false);
  const layer = parseProbeMessage({ type: 'started', variant: 'v', backend: 'wasm', device: 'cpu', params: 1, layers: [{ index: 0, name: 'a', kind: 'conv', params: 1, residualAddAfter: false, color: 'red' }], notes: ['x'] });
  assert.ok(layer.ok);
  assert.deepEqual(layer.ignoredFields, ["probe message 'started'.layers[0].color"], 'optional protocol fields (notes) are known');
  for (const m of messages) {
    const parsed = parseProbeMessage(JSON.parse(JSON.stringify(m)));
    assert.ok(parsed.ok, `recorded ${m.type} is valid`);
    assert.deepEqual(parsed.ignoredFields, [], `recorded ${m.type} has no unknown field`);
  }
});

test('the run model replays the recorded stream', () => {
  const state = replay();
  assert.deepEqual(
    state.variants.map((v) => [v.id, v.status, v.steps.length]),
    recorded.plan.variants.map((v) => [v.id, 'completed', 30]),
  );
  const plain20 = state.variants.find((v) => v.id === 'plain-20')!;
  assert.equal(plain20.gradientInit?.step, 0);
  assert.equal(plain20.gradientLatest?.step, 25);
  assert.equal(plain20.layers.length, 20);
  const done = messages.find((m) => m.type === 'done' && m.variant === 'plain-20');
  assert.ok(done && done.type === 'done');
  assert.equal(summaryRow(plain20).finalLoss, done.finalLoss);
  assert.equal(summaryRow(plain20).msPerStep, done.msPerStep);
  const init = messages.find((m) => m.type === 'gradients' && m.variant === 'plain-20' && m.step === 0);
  assert.ok(init && init.type === 'gradients' && init.firstToLastRatio !== undefined);
  assert.ok(Math.abs(summaryRow(plain20).gradientRatio! - init.firstToLastRatio) < 1e-9, 'the same first/last ratio as the engine');
});

test('a cut-off run leaves partial variants, marked', () => {
  const state = replay(cutShort(recorded, 0.5), 'cancelled');
  const partial = state.variants.filter((v) => v.status === 'cancelled');
  assert.ok(partial.length >= 1);
  for (const v of partial) {
    assert.equal(v.failure?.code, 'stopped');
    assert.match(v.failure!.message, /the probe was stopped (at step \d+|before)/);
    assert.equal(summaryRow(v).partial, true);
  }
  assert.ok(state.variants.some((v) => v.status === 'completed'), 'finished variants stay finished');
});

test('result files: round trip, bare JSON lines, the CLI record, and refused versions', () => {
  const state = replay();
  const roundTrip = parseProbeRunFile(JSON.stringify(state.record));
  assert.ok(roundTrip.ok);
  assert.deepEqual(new ProbeRunState(roundTrip.value).variants, state.variants);

  const lines = parseProbeRunFile(messages.map((m) => JSON.stringify(m)).join('\n'));
  assert.ok(lines.ok);
  assert.equal(lines.value.messages.length, messages.length);

  const recorder = new ProbeRecorder(recorded.plan);
  for (const m of messages) recorder.add(m);
  const cli = parseProbeRunFile(JSON.stringify(recorder.record()));
  assert.ok(cli.ok, 'the CLI --json record is read');
  const fromCli = new ProbeRunState(cli.value);
  for (const v of state.variants) {
    const w = fromCli.variants.find((x) => x.id === v.id)!;
    assert.deepEqual([w.status, w.loss, w.gradientInit, w.gradientLatest, w.activationInit?.stds, w.finalLoss], [v.status, v.loss, v.gradientInit, v.gradientLatest, v.activationInit?.stds, v.finalLoss], `${v.id} from the CLI record`);
  }

  const newer = parseProbeRunFile({ ...state.record, version: 2 });
  assert.deepEqual(newer, { ok: false, error: 'this probe result has format version 2, written by a newer Residual Lens; this one reads version 1. Update the extension to open it' });
  const older = parseProbeRunFile({ ...state.record, version: 0 });
  assert.equal(older.ok, false);
  assert.match(older.ok ? '' : older.error, /older Residual Lens that this one cannot migrate; run the probe again/);
  const newerCli = parseProbeRunFile({ ...recorder.record(), version: 3 });
  assert.match(newerCli.ok ? '' : newerCli.error, /version 3, written by a newer Residual Lens/);
  assert.match((parseProbeRunFile('not json {') as { error: string }).error, /neither JSON nor JSON lines/);
  assert.match((parseProbeRunFile({ hello: 1 }) as { error: string }).error, /not a Residual Lens probe result/);
});

test('verdict: the CLI comparison, with the ResNet paper reading of healthy gradients', () => {
  const verdict = composeVerdict(replay());
  assert.match(verdict, /^plain-20 ends at loss 1\.94 vs plain-8 1\.77/);
  assert.match(verdict, /residual-20 \(A\) ends at loss 0\.95 vs residual-8 \(A\) 1\.48: deeper is better/);
  assert.match(verdict, /At depth 20, residual-20 \(A\) ends at loss 0\.949 and plain-20 at 1\.94\./);
  assert.match(verdict, /With BatchNorm the ResNet paper found healthy gradients in plain nets: degradation is an optimisation difficulty, not explained by vanishing gradients/);
  assert.doesNotMatch(verdict, /vanish at init/);
  const diverged = composeVerdict(replay(withDivergence(recorded, 'residual-20', 12)));
  assert.match(diverged, /residual-20 \(A\) diverged/);
  const live = new ProbeRunState(createProbeRun(recorded.plan));
  for (const m of messages.slice(0, 12)) live.apply(m);
  assert.match(composeVerdict(live), /^Running: the verdict comes once the variants have 10 steps\.$|^So far: /);
});

test('verdict without BatchNorm: vanishing gradients are named, not the BatchNorm reading', () => {
  const plan = { ...recorded.plan, variants: recorded.plan.variants.map((v) => ({ ...v, batchNorm: false })) };
  const state = new ProbeRunState(createProbeRun(plan));
  for (const m of messages) {
    if (m.type === 'gradients' && m.variant === 'plain-20') state.apply({ ...m, gradNorms: m.gradNorms.map((g) => g * 1e-7) });
    else state.apply(m);
  }
  state.end('completed');
  const verdict = composeVerdict(state);
  assert.match(verdict, /Gradients vanish at init in plain-20 \(some layers below 1e-5\), without BatchNorm\./);
  assert.doesNotMatch(verdict, /ResNet paper found healthy gradients/);
});

test('CSV: one tidy row per value', () => {
  const state = replay();
  const rows = probeRunToCsv(state).trim().split('\n');
  assert.equal(rows[0], 'variant,series,step,layer_index,layer_name,value');
  const gradientValues = messages.filter((m) => m.type === 'gradients').reduce((n, m) => n + (m.type === 'gradients' ? m.gradNorms.length * 3 : 0), 0);
  const activationValues = messages.filter((m) => m.type === 'activations').reduce((n, m) => n + (m.type === 'activations' ? m.stds.length * 2 : 0), 0);
  const stepValues = messages.filter((m) => m.type === 'step').length * 3;
  assert.equal(rows.length - 1, gradientValues + activationValues + stepValues);
  assert.ok(rows.includes(`plain-8,grad_norm,0,0,stem.conv,${(messages.find((m) => m.type === 'gradients' && m.variant === 'plain-8') as { gradNorms: number[] }).gradNorms[0]}`));
});

test('panel messages are validated both ways', () => {
  assert.deepEqual(parsePanelToHostMessage({ type: 'ready' }), { ok: true, value: { type: 'ready' }, ignoredFields: [] });
  assert.equal(parsePanelToHostMessage({ type: 'export', format: 'exe', dataUrl: null }).ok, false);
  assert.equal(parsePanelToHostMessage({ type: 'export', format: 'png', dataUrl: 'javascript:alert(1)' }).ok, false, 'only PNG data URLs');
  const png = parsePanelToHostMessage({ type: 'export', format: 'png', dataUrl: 'data:image/png;base64,AAAA', extra: 1 });
  assert.ok(png.ok);
  assert.deepEqual(png.ignoredFields, ['extra']);
  assert.equal(parsePanelToHostMessage({ type: 'eval', code: '1' }).ok, false);

  const load = parseHostToPanelMessage({ type: 'load', run: replay().record });
  assert.ok(load.ok);
  const probe = parseHostToPanelMessage({ type: 'probe', messages: [messages[0], { type: 'step' }], batch: 3 });
  assert.ok(probe.ok && probe.value.type === 'probe');
  assert.equal(probe.value.messages.length, 1, 'the broken message is dropped, the good one kept');
  assert.equal(probe.ignoredFields.length, 2);
  assert.equal(parseHostToPanelMessage({ type: 'runEnded', outcome: 'exploded' }).ok, false);

  const restored = parsePanelState({ version: 1, run: replay().record, view: { logScale: false, smoothing: 5, hiddenVariants: ['a', 3] } });
  assert.deepEqual(restored.view, { hiddenVariants: ['a'], logScale: false, smoothing: 0, gradientSnapshot: 'init' });
  assert.equal(restored.problem, null);
  assert.equal(parsePanelState(undefined).problem, null, 'a fresh panel has no saved state');
});

test('Probe This Model messages: a layer’s reveal request and the run’s source are validated', () => {
  assert.deepEqual(parsePanelToHostMessage({ type: 'revealSource', uri: 'file:///ws/model.py', line: 13 }), {
    ok: true,
    value: { type: 'revealSource', uri: 'file:///ws/model.py', line: 13 },
    ignoredFields: [],
  });
  for (const bad of [
    { type: 'revealSource', uri: 'file:///ws/model.py', line: -1 },
    { type: 'revealSource', uri: 'file:///ws/model.py', line: 1.5 },
    { type: 'revealSource', uri: 'file:///ws/model.py' },
    { type: 'revealSource', uri: 42, line: 1 },
    { type: 'revealSource', uri: '', line: 1 },
    { type: 'revealSource', uri: 'x'.repeat(5000), line: 1 },
  ]) {
    assert.equal(parsePanelToHostMessage(bad).ok, false, JSON.stringify(bad).slice(0, 80));
  }
  const extra = parsePanelToHostMessage({ type: 'revealSource', uri: 'file:///ws/model.py', line: 2, column: 4 });
  assert.ok(extra.ok);
  assert.deepEqual(extra.ignoredFields, ['column']);

  assert.deepEqual(parseHostToPanelMessage({ type: 'source', model: 'CifarResNet', stale: null }), { ok: true, value: { type: 'source', model: 'CifarResNet', stale: null }, ignoredFields: [] });
  assert.deepEqual(parseHostToPanelMessage({ type: 'source' }), { ok: true, value: { type: 'source', model: null, stale: null }, ignoredFields: [] });
  assert.equal(parseHostToPanelMessage({ type: 'source', model: 3, stale: null }).ok, false);
  assert.equal(parseHostToPanelMessage({ type: 'source', model: 'M', stale: {} }).ok, false);
});

test('the host batches stream messages: at most one post per 100 ms, none lost', async () => {
  const deliveries: number[][] = [];
  const batcher = new MessageBatcher<number>(100, (items) => deliveries.push(items));
  const started = performance.now();
  for (let i = 0; i < 500; i++) {
    batcher.add(i);
    if (i % 25 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 150));
  const elapsed = performance.now() - started;
  assert.deepEqual(deliveries.flat(), Array.from({ length: 500 }, (_, i) => i));
  assert.ok(deliveries.length <= Math.ceil(elapsed / 100) + 1, `${deliveries.length} posts in ${elapsed.toFixed(0)} ms`);
  batcher.add(1);
  batcher.clear();
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(deliveries.flat().length, 500, 'cleared items are not delivered');
  batcher.dispose();
});

test('panel HTML: an empty skeleton under a strict nonce CSP', () => {
  const html = renderPanelHtml({ cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce: 'abc123==', scriptUri: 'https://x/dist/webview.js', styleUri: 'https://x/media/panel.css' });
  assert.equal(
    panelContentSecurityPolicy('https://r', 'n1'),
    "default-src 'none'; script-src 'nonce-n1'; style-src https://r 'nonce-n1'; img-src https://r data:; font-src https://r",
  );
  assert.ok(html.includes(`content="default-src 'none'; script-src 'nonce-abc123=='`));
  assert.ok(html.includes('<meta property="csp-nonce" content="abc123==">'));
  assert.ok(html.includes('<script nonce="abc123==" src="https://x/dist/webview.js"></script>'));
  assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/);
  assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script, no inline data');
  assert.match(html, /<main id="app"><\/main>/);
});

test('report HTML: data and code cannot break out of their elements', () => {
  const state = replay();
  state.record.plan!.variants[0]!.label = '</script><img src=x onerror=alert(1)>';
  const html = renderProbeReportHtml({ run: state.record, scriptText: 'const s = "</script>";', styleText: 'body{}</style>' });
  assert.equal((html.match(/<\/script>/g) ?? []).length, 2, 'only the two real closing tags');
  assert.ok(!html.includes('<img src=x'));
  assert.ok(html.includes('\\u003c/script>'));
  assert.equal((html.match(/<\/style>/g) ?? []).length, 1);
});
