// Render cost of one live update: 4 variants of 56 layers each, a new step and a new
// gradient snapshot per variant, then one synchronous redraw of charts, table and text.
import { createProbeRun } from '../src/core/probe/probeRun';
import type { ReceivedProbeMessage } from '../src/core/probe/probeMessageValidation';
import type { ProbeLayer } from '../src/core/probe/protocol';
import type { GradientFlowPage } from './panel';

export interface RenderCost {
  snapshot: 'init' | 'latest';
  layers: number;
  variants: number;
  updates: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

function syntheticLayers(count: number, residual: boolean): ProbeLayer[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    name: index === count - 1 ? 'fc' : `stage${1 + Math.floor((index * 3) / count)}.conv${index}`,
    kind: index === count - 1 ? 'dense' : 'conv',
    params: 2304,
    residualAddAfter: residual && index > 0 && index < count - 1 && index % 2 === 0,
  }));
}

/** `snapshot` 'latest' redraws the gradient chart on every update too (the costlier view). */
export function benchmarkRender(page: GradientFlowPage, layers = 56, variants = 4, updates = 60, snapshot: 'init' | 'latest' = 'latest', warmupSteps = 200): RenderCost {
  const ids = Array.from({ length: variants }, (_, i) => `${i % 2 ? 'residual' : 'plain'}-${layers}-${Math.floor(i / 2)}`);
  const run = createProbeRun(null);
  const gradients = (id: string, step: number, v: number): ReceivedProbeMessage => {
    const norms = Array.from({ length: layers }, (_, i) => (v + 1) * Math.exp(-i / 12) * (1 + 0.1 * Math.sin(step + i)));
    return { type: 'gradients', variant: id, step, gradNorms: norms, weightNorms: norms, updateRatios: norms.map(() => 1e-3) };
  };
  ids.forEach((id, v) => {
    run.messages.push({ type: 'started', variant: id, backend: 'bench', device: 'cpu', params: 850_000, layers: syntheticLayers(layers, id.startsWith('residual')) });
    run.messages.push({ type: 'activations', variant: id, step: 0, means: Array(layers).fill(0), stds: Array.from({ length: layers }, (_, i) => 1 + i / layers) });
    for (let step = 0; step < warmupSteps; step++) run.messages.push({ type: 'step', variant: id, step, loss: 2.3 * Math.exp(-step / 100) + v * 0.1, accuracy: Math.min(1, step / warmupSteps), ms: 30 });
    run.messages.push(gradients(id, 0, v));
  });
  return page.withTemporaryRun(run, { hiddenVariants: [], logScale: true, smoothing: 0.6, gradientSnapshot: snapshot }, (state) => {
    page.renderNow();
    const times: number[] = [];
    for (let u = 0; u < updates; u++) {
      const step = warmupSteps + u;
      ids.forEach((id, v) => {
        state.apply({ type: 'step', variant: id, step, loss: 2.3 * Math.exp(-step / 100) + v * 0.1, accuracy: Math.min(1, step / (warmupSteps + updates)), ms: 30 });
        state.apply(gradients(id, step, v));
      });
      const started = performance.now();
      page.renderNow();
      // Include the style and layout the DOM changes cause, not only the script.
      void document.body.offsetHeight;
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    return { snapshot, layers, variants, updates, medianMs: at(0.5), p95Ms: at(0.95), maxMs: times[times.length - 1]! };
  });
}
