import { relative } from 'node:path';
import type { Finding } from '../core/diagnostic';

export interface FileFindings {
  file: string;
  findings: Finding[];
}

export interface JsonFinding {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  rule: string;
  severity: Finding['severity'];
  kind: Finding['kind'] | null;
  message: string;
  shapes: [string, string] | null;
}

/** 1-based positions, as editors and CI annotations show them. */
export function toJsonFinding(file: string, finding: Finding): JsonFinding {
  return {
    file,
    line: finding.range.start.line + 1,
    column: finding.range.start.character + 1,
    endLine: finding.range.end.line + 1,
    endColumn: finding.range.end.character + 1,
    rule: finding.rule,
    severity: finding.severity,
    kind: finding.kind ?? null,
    message: finding.message,
    shapes: finding.shapes ?? null,
  };
}

export function formatText(results: FileFindings[], cwd: string): string {
  const lines: string[] = [];
  for (const { file, findings } of results) {
    for (const finding of findings) {
      const f = toJsonFinding(relative(cwd, file) || file, finding);
      lines.push(`${f.file}:${f.line}:${f.column}: ${f.severity} ${f.rule}: ${f.message}`);
    }
  }
  return lines.join('\n');
}

export function formatJson(results: FileFindings[], fileCount: number, cwd: string): string {
  return JSON.stringify(
    {
      version: 1,
      files: fileCount,
      findings: results.flatMap(({ file, findings }) => findings.map((f) => toJsonFinding(relative(cwd, file) || file, f))),
    },
    null,
    2,
  );
}

export function formatSarif(results: FileFindings[], cwd: string, toolVersion: string): string {
  const findings = results.flatMap(({ file, findings }) => findings.map((f) => toJsonFinding(relative(cwd, file) || file, f)));
  const ruleIds = [...new Set(findings.map((f) => f.rule))].sort();
  return JSON.stringify(
    {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'Residual Lens',
              version: toolVersion,
              informationUri: 'https://github.com/residual-lens/residual-lens',
              rules: ruleIds.map((id) => ({ id, shortDescription: { text: ruleDescriptions[id] ?? id } })),
            },
          },
          results: findings.map((f) => ({
            ruleId: f.rule,
            level: f.severity === 'information' ? 'note' : f.severity,
            message: { text: f.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: f.file.split('\\').join('/') },
                  region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, endColumn: f.endColumn },
                },
              },
            ],
          })),
        },
      ],
    },
    null,
    2,
  );
}

const ruleDescriptions: Record<string, string> = {
  'residual-shape-mismatch': 'The two operands of a residual addition have different shapes.',
  'residual-silent-broadcast': 'A residual addition silently broadcasts a size-1 axis.',
};
