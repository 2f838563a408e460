// The four probe charts. The panel and the standalone HTML report both draw through
// this module, so a report shows exactly what the panel showed.
import {
  Chart,
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type Plugin,
} from 'chart.js';
import type { PanelViewOptions } from '../src/core/probe/panelProtocol';
import { isPartial, type VariantResult } from '../src/core/probe/probeRun';
import { weightLayerIndices } from '../src/core/probe/probeSummary';
import { withAlpha, type ChartTheme } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip);

export interface PlottedVariant {
  variant: VariantResult;
  color: string;
  /** Plain nets are dashed, residual nets solid; colour follows depth. */
  dashed: boolean;
  visible: boolean;
}

type Point = { x: number; y: number | null };
type LineDataset = ChartDataset<'line', Point[]>;
type LineChart = Chart<'line', Point[]>;

export type ChartName = 'gradient' | 'loss' | 'accuracy' | 'activation';

interface ResidualMark {
  x: number;
  color: string;
}

const residualMarks = new WeakMap<Chart, ResidualMark[]>();

const chanceLines = new WeakMap<Chart, number>();

/** The loss of a uniform guess, dashed across the loss chart: a net on it has learned nothing. */
const chanceLinePlugin: Plugin<'line'> = {
  id: 'chanceLine',
  beforeDatasetsDraw(chart) {
    const chance = chanceLines.get(chart);
    const y = chart.scales.y;
    if (chance === undefined || !y || chance < y.min || chance > y.max) return;
    const { ctx, chartArea } = chart;
    const py = y.getPixelForValue(chance);
    const color = String(chart.options.color ?? '#888');
    ctx.save();
    ctx.strokeStyle = withAlpha(color, 0.55);
    ctx.setLineDash([3, 3]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(chartArea.left, py);
    ctx.lineTo(chartArea.right, py);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = withAlpha(color, 0.8);
    ctx.font = `${Math.max(10, (chart.options.font?.size ?? 12) - 1)}px ${chart.options.font?.family ?? 'sans-serif'}`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText(`chance ${chance.toFixed(2)}`, chartArea.right - 4, py - 2);
    ctx.restore();
  },
};

/** Draws each dataset's end marker over its last point (cheaper than per-point options). */
const endMarkersPlugin: Plugin<'line'> = {
  id: 'endMarkers',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    chart.data.datasets.forEach((dataset, i) => {
      const marker = (dataset as { endMarker?: EndMarker | null }).endMarker;
      if (!marker || marker.index < 0 || !chart.isDatasetVisible(i)) return;
      const point = chart.getDatasetMeta(i).data[marker.index];
      if (!point) return;
      ctx.save();
      ctx.strokeStyle = String(dataset.borderColor);
      ctx.fillStyle = String(dataset.borderColor);
      ctx.lineWidth = 3;
      const r = marker.radius;
      ctx.beginPath();
      if (marker.style === 'crossRot') {
        ctx.moveTo(point.x - r * 0.7, point.y - r * 0.7);
        ctx.lineTo(point.x + r * 0.7, point.y + r * 0.7);
        ctx.moveTo(point.x + r * 0.7, point.y - r * 0.7);
        ctx.lineTo(point.x - r * 0.7, point.y + r * 0.7);
        ctx.stroke();
      } else {
        ctx.moveTo(point.x, point.y - r);
        ctx.lineTo(point.x + r, point.y);
        ctx.lineTo(point.x, point.y + r);
        ctx.lineTo(point.x - r, point.y);
        ctx.closePath();
        ctx.fill();
      }
      ctx.restore();
    });
  },
};

/** Thin dotted verticals where a residual addition follows a layer, in the variant's colour. */
const residualMarksPlugin: Plugin<'line'> = {
  id: 'residualMarks',
  beforeDatasetsDraw(chart) {
    const marks = residualMarks.get(chart);
    if (!marks?.length) return;
    const { ctx, chartArea, scales } = chart;
    const x = scales.x;
    if (!x) return;
    // Many additions (deep nets) as ticks along the bottom, so the lines stay readable.
    const crowded = marks.length > 24;
    const top = crowded ? chartArea.bottom - 10 : chartArea.top;
    ctx.save();
    ctx.lineWidth = crowded ? 2 : 1;
    ctx.setLineDash(crowded ? [] : [2, 3]);
    for (const mark of marks) {
      const px = x.getPixelForValue(mark.x);
      if (px < chartArea.left || px > chartArea.right) continue;
      ctx.strokeStyle = mark.color;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, chartArea.bottom);
      ctx.stroke();
    }
    ctx.restore();
  },
};

export interface EndMarker {
  style: 'crossRot' | 'rectRot';
  radius: number;
  /** Index of the point it is drawn on: the last one with a value. */
  index: number;
}

/** A curve that stops early ends with a marker: a cross where it diverged, a diamond where it was cut short. */
function endMarker(v: VariantResult): Omit<EndMarker, 'index'> | null {
  if (v.failure?.code === 'diverged') return { style: 'crossRot', radius: 9 };
  if (isPartial(v) && v.status !== 'running' && v.status !== 'waiting') return { style: 'rectRot', radius: 6 };
  return null;
}

function lastDefinedIndex(points: Point[]): number {
  for (let i = points.length - 1; i >= 0; i--) if (points[i]!.y !== null) return i;
  return -1;
}

/** TensorBoard-style exponential smoothing, debiased so the first steps are not pulled to 0. */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values;
  let average = 0;
  let count = 0;
  return values.map((value) => {
    if (value === null) return null;
    average = average * weight + (1 - weight) * value;
    count++;
    return average / (1 - Math.pow(weight, count));
  });
}

/**
 * Log-axis ticks chosen here rather than by Chart.js (which ticks 1..9 of each decade and
 * then skips some at random): 1, 2 and 5 of each decade over a narrow range, powers of ten
 * over a wide one, thinned to at most `limit`, and never fewer than two.
 */
export function logTicks(min: number, max: number, limit = 8): number[] {
  if (!(min > 0) || !(max >= min)) return [];
  const low = Math.floor(Math.log10(min));
  const high = Math.ceil(Math.log10(max));
  const inRange = (v: number): boolean => v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9);
  const candidates = (mantissas: number[]): number[] => {
    const out: number[] = [];
    for (let e = low; e <= high; e++) for (const m of mantissas) out.push(Number((m * Math.pow(10, e)).toPrecision(12)));
    return out.filter(inRange);
  };
  let ticks = candidates([1, 2, 5]);
  if (ticks.length > limit) ticks = candidates([1]);
  if (ticks.length > limit) {
    const step = Math.ceil(ticks.length / limit);
    ticks = ticks.filter((_, i) => i % step === 0);
  }
  if (ticks.length < 2) {
    const ends = [min, max].map((v) => Number(v.toPrecision(2))).filter(inRange);
    ticks = [...new Set([...ends, ...ticks])].sort((x, y) => x - y);
  }
  return ticks;
}

function formatTick(value: number, log: boolean): string {
  if (!log) return Number(value.toPrecision(3)).toString();
  const exponent = Math.floor(Math.log10(value) + 1e-9);
  if (exponent >= -3 && exponent <= 3) return String(Number(value.toPrecision(2)));
  const mantissa = Number((value / Math.pow(10, exponent)).toPrecision(2));
  return mantissa === 1 ? `1e${exponent}` : `${mantissa}e${exponent}`;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;

/** A number per object: tells a new run's data from an old one with the same shape. */
function identity(value: object | null | undefined): number {
  if (!value) return 0;
  let id = identities.get(value);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(value, id);
  }
  return id;
}

/** Source names on the gradient chart's x axis: at most this many labelled ticks (the rest thinned evenly). */
const maxNamedTicks = 48;

/** A layer with a line of source behind it: what a click on the gradient chart opens. */
export type LayerClickHandler = (variantId: string, layerIndex: number) => void;

/**
 * A plain twin (Probe This Model: id `<role>-plain`) is drawn at its model's positions,
 * matched by layer name: it lacks the projection shortcuts, so by index its layers after
 * the first projection would stand one place off the same layers of the model.
 */
export function gradientPositions(variants: readonly VariantResult[]): Map<string, Map<number, number>> {
  const positions = new Map<string, Map<number, number>>();
  for (const twin of variants) {
    if (!twin.id.endsWith('-plain') || twin.spec?.architecture === 'residual') continue;
    const model = variants.find((v) => v.id === twin.id.slice(0, -'-plain'.length));
    if (!model) continue;
    const byName = new Map(model.layers.map((l) => [l.name, l.index]));
    if (!twin.layers.every((l) => byName.has(l.name))) continue;
    positions.set(twin.id, new Map(twin.layers.map((l) => [l.index, byName.get(l.name)!])));
  }
  return positions;
}

export class ProbeCharts {
  private readonly charts = new Map<ChartName, LineChart>();
  /** What each chart was last drawn from; an unchanged chart is not redrawn. */
  private readonly signatures = new Map<ChartName, string>();
  private theme: ChartTheme;
  /** Layer names by variant, for tooltips. */
  private layerNames = new Map<string, Map<number, string>>();
  /** Variants whose layers have lines of source (Probe This Model): clickable; x on the chart → layer index. */
  private sourcedLayers = new Map<string, Map<number, number>>();
  /** Where each variant's layers stand on the gradient chart's x axis, by layer index (see gradientX). */
  private gradientXs = new Map<string, Map<number, number>>();
  /** The gradient chart's x-axis labels: the source names of one variant's weight layers, by index. */
  private axisNames: Map<number, string> | null = null;

  constructor(
    canvases: Record<ChartName, HTMLCanvasElement>,
    theme: ChartTheme,
    private readonly onLayerClick: LayerClickHandler | null = null,
  ) {
    this.theme = theme;
    for (const [name, canvas] of Object.entries(canvases) as [ChartName, HTMLCanvasElement][]) {
      const chart = new Chart<'line', Point[]>(canvas, { type: 'line', data: { datasets: [] }, options: this.options(name, true), plugins: name === 'gradient' ? [residualMarksPlugin, endMarkersPlugin] : name === 'loss' ? [chanceLinePlugin, endMarkersPlugin] : [endMarkersPlugin] });
      this.charts.set(name, chart);
    }
  }

  residualMarksOf(name: ChartName): { x: number }[] {
    return residualMarks.get(this.chart(name)) ?? [];
  }

  chart(name: ChartName): LineChart {
    return this.charts.get(name)!;
  }

  setTheme(theme: ChartTheme, view: PanelViewOptions): void {
    this.theme = theme;
    this.signatures.clear();
    for (const [name, chart] of this.charts) {
      chart.options = this.options(name, name === 'gradient' ? view.logScale : false);
      chart.update('none');
    }
  }

  private options(name: ChartName, logScale: boolean): ChartOptions<'line'> {
    const t = this.theme;
    const axisTitles: Record<ChartName, [string, string]> = {
      gradient: ['layer index (input → output)', 'gradient L2 norm'],
      loss: ['step', 'training loss'],
      accuracy: ['step', 'training accuracy'],
      activation: ['layer index (input → output)', 'activation std at init'],
    };
    const [xTitle, yTitle] = axisTitles[name];
    const font = { family: t.fontFamily, size: Math.max(11, t.fontSize - 1) };
    const scaleStyle = {
      grid: { color: withAlpha(t.grid, t.highContrast ? 0.8 : 0.5), tickColor: withAlpha(t.grid, 0.6) },
      border: { color: t.grid },
      ticks: { color: t.muted, font },
    };
    const useLog = name === 'gradient' && logScale;
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      ...(name === 'gradient'
        ? {
            onClick: (event, elements, chart) => {
              const hit = this.layerAt(chart as LineChart, elements, event.y ?? null);
              if (hit) this.onLayerClick?.(hit.variantId, hit.layerIndex);
            },
            onHover: (event, elements, chart) => {
              const target = event.native?.target;
              if (target instanceof HTMLElement) target.style.cursor = this.layerAt(chart as LineChart, elements, event.y ?? null) ? 'pointer' : '';
            },
          }
        : {}),
      layout: { padding: { top: 6, right: 10 } },
      color: t.foreground,
      font,
      elements: { line: { borderWidth: t.highContrast ? 3 : 2, tension: 0 }, point: { radius: 0, hoverRadius: 4, hitRadius: 6 } },
      plugins: {
        tooltip: {
          backgroundColor: withAlpha(t.background, 0.95),
          titleColor: t.foreground,
          bodyColor: t.foreground,
          borderColor: t.grid,
          borderWidth: 1,
          titleFont: font,
          bodyFont: font,
          callbacks: {
            title: (items) => {
              const item = items[0];
              if (!item) return '';
              const x = item.parsed.x ?? 0;
              if (name === 'loss' || name === 'accuracy') return `step ${x}`;
              const variantId = (item.dataset as LineDataset & { variantId?: string }).variantId ?? '';
              const layer = this.layerNames.get(variantId)?.get(x);
              return layer ? `layer ${x}: ${layer}` : `layer ${x}`;
            },
            label: (item) => `${item.dataset.label ?? ''}: ${Number((item.parsed.y ?? 0).toPrecision(4))}`,
          },
        },
      },
      scales: {
        x:
          name === 'gradient'
            ? {
                type: 'linear',
                title: { display: true, text: xTitle, color: t.muted, font },
                ...scaleStyle,
                // With source names, one tick per layer labelled with its name; else plain indices.
                ticks: {
                  ...scaleStyle.ticks,
                  precision: 0,
                  maxTicksLimit: 12,
                  autoSkip: false,
                  maxRotation: 90,
                  minRotation: 0,
                  callback: (value) => this.axisNames?.get(Number(value)) ?? String(value),
                },
                afterBuildTicks: (scale: { min: number; max: number; ticks: { value: number }[] }) => {
                  const names = this.axisNames;
                  if (!names) {
                    // Chart.js's own ticks are kept, thinned as autoSkip would.
                    if (scale.ticks.length > 12) {
                      const step = Math.ceil(scale.ticks.length / 12);
                      scale.ticks = scale.ticks.filter((_, i) => i % step === 0);
                    }
                    return;
                  }
                  const indices = [...names.keys()].filter((i) => i >= scale.min && i <= scale.max);
                  // Rotated labels need about a line height each along the axis.
                  const room = Math.max(2, Math.min(maxNamedTicks, Math.floor((scale as unknown as { width: number }).width / 15)));
                  const step = Math.max(1, Math.ceil(indices.length / room));
                  scale.ticks = indices.filter((_, i) => i % step === 0).map((value) => ({ value }));
                },
              }
            : { type: 'linear', title: { display: true, text: xTitle, color: t.muted, font }, ...scaleStyle, ticks: { ...scaleStyle.ticks, precision: 0, maxTicksLimit: 12 } },
        y: {
          type: useLog ? 'logarithmic' : 'linear',
          title: { display: true, text: yTitle + (useLog ? ' (log)' : ''), color: t.muted, font },
          ...scaleStyle,
          ticks: { ...scaleStyle.ticks, autoSkip: !useLog, maxTicksLimit: 8, callback: (value) => formatTick(Number(value), useLog) },
          ...(useLog
            ? {
                afterBuildTicks: (scale: { min: number; max: number; ticks: { value: number }[] }) => {
                  scale.ticks = logTicks(scale.min, scale.max).map((value) => ({ value }));
                },
              }
            : {}),
          ...(name === 'accuracy' ? { min: 0, max: 1 } : {}),
        },
      },
    };
  }

  /** The sourced layer under a click: of the nearest points, the one closest in y. */
  private layerAt(chart: LineChart, elements: { datasetIndex: number; index: number; element: { y: number } }[], y: number | null): { variantId: string; layerIndex: number } | null {
    if (!this.onLayerClick) return null;
    let best: { variantId: string; layerIndex: number; distance: number } | null = null;
    for (const element of elements) {
      const dataset = chart.data.datasets[element.datasetIndex] as (LineDataset & { variantId?: string }) | undefined;
      const point = dataset?.data[element.index];
      const variantId = dataset?.variantId;
      const layerIndex = point && variantId !== undefined ? this.sourcedLayers.get(variantId)?.get(point.x) : undefined;
      if (layerIndex === undefined || variantId === undefined) continue;
      const distance = y === null ? 0 : Math.abs(element.element.y - y);
      if (!best || distance < best.distance) best = { variantId, layerIndex, distance };
    }
    return best ? { variantId: best.variantId, layerIndex: best.layerIndex } : null;
  }

  /** Where a layer's point is drawn on the gradient chart, in CSS pixels of the canvas (for tests). */
  layerPoint(variantId: string, layerIndex: number): { x: number; y: number } | null {
    const chart = this.chart('gradient');
    const datasetIndex = chart.data.datasets.findIndex((d) => (d as { variantId?: string }).variantId === variantId);
    if (datasetIndex < 0) return null;
    const x = this.gradientXs.get(variantId)?.get(layerIndex) ?? layerIndex;
    const index = chart.data.datasets[datasetIndex]!.data.findIndex((p) => p.x === x);
    const element = chart.getDatasetMeta(datasetIndex).data[index];
    return element ? { x: element.x, y: element.y } : null;
  }

  /** The labels drawn on the gradient chart's x axis. */
  gradientAxisLabels(): string[] {
    return (this.chart('gradient').scales.x?.ticks ?? []).map((t) => String(t.label ?? '')).filter((l) => l !== '');
  }

  private dataset(p: PlottedVariant, points: Point[], markEnd: boolean): LineDataset & { variantId: string; endMarker: EndMarker | null } {
    const marker = markEnd ? endMarker(p.variant) : null;
    const dense = points.length > 24;
    // Constant point options let Chart.js share one options object across all points.
    return {
      label: p.variant.label,
      variantId: p.variant.id,
      endMarker: marker ? { ...marker, index: lastDefinedIndex(points) } : null,
      data: points,
      hidden: !p.visible,
      borderColor: p.color,
      backgroundColor: p.color,
      borderDash: p.dashed ? [6, 4] : [],
      pointRadius: dense ? 0 : this.theme.highContrast ? 3 : 2.5,
    };
  }

  /**
   * Redraws the charts whose inputs changed since the last call: during training with
   * the init snapshot shown, only the loss and accuracy charts move.
   */
  update(variants: PlottedVariant[], view: PanelViewOptions, chanceLoss: number | null = null): void {
    const lossChart = this.chart('loss');
    if (chanceLoss === null) chanceLines.delete(lossChart);
    else chanceLines.set(lossChart, chanceLoss);
    this.gradientXs = gradientPositions(variants.map((p) => p.variant));
    const xOf = (v: VariantResult, index: number): number => this.gradientXs.get(v.id)?.get(index) ?? index;
    this.layerNames = new Map(variants.map((p) => [p.variant.id, new Map(p.variant.layers.map((l) => [xOf(p.variant, l.index), l.name]))]));
    this.sourcedLayers = new Map(
      variants.map((p) => [p.variant.id, new Map(p.variant.layers.filter((l) => l.sourceLine !== undefined && l.sourceUri !== undefined).map((l) => [xOf(p.variant, l.index), l.index]))]),
    );
    // The axis is named after the first shown variant built from source (the model itself, before its twin).
    const named = variants.find((p) => p.visible && p.variant.layers.some((l) => l.sourceLine !== undefined));
    const axisNames = named ? new Map(named.variant.layers.filter((l) => l.kind !== 'norm').map((l) => [l.index, l.name])) : null;
    const axisKey = named ? `${named.variant.id}:${named.variant.layers.length}` : '';
    const look = variants.map((p) => `${identity(p.variant)}:${p.visible}:${p.color}:${p.dashed}:${p.variant.label}:${p.variant.status}`).join('|') + `|${this.theme.highContrast}`;
    const changed = (name: ChartName, signature: string): boolean => {
      const full = `${look}#${signature}`;
      if (this.signatures.get(name) === full) return false;
      this.signatures.set(name, full);
      return true;
    };
    const snapshotOf = (v: VariantResult) => (view.gradientSnapshot === 'init' ? v.gradientInit : (v.gradientLatest ?? v.gradientInit));

    const gradient = this.chart('gradient');
    const wantLog = view.logScale;
    if (changed('gradient', `${wantLog}:${view.gradientSnapshot}:${axisKey}:${variants.map((p) => identity(snapshotOf(p.variant))).join(',')}`)) {
      this.axisNames = axisNames;
      // Source names stand at 60 degrees, so that long ones (layer3.0.shortcut.0) do not overlap.
      const xTicks = (gradient.options.scales?.x as { ticks?: { minRotation?: number } } | undefined)?.ticks;
      if (xTicks) xTicks.minRotation = axisNames ? 60 : 0;
      const isLog = (gradient.options.scales?.y as { type?: string } | undefined)?.type === 'logarithmic';
      if (wantLog !== isLog) gradient.options = this.options('gradient', wantLog);
      gradient.data.datasets = variants.map((p) => {
        const norms = snapshotOf(p.variant)?.gradNorms ?? [];
        const points = weightLayerIndices(p.variant)
          .filter((i) => i < norms.length)
          .map((i) => {
            const y = norms[i] ?? null;
            return { x: xOf(p.variant, i), y: y !== null && (!wantLog || y > 0) ? y : null };
          });
        return this.dataset(p, points, view.gradientSnapshot === 'latest');
      });
      residualMarks.set(
        gradient,
        variants
          .filter((p) => p.visible && p.variant.spec?.architecture !== 'plain')
          .flatMap((p) => p.variant.layers.filter((l) => l.residualAddAfter).map((l) => ({ x: xOf(p.variant, l.index) + 0.5, color: withAlpha(p.color, this.theme.highContrast ? 0.9 : 0.45) }))),
      );
      gradient.update('none');
    }

    const stepsSignature = `${view.smoothing}:${chanceLoss}:${variants.map((p) => p.variant.steps.length).join(',')}`;
    const stepSeries = (pick: (v: VariantResult) => (number | null)[]) =>
      variants.map((p) => {
        const values = smooth(pick(p.variant), view.smoothing);
        return this.dataset(
          p,
          p.variant.steps.map((step, i) => ({ x: step, y: values[i] ?? null })),
          true,
        );
      });
    if (changed('loss', stepsSignature)) {
      this.chart('loss').data.datasets = stepSeries((v) => v.loss);
      this.chart('loss').update('none');
    }
    if (changed('accuracy', stepsSignature)) {
      this.chart('accuracy').data.datasets = stepSeries((v) => v.accuracy);
      this.chart('accuracy').update('none');
    }
    if (changed('activation', variants.map((p) => identity(p.variant.activationInit)).join(','))) {
      this.chart('activation').data.datasets = variants.map((p) => {
        const stds = p.variant.activationInit?.stds ?? [];
        return this.dataset(
          p,
          stds.map((y, i) => ({ x: i, y })),
          false,
        );
      });
      this.chart('activation').update('none');
    }
  }

  /** Every chart stacked on the theme background, titled, under a legend: what "Export PNG" saves. */
  toPng(titles: Record<ChartName, string>, legend: PlottedVariant[]): string {
    const scale = Math.max(1, window.devicePixelRatio || 1);
    const pad = 16 * scale;
    const titleHeight = 28 * scale;
    const legendRow = 24 * scale;
    const font = (weight: number, size: number): string => `${weight} ${size * scale}px ${this.theme.fontFamily}`;
    const parts = [...this.charts.entries()].map(([name, chart]) => ({ title: titles[name], canvas: chart.canvas }));
    const width = Math.max(...parts.map((p) => p.canvas.width)) + pad * 2;
    const out = document.createElement('canvas');
    const ctx = out.getContext('2d');
    if (!ctx) return '';
    // Lay the legend out first to know its height.
    ctx.font = font(400, 13);
    const sample = 26 * scale;
    const items: { p: PlottedVariant; x: number; row: number }[] = [];
    let x = pad;
    let row = 0;
    for (const p of legend.filter((l) => l.visible)) {
      const itemWidth = sample + 6 * scale + ctx.measureText(p.variant.label).width + 22 * scale;
      if (x + itemWidth > width - pad && x > pad) {
        row++;
        x = pad;
      }
      items.push({ p, x, row });
      x += itemWidth;
    }
    const legendHeight = items.length ? (row + 1) * legendRow + pad / 2 : 0;
    out.width = width;
    out.height = parts.reduce((sum, p) => sum + titleHeight + p.canvas.height + pad, pad + legendHeight);
    ctx.fillStyle = this.theme.background;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.textBaseline = 'middle';
    for (const item of items) {
      const y = pad + item.row * legendRow + legendRow / 2;
      ctx.strokeStyle = item.p.color;
      ctx.lineWidth = 3 * scale;
      ctx.setLineDash(item.p.dashed ? [6 * scale, 4 * scale] : []);
      ctx.beginPath();
      ctx.moveTo(item.x, y);
      ctx.lineTo(item.x + sample, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = this.theme.foreground;
      ctx.font = font(400, 13);
      ctx.fillText(item.p.variant.label, item.x + sample + 6 * scale, y);
    }
    let y = pad + legendHeight;
    ctx.textBaseline = 'top';
    for (const part of parts) {
      ctx.fillStyle = this.theme.foreground;
      ctx.font = font(600, 14);
      ctx.fillText(part.title, pad, y);
      y += titleHeight;
      ctx.drawImage(part.canvas, pad, y);
      y += part.canvas.height + pad;
    }
    return out.toDataURL('image/png');
  }

  destroy(): void {
    for (const chart of this.charts.values()) chart.destroy();
    this.charts.clear();
  }
}
