// What the summary table, the verdict sentence and the CSV export say about a run.
import { firstToLastRatio } from './metrics';
import { isPartial, type ProbeRunState, type VariantResult } from './probeRun';
import { probeVerdict, type VariantOutcome } from './verdict';

export interface SummaryRow {
  id: string;
  label: string;
  params: number | null;
  /** Mean loss of the last 10 steps (from the worker when the variant finished). */
  finalLoss: number | null;
  finalAccuracy: number | null;
  /** Gradient norm of the first weight layer over the last one, at init. */
  gradientRatio: number | null;
  msPerStep: number | null;
  backendDevice: string;
  status: string;
  partial: boolean;
}

/** Layers whose gradients the flow chart and the ratio use: kernels, not norm scales. */
export function weightLayerIndices(v: VariantResult): number[] {
  const kernels = v.layers.filter((l) => l.kind !== 'norm').map((l) => l.index);
  if (kernels.length) return kernels;
  const count = v.gradientInit?.gradNorms.length ?? 0;
  return Array.from({ length: count }, (_, i) => i);
}

/** First conv kernel's gradient norm over the last one's, at init: the CLI's figure (metrics.ts). */
export function gradientRatio(v: VariantResult): number | null {
  const norms = v.gradientInit?.gradNorms;
  if (!norms) return null;
  const ratio = v.layers.length ? firstToLastRatio(v.layers, norms.map((x) => x ?? Number.NaN)) : undefined;
  return ratio !== undefined && Number.isFinite(ratio) ? ratio : null;
}

function meanOfLast(values: (number | null)[], count: number): number | null {
  const finite = values.filter((x): x is number => x !== null).slice(-count);
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
}

export function statusText(v: VariantResult): string {
  switch (v.status) {
    case 'waiting':
      return 'waiting';
    case 'running':
      return v.steps.length ? 'running' : 'starting';
    case 'completed':
      return 'completed';
    case 'time-budget':
      return 'stopped at time budget';
    case 'cancelled':
      return v.failure?.message ?? 'cancelled';
    case 'failed':
      if (!v.failure) return 'failed';
      // The worker's messages often start with the code already ("diverged at step 12: ...").
      return v.failure.code === 'stopped' || v.failure.message.toLowerCase().startsWith(v.failure.code) ? v.failure.message : `${v.failure.code}: ${v.failure.message}`;
  }
}

export function summaryRow(v: VariantResult): SummaryRow {
  const avgMs = v.ms.length ? v.ms.reduce((a, b) => a + b, 0) / v.ms.length : null;
  return {
    id: v.id,
    label: v.label,
    params: v.params,
    finalLoss: v.finalLoss ?? meanOfLast(v.loss, 10),
    finalAccuracy: v.finalAccuracy ?? meanOfLast(v.accuracy, 10),
    gradientRatio: gradientRatio(v),
    msPerStep: v.msPerStep ?? avgMs,
    backendDevice: [v.backend, v.device].filter(Boolean).join(' · ') || '—',
    status: statusText(v),
    partial: isPartial(v),
  };
}

export function formatNumber(value: number | null, digits = 3): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(1);
  return Number(value.toPrecision(digits)).toLocaleString('en-US');
}

export function formatCount(value: number | null): string {
  if (value === null) return '—';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
  return String(value);
}

function depthOf(v: VariantResult): number | null {
  if (v.spec) return v.spec.depth;
  const m = /(\d+)/.exec(v.id);
  return m ? Number(m[1]) : null;
}

function architectureOf(v: VariantResult): 'plain' | 'residual' | null {
  if (v.spec) return v.spec.architecture;
  if (/plain/i.test(v.id)) return 'plain';
  if (/res/i.test(v.id)) return 'residual';
  return null;
}

function minGradient(v: VariantResult): number | null {
  const norms = v.gradientInit?.gradNorms;
  if (!norms) return null;
  const values = weightLayerIndices(v)
    .map((i) => norms[i])
    .filter((x): x is number => typeof x === 'number');
  return values.length ? Math.min(...values) : null;
}

const vanishingThreshold = 1e-5;
/** A first/last gradient ratio from which the verdict says the norm grows through the depth. */
const steepGradientRatio = 100;
/** A live preview compares variants once they have this many steps. */
const previewMinSteps = 10;

function outcomeOf(v: VariantResult, live: boolean): VariantOutcome | null {
  const architecture = architectureOf(v);
  const depth = depthOf(v);
  if (!architecture || depth === null) return null;
  const finalLoss = summaryRow(v).finalLoss;
  let status: VariantOutcome['status'];
  if (v.status === 'completed' || v.status === 'time-budget') status = 'done';
  else if (v.failure?.code === 'diverged') status = 'diverged';
  else if (v.status === 'failed') status = 'error';
  else if (live && v.status === 'running' && v.steps.length >= previewMinSteps) status = 'done';
  else status = 'cancelled';
  return {
    id: v.label,
    architecture,
    depth,
    status,
    steps: v.steps.length,
    ...(finalLoss !== null ? { finalLoss } : {}),
    ...(v.spec ? { batchNorm: v.spec.batchNorm } : {}),
  };
}

/**
 * The verdict the CLI prints (verdict.ts: each deeper net against the shallowest of its
 * architecture), plus what the gradients at init say, read the way the ResNet paper
 * did: with BatchNorm a deep plain net's gradients are healthy, and its higher training
 * loss (degradation) is an optimisation difficulty, not vanishing gradients.
 */
export function composeVerdict(state: ProbeRunState): string {
  const variants = state.variants.filter((v) => v.steps.length > 0 || v.gradientInit);
  if (variants.length === 0) return '';
  const live = state.running;
  const parts: string[] = [];
  const outcomes = variants.map((v) => outcomeOf(v, live)).filter((o): o is VariantOutcome => o !== null);
  const { verdicts, caveat } = probeVerdict(outcomes, state.record.plan?.classes ?? 10);
  const shown = verdicts.filter((d) => d.comparison !== 'incomplete' || !live);
  for (const d of shown) parts.push(sentence(d.text));

  // Same depth, both architectures: the comparison the shortcut is about.
  const done = outcomes.filter((o) => o.status === 'done' && o.finalLoss !== undefined);
  for (const plain of done.filter((o) => o.architecture === 'plain')) {
    const residual = done.find((o) => o.architecture === 'residual' && o.depth === plain.depth);
    if (residual) parts.push(`At depth ${plain.depth}, ${residual.id} ends at loss ${formatNumber(residual.finalLoss!)} and ${plain.id} at ${formatNumber(plain.finalLoss!)}.`);
  }

  const vanishing = variants.filter((v) => {
    const min = minGradient(v);
    return min !== null && min < vanishingThreshold;
  });
  if (vanishing.length) {
    const noBatchNorm = vanishing.some((v) => v.spec && !v.spec.batchNorm);
    parts.push(`Gradients vanish at init in ${vanishing.map((v) => v.label).join(', ')} (some layers below ${vanishingThreshold.toExponential(0)})${noBatchNorm ? ', without BatchNorm' : ''}.`);
  }
  // What the gradients at init measured, for the plain nets the verdict is about: a degraded
  // one, or one whose norm changes by orders of magnitude through its depth.
  const degraded = new Set(shown.filter((x) => x.comparison === 'degradation' && x.architecture === 'plain').map((x) => x.deep));
  for (const v of variants) {
    if (architectureOf(v) !== 'plain' || vanishing.includes(v)) continue;
    const ratio = gradientRatio(v);
    if (ratio === null || (!degraded.has(v.label) && ratio < steepGradientRatio)) continue;
    parts.push(
      ratio >= steepGradientRatio
        ? `${v.label}'s gradients at init do not vanish: their norm grows ${formatNumber(ratio, 2)}× from the last conv to the first.`
        : `${v.label}'s gradients at init do not vanish (first/last conv ratio ${formatNumber(ratio, 2)}).`,
    );
  }
  if (caveat && vanishing.length === 0) parts.push(caveat);
  if (parts.length === 0 && live) return `Running: the verdict comes once the variants have ${previewMinSteps} steps.`;
  return (live ? 'So far: ' : '') + parts.join(' ');
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One tidy table: a row per (variant, series, step, layer) value; empty layer for per-step series. */
export function probeRunToCsv(state: ProbeRunState): string {
  const rows: (string | number | null)[][] = [['variant', 'series', 'step', 'layer_index', 'layer_name', 'value']];
  for (const v of state.variants) {
    const layerName = (i: number): string | null => v.layers.find((l) => l.index === i)?.name ?? null;
    v.steps.forEach((step, i) => {
      rows.push([v.id, 'loss', step, null, null, v.loss[i] ?? null]);
      rows.push([v.id, 'accuracy', step, null, null, v.accuracy[i] ?? null]);
      rows.push([v.id, 'ms', step, null, null, v.ms[i] ?? null]);
    });
    for (const message of state.record.messages) {
      if (message.variant !== v.id) continue;
      if (message.type === 'gradients') {
        message.gradNorms.forEach((x, i) => rows.push([v.id, 'grad_norm', message.step, i, layerName(i), x]));
        message.weightNorms.forEach((x, i) => rows.push([v.id, 'weight_norm', message.step, i, layerName(i), x]));
        message.updateRatios.forEach((x, i) => rows.push([v.id, 'update_ratio', message.step, i, layerName(i), x]));
      } else if (message.type === 'activations') {
        message.means.forEach((x, i) => rows.push([v.id, 'activation_mean', message.step, i, layerName(i), x]));
        message.stds.forEach((x, i) => rows.push([v.id, 'activation_std', message.step, i, layerName(i), x]));
      }
    }
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
