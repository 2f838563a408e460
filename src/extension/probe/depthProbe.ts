import * as vscode from 'vscode';
import { ProbePlanError, defaultProbeOptions, planProbe, type ProbeOptions } from '../../core/probe/plan';
import { modelVerdictLine } from '../../core/modelGraph/modelVerdict';
import { composeVerdict } from '../../core/probe/probeSummary';
import { ProbeRunState, type ProbeRunRecord } from '../../core/probe/probeRun';
import type { BackendPreference, ProbeMessage, ProbePlan, ShortcutOption } from '../../core/probe/protocol';
import { startProbe, type ProbeRun } from '../../probe-worker/supervisor';
import { resolveEngineAsync, type ProbeEngineName } from '../../torch/torchEngine';
import type { GradientFlowService } from '../panel/gradientFlowService';
import { registerGradientFlowPanel } from '../panel/register';
import { choosePythonForExtension } from '../torch/pythonInterpreter';

const runningContextKey = 'residualLens.probeRunning';

interface Choice<T> extends vscode.QuickPickItem {
  value: T;
}

/** A quick pick whose first item (the default from settings) one Enter accepts; undefined on Escape. */
function pick<T>(title: string, step: number, totalSteps: number, items: Choice<T>[]): Promise<T | undefined> {
  return new Promise((resolve) => {
    const quickPick = vscode.window.createQuickPick<Choice<T>>();
    quickPick.title = title;
    quickPick.step = step;
    quickPick.totalSteps = totalSteps;
    quickPick.items = items;
    quickPick.activeItems = items.slice(0, 1);
    let result: T | undefined;
    quickPick.onDidAccept(() => {
      result = quickPick.selectedItems[0]?.value ?? quickPick.activeItems[0]?.value;
      quickPick.hide();
    });
    quickPick.onDidHide(() => {
      quickPick.dispose();
      resolve(result);
    });
    quickPick.show();
  });
}

function parseDepthList(text: string): number[] | undefined {
  const depths = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  return depths.length && depths.every((d) => Number.isInteger(d) && d >= 8 && d <= 110) ? depths : undefined;
}

interface ProbeSettings {
  depths: number[];
  shortcut: ShortcutOption;
  steps: number;
  timeBudgetSeconds: number;
  backend: BackendPreference;
}

function readEngineSetting(): ProbeEngineName {
  return (['tfjs', 'torch', 'auto'] as const).find((e) => e === vscode.workspace.getConfiguration('residualLens.probe').get<string>('engine')) ?? 'tfjs';
}

function readSettings(): ProbeSettings {
  const config = vscode.workspace.getConfiguration('residualLens.probe');
  const depths = config.get<number[]>('depths', defaultProbeOptions.depths);
  return {
    depths: Array.isArray(depths) && depths.length ? depths : defaultProbeOptions.depths,
    shortcut: config.get<string>('shortcut') === 'B' ? 'B' : 'A',
    steps: Math.max(1, Math.round(config.get<number>('steps', defaultProbeOptions.steps))),
    timeBudgetSeconds: Math.max(0, config.get<number>('timeBudgetSeconds', 0)),
    backend: (['auto', 'tensorflow', 'wasm', 'cpu'] as const).find((b) => b === config.get<string>('backend')) ?? 'auto',
  };
}

/** Three quick picks, each starting on the configured default. */
async function askProbeOptions(settings: ProbeSettings): Promise<Partial<ProbeOptions> | undefined> {
  const title = 'Run Depth Probe';
  const defaultDepths = settings.depths.join(', ');
  const depthPresets = ['8, 20', '20, 56', '20, 32, 44, 56', '20, 56, 110'].filter((p) => p !== defaultDepths);
  const depths = await pick<number[] | 'custom'>(title + ': depths (each trained as plain and residual)', 1, 3, [
    { label: defaultDepths, description: 'from settings', value: settings.depths },
    ...depthPresets.map((p) => ({ label: p, value: parseDepthList(p)! })),
    { label: 'Other depths…', value: 'custom' },
  ]);
  if (depths === undefined) return undefined;
  let chosenDepths = depths;
  if (chosenDepths === 'custom') {
    const typed = await vscode.window.showInputBox({
      title,
      prompt: 'Depths, separated by commas (6n+2 between 8 and 110; others are rounded)',
      value: defaultDepths,
      validateInput: (text) => (parseDepthList(text) ? undefined : 'Whole numbers between 8 and 110, e.g. 20, 56'),
    });
    if (typed === undefined) return undefined;
    chosenDepths = parseDepthList(typed)!;
  }
  const shortcuts: Choice<ShortcutOption>[] = [
    { label: 'A', description: 'zero-padded identity where the width changes', value: 'A' },
    { label: 'B', description: '1x1 projection where the width changes', value: 'B' },
  ];
  const shortcut = await pick(title + ': shortcut type', 2, 3, [...shortcuts.filter((s) => s.value === settings.shortcut), ...shortcuts.filter((s) => s.value !== settings.shortcut)]);
  if (shortcut === undefined) return undefined;
  type Length = { steps: number; timeBudgetMs: number };
  const configured: Choice<Length> = settings.timeBudgetSeconds
    ? { label: `${settings.steps} steps, at most ${settings.timeBudgetSeconds} s per variant`, description: 'from settings', value: { steps: settings.steps, timeBudgetMs: settings.timeBudgetSeconds * 1000 } }
    : { label: `${settings.steps} steps`, description: 'from settings', value: { steps: settings.steps, timeBudgetMs: 0 } };
  const length = await pick<Length>(title + ': how long to train', 3, 3, [
    configured,
    { label: '50 steps', description: 'a quick look: gradients at init and the first losses', value: { steps: 50, timeBudgetMs: 0 } },
    { label: '300 steps', description: 'clearer loss curves, about twice the time of 150', value: { steps: 300, timeBudgetMs: 0 } },
    { label: '60 s per variant', description: 'time budget instead of a step count', value: { steps: defaultProbeOptions.steps * 10, timeBudgetMs: 60_000 } },
  ]);
  if (length === undefined) return undefined;
  return { depths: chosenDepths, shortcut, steps: length.steps, timeBudgetMs: length.timeBudgetMs, backend: settings.backend };
}

/** What a caller of `run` adds to a plan: "Probe This Model" names the model and hears the outcome. */
export interface ProbeRunOptions {
  /** Shown in the panel title and the progress notification, e.g. the model's name. */
  title?: string;
  /** The source the plan was built from: an edit to it marks the results as from an older version. */
  source?: { uri: vscode.Uri; version: number | null };
  /** Each message of the run as it arrives (after the panel has it). */
  onMessage?: (message: ProbeMessage) => void;
  /** What the panel's Re-run does instead of running the same plan again. */
  rerun?: () => Promise<void>;
  /** Called once the run has ended (not when it could not start). */
  onFinished?: (record: ProbeRunRecord, cancelled: boolean) => void;
}

/** "Run Depth Probe", "Stop Probe", the status bar item and the panel's Re-run and Stop. */
export class DepthProbeController implements vscode.Disposable {
  private current: { run: ProbeRun; cancelled: boolean } | undefined;
  private lastPlan: { plan: ProbePlan; options: ProbeRunOptions } | undefined;
  private readonly statusItem = vscode.window.createStatusBarItem('residualLens.probe', vscode.StatusBarAlignment.Left, 10);
  private hideStatusTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly panel: GradientFlowService,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.statusItem.name = 'Residual Lens Probe';
    this.statusItem.command = 'residualLens.showGradientFlow';
    panel.setRunController({ rerun: () => void this.rerun(), stop: () => void this.stop() });
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  async runFromPalette(): Promise<void> {
    if (this.running) {
      const choice = await vscode.window.showWarningMessage('Residual Lens: a depth probe is already running.', 'Show', 'Stop It');
      if (choice === 'Show') this.panel.show();
      if (choice === 'Stop It') await this.stop();
      return;
    }
    const options = await askProbeOptions(readSettings());
    if (!options) return;
    let plan: ProbePlan;
    try {
      const planned = planProbe(options);
      plan = planned.plan;
      for (const note of planned.notes) this.log.info(`probe: ${note}`);
    } catch (err) {
      if (err instanceof ProbePlanError) {
        void vscode.window.showErrorMessage(`Residual Lens: cannot run this probe: ${err.message}.`);
        return;
      }
      throw err;
    }
    await this.run(plan);
  }

  async rerun(): Promise<void> {
    if (this.running) return;
    // A model from the editor is read again: Re-run probes the code as it is now.
    if (this.lastPlan?.options.rerun) return this.lastPlan.options.rerun();
    if (!this.lastPlan) {
      const stored = this.panel.lastRun?.plan;
      if (!stored) return this.runFromPalette();
      if (stored.task) {
        const source = this.panel.runSource;
        return void (await vscode.commands.executeCommand('residualLens.probeModel', source ? vscode.Uri.parse(source.uri) : undefined, source?.model));
      }
      this.lastPlan = { plan: stored, options: {} };
    }
    await this.run(this.lastPlan.plan, this.lastPlan.options);
  }

  async stop(): Promise<void> {
    const current = this.current;
    if (!current) return;
    current.cancelled = true;
    this.statusItem.text = '$(loading~spin) Probe: stopping…';
    await current.run.cancel();
  }

  async run(plan: ProbePlan, options: ProbeRunOptions = {}): Promise<void> {
    this.lastPlan = { plan, options };
    this.panel.beginRun(plan, options.title ?? null, options.source ?? null);
    const what = options.title ? `probe of ${options.title}` : 'depth probe';
    const totalSteps = plan.steps * plan.variants.length;
    let doneSteps = 0;
    const latestStep = new Map<string, number>();
    const ended = new Set<string>();
    let report: ((message: string, increment: number) => void) | undefined;
    const updateStatus = (): string => {
      const busy = plan.variants.filter((v) => latestStep.has(v.id) && !ended.has(v.id)).map((v) => `${v.label} ${(latestStep.get(v.id) ?? 0) + 1}/${plan.steps}`);
      const text = `${ended.size}/${plan.variants.length} variants done${busy.length ? ` · ${busy.join(', ')}` : ''}`;
      this.statusItem.text = `$(loading~spin) Probe: ${ended.size}/${plan.variants.length}`;
      this.statusItem.tooltip = `Residual Lens ${what}: ${text}. Click to show the gradient flow.`;
      return text;
    };
    clearTimeout(this.hideStatusTimer);
    updateStatus();
    this.statusItem.show();

    // The engine is chosen per run: the interpreter or its packages may have changed. A model
    // graph is built by the TF.js worker only (the torch runner knows the CIFAR family).
    const engineSetting = plan.task ? 'tfjs' : readEngineSetting();
    if (plan.task && readEngineSetting() !== 'tfjs') this.log.info('probe: a model from the editor is trained with TensorFlow.js (the PyTorch engine trains the built-in CIFAR family only)');
    const engine = await resolveEngineAsync(engineSetting, choosePythonForExtension());
    if (engine.note) this.log.info(`probe: ${engine.note}`);
    if (engine.error) {
      this.log.error(`probe: ${engine.error}`);
      await this.panel.endRun('failed', engine.error);
      this.statusItem.hide();
      void vscode.window.showErrorMessage(`Residual Lens: ${engine.error}`);
      return;
    }
    let run: ProbeRun;
    try {
      run = startProbe({
        plan,
        ...(engine.engine === 'torch' && engine.check ? { torch: { python: engine.check.python.path } } : {}),
        onMessage: (message) => {
          this.panel.postProbeMessage(message);
          options.onMessage?.(message);
          let increment = 0;
          if (message.type === 'step') {
            latestStep.set(message.variant, message.step);
            doneSteps++;
            increment = 100 / totalSteps;
          } else if (message.type === 'done' || message.type === 'error') {
            ended.add(message.variant);
            if (message.type === 'error') this.log.warn(`probe: ${message.variant}: ${message.code}: ${message.message}`);
          }
          const text = updateStatus();
          report?.(text, increment);
        },
        onLog: (variant, line) => this.log.debug(`probe ${variant}: ${line}`),
      });
    } catch (err) {
      // No child could be started (e.g. the worker bundle is missing): say so, keep nothing running.
      this.log.error(`probe: could not start: ${String(err)}`);
      await this.panel.endRun('failed', `the probe could not start: ${err instanceof Error ? err.message : String(err)}`);
      this.statusItem.hide();
      void vscode.window.showErrorMessage(`Residual Lens: the ${what} could not start: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const current = { run, cancelled: false };
    this.current = current;
    void vscode.commands.executeCommand('setContext', runningContextKey, true);
    this.log.info(`probe: started ${plan.variants.map((v) => v.label).join(', ')}, ${plan.steps} steps${plan.timeBudgetMs ? `, at most ${plan.timeBudgetMs / 1000} s each` : ''}`);

    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Residual Lens: ${what}`, cancellable: true }, async (progress, token) => {
        report = (message, increment) => progress.report({ message, increment });
        token.onCancellationRequested(() => void this.stop());
        progress.report({ message: `starting ${plan.variants.length} variants…` });
        await run.finished;
      });
    } catch (err) {
      this.log.error(`probe: ${String(err)}`);
      await this.panel.endRun('failed', String(err));
    } finally {
      this.current = undefined;
      void vscode.commands.executeCommand('setContext', runningContextKey, false);
    }
    if (this.panel.isRunning) await this.panel.endRun(current.cancelled ? 'cancelled' : 'completed', current.cancelled ? 'stopped by the user' : null);
    this.log.info(`probe: ${current.cancelled ? 'stopped' : 'finished'} after ${doneSteps} of ${totalSteps} steps`);
    this.statusItem.text = current.cancelled ? '$(debug-stop) Probe: stopped' : '$(graph-line) Probe: done';
    this.hideStatusTimer = setTimeout(() => this.statusItem.hide(), 20_000);
    const record = this.panel.lastRun;
    if (record && options.onFinished) {
      try {
        options.onFinished(record, current.cancelled);
      } catch (err) {
        this.log.warn(`probe: ${String(err)}`);
      }
    }
    void this.summarise(current.cancelled, what);
  }

  private async summarise(cancelled: boolean, what: string): Promise<void> {
    const record = this.panel.lastRun;
    const verdict = record ? composeVerdict(new ProbeRunState(record)) : '';
    // A model from the editor: its comparison with its plain twin says the most in one line.
    const modelRun = record?.plan?.task && record.plan.variants.some((v) => v.id === 'model-plain');
    const first = modelRun ? `${modelVerdictLine(record, cancelled)}.` : (verdict.split(/(?<=\.)\s/)[0] ?? '');
    const message = cancelled ? `Residual Lens: ${what} stopped; the partial results are in the report.` : `Residual Lens: ${what} finished. ${first}`;
    const choice = await vscode.window.showInformationMessage(message, 'Open report', 'Export HTML');
    if (choice === 'Open report') this.panel.show();
    if (choice === 'Export HTML') await vscode.commands.executeCommand('residualLens.exportProbeReport', 'html');
  }

  dispose(): void {
    clearTimeout(this.hideStatusTimer);
    this.panel.setRunController(undefined);
    void this.current?.run.cancel();
    this.statusItem.dispose();
  }
}

/**
 * The depth probe from the command palette, streaming into the gradient-flow panel;
 * also registers the panel itself (serializer, Show Gradient Flow, Export Probe Report).
 */
export function registerDepthProbe(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): { panel: GradientFlowService; controller: DepthProbeController } {
  const panel = registerGradientFlowPanel(context, log);
  const controller = new DepthProbeController(panel, log);
  context.subscriptions.push(
    controller,
    vscode.commands.registerCommand('residualLens.runDepthProbe', () => controller.runFromPalette()),
    vscode.commands.registerCommand('residualLens.stopProbe', () => controller.stop()),
  );
  return { panel, controller };
}
