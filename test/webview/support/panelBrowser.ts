// Serves the panel page exactly as the extension host renders it (renderPanelHtml with a
// nonce and the same CSP) from 127.0.0.1, and drives it in Debian's Chromium. A shim
// stands in for acquireVsCodeApi and records what the page posts to the host.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { renderPanelHtml } from '../../../src/extension/panel/panelHtml';
import { distDir, repoRoot } from '../../support/paths';
import { themes, type ThemeName } from './themes';

export const chromiumPath = '/usr/bin/chromium';

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json',
};

export interface PanelServer {
  origin: string;
  /** Extra pages by path, e.g. a rendered report. */
  pages: Map<string, string>;
  close(): Promise<void>;
}

export async function startPanelServer(): Promise<PanelServer> {
  const pages = new Map<string, string>();
  let origin = '';
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    const send = (status: number, type: string, body: string | Buffer): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (path === '/panel.html') {
      // Same inputs as GradientFlowPanel.html(): cspSource is the origin of the local resources.
      const html = renderPanelHtml({ cspSource: origin, nonce: randomBytes(16).toString('base64'), scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/media/panel.css` });
      return send(200, contentTypes['.html']!, html);
    }
    const page = pages.get(path);
    if (page !== undefined) return send(200, contentTypes['.html']!, page);
    // Only what localResourceRoots allows: dist/ and media/.
    const allowed = path.startsWith('/dist/') || path.startsWith('/media/');
    const file = normalize(join(repoRoot, path));
    if (!allowed || !file.startsWith(repoRoot) || !existsSync(file)) return send(404, 'text/plain', 'not found');
    send(200, contentTypes[extname(file)] ?? 'application/octet-stream', readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no server address');
  origin = `http://127.0.0.1:${address.port}`;
  return {
    origin,
    pages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(join(distDir, 'webview.js'))) throw new Error('dist/webview.js is missing: run npm run build');
  const userDataDir = mkdtempSync(join(tmpdir(), 'residual-lens-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 900 },
    deviceScaleFactor: 1,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface PanelPage {
  page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  /** Requests that left 127.0.0.1 (must stay empty: nothing phones home). */
  outsideRequests: string[];
  posted(): Promise<{ type: string; [key: string]: unknown }[]>;
  savedState(): Promise<unknown>;
  post(message: unknown): Promise<void>;
  setTheme(theme: ThemeName): Promise<void>;
}

function shimScript(initialState: unknown, theme: ThemeName | null, withVsCodeApi: boolean): string {
  return `(() => {
  let state = ${JSON.stringify(initialState ?? null)} ?? undefined;
  window.__posted = [];
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' blocked ' + e.blockedURI + ' ' + (e.sample || '')));
  let acquired = false;
  if (${withVsCodeApi}) window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return {
      postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => state,
      setState: (s) => { state = s; window.__savedState = JSON.parse(JSON.stringify(s)); },
    };
  };
  window.__applyTheme = (vars, bodyClass) => {
    const apply = () => {
      if (!document.body) return false;
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
      document.body.classList.add(bodyClass);
      return true;
    };
    if (!apply()) {
      const observer = new MutationObserver(() => { if (apply()) observer.disconnect(); });
      observer.observe(document, { childList: true, subtree: true });
    }
  };
  ${theme ? `window.__applyTheme(${JSON.stringify(themes[theme].variables)}, ${JSON.stringify(themes[theme].bodyClass)});` : ''}
})();`;
}

/** Opens the panel page (with the acquireVsCodeApi shim) or, with `withVsCodeApi: false`, a standalone report. */
export async function openPanel(
  browser: Browser,
  url: string,
  options: { theme?: ThemeName | null; state?: unknown; width?: number; height?: number; withVsCodeApi?: boolean } = {},
): Promise<PanelPage> {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: options.width ?? 1100, height: options.height ?? 900 });
  const problems: string[] = [];
  const outsideRequests: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' || /Content Security Policy|Refused to/i.test(text)) problems.push(`console ${message.type()}: ${text}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.route('**/*', (route) => {
    const requestUrl = route.request().url();
    if (/^(http:\/\/127\.0\.0\.1[:/]|data:|blob:|file:)/.test(requestUrl)) return route.continue();
    outsideRequests.push(requestUrl);
    return route.abort();
  });
  await page.addInitScript(shimScript(options.state, options.theme === undefined ? 'light' : options.theme, options.withVsCodeApi ?? true));
  await page.goto(url);
  await page.waitForFunction(() => 'residualLensPanel' in globalThis);
  return {
    page,
    problems,
    outsideRequests,
    posted: () => page.evaluate(() => (globalThis as unknown as { __posted: { type: string }[] }).__posted),
    savedState: () => page.evaluate(() => (globalThis as unknown as { __savedState: unknown }).__savedState),
    post: (message) => page.evaluate((m) => (globalThis as unknown as { postMessage(m: unknown, target: string): void }).postMessage(m, '*'), message),
    setTheme: (theme) => page.evaluate(([vars, bodyClass]) => (globalThis as unknown as { __applyTheme(v: unknown, c: string): void }).__applyTheme(vars, bodyClass as string), [themes[theme].variables, themes[theme].bodyClass] as const),
  };
}

/** CSP violations reported to the page's listener, plus console errors: must be empty. */
export async function cspProblems(panel: PanelPage): Promise<string[]> {
  const violations = await panel.page.evaluate(() => (globalThis as unknown as { __cspViolations: string[] }).__cspViolations);
  return [...violations.map((v) => `CSP violation: ${v}`), ...panel.problems];
}

/** Waits until the page has rendered at least once after now (renders are batched). */
export async function settled(panel: PanelPage): Promise<void> {
  await panel.page.waitForTimeout(250);
}
