import type { Node, Tree } from 'web-tree-sitter';
import type { Finding, ShapeAnnotation, SourceRange } from './diagnostic';
import { type Framework, detectFrameworks } from './parse/detect';
import type { GrammarName, Grammars } from './parse/grammars';
import type { DocumentTrees } from './parse/documentTrees';
import { type SyntaxNode, toSyntaxTree } from './parse/syntaxTree';

export interface SourceDocument {
  /** A URI or path, used in log lines and to resolve imports between workspace files. */
  uri: string;
  grammar: GrammarName;
  text: string;
}

export interface AnalysisOptions {
  /** Files above this size are skipped with a log line. */
  maxFileBytes: number;
  /** Wall-clock budget per file; a checker that runs out gives up on the rest, never guesses. */
  budgetMs: number;
  /** Reads another workspace file (for `from .blocks import BasicBlock`); undefined when absent. */
  readWorkspaceFile?: (path: string) => string | undefined;
  /** The model input when the file does not say (`--input-shape N,3,224,224`): numbers or symbol names. */
  inputShape?: (number | string)[];
}

export const defaultAnalysisOptions: AnalysisOptions = {
  maxFileBytes: 2 * 1024 * 1024,
  budgetMs: 2000,
};

export interface CheckContext {
  document: SourceDocument;
  tree: Tree;
  /** The plain copy of `tree`, made on first use and shared by every checker of the file (see syntaxOf). */
  syntax?: () => SyntaxNode;
  options: AnalysisOptions;
  deadline: number;
  log: (line: string) => void;
  /** For parsing the workspace files that the document imports. */
  grammars?: Grammars;
}

/** The document's plain syntax tree: the shared copy where the caller made one, else a new one. */
export function syntaxOf(context: CheckContext): SyntaxNode {
  return context.syntax ? context.syntax() : toSyntaxTree(context.tree, context.document.text, context.document.grammar);
}

export interface CheckerOutput {
  findings: Finding[];
  annotations?: ShapeAnnotation[];
}

/** A front end plus its rules for one kind of model code. */
export interface ModelChecker {
  readonly name: string;
  readonly framework: Framework;
  /** Findings only, or findings with shape annotations for hovers and inlay hints. */
  check(context: CheckContext): Finding[] | CheckerOutput;
}

export interface AnalysisResult {
  findings: Finding[];
  /** Inferred shapes for hovers and inlay hints (see ShapeAnnotation); empty when none. */
  annotations: ShapeAnnotation[];
  /** The model frameworks the file was recognised as using. */
  frameworks: Framework[];
  /** Why the file was not analysed, if it was not. */
  skipped?: string;
  /** Ranges tree-sitter could not parse; reported to the log only, never to the user. */
  syntaxErrors: SourceRange[];
  log: string[];
  durationMs: number;
}

const registeredCheckers: ModelChecker[] = [];

/** Front ends register themselves here; the order is the order they run in. */
export function registerChecker(checker: ModelChecker): void {
  if (!registeredCheckers.some((c) => c.name === checker.name)) registeredCheckers.push(checker);
}

export function checkers(): readonly ModelChecker[] {
  return registeredCheckers;
}

/** Minified bundles: a few enormous lines. */
const maxLineLength = 5000;

/**
 * Checks one document. With `trees` (the server's trees of open documents) the document is
 * parsed incrementally from its previous tree, which the cache keeps for the next edit.
 */
export function analyzeDocument(
  document: SourceDocument,
  grammars: Grammars,
  options: AnalysisOptions = defaultAnalysisOptions,
  trees?: DocumentTrees,
): AnalysisResult {
  const started = performance.now();
  const log: string[] = [];
  const result = (partial: Partial<AnalysisResult>): AnalysisResult => ({
    findings: [],
    annotations: [],
    frameworks: [],
    syntaxErrors: [],
    log,
    durationMs: performance.now() - started,
    ...partial,
  });

  const skipReason = reasonToSkip(document, options);
  if (skipReason) {
    log.push(`${document.uri}: skipped (${skipReason})`);
    return result({ skipped: skipReason });
  }
  const frameworks = detectFrameworks(document);
  if (frameworks.length === 0) return result({ skipped: 'no model code' });
  const applicable = registeredCheckers.filter((c) => frameworks.includes(c.framework));

  const tree = trees ? trees.parse(grammars, document.uri, document.grammar, document.text) : grammars.parse(document.grammar, document.text);
  try {
    const syntaxErrors = collectSyntaxErrors(tree.rootNode);
    if (syntaxErrors.length) {
      log.push(`${document.uri}: ${syntaxErrors.length} syntax error(s), first at line ${syntaxErrors[0]!.start.line + 1}; the rest of the file is still checked`);
    }
    const deadline = started + options.budgetMs;
    let syntaxTree: SyntaxNode | undefined;
    const syntax = (): SyntaxNode => (syntaxTree ??= trees ? trees.syntax(document.uri) : toSyntaxTree(tree, document.text, document.grammar));
    const findings: Finding[] = [];
    const annotations: ShapeAnnotation[] = [];
    for (const checker of applicable) {
      try {
        const output = checker.check({ document, tree, syntax, options, deadline, log: (line) => log.push(line), grammars });
        if (Array.isArray(output)) findings.push(...output);
        else {
          findings.push(...output.findings);
          annotations.push(...(output.annotations ?? []));
        }
      } catch (err) {
        // A checker bug must cost the user one file's findings, never the server.
        log.push(`${document.uri}: ${checker.name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
    return result({ findings, annotations, frameworks, syntaxErrors });
  } finally {
    if (!trees) tree.delete();
  }
}

export function reasonToSkip(document: SourceDocument, options: AnalysisOptions): string | undefined {
  const bytes = Buffer.byteLength(document.text, 'utf8');
  if (bytes === 0) return 'empty file';
  if (bytes > options.maxFileBytes) {
    return `${(bytes / 1024 / 1024).toFixed(1)} MB is over the ${(options.maxFileBytes / 1024 / 1024).toFixed(1)} MB limit`;
  }
  if (document.text.slice(0, 8192).includes('\u0000')) return 'binary file';
  let lineStart = 0;
  while (lineStart < document.text.length) {
    let lineEnd = document.text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = document.text.length;
    if (lineEnd - lineStart > maxLineLength) return `a line longer than ${maxLineLength} characters (minified?)`;
    lineStart = lineEnd + 1;
  }
  return undefined;
}

function collectSyntaxErrors(root: Node, limit = 50): SourceRange[] {
  const ranges: SourceRange[] = [];
  if (!root.hasError) return ranges;
  const visit = (node: Node): void => {
    if (ranges.length >= limit) return;
    if (node.isError || node.isMissing) {
      ranges.push({
        start: { line: node.startPosition.row, character: node.startPosition.column },
        end: { line: node.endPosition.row, character: node.endPosition.column },
      });
      return;
    }
    if (!node.hasError) return;
    for (const child of node.children) if (child) visit(child);
  };
  visit(root);
  return ranges;
}
