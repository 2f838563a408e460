import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyzeDocument, defaultAnalysisOptions } from '../core/analysis';
import { registerBuiltinCheckers } from '../core/checkers';
import { Grammars, grammarFor } from '../core/parse/grammars';
import { collectSourceFiles, readSourceFile } from './files';
import { formatJson, formatSarif, formatText, type FileFindings } from './report';
import { probeCommand, probeUsage } from './probe';

declare const __RESIDUAL_LENS_VERSION__: string | undefined;
const version = typeof __RESIDUAL_LENS_VERSION__ === 'string' ? __RESIDUAL_LENS_VERSION__ : 'dev';

const usage = `Usage: residual-lens <command> [options]

Commands:
  check [--format text|json|sarif] [--input-shape N,3,224,224] [--verbose] PATH...
      Shape-check the residual additions of the model files under PATH
      (folders are searched recursively; node_modules, .git and virtual
      environments are skipped). --input-shape sets the model input where
      the file does not say (a '# residual-lens: input=(...)' comment or a
      torch.randn(...) call).

${probeUsage}

Options:
  -h, --help       Show this help.
  -v, --version    Show the version.

Exit codes: 0 no error findings, 1 error findings, 2 usage or I/O error.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(version + '\n');
    return 0;
  }
  if (command === 'check') return check(rest);
  if (command === 'probe') return probeCommand(rest);
  throw new UsageError(`unknown command '${command}' (try --help)`);
}

async function check(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { format: { type: 'string', default: 'text' }, 'input-shape': { type: 'string' }, verbose: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const format = parsed.values.format!;
  if (!['text', 'json', 'sarif'].includes(format)) throw new UsageError(`--format must be text, json or sarif, not '${format}'`);
  if (parsed.positionals.length === 0) throw new UsageError('check needs at least one file or folder');
  const paths = parsed.positionals.map((p) => resolve(p));
  for (const path of paths) if (!existsSync(path)) throw new UsageError(`no such file or folder: ${path}`);

  const inputShape = parsed.values['input-shape'] === undefined ? undefined : parseInputShape(parsed.values['input-shape']);
  const options = { ...defaultAnalysisOptions, ...(inputShape ? { inputShape } : {}), readWorkspaceFile: readTextFile };
  registerBuiltinCheckers();
  const grammars = await Grammars.load(join(__dirname, 'grammars'));
  const files = collectSourceFiles(paths);
  const results: FileFindings[] = [];
  const verbose = (line: string): void => {
    if (parsed.values.verbose) process.stderr.write(line + '\n');
  };
  for (const file of files) {
    const grammar = grammarFor(file);
    if (!grammar) {
      verbose(`${file}: skipped (not a Python, TypeScript or JavaScript file)`);
      continue;
    }
    const read = readSourceFile(file, defaultAnalysisOptions.maxFileBytes);
    if ('skipped' in read) {
      verbose(`${file}: skipped (${read.skipped})`);
      continue;
    }
    const result = analyzeDocument({ uri: file, grammar, text: read.text }, grammars, options);
    result.log.forEach(verbose);
    if (result.findings.length) results.push({ file, findings: result.findings });
  }

  const cwd = process.cwd();
  const output =
    format === 'json' ? formatJson(results, files.length, cwd) : format === 'sarif' ? formatSarif(results, cwd, version) : formatText(results, cwd);
  if (output) process.stdout.write(output + '\n');
  if (format === 'text') {
    const count = (severity: string): number => results.reduce((n, r) => n + r.findings.filter((f) => f.severity === severity).length, 0);
    process.stderr.write(`residual-lens: ${files.length} file(s) checked, ${count('error')} error(s), ${count('warning')} warning(s)\n`);
  }
  return results.some((r) => r.findings.some((f) => f.severity === 'error')) ? 1 : 0;
}

/** `N,3,224,224` → ['N', 3, 224, 224]: numbers, or names for symbolic dims. */
function parseInputShape(text: string): (number | string)[] {
  const dims = text.split(/[,x ]+/).filter(Boolean).map((d) => (/^\d+$/.test(d) ? Number(d) : d));
  if (dims.length < 2 || dims.some((d) => (typeof d === 'string' ? !/^[A-Za-z_]\w*$/.test(d) : d <= 0))) {
    throw new UsageError(`--input-shape must look like N,3,224,224 (positive numbers or names), not '${text}'`);
  }
  return dims;
}

function readTextFile(path: string): string | undefined {
  const read = readSourceFile(path, defaultAnalysisOptions.maxFileBytes);
  return 'text' in read ? read.text : undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof UsageError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`residual-lens: ${message}\n`);
    process.exitCode = 2;
  },
);
