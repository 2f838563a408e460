import * as vscode from 'vscode';
import type { ExportFormat } from '../../core/probe/panelProtocol';
import { parseProbeMessage, type ReceivedProbeMessage } from '../../core/probe/probeMessageValidation';
import { ProbeRunState, createProbeRun, parseProbeRunFile, type ProbeRunRecord, type RunOutcome } from '../../core/probe/probeRun';
import { probeRunToCsv } from '../../core/probe/probeSummary';
import { renderProbeReportHtml } from '../../core/probe/reportHtml';
import type { ProbePlan } from '../../core/probe/protocol';
import { GradientFlowPanel } from './gradientFlowPanel';
import { MessageBatcher } from './messageBatcher';

/** What the probe command flow plugs in so the panel's Re-run and Stop buttons work. */
export interface ProbeRunController {
  rerun(): void;
  stop(): void;
}

/** The model a run was built from, and whether its file has changed since. */
interface RunSource {
  model: string;
  uri: vscode.Uri;
  /** The editor's document version the model was read at; null when it was read from disk. */
  version: number | null;
  stale: string | null;
}

const lastRunFile = 'last-probe-run.json';
/** Workspace state: the model the stored run was built from, so a reload keeps the panel's title and links. */
const lastRunSourceKey = 'residualLens.probePanel.lastRunSource';
const renderIntervalMs = 100;
const pngTimeoutMs = 15_000;

/**
 * Holds the current probe run, feeds it to the gradient-flow panel (opening, restoring
 * and re-feeding it as needed) and exports it. The probe command flow talks only to this.
 */
export class GradientFlowService implements vscode.Disposable {
  private panel: GradientFlowPanel | undefined;
  private run: ProbeRunState | undefined;
  private loadedFromDisk = false;
  /** The user hears once per session that storage failed; the log gets every failure. */
  private toldSaveFailed = false;
  private controller: ProbeRunController | undefined;
  private nextPngRequest = 1;
  private readonly pngRequests = new Map<number, (dataUrl: string | null) => void>();
  private readonly batcher = new MessageBatcher<ReceivedProbeMessage>(renderIntervalMs, (messages) => this.panel?.post({ type: 'probe', messages }));
  private readonly disposables: vscode.Disposable[] = [];
  private source: RunSource | null = null;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      this.batcher,
      // The probe trains the snapshot it was given; an edit after that dates what the panel shows.
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length > 0) this.checkSourceVersion(event.document);
      }),
    );
  }

  /** Marks the run's results as dated once its file is at a newer version than the one the model was read at. */
  private checkSourceVersion(document: vscode.TextDocument): void {
    const source = this.source;
    if (!source || source.stale || document.uri.toString() !== source.uri.toString()) return;
    if (source.version !== null && document.version <= source.version) return;
    if (source.version === null && !document.isDirty) return; // read from disk, and the editor still shows the disk's text
    const file = source.uri.path.split('/').pop() ?? source.uri.toString();
    source.stale = `These results are from an older version of the code: ${file} was edited after ${source.model} was read for this probe. Probe it again to see the current code.`;
    this.sendSource();
  }

  get lastRun(): ProbeRunRecord | undefined {
    return this.run?.record;
  }

  get isRunning(): boolean {
    return this.run?.running ?? false;
  }

  setRunController(controller: ProbeRunController | undefined): void {
    this.controller = controller;
    this.sendControls();
  }

  /** Starts showing a new run, opening the panel beside the editor; `model` and `source` for "Probe This Model". */
  beginRun(plan: ProbePlan | null, model: string | null = null, source: { uri: vscode.Uri; version: number | null } | null = null): void {
    this.run = new ProbeRunState(createProbeRun(plan));
    this.loadedFromDisk = true;
    this.source = model && source ? { model, uri: source.uri, version: source.version, stale: null } : null;
    void this.context.workspaceState.update(lastRunSourceKey, this.source ? { model: this.source.model, uri: this.source.uri.toString() } : undefined);
    // An edit between reading the model and starting the run already dates it.
    const open = this.source && vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.source!.uri.toString());
    if (open) this.checkSourceVersion(open);
    this.show();
    this.panel?.setTitle(this.source?.model ?? null);
    this.sendSnapshot();
  }

  /** The model of the run shown, if it came from the editor, and whether its code changed since. */
  get runSource(): { model: string; uri: string; stale: boolean } | null {
    return this.source ? { model: this.source.model, uri: this.source.uri.toString(), stale: this.source.stale !== null } : null;
  }

  private sendSource(): void {
    this.panel?.post({ type: 'source', model: this.source?.model ?? null, stale: this.source?.stale ?? null });
  }

  /**
   * Shows a layer's line in the editor. The page names the file, so only a file and line
   * that a layer of the run shown names are opened: a page cannot open anything else.
   */
  async revealSource(uriText: string, line: number): Promise<boolean> {
    const known = this.run?.variants.some((v) => v.layers.some((l) => l.sourceUri === uriText && l.sourceLine === line)) ?? false;
    if (!known) {
      this.log.warn(`gradient-flow panel: ignored a request to show ${uriText}:${line + 1}, which no layer of this run names`);
      return false;
    }
    const uri = /^[a-z][\w+.-]*:/i.test(uriText) && !/^[a-z]:[\\/]/i.test(uriText) ? vscode.Uri.parse(uriText) : vscode.Uri.file(uriText);
    try {
      const document = await vscode.workspace.openTextDocument(uri);
      const target = Math.min(line, document.lineCount - 1);
      const column = document.lineAt(target).firstNonWhitespaceCharacterIndex;
      const position = new vscode.Position(target, column);
      const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
      const editor = await vscode.window.showTextDocument(document, {
        viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One,
        selection: new vscode.Range(position, position),
        preserveFocus: false,
      });
      editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenter);
      return true;
    } catch (err) {
      this.log.warn(`gradient-flow panel: could not show ${uri.toString()}:${line + 1}: ${String(err)}`);
      void vscode.window.showWarningMessage(`Residual Lens: could not open ${uri.fsPath || uriText} (${err instanceof Error ? err.message : String(err)}).`);
      return false;
    }
  }

  /** One message from the probe supervisor, as received (validated here; unknown fields dropped and logged). */
  postProbeMessage(data: unknown): void {
    const parsed = parseProbeMessage(data);
    if (!parsed.ok) {
      this.log.warn(`probe: ignored a message: ${parsed.error}`);
      return;
    }
    if (parsed.ignoredFields.length) this.log.info(`probe: ignored unexpected fields ${parsed.ignoredFields.join(', ')}`);
    this.run ??= new ProbeRunState(createProbeRun(null));
    this.run.apply(parsed.value);
    if (this.panel?.isReady) this.batcher.add(parsed.value);
  }

  async endRun(outcome: Exclude<RunOutcome, 'running'>, message: string | null = null): Promise<void> {
    if (!this.run) return;
    this.run.end(outcome, message);
    this.batcher.flush();
    this.panel?.post({ type: 'runEnded', outcome, message });
    this.sendControls();
    await this.save();
  }

  /** Opens (or reveals) the panel; it shows the current run, else the last one stored for this workspace. */
  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    this.adopt(GradientFlowPanel.create(this.context.extensionUri, this.log));
  }

  /** The serializer's path: VS Code restored a panel after a reload. */
  adopt(panel: GradientFlowPanel): void {
    this.panel?.dispose();
    this.panel = panel;
    panel.setTitle(this.source?.model ?? null);
    const subscriptions = [
      panel.onReady(() => void this.onPanelReady()),
      panel.onMessage((message) => {
        switch (message.type) {
          case 'rerun':
            if (this.controller) this.controller.rerun();
            else void vscode.commands.executeCommand('residualLens.runDepthProbe').then(undefined, () => this.log.warn('probe: no probe runner is available to re-run'));
            break;
          case 'stop':
            this.controller?.stop();
            break;
          case 'export':
            void this.exportWith(message.format, message.dataUrl);
            break;
          case 'png':
            this.pngRequests.get(message.requestId)?.(message.dataUrl);
            this.pngRequests.delete(message.requestId);
            break;
          case 'revealSource':
            void this.revealSource(message.uri, message.line);
            break;
        }
      }),
    ];
    panel.onDidDispose(() => {
      for (const s of subscriptions) s.dispose();
      if (this.panel === panel) this.panel = undefined;
      this.batcher.clear();
      for (const resolve of this.pngRequests.values()) resolve(null);
      this.pngRequests.clear();
    });
  }

  private async onPanelReady(): Promise<void> {
    if (!this.run && !this.loadedFromDisk) await this.loadLastRun();
    this.sendSnapshot();
  }

  /** The whole run replaces what the page shows; batched messages it already contains are dropped. */
  private sendSnapshot(): void {
    this.batcher.clear();
    if (this.run) this.panel?.post({ type: 'load', run: this.run.record });
    this.sendSource();
    this.sendControls();
  }

  private sendControls(): void {
    this.panel?.post({ type: 'controls', canRerun: true, canStop: !!this.controller && this.isRunning });
  }

  /** Per workspace; with no folder open, the extension's global storage. */
  private storageFile(): vscode.Uri {
    return vscode.Uri.joinPath(this.context.storageUri ?? this.context.globalStorageUri, lastRunFile);
  }

  private async loadLastRun(): Promise<void> {
    this.loadedFromDisk = true;
    const file = this.storageFile();
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
    } catch {
      return; // no probe has run in this workspace yet
    }
    const parsed = parseProbeRunFile(text);
    if (!parsed.ok) {
      this.log.warn(`probe: the stored last run could not be read: ${parsed.error}`);
      this.panel?.post({ type: 'notice', text: `The last probe result could not be opened: ${parsed.error}.` });
      return;
    }
    if (this.run) return;
    this.run = new ProbeRunState(parsed.value);
    // After a reload editor versions start again: what the editor shows now is the reference.
    const stored = this.context.workspaceState.get<{ model?: unknown; uri?: unknown }>(lastRunSourceKey);
    if (parsed.value.plan?.task && typeof stored?.model === 'string' && typeof stored.uri === 'string') {
      this.source = { model: stored.model, uri: vscode.Uri.parse(stored.uri), version: null, stale: null };
      this.panel?.setTitle(stored.model);
    }
  }

  private async save(): Promise<void> {
    const file = this.storageFile();
    if (!this.run) return;
    try {
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(file, '..'));
      await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(JSON.stringify(this.run.record)));
    } catch (err) {
      // The run stays in memory and in the panel; only its restore after a reload is lost.
      this.log.warn(`probe: could not keep the last run in workspace storage (${file.fsPath}): ${String(err)}`);
      if (!this.toldSaveFailed) {
        this.toldSaveFailed = true;
        void vscode.window.showWarningMessage(
          `Residual Lens: the probe result could not be saved to workspace storage (${err instanceof Error ? err.message : String(err)}). It stays in the panel, and can be exported, but will not be restored after a reload.`,
        );
      }
    }
  }

  /** Opens a result file (JSON written by this extension or the CLI's JSON lines) in the panel. */
  async openResultFile(uri: vscode.Uri): Promise<boolean> {
    const parsed = parseProbeRunFile(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
    if (!parsed.ok) {
      void vscode.window.showErrorMessage(`Residual Lens: ${uri.fsPath} cannot be opened: ${parsed.error}.`);
      return false;
    }
    if (parsed.ignoredFields.length) this.log.info(`probe: ${uri.fsPath}: ignored ${parsed.ignoredFields.join(', ')}`);
    this.run = new ProbeRunState(parsed.value);
    this.loadedFromDisk = true;
    this.source = null;
    void this.context.workspaceState.update(lastRunSourceKey, undefined);
    this.show();
    this.panel?.setTitle(null);
    this.sendSnapshot();
    // What the panel shows is what a reload brings back.
    await this.save();
    return true;
  }

  private async requestPng(): Promise<string | null> {
    this.show();
    const panel = this.panel;
    if (!panel) return null;
    if (!panel.isReady) await new Promise<void>((resolve) => {
      const once = panel.onReady(() => {
        once.dispose();
        setTimeout(resolve, 300); // the snapshot sent on ready is drawn first
      });
    });
    const requestId = this.nextPngRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pngRequests.delete(requestId);
        resolve(null);
      }, pngTimeoutMs);
      this.pngRequests.set(requestId, (dataUrl) => {
        clearTimeout(timer);
        resolve(dataUrl);
      });
      panel.post({ type: 'requestPng', requestId });
    });
  }

  /** The contents of an export, or undefined with the reason logged. */
  async renderExport(format: ExportFormat, pngDataUrl: string | null = null): Promise<Uint8Array | undefined> {
    if (!this.run && !this.loadedFromDisk) await this.loadLastRun();
    const run = this.run;
    if (!run) return undefined;
    switch (format) {
      case 'json':
        return new TextEncoder().encode(JSON.stringify(run.record, null, 1) + '\n');
      case 'csv':
        return new TextEncoder().encode(probeRunToCsv(run));
      case 'html': {
        const read = async (...path: string[]): Promise<string> => new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(this.context.extensionUri, ...path)));
        const [scriptText, styleText] = await Promise.all([read('dist', 'webview.js'), read('media', 'panel.css')]);
        return new TextEncoder().encode(renderProbeReportHtml({ run: run.record, scriptText, styleText }));
      }
      case 'png': {
        const dataUrl = pngDataUrl ?? (await this.requestPng());
        if (!dataUrl) return undefined;
        return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
      }
    }
  }

  async exportWith(format: ExportFormat, pngDataUrl: string | null = null, target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const bytes = await this.renderExport(format, pngDataUrl);
    if (!bytes) {
      void vscode.window.showWarningMessage(this.run ? `Residual Lens: the ${format.toUpperCase()} export could not be made (see the log).` : 'Residual Lens: no probe result to export yet. Run "Residual Lens: Run Depth Probe" first.');
      return undefined;
    }
    const stamp = (this.run?.record.createdAt ?? new Date().toISOString()).slice(0, 19).replace(/[:T]/g, '-');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const fileName = `probe-report-${stamp}.${format}`;
    const filters: Record<ExportFormat, Record<string, string[]>> = { html: { 'HTML report': ['html'] }, json: { 'Probe result': ['json'] }, csv: { CSV: ['csv'] }, png: { 'PNG image': ['png'] } };
    const uri =
      target ??
      (await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, fileName) : undefined, filters: filters[format], saveLabel: `Export ${format.toUpperCase()}` }));
    if (!uri) return undefined;
    try {
      await vscode.workspace.fs.writeFile(uri, bytes);
    } catch (err) {
      // A read-only folder or a full disk: say so here, as the panel's Export button does not await us.
      this.log.error(`probe: could not export ${format.toUpperCase()} to ${uri.fsPath}: ${String(err)}`);
      void vscode.window.showErrorMessage(`Residual Lens: could not write ${uri.fsPath}: ${err instanceof Error ? err.message : String(err)}. The result is still in the panel.`);
      return undefined;
    }
    this.log.info(`probe: exported ${format.toUpperCase()} to ${uri.fsPath}`);
    if (!target) {
      void vscode.window.showInformationMessage(`Residual Lens: saved ${uri.fsPath.split(/[\\/]/).pop()}.`, 'Open').then((choice) => {
        if (choice === 'Open') void vscode.env.openExternal(uri);
      });
    }
    return uri;
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

