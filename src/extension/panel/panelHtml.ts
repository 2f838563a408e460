// The panel's HTML: an empty skeleton under a strict CSP. No data goes in here; the
// page asks for it with `ready`. Kept free of 'vscode' so the webview tests serve
// exactly this markup to Chromium.

export interface PanelHtmlInputs {
  /** `webview.cspSource`: the origin the webview loads its local resources from. */
  cspSource: string;
  /** Fresh per render, from crypto.randomBytes. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

export function panelContentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // The toolkit adds <style> elements from script; it reads the csp-nonce meta tag and marks them with it.
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderPanelHtml(inputs: PanelHtmlInputs): string {
  const nonce = escapeAttribute(inputs.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(panelContentSecurityPolicy(inputs.cspSource, inputs.nonce))}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(inputs.styleUri)}">
<title>Gradient Flow</title>
</head>
<body>
<main id="app"></main>
<script nonce="${nonce}" src="${escapeAttribute(inputs.scriptUri)}"></script>
</body>
</html>
`;
}
