// Hostile strings in a probe result (a user model's layer names, labels, error texts and
// notes can hold anything) shown in the real panel page in Chromium: nothing may run,
// no element may be injected, the text must show literally. And what a compromised page
// could post to the host is refused by the host's validator.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createProbeRun } from '../../src/core/probe/probeRun';
import { parsePanelToHostMessage } from '../../src/core/probe/panelProtocol';
import type { ProbeMessage, ProbePlan } from '../../src/core/probe/protocol';
import { panelContentSecurityPolicy, renderPanelHtml } from '../../src/extension/panel/panelHtml';
import { cspProblems, launchChromium, openPanel, settled, startPanelServer, type Browser, type PanelServer } from './support/panelBrowser';
import { loadRecordedStream, probeMessages } from './support/streams';

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

/** What the test reads in the page (this tsconfig has no DOM lib). */
interface PageGlobals {
  __xss?: string;
  document: { querySelectorAll(selector: string): { length: number }; body: { innerText: string } };
}

/** Markup that would run script or add an element if it were ever parsed as HTML. */
const attack = (where: string): string =>
  `<img src=x onerror="window.__xss='${where}'"><script>window.__xss='${where}'</script><b class="injected">${where}</b>`;

function hostileRun(): { plan: ProbePlan; messages: ProbeMessage[] } {
  const recorded = loadRecordedStream();
  const plan: ProbePlan = { ...recorded.plan, variants: recorded.plan.variants.map((v) => ({ ...v, label: `${v.label} ${attack(`label ${v.id}`)}` })) };
  const messages: ProbeMessage[] = [];
  for (const m of probeMessages(recorded)) {
    if (m.type === 'started') {
      messages.push({ ...m, layers: m.layers.map((l) => ({ ...l, name: `${l.name}${attack('layer')}` })), notes: [attack(`note ${m.variant}`)] });
    } else if (m.variant === 'residual-20' && m.type === 'done') {
      messages.push({ type: 'error', variant: m.variant, code: 'crashed', message: attack('error'), step: m.steps });
    } else {
      messages.push(m);
    }
  }
  return { plan, messages };
}

test('HTML and script in labels, layer names, notes and errors never run and show as text', async () => {
  const { plan, messages } = hostileRun();
  const panel = await openPanel(browser, `${server.origin}/panel.html`);
  const dialogs: string[] = [];
  panel.page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await panel.post({ type: 'load', run: createProbeRun(plan, '2026-11-27T09:41:00.000Z') });
  await panel.post({ type: 'probe', messages });
  await panel.post({ type: 'runEnded', outcome: 'failed', message: attack('runEnded') });
  await settled(panel);

  const seen = await panel.page.evaluate(() => {
    const page = globalThis as unknown as PageGlobals;
    return { xss: page.__xss, injected: page.document.querySelectorAll('.injected, [onerror], script:not([nonce])').length, text: page.document.body.innerText };
  });
  assert.equal(seen.xss, undefined, 'no injected script ran');
  assert.equal(seen.injected, 0, 'no element was made from the strings');
  assert.deepEqual(dialogs, []);
  for (const where of ['label plain-8', 'label residual-20', 'note plain-8', 'error']) {
    assert.ok(seen.text.includes(attack(where)), `"${where}" shows literally in the page`);
  }
  // A notice (a result file that cannot be opened) takes the same path into the page.
  await panel.post({ type: 'notice', text: attack('notice') });
  await settled(panel);
  assert.ok((await panel.page.locator('[role="alert"]').innerText()).includes(attack('notice')));
  assert.equal(await panel.page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('.injected, [onerror]').length), 0);
  assert.deepEqual(await cspProblems(panel), [], 'no CSP violation: nothing even tried to run');
  assert.deepEqual(panel.outsideRequests, []);
  await panel.page.close();
});

test('the served page carries the strict CSP: a fresh nonce per render, no unsafe-inline or unsafe-eval', async () => {
  const fetchPage = async (): Promise<string> => (await fetch(`${server.origin}/panel.html`)).text();
  const [first, second] = [await fetchPage(), await fetchPage()];
  const nonceOf = (html: string): string => /script-src 'nonce-([^']+)'/.exec(html)?.[1] ?? '';
  assert.ok(nonceOf(first).length >= 16, 'a nonce of 16 random bytes');
  assert.notEqual(nonceOf(first), nonceOf(second), 'a fresh nonce each time');
  for (const html of [first, second]) {
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /^default-src 'none'; /);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    // Every script element carries the nonce; none has inline code.
    const scripts = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.ok(scripts.every(([, attributes, body]) => attributes!.includes(`nonce="${nonceOf(html)}"`) && body === ''));
  }
  // A nonce that tried to break out of its attribute stays inside it.
  const broken = renderPanelHtml({ cspSource: 'https://r', nonce: `"><script>alert(1)</script>`, scriptUri: 'https://r/w.js', styleUri: 'https://r/p.css' });
  assert.equal([...broken.matchAll(/<script/g)].length, 1);
  assert.doesNotMatch(panelContentSecurityPolicy('https://r', randomBytes(16).toString('base64')), /unsafe/);
});

test('what a compromised page posts is refused or reduced by the host validator, with a reason to log', () => {
  const refused: unknown[] = [
    null,
    'ready',
    [{ type: 'ready' }],
    { type: 'eval', code: 'process.exit()' },
    { type: '__proto__' },
    { type: 'constructor' },
    { type: { toString: () => 'ready' } },
    { type: 'export', format: 'html', dataUrl: 'data:text/html,<script>alert(1)</script>' },
    { type: 'export', format: '../../etc/passwd', dataUrl: null },
    { type: 'png', requestId: '1', dataUrl: null },
    { type: 'log', level: 'info', text: { length: 1 } },
  ];
  for (const message of refused) {
    const parsed = parsePanelToHostMessage(message);
    assert.equal(parsed.ok, false, `refused: ${JSON.stringify(message)}`);
    assert.ok(!parsed.ok && parsed.error.length > 0, 'with a reason for the log');
  }
  // The page's log lines reach the host's output channel: the level is one of three, the text is capped.
  const log = parsePanelToHostMessage({ type: 'log', level: 'trace', text: 'x'.repeat(100_000), callback: 'y' });
  assert.ok(log.ok && log.value.type === 'log');
  assert.equal(log.value.level, 'info');
  assert.equal(log.value.text.length, 2000);
  assert.deepEqual(log.ignoredFields, ['callback']);
  const polluted = parsePanelToHostMessage(JSON.parse('{"type":"stop","__proto__":{"polluted":true}}'));
  assert.ok(polluted.ok);
  assert.deepEqual(polluted.value, { type: 'stop' });
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});
