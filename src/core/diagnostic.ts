// The core's own finding type. Converted to LSP or VS Code types only at the edge
// (server, CLI), so the core never depends on an editor API.

/** Zero-based line and UTF-16 column, as LSP counts them. */
export interface SourcePosition {
  line: number;
  character: number;
}

export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

export type Severity = 'error' | 'warning' | 'information';

export interface TextEdit {
  range: SourceRange;
  newText: string;
}

/** A code action the user can apply: edits to the same document. */
export interface Fix {
  title: string;
  edits: TextEdit[];
  isPreferred?: boolean;
}

export type MismatchKind = 'channels' | 'spatial' | 'both' | 'other';

export interface Finding {
  rule: string;
  severity: Severity;
  range: SourceRange;
  message: string;
  kind?: MismatchKind;
  /** The two operand shapes as text, left then right. */
  shapes?: [string, string];
  fixes: Fix[];
}

/**
 * A shape the analyser inferred, for hovers and inlay hints in `forward`:
 * - `variable`: a tensor name where it is assigned (`out`);
 * - `layer`: a layer attribute where it is called (`self.conv1`), its description and output shape;
 * - `line-end`: the shape assigned on a line, placed at the end of that line (an inlay hint).
 * A block used with several arguments shows up to three shapes joined by ` | `.
 */
export interface ShapeAnnotation {
  range: SourceRange;
  name: string;
  shape: string;
  kind: 'variable' | 'layer' | 'line-end';
}
