import * as vscode from 'vscode';
import { exampleInputShape, modelAtLine, planModelProbe, scaleDownByInput, smallerInputShapes, type ModelPlanOutcome, type ModelProbeVariant } from '../../core/modelGraph/frontEnds';
import type { ModelCandidate } from '../../core/modelGraph/extract';
import { modelVerdictLine } from '../../core/modelGraph/modelVerdict';
import type { ModelExtraction } from '../../core/modelGraph/graph';
import { healthyBatchSize, smallBatchScaleDown } from '../../core/probe/graphPlan';
import type { BackendPreference, ProbePlan } from '../../core/probe/protocol';
import { extractModelMethod, listModelsMethod, type ExtractModelParams, type ExtractModelResult, type ListModelsResult } from '../../server/modelProtocol';
import type { AnalysisClient } from '../analysisClient';
import type { GradientFlowService } from '../panel/gradientFlowService';
import type { DepthProbeController } from './depthProbe';



export const probeModelCommand = 'residualLens.probeModel';
const inputShapesKey = 'residualLens.probeModel.inputShapes';
const verdictsKey = 'residualLens.probeModel.verdicts';

/** Options a caller (a test, another extension) can pass instead of answering the prompts. */
export interface ProbeModelOptions {
  inputShape?: number[];
  /** Answer to "probe the buildable prefix?" when some layers cannot be built. */
  acceptPrefix?: boolean;
  /** Answer to "scale down?" when the model is too large. */
  acceptScaleDown?: boolean;
  steps?: number;
  /** Set by the small-batch Scale Down: inputShape is a scaled-down input, not one to remember for the class. */
  scaledDown?: boolean;
}

/** What the command resolves to: the run it started, or why it did not start one. */
export type ProbeModelOutcome =
  | { started: true; model: string; variants: string[]; plan: ProbePlan; inputShape: number[] | undefined; extractMs: number; finished: Promise<void> }
  | { started: false; reason: string };

export interface StoredVerdict {
  text: string;
  at: string;
}

/** A per-class key in workspace state: the file and the model's name. */
function modelKey(uri: vscode.Uri | string, model: string): string {
  return `${uri.toString()}#${model}`;
}

/** `1, 3, 32, 32` or `1x3x32x32` → numbers; undefined unless every dim is a positive whole number. */
export function parseInputShapeText(text: string): number[] | undefined {
  const dims = text
    .replace(/[()[\]]/g, ' ')
    .split(/[\s,x×]+/)
    .filter(Boolean)
    .map(Number);
  if (dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > 65536)) return undefined;
  return dims;
}

/**
 * "Residual Lens: Probe This Model" and the CodeLenses above each model. The model is
 * read by the language server from its parsed description (nothing of the workspace
 * runs), built and trained in the TF.js probe processes, and shown in the panel.
 */
export function registerProbeModel(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  analysis: AnalysisClient,
  controller: DepthProbeController,
  panel: GradientFlowService,
): void {
  const lensesChanged = new vscode.EventEmitter<void>();

  const refuse = (reason: string, show: 'error' | 'warning' | 'none' = 'error'): ProbeModelOutcome => {
    log.info(`probe model: ${reason}`);
    if (show === 'error') void vscode.window.showErrorMessage(`Residual Lens: ${reason}`);
    if (show === 'warning') void vscode.window.showWarningMessage(`Residual Lens: ${reason}`);
    return { started: false, reason };
  };

  const storedShapes = (): Record<string, number[]> => context.workspaceState.get<Record<string, number[]>>(inputShapesKey) ?? {};
  const storedVerdicts = (): Record<string, StoredVerdict> => context.workspaceState.get<Record<string, StoredVerdict>>(verdictsKey) ?? {};

  async function pickModel(models: ModelCandidate[], placeHolder: string): Promise<ModelCandidate | undefined> {
    if (models.length === 1) return models[0];
    const picked = await vscode.window.showQuickPick(
      models.map((m) => ({ label: m.name, description: `${m.framework}, line ${m.source.line + 1}`, model: m })),
      { title: 'Probe This Model', placeHolder },
    );
    return picked?.model;
  }

  async function extract(params: ExtractModelParams): Promise<{ result: ExtractModelResult; ms: number }> {
    const started = performance.now();
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Residual Lens: reading ${params.modelName ?? 'the model'}…` }, () =>
      analysis.request<ExtractModelResult>(extractModelMethod, params),
    );
    return { result, ms: performance.now() - started };
  }

  async function askInputShape(model: string, unknown: string[], previous: number[] | undefined): Promise<number[] | undefined> {
    const example = exampleInputShape(unknown).join(', ');
    const minimumRank = Math.max(2, unknown.length + 1);
    const text = await vscode.window.showInputBox({
      title: `Probe This Model: input shape of ${model}`,
      prompt: `The file does not say ${unknown.join(', ')}. Give the whole input shape, batch first, e.g. ${example}. It is remembered for ${model}.`,
      placeHolder: example,
      ...(previous ? { value: previous.join(', ') } : {}),
      ignoreFocusOut: true,
      validateInput: (value) => {
        const dims = parseInputShapeText(value);
        if (!dims) return `Positive whole numbers separated by commas, batch first, e.g. ${example}`;
        return dims.length < minimumRank ? `${minimumRank} or more numbers: the batch, then every other dim (${unknown.join(', ')} among them), e.g. ${example}` : undefined;
      },
    });
    return text === undefined ? undefined : parseInputShapeText(text);
  }

  async function probe(target?: vscode.Uri | string, modelName?: string, options: ProbeModelOptions = {}): Promise<ProbeModelOutcome> {
    const commandStarted = performance.now();
    if (controller.running) {
      const choice = await vscode.window.showWarningMessage('Residual Lens: a probe is already running.', 'Show', 'Stop It');
      if (choice === 'Show') panel.show();
      if (choice === 'Stop It') await controller.stop();
      return { started: false, reason: 'a probe is already running' };
    }
    const editor = vscode.window.activeTextEditor;
    const uri = typeof target === 'string' ? vscode.Uri.parse(target) : (target ?? editor?.document.uri);
    if (!uri) return refuse('open a model file and put the cursor in the model class to probe it.');
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const cursorLine = editor && editor.document.uri.toString() === uri.toString() ? editor.selection.active.line : undefined;
    // The panel's page takes seconds to load in a webview: open it while the model is read.
    panel.show();

    // Which model: the one named (CodeLens), else the one around the cursor (one request
    // reads it and its graphs), else a choice among the file's models.
    let name = modelName;
    let first: { result: ExtractModelResult; ms: number } | undefined;
    if (name === undefined) {
      let models: ModelCandidate[];
      if (cursorLine !== undefined) {
        first = await extract({ uri: uri.toString(), position: { line: cursorLine, character: 0 }, ...(options.inputShape ? { inputShape: options.inputShape } : {}) });
        const answer = first.result;
        if (!('error' in answer)) {
          name = answer.extraction.modelName;
          models = [];
        } else if (answer.models.length === 0 || modelAtLine(answer.models, cursorLine)) {
          // No model in the file, or the one around the cursor cannot be read: say why.
          return refuse(answer.models.length ? `cannot probe this model: ${answer.error}` : `${fileName(uri)}: ${answer.error}`);
        } else {
          models = answer.models;
        }
      } else {
        models = (await analysis.request<ListModelsResult>(listModelsMethod, { uri: uri.toString() })).models;
      }
      if (name === undefined) {
        if (models.length === 0) return refuse(`${fileName(uri)} defines no model Residual Lens can probe (a PyTorch nn.Module class, a Keras or TF.js model).`);
        const topLevel = models.filter((m) => m.topLevel);
        const chosen = await pickModel(topLevel.length ? topLevel : models, 'The cursor is not in a model: which one to probe?');
        if (!chosen) return { started: false, reason: 'no model chosen' };
        name = chosen.name;
        first = undefined;
      }
    }

    const key = modelKey(uri, name);
    let { result, ms: extractMs } = first ?? (await extract({ uri: uri.toString(), modelName: name, ...(options.inputShape ? { inputShape: options.inputShape } : {}) }));
    // The file does not say its input: the shape given for this class before, else ask (and remember).
    let inputShape = options.inputShape;
    if (!('error' in result) && result.extraction.needsInputShape?.length) {
      const unknown = result.extraction.needsInputShape;
      const stored = options.inputShape ? undefined : storedShapes()[key];
      if (stored) {
        log.info(`probe model: ${name}: using the input shape given before, (${stored.join(', ')})`);
        ({ result, ms: extractMs } = await extract({ uri: uri.toString(), modelName: name, inputShape: stored }));
        inputShape = stored;
      }
      if (!stored || ('error' in result ? false : result.extraction.needsInputShape?.length)) {
        const asked = await askInputShape(name, unknown, stored);
        if (!asked) return { started: false, reason: 'no input shape given' };
        ({ result, ms: extractMs } = await extract({ uri: uri.toString(), modelName: name, inputShape: asked }));
        inputShape = asked;
      }
    }
    if ('error' in result) return refuse(`cannot probe ${name}: ${result.error}`);
    const extraction = result.extraction;
    if (extraction.needsInputShape?.length) return refuse(`cannot probe ${name}: the input shape (${inputShape?.join(', ') ?? ''}) still leaves ${extraction.needsInputShape.join(', ')} unknown.`);
    if (inputShape && !options.scaledDown) await context.workspaceState.update(inputShapesKey, { ...storedShapes(), [key]: inputShape });

    if (extraction.unsupported.length) {
      const listed = extraction.unsupported
        .slice(0, 6)
        .map((u) => `${u.what}${u.source ? ` (line ${u.source.line + 1})` : ''}: ${u.reason}`)
        .join('; ');
      const more = extraction.unsupported.length > 6 ? ` and ${extraction.unsupported.length - 6} more` : '';
      log.warn(`probe model: ${name}: cannot build ${extraction.unsupported.map((u) => `${u.what}: ${u.reason}`).join('; ')}`);
      if (!extraction.prefixOnly || extraction.variants.length === 0) {
        return refuse(`cannot probe ${name}: Residual Lens cannot build ${listed}${more}.`);
      }
      const accept =
        options.acceptPrefix ??
        (await vscode.window.showWarningMessage(
          `Residual Lens cannot build all of ${name}: ${listed}${more}. It can probe the layers before that (the buildable prefix).`,
          'Probe Buildable Prefix',
        )) === 'Probe Buildable Prefix';
      if (!accept) return { started: false, reason: 'the buildable prefix was not accepted' };
    }

    const settings = readTrainingSettings();
    const planOf = (from: ModelExtraction): ModelPlanOutcome => planModelProbe(from, { ...settings, ...(options.steps !== undefined ? { steps: options.steps } : {}) });
    let planned = planOf(extraction);
    let probedShape = extraction.inputShape;
    let scaledNote = options.scaledDown && inputShape ? `scaled down: probed on input (${inputShape.join(', ')}), a smaller input than the file's, for a larger batch` : undefined;
    if (!planned.ok) {
      // Too large: the numbers, and a smaller input that fits when there is one.
      const why = `${name} is too large to probe here: ${planned.problems.join('; ')}`;
      const smaller = await scaleDownByInput(
        extraction,
        async (shape) => {
          const again = await analysis.request<ExtractModelResult>(extractModelMethod, { uri: uri.toString(), modelName: name, inputShape: shape });
          return 'error' in again ? undefined : again.extraction;
        },
        planOf,
      );
      if (!smaller) return refuse(`${why}. No smaller input makes it fit${planned.suggestion ? `; ${planned.suggestion}` : ''}.`);
      const button = 'Scale Down';
      const accept = options.acceptScaleDown ?? (await vscode.window.showWarningMessage(`Residual Lens: ${why}. Scale down: probe it on ${smaller.description}?`, button)) === button;
      if (!accept) return { started: false, reason: why };
      planned = smaller.planned;
      probedShape = smaller.inputShape;
      scaledNote = `scaled down: probed on ${smaller.description}, as the file's is too large for a probe`;
      log.info(`probe model: ${name}: scaled down to ${smaller.description}`);
    }
    // The panel shows where the probed model differs from the file, and the plan's notes.
    const notes = [...new Set([...(scaledNote ? [scaledNote] : []), ...(extraction.notes ?? []), ...planned.notes])];
    const plan: ProbePlan = { ...planned.plan, notes };
    for (const note of notes) log.info(`probe model: ${name}: ${note}`);

    let firstProfileLogged = false;
    const version = document?.version ?? null;
    const documentVersion = result.documentVersion ?? version;
    log.info(`probe model: ${name}: read in ${extractMs.toFixed(0)} ms; training ${planned.variants.map((v) => v.label).join(', ')}`);
    const finished = controller.run(plan, {
      title: name,
      source: { uri, version: documentVersion },
      rerun: async () => {
        await probe(uri, name, inputShape ? { inputShape, ...(options.scaledDown ? { scaledDown: true } : {}) } : {});
      },
      onMessage: (message) => {
        if (firstProfileLogged || message.type !== 'gradients' || message.variant !== 'model') return;
        firstProfileLogged = true;
        log.info(`probe model: ${name}: the model's gradient-flow profile at init arrived ${(performance.now() - commandStarted).toFixed(0)} ms after the command (reading the model: ${extractMs.toFixed(0)} ms)`);
      },
      onFinished: (record, cancelled) => {
        const text = modelVerdictLine(record, cancelled);
        void context.workspaceState.update(verdictsKey, { ...storedVerdicts(), [key]: { text, at: new Date().toISOString() } }).then(() => lensesChanged.fire());
      },
    });
    if (!options.scaledDown) offerSmallBatchScaleDown(uri, name, extraction, planned, probedShape);
    return { started: true, model: name, variants: planned.variants.map((v) => v.id), plan, inputShape: probedShape, extractMs, finished };
  }

  /**
   * A model whose step cost leaves a batch under healthyBatchSize trains noisily: offer a
   * smaller input that allows a larger batch (the run at the file's input goes on unless taken).
   */
  function offerSmallBatchScaleDown(uri: vscode.Uri, name: string, extraction: ModelExtraction, planned: Extract<ModelPlanOutcome, { ok: true }>, probedShape: number[] | undefined): void {
    const task = planned.plan.task;
    if (!task || planned.plan.batchSize >= healthyBatchSize || probedShape !== extraction.inputShape) return;
    const smaller = smallBatchScaleDown(
      planned.variants.map((v) => v.graph),
      task,
    );
    const inputShape = smaller ? smallerInputShapes(extraction)[Math.log2(smaller.inputDivisor) - 1] : undefined;
    if (!smaller || !inputShape) return;
    const button = 'Scale Down';
    void vscode.window
      .showInformationMessage(
        `Residual Lens: ${name} trains at batch ${planned.plan.batchSize} on its input (${(extraction.inputShape ?? planned.variants[0]!.graph.nodes[planned.variants[0]!.graph.inputs[0]!.node]!.shape).join(', ')}), so BatchNorm's statistics are noisy and a short probe learns little. Scale down: probe it on input (${inputShape.join(', ')}) at batch ${smaller.batchSize}?`,
        button,
      )
      .then(async (choice) => {
        if (choice !== button) return;
        await controller.stop();
        await probe(uri, name, { inputShape, scaledDown: true });
      });
  }

  context.subscriptions.push(
    lensesChanged,
    vscode.commands.registerCommand(probeModelCommand, async (target?: vscode.Uri | string, modelName?: string, options?: ProbeModelOptions) => {
      try {
        return await probe(target, typeof modelName === 'string' ? modelName : undefined, options ?? {});
      } catch (err) {
        log.error(`probe model: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return refuse(`Probe This Model failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
    vscode.languages.registerCodeLensProvider(
      ['python', 'typescript', 'javascript', 'typescriptreact', 'javascriptreact'].flatMap((language) => [
        { scheme: 'file', language },
        { scheme: 'untitled', language },
      ]),
      new ModelCodeLensProvider(analysis, () => storedVerdicts(), lensesChanged.event),
    ),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('residualLens.codeLens')) lensesChanged.fire();
    }),
  );
}

/** The depth probe's training settings that apply to a model's probe too (steps, time budget, backend). */
function readTrainingSettings(): { steps: number; timeBudgetMs: number; backend: BackendPreference } {
  const config = vscode.workspace.getConfiguration('residualLens.probe');
  return {
    steps: Math.max(1, Math.round(config.get<number>('steps', 100))),
    timeBudgetMs: Math.max(0, config.get<number>('timeBudgetSeconds', 0)) * 1000,
    backend: (['auto', 'tensorflow', 'wasm', 'cpu'] as const).find((b) => b === config.get<string>('backend')) ?? 'auto',
  };
}

function fileName(uri: vscode.Uri): string {
  return uri.path.split('/').pop() ?? uri.toString();
}

/** "Probe depth" above each top-level model, and the last probe's verdict of it. */
class ModelCodeLensProvider implements vscode.CodeLensProvider {
  constructor(
    private readonly analysis: AnalysisClient,
    private readonly verdicts: () => Record<string, StoredVerdict>,
    readonly onDidChangeCodeLenses: vscode.Event<void>,
  ) {}

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    if (!vscode.workspace.getConfiguration('residualLens').get<boolean>('codeLens', true)) return [];
    let listed: ListModelsResult;
    try {
      listed = await this.analysis.request<ListModelsResult>(listModelsMethod, { uri: document.uri.toString() }, token);
    } catch {
      return []; // cancelled by a newer request, or the server is restarting
    }
    const verdicts = this.verdicts();
    return listed.models
      .filter((m) => m.topLevel)
      .flatMap((model) => {
        const range = new vscode.Range(model.source.line, 0, model.source.line, 0);
        const lenses = [
          new vscode.CodeLens(range, {
            title: '$(pulse) Probe depth',
            tooltip: `Build ${model.name} and its plain twin from this code (nothing is run) and train them briefly to see the gradient flow`,
            command: probeModelCommand,
            arguments: [document.uri, model.name],
          }),
        ];
        const verdict = verdicts[modelKey(document.uri, model.name)];
        if (verdict) {
          lenses.push(
            new vscode.CodeLens(range, {
              title: verdict.text,
              tooltip: `Last probe of ${model.name}, ${new Date(verdict.at).toLocaleString()}: show the gradient flow`,
              command: 'residualLens.showGradientFlow',
            }),
          );
        }
        return lenses;
      });
  }
}

export type { ModelExtraction, ModelProbeVariant };
