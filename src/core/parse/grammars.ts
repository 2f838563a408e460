import { Language, Parser, type Tree } from 'web-tree-sitter';
import { join } from 'node:path';

export type GrammarName = 'python' | 'typescript' | 'tsx' | 'javascript';

const grammarFiles: Record<GrammarName, string> = {
  python: 'tree-sitter-python.wasm',
  typescript: 'tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-tsx.wasm',
  javascript: 'tree-sitter-javascript.wasm',
};

/**
 * The tree-sitter grammars, loaded once per process from the `.wasm` files that the
 * build copies next to the bundle (`dist/grammars`). Loading takes tens of
 * milliseconds, so callers keep one instance.
 */
export class Grammars {
  private readonly parsers = new Map<GrammarName, Parser>();

  private constructor(private readonly languages: Map<GrammarName, Language>) {}

  static async load(grammarDir: string): Promise<Grammars> {
    await Parser.init({ locateFile: (file: string) => join(grammarDir, file) });
    const languages = new Map<GrammarName, Language>();
    for (const [name, file] of Object.entries(grammarFiles) as [GrammarName, string][]) {
      languages.set(name, await Language.load(join(grammarDir, file)));
    }
    return new Grammars(languages);
  }

  /** Parses `text`; the returned tree must be deleted by the caller when done. */
  parse(grammar: GrammarName, text: string): Tree {
    let parser = this.parsers.get(grammar);
    if (!parser) {
      parser = new Parser();
      parser.setLanguage(this.languages.get(grammar)!);
      this.parsers.set(grammar, parser);
    }
    const tree = parser.parse(text);
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
