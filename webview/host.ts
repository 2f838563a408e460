// Where the page sends messages and keeps its state: the VS Code webview API inside
// the editor, or nothing at all in a standalone HTML report (exports become downloads).
import type { PanelToHostMessage } from '../src/core/probe/panelProtocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface PanelHost {
  /** False in a standalone report: no re-run, stop, or host-side export. */
  readonly inEditor: boolean;
  post(message: PanelToHostMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}

export function connectHost(): PanelHost {
  if (typeof acquireVsCodeApi === 'function') {
    const api = acquireVsCodeApi();
    return {
      inEditor: true,
      post: (message) => api.postMessage(message),
      getState: () => api.getState(),
      setState: (state) => api.setState(state),
    };
  }
  let state: unknown;
  return {
    inEditor: false,
    post: (message) => {
      if (message.type === 'log' && message.level !== 'info') console.warn(message.text);
    },
    getState: () => state,
    setState: (next) => {
      state = next;
    },
  };
}

/** Saves a file from a standalone report through the browser's download. */
export function download(fileName: string, href: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
}
