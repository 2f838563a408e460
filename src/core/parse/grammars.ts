import { Language, Parser, type Tree } from 'web-tree-sitter';
import { join } from 'node:path';
import { enableDirectCursor, withPublicCursor } from './cursor';
import { describeSyntaxTree, toSyntaxTree } from './syntaxTree';

export type GrammarName = 'python' | 'typescript' | 'tsx' | 'javascript';

const grammarFiles: Record<GrammarName, string> = {
  python: 'tree-sitter-python.wasm',
  typescript: 'tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-tsx.wasm',
  javascript: 'tree-sitter-javascript.wasm',
};

/** The emscripten module that `Parser.init` fills in: the direct cursor calls its exports. */
const runtimeModule: Record<string, unknown> = {};
let runtime: Promise<void> | undefined;
let directCursorChecked = false;

function initRuntime(grammarDir: string): Promise<void> {
  Object.assign(runtimeModule, { locateFile: (file: string) => join(grammarDir, file) });
  return Parser.init(runtimeModule);
}

/** Deep nesting, fields, operators, f-strings, annotations and a syntax error, in each grammar family. */
const cursorSamples: [GrammarName, string][] = [
  ['python', 'import torch.nn as nn\nclass A(nn.Module):\n    def f(self, x: int = 3) -> int:\n        y = self.c(x)[:, ::2] + (x if x is not None else -1)\n        return f"{y!r}" and [z for z in range(2)]\n\ndef g(:\n    pass\n'],
  ['typescript', "import * as tf from '@tensorflow/tfjs';\nconst f = (x: tf.SymbolicTensor, n = 2): tf.SymbolicTensor => {\n  let y = tf.layers.add().apply([x, x]) as tf.SymbolicTensor;\n  for (let i = 0; i < n; i++) y = `${i}` ? y : x;\n  return y;\n};\nfunction g( {\n"],
];

/**
 * The tree-sitter grammars, loaded once per process from the `.wasm` files that the
 * build copies next to the bundle (`dist/grammars`). Loading takes tens of
 * milliseconds, so callers keep one instance.
 */
export class Grammars {
  private readonly parsers = new Map<GrammarName, Parser>();

  private constructor(private readonly languages: Map<GrammarName, Language>) {}

  static async load(grammarDir: string): Promise<Grammars> {
    // One runtime per process: a second `Parser.init` would replace the module that the
    // trees and languages loaded before it live in.
    runtime ??= initRuntime(grammarDir).catch((err: unknown) => {
      runtime = undefined; // a later load may find the files
      throw err;
    });
    await runtime;
    const languages = new Map<GrammarName, Language>();
    for (const [name, file] of Object.entries(grammarFiles) as [GrammarName, string][]) {
      languages.set(name, await Language.load(join(grammarDir, file)));
    }
    const grammars = new Grammars(languages);
    if (!directCursorChecked) {
      directCursorChecked = true;
      enableDirectCursor(runtimeModule, () => grammars.walksAgree());
    }
    return grammars;
  }

  /** Whether the direct cursor copies sample trees exactly as the public cursor does. */
  private walksAgree(): boolean {
    for (const [grammar, source] of cursorSamples) {
      const tree = this.parse(grammar, source);
      try {
        const direct = describeSyntaxTree(toSyntaxTree(tree, source, grammar));
        const reference = withPublicCursor(() => describeSyntaxTree(toSyntaxTree(tree, source, grammar)));
        if (direct !== reference) return false;
      } finally {
        tree.delete();
      }
    }
    return true;
  }

  /**
   * Parses `text`; the returned tree must be deleted by the caller when done. With
   * `oldTree` (the previous text's tree, already told of the edit by `oldTree.edit`)
   * tree-sitter reuses what the edit did not touch.
   */
  parse(grammar: GrammarName, text: string, oldTree?: Tree): Tree {
    let parser = this.parsers.get(grammar);
    if (!parser) {
      parser = new Parser();
      parser.setLanguage(this.languages.get(grammar)!);
      this.parsers.set(grammar, parser);
    }
    const tree = parser.parse(text, oldTree);
    if (!tree) throw new Error(`tree-sitter returned no tree for a ${grammar} document`);
    return tree;
  }
}

/** The grammar for a VS Code language id or a file name, or undefined for other files. */
export function grammarFor(languageIdOrPath: string): GrammarName | undefined {
  const key = languageIdOrPath.toLowerCase();
  if (key === 'python' || key.endsWith('.py') || key.endsWith('.pyi')) return 'python';
  if (key === 'typescriptreact' || key.endsWith('.tsx')) return 'tsx';
  if (key === 'typescript' || key.endsWith('.ts') || key.endsWith('.mts') || key.endsWith('.cts')) return 'typescript';
  if (key === 'javascriptreact' || key.endsWith('.jsx')) return 'javascript';
  if (key === 'javascript' || key.endsWith('.js') || key.endsWith('.mjs') || key.endsWith('.cjs')) return 'javascript';
  return undefined;
}
