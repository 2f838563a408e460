// Render cost of the gradient-flow panel: the real built page in Debian's Chromium, timing
// one live update (a step and a gradient snapshot for each variant, then a synchronous
// redraw of the four charts, the table and the verdict, plus the layout it causes).
// Figures, not pass/fail; target under 16 ms (one frame) for 56 layers x 4 variants.
//   node out/bench/render-cost.js [--updates 120]
import { parseArgs } from 'node:util';
import { launchChromium, openPanel, startPanelServer } from '../test/webview/support/panelBrowser';

interface Cost {
  snapshot: string;
  layers: number;
  variants: number;
  updates: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { updates: { type: 'string', default: '120' } } });
  const updates = Number(values.updates);
  const server = await startPanelServer();
  const browser = await launchChromium();
  try {
    const panel = await openPanel(browser, `${server.origin}/panel.html`, { theme: 'dark', width: 1100, height: 900 });
    const run = (layers: number, variants: number, snapshot: 'init' | 'latest'): Promise<Cost> =>
      panel.page.evaluate(
        ([l, v, u, s]) =>
          (globalThis as unknown as { residualLensPanel: { benchmarkRender(l: number, v: number, u: number, s: string): Cost } }).residualLensPanel.benchmarkRender(l as number, v as number, u as number, s as string),
        [layers, variants, updates, snapshot] as const,
      );
    await run(20, 2, 'latest'); // warm-up: JIT and fonts
    for (const snapshot of ['latest', 'init'] as const) {
      for (const [layers, variants] of [
        [20, 4],
        [56, 4],
        [110, 4],
      ] as const) {
        const cost = await run(layers, variants, snapshot);
        console.log(
          `${String(layers).padStart(3)} layers x ${variants} variants, gradients at ${snapshot.padEnd(6)}, ${cost.updates} updates: median ${cost.medianMs.toFixed(2)} ms, p95 ${cost.p95Ms.toFixed(2)} ms, max ${cost.maxMs.toFixed(2)} ms${layers === 56 ? '   (target < 16 ms)' : ''}`,
        );
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
