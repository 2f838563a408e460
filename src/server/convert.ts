import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { Finding, Severity } from '../core/diagnostic';

const severities: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

export const diagnosticSource = 'Residual Lens';

export function toLspDiagnostic(finding: Finding): Diagnostic {
  return {
    range: finding.range,
    severity: severities[finding.severity],
    source: diagnosticSource,
    code: finding.rule,
    message: finding.message,
    data: { kind: finding.kind, shapes: finding.shapes },
  };
}
