// The gradient-flow page: builds its DOM once, folds incoming probe messages into a
// ProbeRunState and redraws at most ten times a second however fast steps arrive.
import { defaultViewOptions, parseHostToPanelMessage, parsePanelState, type HostToPanelMessage, type PanelPersistedState, type PanelViewOptions } from '../src/core/probe/panelProtocol';
import { chanceLoss } from '../src/core/probe/metrics';
import { modelVerdictLine } from '../src/core/modelGraph/modelVerdict';
import type { ReceivedProbeMessage } from '../src/core/probe/probeMessageValidation';
import { ProbeRunState, createProbeRun, type ProbeRunRecord, type VariantResult } from '../src/core/probe/probeRun';
import { composeVerdict, formatCount, formatNumber, probeRunToCsv, summaryRow } from '../src/core/probe/probeSummary';
import { ProbeCharts, type ChartName, type PlottedVariant } from './charts';
import { download, type PanelHost } from './host';
import { readChartTheme, type ChartTheme } from './theme';
import { createButton, createCheckbox, createDataGrid, createRadioGroup, setChecked, setDataGridRows, setDisabled, setRadioValue } from './toolkit';

const minRenderIntervalMs = 100;
const minSaveIntervalMs = 1000;

const chartTitles: Record<ChartName, string> = {
  gradient: 'Gradient flow',
  loss: 'Training loss',
  accuracy: 'Training accuracy',
  activation: 'Activation std by depth, at init',
};

const chartHints: Record<ChartName, string> = {
  gradient: 'Gradient L2 norm of each weight layer. Dotted verticals (ticks at the bottom for deep nets): residual additions.',
  loss: 'Per step, smoothed as set above. Dotted: the loss of a uniform guess (chance).',
  accuracy: 'Per step, on the training batch.',
  activation: 'Standard deviation of each layer’s output for the first batch.',
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function depthOf(v: VariantResult): number | null {
  if (v.spec) return v.spec.depth;
  const match = /(\d+)/.exec(v.id);
  return match ? Number(match[1]) : null;
}

function isPlain(v: VariantResult): boolean {
  return v.spec ? v.spec.architecture === 'plain' : /plain/i.test(v.id);
}

export interface ChartInspection {
  scaleType: string;
  xTickCount: number;
  /** The y axis labels drawn (empty ones skipped). */
  yTickLabels: string[];
  residualMarks: number[];
  datasets: {
    label: string;
    variantId: string;
    hidden: boolean;
    dashed: boolean;
    color: string;
    points: { x: number; y: number | null }[];
    /** Point style and radius drawn at the last defined point (the end marker), if any is drawn. */
    end: { style: string; radius: number } | null;
  }[];
}

export class GradientFlowPage {
  private state: ProbeRunState | null = null;
  private view: PanelViewOptions = { ...defaultViewOptions };
  private canRerun = false;
  private canStop = false;
  private notice: string | null = null;
  /** "Probe This Model": the model's name, and why the results are out of date (its file was edited). */
  private sourceModel: string | null = null;
  private staleNote: string | null = null;
  private renderedLayerKey = '';
  private theme: ChartTheme;
  private readonly charts: ProbeCharts;
  private renderTimer: ReturnType<typeof setTimeout> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastRenderAt = -Infinity;
  private lastSavedAt = -Infinity;
  private renderedVariantKey = '';
  private renderedGridKey = '';
  private readonly reportedFields = new Set<string>();
  renderCount = 0;

  private readonly ui: {
    title: HTMLElement;
    status: HTMLElement;
    stale: HTMLElement;
    layers: HTMLDetailsElement;
    layerList: HTMLElement;
    rerun: HTMLElement;
    stop: HTMLElement;
    exportHtml: HTMLElement;
    exportGroup: HTMLElement;
    empty: HTMLElement;
    emptyRun: HTMLElement;
    notice: HTMLElement;
    content: HTMLElement;
    toggles: HTMLElement;
    toggleBoxes: Map<string, { box: HTMLElement; status: HTMLElement }>;
    snapshot: HTMLElement;
    logScale: HTMLElement;
    smoothing: HTMLInputElement;
    smoothingValue: HTMLOutputElement;
    verdict: HTMLElement;
    notes: HTMLElement;
    grid: HTMLElement;
    canvases: Record<ChartName, HTMLCanvasElement>;
    figures: Record<ChartName, HTMLElement>;
  };

  constructor(
    private readonly root: HTMLElement,
    private readonly host: PanelHost,
  ) {
    this.theme = readChartTheme();
    this.ui = this.build();
    this.charts = new ProbeCharts(this.ui.canvases, this.theme, (variantId, layerIndex) => this.revealLayer(variantId, layerIndex));
    this.watchTheme();
  }

  private build(): GradientFlowPage['ui'] {
    const root = this.root;
    root.replaceChildren();

    const header = element('header', 'toolbar');
    const titleBlock = element('div', 'title-block');
    const title = element('h1', undefined, 'Gradient flow');
    titleBlock.append(title);
    const status = element('p', 'status');
    status.setAttribute('role', 'status');
    titleBlock.append(status);
    const actions = element('div', 'actions');
    actions.setAttribute('role', 'toolbar');
    actions.setAttribute('aria-label', 'Probe actions');
    const rerun = createButton('Re-run', { title: 'Run the same probe again' });
    rerun.addEventListener('click', () => this.host.post({ type: 'rerun' }));
    const stop = createButton('Stop', { secondary: true, title: 'Stop the running probe; finished steps are kept' });
    stop.addEventListener('click', () => this.host.post({ type: 'stop' }));
    const exportGroup = element('div', 'export-group');
    exportGroup.append(element('span', 'export-label', 'Export'));
    const exportButton = (label: string, format: 'png' | 'csv' | 'json' | 'html', title: string): HTMLElement => {
      const button = createButton(label, { secondary: true, title });
      button.addEventListener('click', () => this.exportAs(format));
      exportGroup.append(button);
      return button;
    };
    exportButton('PNG', 'png', 'Save the charts as a PNG image');
    exportButton('CSV', 'csv', 'Save every recorded value as CSV');
    exportButton('JSON', 'json', 'Save the probe result (opens again in this panel)');
    const exportHtml = exportButton('HTML', 'html', 'Save a self-contained HTML report with these charts');
    actions.append(rerun, stop, exportGroup);
    // In the sticky header, so that it stays in view however far the panel is scrolled.
    const stale = element('p', 'stale-note');
    stale.setAttribute('role', 'status');
    stale.hidden = true;
    header.append(titleBlock, actions, stale);

    const empty = element('section', 'empty-state');
    empty.append(element('h2', undefined, 'No probe results yet'));
    const how = element('p');
    how.append('Run ', element('strong', undefined, 'Residual Lens: Run Depth Probe'), ' from the Command Palette (Ctrl+Shift+P, or ⇧⌘P on macOS).');
    empty.append(how);
    empty.append(
      element('p', 'hint', 'It trains plain and residual networks of a few depths for a few steps and shows here, as they train, how the gradient norm changes from the output back to the input, with the training loss of each.'),
    );
    const emptyRun = createButton('Run Depth Probe');
    emptyRun.addEventListener('click', () => this.host.post({ type: 'rerun' }));
    empty.append(emptyRun);

    const notice = element('p', 'notice');
    notice.setAttribute('role', 'alert');

    const content = element('section', 'probe-content');
    const controls = element('div', 'controls');
    const toggles = element('fieldset', 'variant-toggles');
    toggles.append(element('legend', undefined, 'Variants'));
    const snapshot = createRadioGroup(
      'Gradients at',
      [
        { value: 'init', label: 'Init' },
        { value: 'latest', label: 'Latest step' },
      ],
      this.view.gradientSnapshot,
      (value) => this.changeView({ gradientSnapshot: value === 'latest' ? 'latest' : 'init' }),
    );
    const logScale = createCheckbox('Log scale', this.view.logScale, (checked) => this.changeView({ logScale: checked }));
    const smoothingLabel = element('label', 'smoothing');
    smoothingLabel.append(element('span', undefined, 'Smoothing'));
    const smoothing = element('input');
    smoothing.type = 'range';
    smoothing.min = '0';
    smoothing.max = '0.95';
    smoothing.step = '0.05';
    smoothing.value = String(this.view.smoothing);
    smoothing.setAttribute('aria-label', 'Loss curve smoothing');
    const smoothingValue = element('output');
    smoothing.addEventListener('input', () => this.changeView({ smoothing: Number(smoothing.value) }));
    smoothingLabel.append(smoothing, smoothingValue);
    const viewControls = element('div', 'view-controls');
    viewControls.append(snapshot, logScale, smoothingLabel);
    controls.append(toggles, viewControls);

    const verdict = element('p', 'verdict');
    verdict.setAttribute('aria-live', 'polite');

    const chartsBox = element('div', 'charts');
    const canvases = {} as Record<ChartName, HTMLCanvasElement>;
    const figures = {} as Record<ChartName, HTMLElement>;
    for (const name of Object.keys(chartTitles) as ChartName[]) {
      const figure = element('figure', `chart chart-${name}`);
      const caption = element('figcaption');
      caption.append(element('h2', undefined, chartTitles[name]), element('span', 'hint', chartHints[name]));
      const box = element('div', 'canvas-box');
      const canvas = element('canvas');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', chartTitles[name]);
      canvas.tabIndex = 0;
      box.append(canvas);
      figure.append(caption, box);
      chartsBox.append(figure);
      canvases[name] = canvas;
      figures[name] = figure;
    }

    const notes = element('ul', 'notes');
    // Probe This Model: every weight layer of the model, each a link to its line of source.
    const layers = element('details', 'layers');
    layers.open = true;
    layers.hidden = true;
    const layersSummary = element('summary');
    layersSummary.append(element('h2', undefined, 'Layers'), element('span', 'hint', 'Click a layer here or a point of the gradient chart to show its line of source.'));
    const layerList = element('ol', 'layer-list');
    layers.append(layersSummary, layerList);
    const summaryTitle = element('h2', 'summary-title', 'Summary');
    const gridScroll = element('div', 'grid-scroll');
    const grid = createDataGrid(
      [
        { key: 'variant', title: 'Variant', width: 'minmax(9em, 1.3fr)' },
        { key: 'params', title: 'Params', width: 'minmax(5em, 0.8fr)' },
        { key: 'finalLoss', title: 'Final loss', width: 'minmax(5em, 0.8fr)' },
        { key: 'finalAccuracy', title: 'Final acc.', width: 'minmax(5em, 0.8fr)' },
        { key: 'ratio', title: 'Grad first/last at init', width: 'minmax(7em, 1fr)' },
        { key: 'msPerStep', title: 'ms/step', width: 'minmax(5em, 0.8fr)' },
        { key: 'backend', title: 'Backend · device', width: 'minmax(14em, 2.4fr)' },
        { key: 'status', title: 'Status', width: 'minmax(9em, 1.6fr)' },
      ],
      'Summary of the probe variants',
    );
    gridScroll.append(grid);
    content.append(controls, verdict, chartsBox, notes, layers, summaryTitle, gridScroll);
    root.append(header, notice, empty, content);

    return {
      title,
      status,
      stale,
      layers,
      layerList,
      rerun,
      stop,
      exportHtml,
      exportGroup,
      empty,
      emptyRun,
      notice,
      content,
      toggles,
      toggleBoxes: new Map(),
      snapshot,
      logScale,
      smoothing,
      smoothingValue,
      verdict,
      notes,
      grid,
      canvases,
      figures,
    };
  }

  private watchTheme(): void {
    // VS Code swaps the body class and the root's variables when the theme changes.
    const observer = new MutationObserver(() => {
      this.theme = readChartTheme();
      this.charts.setTheme(this.theme, this.view);
      this.renderedVariantKey = '';
      this.scheduleRender();
    });
    observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  }

  /** Restores what `setState` kept; returns a problem to show when the saved run could not be read. */
  restore(saved: unknown): void {
    const restored = parsePanelState(saved);
    this.view = restored.view;
    if (restored.run) this.state = new ProbeRunState(restored.run);
    if (restored.problem) this.notice = `The saved panel could not be restored: ${restored.problem}.`;
    this.syncViewControls();
    this.renderNow();
  }

  receive(data: unknown): void {
    const parsed = parseHostToPanelMessage(data);
    if (!parsed.ok) {
      this.report('warn', `ignored a message from the host: ${parsed.error}`);
      if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'load') {
        this.notice = `This probe result cannot be shown: ${parsed.error}.`;
        this.scheduleRender();
      }
      return;
    }
    this.reportIgnored(parsed.ignoredFields);
    this.handle(parsed.value);
  }

  private handle(message: HostToPanelMessage): void {
    switch (message.type) {
      case 'load':
        this.load(message.run);
        break;
      case 'probe':
        this.applyMessages(message.messages);
        break;
      case 'runEnded':
        this.state?.end(message.outcome, message.message);
        this.scheduleSave(true);
        this.scheduleRender();
        break;
      case 'controls':
        this.canRerun = message.canRerun;
        this.canStop = message.canStop;
        this.scheduleRender();
        break;
      case 'requestPng':
        this.host.post({ type: 'png', requestId: message.requestId, dataUrl: this.state ? this.pngDataUrl() : null });
        break;
      case 'notice':
        this.notice = message.text;
        this.scheduleRender();
        break;
      case 'source':
        this.sourceModel = message.model;
        this.staleNote = message.stale;
        this.scheduleRender();
        break;
    }
  }

  /** A click on a layer (chart point or layer list): asks the host to show its line of source. */
  revealLayer(variantId: string, layerIndex: number): boolean {
    const layer = this.state?.variants.find((v) => v.id === variantId)?.layers.find((l) => l.index === layerIndex);
    if (!layer || layer.sourceUri === undefined || layer.sourceLine === undefined || !this.host.inEditor) return false;
    this.host.post({ type: 'revealSource', uri: layer.sourceUri, line: layer.sourceLine });
    return true;
  }

  /** Where a layer's point is drawn on the gradient chart, in page pixels (for tests that click it). */
  layerPointOnPage(variantId: string, layerName: string): { x: number; y: number } | null {
    const layer = this.state?.variants.find((v) => v.id === variantId)?.layers.find((l) => l.name === layerName);
    if (!layer) return null;
    this.renderNow();
    const point = this.charts.layerPoint(variantId, layer.index);
    if (!point) return null;
    const box = this.ui.canvases.gradient.getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  }

  /** The labels on the gradient chart's x axis. */
  gradientAxisLabels(): string[] {
    return this.charts.gradientAxisLabels();
  }

  load(run: ProbeRunRecord): void {
    this.state = new ProbeRunState(run);
    this.notice = null;
    this.renderedVariantKey = '';
    this.scheduleSave(true);
    this.scheduleRender();
  }

  applyMessages(messages: ReceivedProbeMessage[]): void {
    this.state ??= new ProbeRunState(createProbeRun(null));
    for (const message of messages) this.state.apply(message);
    this.scheduleSave(false);
    this.scheduleRender();
  }

  private reportIgnored(fields: string[]): void {
    const fresh = fields.filter((f) => !this.reportedFields.has(f));
    if (!fresh.length) return;
    for (const f of fresh) this.reportedFields.add(f);
    this.report('warn', `ignored unexpected fields: ${fresh.slice(0, 10).join(', ')}${fresh.length > 10 ? ` and ${fresh.length - 10} more` : ''}`);
  }

  private report(level: 'info' | 'warn' | 'error', text: string): void {
    this.host.post({ type: 'log', level, text });
  }

  private changeView(change: Partial<PanelViewOptions>): void {
    this.view = { ...this.view, ...change };
    this.scheduleSave(true);
    this.scheduleRender();
  }

  private syncViewControls(): void {
    setRadioValue(this.ui.snapshot, this.view.gradientSnapshot);
    setChecked(this.ui.logScale, this.view.logScale);
    this.ui.smoothing.value = String(this.view.smoothing);
  }

  private scheduleSave(soon: boolean): void {
    if (this.saveTimer !== undefined) {
      if (!soon) return;
      clearTimeout(this.saveTimer);
    }
    const wait = soon ? 0 : Math.max(0, this.lastSavedAt + minSaveIntervalMs - performance.now());
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.lastSavedAt = performance.now();
      const saved: PanelPersistedState = { version: 1, run: this.state?.record ?? null, view: this.view };
      this.host.setState(saved);
    }, wait);
  }

  /** Coalesces bursts: the first change renders at once, later ones wait for the 100 ms slot. */
  scheduleRender(): void {
    if (this.renderTimer !== undefined) return;
    const wait = Math.max(0, this.lastRenderAt + minRenderIntervalMs - performance.now());
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      this.renderNow();
    }, wait);
  }

  private plotted(): PlottedVariant[] {
    const variants = this.state?.variants ?? [];
    const depths = [...new Set(variants.map(depthOf))].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
    const palette = this.theme.palette;
    return variants.map((variant) => ({
      variant,
      color: palette[depths.indexOf(depthOf(variant)) % palette.length]!,
      dashed: isPlain(variant),
      visible: !this.view.hiddenVariants.includes(variant.id),
    }));
  }

  renderNow(): void {
    this.lastRenderAt = performance.now();
    this.renderCount++;
    const state = this.state;
    const hasData = !!state && state.variants.length > 0;
    this.ui.empty.hidden = hasData;
    this.ui.content.hidden = !hasData;
    this.ui.notice.hidden = this.notice === null;
    this.ui.notice.textContent = this.notice ?? '';
    this.ui.stale.hidden = this.staleNote === null;
    this.ui.stale.textContent = this.staleNote ?? '';
    this.ui.title.textContent = this.sourceModel ? `Gradient flow: ${this.sourceModel}` : 'Gradient flow';
    document.body.dataset.stale = this.staleNote === null ? 'false' : 'true';
    // An empty panel offers its own Run button and has nothing to export.
    this.ui.rerun.hidden = !this.host.inEditor || !hasData;
    this.ui.exportGroup.hidden = !hasData;
    this.ui.stop.hidden = !this.host.inEditor || !hasData;
    this.ui.exportHtml.hidden = !this.host.inEditor;
    setDisabled(this.ui.rerun, !this.canRerun || !!state?.running);
    setDisabled(this.ui.stop, !this.canStop || !state?.running);
    this.ui.emptyRun.hidden = !this.host.inEditor || !this.canRerun;
    this.ui.smoothingValue.textContent = this.view.smoothing.toFixed(2);
    this.ui.status.textContent = this.statusLine();
    document.body.dataset.runOutcome = state?.record.outcome ?? 'none';
    if (!state || !hasData) return;

    const plotted = this.plotted();
    this.renderToggles(plotted);
    this.charts.update(plotted, this.view, chanceLoss(state.record.plan?.classes ?? 10));
    // A model from the editor: its comparison with its plain twin first, then the depth verdict.
    const twin = state.record.plan?.task && state.variants.some((v) => v.id === 'model-plain') && !state.running ? `${this.sourceModel ?? 'The model'}: ${modelVerdictLine(state.record, state.record.outcome === 'cancelled')}. ` : '';
    this.ui.verdict.textContent = twin + composeVerdict(state);
    this.renderNotes(state.variants, state.record.plan?.notes ?? []);
    this.renderLayers(state.variants);
    this.renderGrid(state.variants);
    for (const [name, canvas] of Object.entries(this.ui.canvases) as [ChartName, HTMLCanvasElement][]) {
      const shown = plotted.filter((p) => p.visible).map((p) => p.variant.label);
      canvas.setAttribute('aria-label', `${chartTitles[name]} chart for ${shown.join(', ') || 'no variant'}. The summary table below has the figures.`);
    }
  }

  private statusLine(): string {
    const state = this.state;
    if (!state) return this.host.inEditor ? 'No probe has run in this workspace yet.' : 'This report holds no probe data.';
    const variants = state.variants;
    const plan = state.record.plan;
    const lastStep = Math.max(0, ...variants.map((v) => v.steps[v.steps.length - 1] ?? 0));
    const of = plan ? ` of ${plan.steps}` : '';
    const when = new Date(state.record.createdAt);
    const date = Number.isNaN(when.getTime()) || when.getTime() === 0 ? '' : ` · ${when.toLocaleString()}`;
    switch (state.record.outcome) {
      case 'running': {
        const started = variants.filter((v) => v.status !== 'waiting').length;
        return `Running: ${started} of ${variants.length} variants started, step ${lastStep}${of}`;
      }
      case 'completed':
        return `Completed: ${variants.length} variants${plan ? `, ${plan.steps} steps, ${plan.optimizer} lr ${plan.learningRate}` : ''}${date}`;
      case 'cancelled':
        return `Cancelled at step ${lastStep}${of}: partial results${date}`;
      case 'failed':
        return `Failed${state.record.outcomeMessage ? `: ${state.record.outcomeMessage}` : ''}. Partial results${date}`;
    }
  }

  private renderToggles(plotted: PlottedVariant[]): void {
    const key = plotted.map((p) => `${p.variant.id}|${p.variant.label}|${p.color}|${p.dashed}`).join(';');
    if (key !== this.renderedVariantKey) {
      this.renderedVariantKey = key;
      for (const node of [...this.ui.toggles.children]) if (node.tagName !== 'LEGEND') node.remove();
      this.ui.toggleBoxes.clear();
      for (const p of plotted) {
        const label = element('span', 'variant-label');
        const swatch = element('span', p.dashed ? 'swatch dashed' : 'swatch');
        swatch.style.setProperty('--swatch-color', p.color);
        swatch.setAttribute('aria-hidden', 'true');
        const status = element('span', 'variant-status');
        label.append(swatch, element('span', 'variant-name', p.variant.label), status);
        const box = createCheckbox(label, p.visible, (checked) => {
          const hidden = new Set(this.view.hiddenVariants);
          if (checked) hidden.delete(p.variant.id);
          else hidden.add(p.variant.id);
          this.changeView({ hiddenVariants: [...hidden] });
        });
        box.dataset.variant = p.variant.id;
        this.ui.toggles.append(box);
        this.ui.toggleBoxes.set(p.variant.id, { box, status });
      }
    }
    for (const p of plotted) {
      const entry = this.ui.toggleBoxes.get(p.variant.id);
      if (!entry) continue;
      setChecked(entry.box, p.visible);
      const v = p.variant;
      entry.status.textContent = v.failure?.code === 'diverged' ? '✕ diverged' : v.status === 'cancelled' || v.status === 'failed' ? '◆ partial' : v.status === 'running' ? '…' : '';
    }
  }

  /** Failures first, then what the plan says about the model (differences from its source, a small batch), then the variants' started notes. */
  private renderNotes(variants: VariantResult[], planNotes: string[]): void {
    const notes = variants
      .filter((v) => v.failure)
      .map((v) => {
        const failure = v.failure!;
        const at = failure.step !== null ? ` at step ${failure.step}` : '';
        if (failure.code === 'diverged') return { kind: 'diverged', text: /^diverged/i.test(failure.message) ? `✕ ${v.label} ${failure.message}` : `✕ ${v.label} diverged${at}: ${failure.message}` };
        if (failure.code === 'stopped') return { kind: 'partial', text: `◆ ${v.label}: partial curve, ${failure.message}` };
        return { kind: 'failed', text: `◆ ${v.label} failed${at} (${failure.code}): ${failure.message}. Its curves are partial.` };
      });
    for (const text of new Set(planNotes)) notes.push({ kind: 'plan', text: `ℹ ${text}` });
    for (const text of new Set(variants.flatMap((v) => v.notes))) if (!planNotes.includes(text)) notes.push({ kind: 'info', text: `ℹ ${text}` });
    const key = notes.map((n) => n.text).join('\n');
    if (this.ui.notes.dataset.key === key) return;
    this.ui.notes.dataset.key = key;
    this.ui.notes.replaceChildren(
      ...notes.map((n) => {
        const item = element('li', `note note-${n.kind}`, n.text);
        return item;
      }),
    );
    this.ui.notes.hidden = notes.length === 0;
  }

  /** The first variant built from source (the model itself): its weight layers as links to their lines. */
  private renderLayers(variants: VariantResult[]): void {
    const variant = variants.find((v) => v.layers.some((l) => l.sourceLine !== undefined && l.sourceUri !== undefined));
    const layers = variant ? variant.layers.filter((l) => l.kind !== 'norm') : [];
    const key = variant ? `${variant.id}|${this.host.inEditor}|${layers.map((l) => `${l.index}:${l.name}:${l.sourceLine ?? ''}`).join(',')}` : '';
    if (key === this.renderedLayerKey) return;
    this.renderedLayerKey = key;
    this.ui.layers.hidden = !variant;
    this.ui.figures.gradient.classList.toggle('named', !!variant);
    this.ui.layerList.replaceChildren(
      ...layers.map((layer) => {
        const item = element('li');
        const line = layer.sourceLine !== undefined ? `line ${layer.sourceLine + 1}` : '';
        if (this.host.inEditor && layer.sourceLine !== undefined && layer.sourceUri !== undefined) {
          const link = element('button', 'layer-link');
          link.type = 'button';
          link.dataset.layer = layer.name;
          link.title = `Show ${layer.name} (${line}) in the editor`;
          link.append(element('span', 'layer-name', layer.name), element('span', 'layer-line', line));
          link.addEventListener('click', () => this.revealLayer(variant!.id, layer.index));
          item.append(link);
        } else {
          item.append(element('span', 'layer-name', layer.name), element('span', 'layer-line', line));
        }
        return item;
      }),
    );
  }

  private renderGrid(variants: VariantResult[]): void {
    const rows = variants.map((v) => {
      const row = summaryRow(v);
      return {
        variant: row.partial ? `${row.label} (partial)` : row.label,
        params: formatCount(row.params),
        finalLoss: formatNumber(row.finalLoss),
        finalAccuracy: row.finalAccuracy === null ? '—' : `${(row.finalAccuracy * 100).toFixed(1)} %`,
        ratio: formatNumber(row.gradientRatio),
        msPerStep: formatNumber(row.msPerStep, 4),
        backend: row.backendDevice,
        status: row.status,
      };
    });
    const key = JSON.stringify(rows);
    if (key === this.renderedGridKey) return;
    this.renderedGridKey = key;
    setDataGridRows(this.ui.grid, rows);
  }

  private pngDataUrl(): string {
    this.renderNow();
    return this.charts.toPng(chartTitles, this.plotted());
  }

  private exportAs(format: 'png' | 'csv' | 'json' | 'html'): void {
    const state = this.state;
    if (!state) return;
    if (this.host.inEditor) {
      this.host.post({ type: 'export', format, dataUrl: format === 'png' ? this.pngDataUrl() : null });
      return;
    }
    const base = `probe-${state.record.createdAt.slice(0, 19).replace(/[:T]/g, '-')}`;
    if (format === 'png') download(`${base}.png`, this.pngDataUrl());
    else if (format === 'csv') download(`${base}.csv`, URL.createObjectURL(new Blob([probeRunToCsv(state)], { type: 'text/csv' })));
    else if (format === 'json') download(`${base}.json`, URL.createObjectURL(new Blob([JSON.stringify(state.record)], { type: 'application/json' })));
  }

  /** What the charts hold now, as plain data: for tests and the in-page benchmark. */
  inspectChart(name: ChartName): ChartInspection {
    const chart = this.charts.chart(name);
    return {
      scaleType: String((chart.options.scales?.y as { type?: string } | undefined)?.type ?? ''),
      xTickCount: chart.scales.x?.ticks.filter((t) => t.label !== '').length ?? 0,
      yTickLabels: (chart.scales.y?.ticks ?? []).map((t) => String(t.label ?? '')).filter((l) => l !== ''),
      residualMarks: this.charts.residualMarksOf(name).map((m) => m.x),
      datasets: chart.data.datasets.map((d, i) => ({
        label: String(d.label ?? ''),
        variantId: (d as { variantId?: string }).variantId ?? '',
        hidden: !!d.hidden,
        dashed: Array.isArray(d.borderDash) && d.borderDash.length > 0,
        color: String(d.borderColor),
        points: d.data.map((p) => ({ x: p.x, y: p.y })),
        end: this.endMarkerOf(chart, i),
      })),
    };
  }

  private endMarkerOf(chart: ReturnType<ProbeCharts['chart']>, datasetIndex: number): { style: string; radius: number } | null {
    const marker = (chart.data.datasets[datasetIndex] as { endMarker?: { style: string; radius: number; index: number } | null }).endMarker;
    return marker && marker.index >= 0 ? { style: marker.style, radius: marker.radius } : null;
  }

  get currentState(): ProbeRunState | null {
    return this.state;
  }

  get currentView(): PanelViewOptions {
    return this.view;
  }

  /** Swaps in a run for the benchmark and puts the previous one back afterwards. */
  withTemporaryRun<T>(run: ProbeRunRecord, view: PanelViewOptions, body: (state: ProbeRunState) => T): T {
    const saved = { state: this.state, view: this.view };
    this.state = new ProbeRunState(run);
    this.view = view;
    try {
      return body(this.state);
    } finally {
      this.state = saved.state;
      this.view = saved.view;
      this.renderedVariantKey = '';
      this.renderNow();
    }
  }
}
