// A self-contained HTML report of a probe run: the panel's own script and stylesheet
// inlined under a nonce CSP, the run as a JSON block the script reads. It opens in any
// browser with the same charts as the panel (one source of truth for the charts).
import type { ProbeRunRecord } from './probeRun';

export interface ReportInputs {
  run: ProbeRunRecord;
  /** dist/webview.js */
  scriptText: string;
  /** media/panel.css */
  styleText: string;
  title?: string;
}

function randomNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text inside a <script> or <style> element must not close it early. */
function guardRawText(text: string, tag: 'script' | 'style'): string {
  return text.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');
}

export function renderProbeReportHtml(inputs: ReportInputs): string {
  const nonce = randomNonce();
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data: blob:`;
  const data = JSON.stringify(inputs.run).replace(/</g, '\\u003c');
  const title = escapeText(inputs.title ?? `Residual Lens probe report, ${inputs.run.createdAt.slice(0, 10)}`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="Residual Lens">
<title>${title}</title>
<style nonce="${nonce}">${guardRawText(inputs.styleText, 'style')}</style>
</head>
<body class="standalone-report">
<main id="app"></main>
<script type="application/json" id="residual-lens-run">${data}</script>
<script nonce="${nonce}">${guardRawText(inputs.scriptText, 'script')}</script>
</body>
</html>
`;
}
