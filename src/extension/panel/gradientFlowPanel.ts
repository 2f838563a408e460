import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { parsePanelToHostMessage, type HostToPanelMessage, type PanelToHostMessage } from '../../core/probe/panelProtocol';
import { renderPanelHtml } from './panelHtml';

export const gradientFlowViewType = 'residualLens.gradientFlow';

export function panelResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')];
}

export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  // No retainContextWhenHidden: the page saves its state with setState and is rebuilt when shown.
  return { enableScripts: true, localResourceRoots: panelResourceRoots(extensionUri) };
}

/**
 * One webview panel: its HTML, the `ready` handshake and validated messages both
 * ways. It knows nothing of probes; the GradientFlowService decides what to send.
 */
export class GradientFlowPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  private readonly onReadyEmitter = new vscode.EventEmitter<void>();
  private readonly onMessageEmitter = new vscode.EventEmitter<PanelToHostMessage>();
  private readonly onDisposeEmitter = new vscode.EventEmitter<void>();
  /** Fires each time the page (re)loads and says `ready`: send it a full snapshot then. */
  readonly onReady = this.onReadyEmitter.event;
  readonly onMessage = this.onMessageEmitter.event;
  readonly onDidDispose = this.onDisposeEmitter.event;

  static create(extensionUri: vscode.Uri, log: vscode.LogOutputChannel): GradientFlowPanel {
    const panel = vscode.window.createWebviewPanel(gradientFlowViewType, 'Gradient Flow', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, panelOptions(extensionUri));
    return new GradientFlowPanel(panel, extensionUri, log);
  }

  /** Adopts a panel VS Code restored after a reload (the serializer's path). */
  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    panel.webview.options = panelOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gradient-flow.svg');
    this.disposables.push(
      this.onReadyEmitter,
      this.onMessageEmitter,
      this.onDisposeEmitter,
      panel.webview.onDidReceiveMessage((data: unknown) => this.receive(data)),
      panel.onDidChangeViewState(() => {
        // A hidden webview loses its page; it says `ready` again when shown.
        if (!panel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    panel.webview.html = this.html();
  }

  get isReady(): boolean {
    return this.ready && !this.disposed;
  }

  private html(): string {
    const webview = this.panel.webview;
    return renderPanelHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'panel.css')).toString(),
    });
  }

  private receive(data: unknown): void {
    const parsed = parsePanelToHostMessage(data);
    if (!parsed.ok) {
      this.log.warn(`gradient-flow panel: ignored a message: ${parsed.error}`);
      return;
    }
    if (parsed.ignoredFields.length) this.log.warn(`gradient-flow panel: ignored unexpected fields ${parsed.ignoredFields.join(', ')}`);
    const message = parsed.value;
    if (message.type === 'ready') {
      this.ready = true;
      this.onReadyEmitter.fire();
      return;
    }
    if (message.type === 'log') {
      this.log[message.level](`gradient-flow panel: ${message.text}`);
      return;
    }
    this.onMessageEmitter.fire(message);
  }

  /** Posts to the page if it is ready; a page that is not gets a snapshot on `ready` instead. */
  post(message: HostToPanelMessage): boolean {
    if (!this.isReady) return false;
    void this.panel.webview.postMessage(message).then(undefined, (err: unknown) => this.log.warn(`gradient-flow panel: postMessage failed: ${String(err)}`));
    return true;
  }

  /** The tab's title: the model's name for "Probe This Model". */
  setTitle(model: string | null): void {
    if (!this.disposed) this.panel.title = model ? `Gradient Flow: ${model}` : 'Gradient Flow';
  }

  reveal(): void {
    this.panel.reveal(this.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ready = false;
    this.onDisposeEmitter.fire();
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
