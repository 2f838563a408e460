// The small program representation that both layers-API front ends produce: Keras
// code (Python) and TF.js code (TypeScript/JavaScript) build models the same way, so
// one interpreter runs both once their syntax is reduced to these nodes.
import type { SourceRange } from '../diagnostic';

export interface Span {
  range: SourceRange;
  /** UTF-16 offsets into the document text. */
  start: number;
  end: number;
}

export interface Param {
  name: string;
  default?: Expr;
  /** `*args` / `...rest` and `**kwargs`. */
  rest?: 'positional' | 'keyword';
  /** A destructured object parameter (`{filters, strides = 1}`): its properties. */
  properties?: { key: string; local: string; default?: Expr }[];
}

export interface FunctionDef {
  name: string;
  params: Param[];
  body: Stmt[];
  /** An arrow function with an expression body. */
  expressionBody?: Expr;
  span: Span;
}

export type Target =
  | { k: 'name'; name: string; span?: Span }
  | { k: 'attr'; obj: Expr; name: string }
  | { k: 'index'; obj: Expr; index: Expr }
  | { k: 'unpack'; items: Target[] }
  | { k: 'ignored' };

export type Stmt = (
  | { k: 'expr'; e: Expr }
  | { k: 'assign'; targets: Target[]; value: Expr; declaration?: 'const' | 'let' | 'var' }
  | { k: 'augassign'; target: Target; op: string; value: Expr }
  | { k: 'if'; test: Expr; body: Stmt[]; orelse: Stmt[] }
  | { k: 'for'; target: Target; iter: Expr; body: Stmt[] }
  | { k: 'cfor'; init: Stmt[]; test?: Expr; update: Expr[]; body: Stmt[] }
  | { k: 'return'; value?: Expr }
  | { k: 'def'; def: FunctionDef }
  | { k: 'class'; name: string; bases: Expr[]; body: Stmt[] }
  | { k: 'import'; bindings: { local: string; path: string }[] }
  | { k: 'block'; body: Stmt[] }
  /** Statements the interpreter does not follow: the names they assign become unknown. */
  | { k: 'opaque'; assigned: string[] }
  | { k: 'break' }
  | { k: 'continue' }
) & { span: Span };

export interface Arg {
  value: Expr;
  keyword?: string;
  /** `*xs` / `...xs` or `**kw`. */
  spread?: 'positional' | 'keyword';
}

export type Expr = (
  | { k: 'name'; name: string }
  | { k: 'num'; value: number; integer: boolean }
  | { k: 'str'; value: string | undefined }
  | { k: 'bool'; value: boolean }
  | { k: 'none' }
  | { k: 'list' | 'tuple'; items: Expr[] }
  | { k: 'object'; entries: { key: string; value: Expr }[] }
  | { k: 'call'; func: Expr; args: Arg[] }
  | { k: 'attr'; obj: Expr; name: string }
  | { k: 'index'; obj: Expr; index: Expr }
  | { k: 'slice'; start?: Expr; stop?: Expr; step?: Expr }
  | { k: 'binop'; op: string; left: Expr; right: Expr }
  | { k: 'unop'; op: string; operand: Expr }
  | { k: 'compare'; ops: string[]; operands: Expr[] }
  | { k: 'boolop'; op: 'and' | 'or'; values: Expr[] }
  | { k: 'ternary'; test: Expr; then: Expr; otherwise: Expr }
  | { k: 'lambda'; def: FunctionDef }
  | { k: 'unknown' }
) & { span: Span };

export interface Program {
  body: Stmt[];
  /** The document text, for source snippets in messages and fixes. */
  text: string;
  language: 'python' | 'script';
}

export function spanText(program: Program, span: Span): string {
  return program.text.slice(span.start, span.end);
}
