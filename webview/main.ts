// Entry of the gradient-flow page, in the editor's webview and in the standalone report.
// Data arrives only by postMessage (editor) or from the report's JSON block (report).
import { parseProbeRunFile } from '../src/core/probe/probeRun';
import { benchmarkRender } from './benchmark';
import { connectHost } from './host';
import { GradientFlowPage } from './panel';
import { registerToolkit } from './toolkit';

registerToolkit();
const host = connectHost();
const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('main'));
const page = new GradientFlowPage(root, host);

// Kept on window for the webview tests and the in-page benchmark; it holds no secrets.
Object.assign(window, {
  residualLensPanel: {
    page,
    inspectChart: (name: Parameters<GradientFlowPage['inspectChart']>[0]) => page.inspectChart(name),
    layerPointOnPage: (variantId: string, layerName: string) => page.layerPointOnPage(variantId, layerName),
    gradientAxisLabels: () => page.gradientAxisLabels(),
    benchmarkRender: (layers?: number, variants?: number, updates?: number, snapshot?: 'init' | 'latest') => benchmarkRender(page, layers, variants, updates, snapshot),
    get renderCount() {
      return page.renderCount;
    },
  },
});

const embedded = document.getElementById('residual-lens-run');
if (embedded) {
  const parsed = parseProbeRunFile(embedded.textContent ?? '');
  if (parsed.ok) {
    page.load(parsed.value);
  } else {
    page.receive({ type: 'notice', text: `This report could not be read: ${parsed.error}` });
  }
  page.renderNow();
} else {
  window.addEventListener('message', (event: MessageEvent) => page.receive(event.data));
  page.restore(host.getState());
  host.post({ type: 'ready' });
}
