import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic } from 'vscode-languageserver/node';
import type { AnalysisResult } from '../core/analysis';
import type { Fix, SourceRange } from '../core/diagnostic';
import { diagnosticSource } from './convert';

const sameRange = (a: SourceRange, b: SourceRange): boolean =>
  a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;

/** Quick fixes for the Residual Lens diagnostics in the request, matched by rule id and range. */
export function codeActionsFor(params: CodeActionParams, result: AnalysisResult | undefined): CodeAction[] {
  if (!result) return [];
  const actions: CodeAction[] = [];
  for (const diagnostic of params.context.diagnostics) {
    if (diagnostic.source !== diagnosticSource) continue;
    const finding = result.findings.find((f) => f.rule === diagnostic.code && sameRange(f.range, diagnostic.range));
    if (!finding) continue;
    actions.push(...finding.fixes.map((fix) => toCodeAction(params.textDocument.uri, fix, diagnostic)));
  }
  return actions;
}

function toCodeAction(uri: string, fix: Fix, diagnostic: Diagnostic): CodeAction {
  return {
    title: fix.title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    isPreferred: fix.isPreferred ?? false,
    edit: { changes: { [uri]: fix.edits.map((edit) => ({ range: edit.range, newText: edit.newText })) } },
  };
}
