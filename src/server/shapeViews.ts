import { InlayHintKind, MarkupKind, type Hover, type InlayHint, type Position, type Range } from 'vscode-languageserver/node';
import type { AnalysisResult } from '../core/analysis';
import type { ShapeAnnotation, SourceRange } from '../core/diagnostic';

const contains = (range: SourceRange, position: Position): boolean =>
  (range.start.line < position.line || (range.start.line === position.line && range.start.character <= position.character)) &&
  (range.end.line > position.line || (range.end.line === position.line && range.end.character >= position.character));

const width = (range: SourceRange): number => (range.end.line - range.start.line) * 10000 + range.end.character - range.start.character;

/** The inferred shape of the tensor or layer under the cursor: the innermost annotation there. */
export function hoverFor(result: AnalysisResult | undefined, position: Position): Hover | null {
  if (!result) return null;
  const candidates = result.annotations.filter((a) => a.kind !== 'line-end' && contains(a.range, position));
  if (candidates.length === 0) return null;
  const best = candidates.reduce((a, b) => (width(b.range) < width(a.range) ? b : a));
  const what = best.kind === 'layer' ? 'output shape' : 'shape';
  return {
    range: best.range,
    contents: { kind: MarkupKind.Markdown, value: `\`${best.name}\` ${what}: \`${best.shape}\`\n\n*Residual Lens (inferred statically)*` },
  };
}

/** `→ (N, 64, 16, 16)` at the end of each line of `forward` that makes a tensor. */
export function inlayHintsFor(result: AnalysisResult | undefined, range: Range): InlayHint[] {
  if (!result) return [];
  const seen = new Set<number>();
  const hints: InlayHint[] = [];
  for (const annotation of result.annotations) {
    if (annotation.kind !== 'line-end') continue;
    const line = annotation.range.end.line;
    if (line < range.start.line || line > range.end.line || seen.has(line)) continue;
    seen.add(line);
    hints.push(toInlayHint(annotation));
  }
  return hints;
}

/**
 * A block reached by several instantiations has one shape per instantiation, joined
 * with ` | `. A line-end hint shows the first known one and how many others there are;
 * the tooltip lists them all.
 */
function compactShapes(shape: string): string {
  const variants = [...new Set(shape.split(' | ').map((s) => s.trim()))].filter((s) => s !== '(?)' && s !== '?');
  if (variants.length === 0) return '(?)';
  return variants.length === 1 ? variants[0]! : `${variants[0]} (+${variants.length - 1} more)`;
}

function toInlayHint(annotation: ShapeAnnotation): InlayHint {
  return {
    position: annotation.range.end,
    label: `→ ${compactShapes(annotation.shape)}`,
    kind: InlayHintKind.Type,
    paddingLeft: true,
    tooltip: `${annotation.name}: ${annotation.shape.split(' | ').join(', or ')} (inferred by Residual Lens)`,
  };
}
