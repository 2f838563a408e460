// Client of the launcher's UI bridge: lets a test in the extension host look at and
// drive the workbench page it runs under. Only code-server runs have it; on desktop
// VS Code the UI checks are skipped with that reason.

export const uiBridgeUrl = process.env.RESIDUAL_LENS_UI_BRIDGE;

async function call<T>(request: Record<string, unknown>): Promise<T> {
  if (!uiBridgeUrl) throw new Error('no UI bridge (not running under the code-server launcher)');
  const response = await fetch(uiBridgeUrl, { method: 'POST', body: JSON.stringify(request) });
  const body = (await response.json()) as { ok: boolean; result?: T; error?: string };
  if (!body.ok) throw new Error(`UI bridge ${String(request.action)}: ${body.error}`);
  return body.result as T;
}

export const ui = {
  screenshot: (name: string) => call<string>({ action: 'screenshot', name }),
  press: (key: string) => call<null>({ action: 'press', key }),
  type: (text: string) => call<null>({ action: 'type', text }),
  click: (selector: string, timeoutMs?: number) => call<null>({ action: 'click', selector, timeoutMs }),
  text: (selector: string, timeoutMs?: number) => call<string>({ action: 'text', selector, timeoutMs }),
  waitForText: (selector: string, text: string, timeoutMs?: number) => call<string>({ action: 'waitForText', selector, text, timeoutMs }),
  waitForTextGone: (selector: string, text: string, timeoutMs?: number) => call<null>({ action: 'waitForTextGone', selector, text, timeoutMs }),
  frameWaitForText: (text: string, timeoutMs?: number) => call<string>({ action: 'frameWaitForText', text, timeoutMs }),
  reload: () => call<null>({ action: 'reload' }),
  count: (selector: string) => call<number>({ action: 'count', selector }),
  /** Evaluates `expression` in the first frame (a webview) that has `selector`. */
  frameEvaluate: <T>(selector: string, expression: string, timeoutMs?: number) => call<T>({ action: 'frameEvaluate', selector, expression, timeoutMs }),
  /** Clicks `selector` in a webview frame, or the point `expression` gives (frame pixels). */
  frameClick: (selector: string, expression?: string, timeoutMs?: number) => call<{ x: number; y: number } | null>({ action: 'frameClick', selector, expression, timeoutMs }),
};
