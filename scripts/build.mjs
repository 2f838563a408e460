// One esbuild run bundles every runtime: the extension, the language server, the
// probe worker and the CLI for Node, the panel for the browser, plus the tests and
// benchmarks. Type-checking is separate (`npm run typecheck`).
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync, existsSync, statSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join, relative } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const root = new URL('..', import.meta.url).pathname;

function findEntries(dir, suffix) {
  const full = join(root, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { recursive: true })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f));
}

function copyRuntimeAssets() {
  const grammars = join(root, 'dist', 'grammars');
  mkdirSync(grammars, { recursive: true });
  const assets = [
    ['node_modules/web-tree-sitter/web-tree-sitter.wasm', 'web-tree-sitter.wasm'],
    ['node_modules/tree-sitter-python/tree-sitter-python.wasm', 'tree-sitter-python.wasm'],
    ['node_modules/tree-sitter-typescript/tree-sitter-typescript.wasm', 'tree-sitter-typescript.wasm'],
    ['node_modules/tree-sitter-typescript/tree-sitter-tsx.wasm', 'tree-sitter-tsx.wasm'],
    ['node_modules/tree-sitter-javascript/tree-sitter-javascript.wasm', 'tree-sitter-javascript.wasm'],
  ];
  for (const [from, to] of assets) cpSync(join(root, from), join(grammars, to));
  const tfjsWasm = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const tfjsOut = join(root, 'dist', 'tfjs');
  mkdirSync(tfjsOut, { recursive: true });
  for (const f of readdirSync(tfjsWasm).filter((f) => f.endsWith('.wasm'))) cpSync(join(tfjsWasm, f), join(tfjsOut, f));
  // The panel's stylesheet next to its script, so the CLI can build the HTML report from dist alone.
  const panelCss = join(root, 'media', 'panel.css');
  if (existsSync(panelCss)) cpSync(panelCss, join(root, 'dist', 'webview.css'));
  // The PyTorch engine's Python scripts, run by the user's interpreter.
  const pythonSources = join(root, 'src', 'torch', 'python');
  if (existsSync(pythonSources)) cpSync(pythonSources, join(root, 'dist', 'python'), { recursive: true, filter: (f) => !f.includes('__pycache__') });
}

const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  // The native TensorFlow binding cannot be bundled; the worker loads it only if present.
  external: ['vscode', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
  // The ESM build of web-tree-sitter locates its wasm through import.meta.url, which a
  // CommonJS bundle does not have; its CommonJS build uses __dirname instead.
  alias: { 'web-tree-sitter': join(root, 'node_modules/web-tree-sitter/web-tree-sitter.cjs') },
};

const optional = (entry) => (existsSync(join(root, entry)) ? [entry] : []);

const builds = [
  {
    ...nodeCommon,
    entryPoints: {
      extension: 'src/extension/main.ts',
      server: 'src/server/main.ts',
      cli: 'src/cli/main.ts',
      ...(existsSync(join(root, 'src/probe-worker/main.ts')) ? { 'probe-worker': 'src/probe-worker/main.ts' } : {}),
    },
    outdir: 'dist',
    define: { __RESIDUAL_LENS_VERSION__: JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version) },
  },
  ...optional('webview/main.ts').map((entry) => ({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    entryPoints: { webview: entry },
    outdir: 'dist',
  })),
];

if (!production) {
  // Tests and benchmarks: each file its own bundle, node_modules left external.
  const testEntries = [
    ...findEntries('test/unit', '.test.ts'),
    ...findEntries('test/server', '.test.ts'),
    ...findEntries('test/webview', '.test.ts'),
    ...findEntries('test/vscode', '.ts'),
    ...findEntries('test/support', '.ts'),
    ...findEntries('test/fuzz', '.ts'),
    ...findEntries('bench', '.ts'),
  ];
  if (testEntries.length) {
    builds.push({
      ...nodeCommon,
      sourcemap: 'inline',
      minify: false,
      packages: 'external',
      entryPoints: testEntries,
      outbase: '.',
      outdir: 'out',
    });
  }
}

async function main() {
  // dist is overwritten, never wiped: parallel test runs read it while others build.
  const started = Date.now();
  copyRuntimeAssets();
  if (watch) {
    const contexts = await Promise.all(builds.map((b) => esbuild.context({ absWorkingDir: root, ...b })));
    await Promise.all(contexts.map((c) => c.watch()));
    console.log('build: watching for changes');
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build({ absWorkingDir: root, ...b })));
  const cli = join(root, 'dist', 'cli.js');
  if (existsSync(cli)) {
    // The bin entry must be executable with a shebang.
    const text = readFileSync(cli, 'utf8');
    if (!text.startsWith('#!')) writeFileSync(cli, '#!/usr/bin/env node\n' + text);
    chmodSync(cli, 0o755);
  }
  const size = readdirSync(join(root, 'dist'), { recursive: true })
    .map((f) => join(root, 'dist', f)).filter((f) => statSync(f).isFile())
    .reduce((sum, f) => sum + statSync(f).size, 0);
  console.log(`build: ${relative(process.cwd(), join(root, 'dist')) || 'dist'} ${(size / 1e6).toFixed(1)} MB in ${Date.now() - started} ms`);
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
