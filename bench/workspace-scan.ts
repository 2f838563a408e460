import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanguageServerProcess } from '../test/support/lspClient';
import { examplesDir } from '../test/support/paths';

// A large ordinary (non-model) workspace: how fast the server's startup scan skips it,
// its peak memory, and how long an edit to a model file waits while the scan runs.
const fileCount = Number(process.env.FILES ?? 5000);

function ordinaryPython(i: number): string {
  const lines = [`"""Utility module ${i}."""`, 'import os', 'import json', ''];
  for (let f = 0; f < 12; f++) {
    lines.push(`def helper_${i}_${f}(values, scale=${f + 1}):`, `    total = 0`, `    for v in values:`, `        total = total + v * scale`, `    return {"sum": total, "n": len(values)}`, '');
  }
  lines.push(`class Record${i}:`, '    def __init__(self, name):', '        self.name = name', '    def __add__(self, other):', '        return Record' + i + '(self.name + other.name)', '');
  return lines.join('\n');
}

function ordinaryTypeScript(i: number): string {
  const lines = [`// Module ${i}`, "import { readFileSync } from 'node:fs';", ''];
  for (let f = 0; f < 12; f++) {
    lines.push(`export function helper${i}_${f}(values: number[], scale = ${f + 1}): number {`, '  let total = 0;', '  for (const v of values) total = total + v * scale;', '  return total;', '}', '');
  }
  lines.push(`export const config${i} = { path: readFileSync.name + '${i}' };`);
  return lines.join('\n');
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'rl-bench-ws-'));
  try {
    for (let i = 0; i < fileCount; i++) {
      const dir = join(root, `pkg${i % 50}`, `sub${i % 7}`);
      mkdirSync(dir, { recursive: true });
      if (i % 2 === 0) writeFileSync(join(dir, `util_${i}.py`), ordinaryPython(i));
      else writeFileSync(join(dir, `util_${i}.ts`), ordinaryTypeScript(i));
    }
    const modelText = readFileSync(join(examplesDir, 'pytorch', 'missing_projection.py'), 'utf8');
    writeFileSync(join(root, 'model.py'), modelText);
    console.log(`workspace: ${fileCount + 1} files (${fileCount} ordinary Python/TypeScript, 1 model)`);

    const started = performance.now();
    const { server } = await LanguageServerProcess.start({ debounceMs: 0 }, root);
    const pid = server.child.pid!;
    // An edit to an open model file in the middle of the scan: how long until its diagnostics?
    await new Promise((ok) => setTimeout(ok, 300));
    const uri = `file://${join(root, 'open_model.py')}`;
    const editStarted = performance.now();
    await server.open(uri, 'python', modelText);
    await server.nextDiagnostics(uri, (p) => p.diagnostics.length > 0, 60000);
    const editLatency = performance.now() - editStarted;
    const scanDone = server.logs.some((l) => l.startsWith('Workspace scan:'));
    while (!server.logs.some((l) => l.startsWith('Workspace scan:'))) await new Promise((ok) => setTimeout(ok, 20));
    const scanMs = performance.now() - started;
    const line = server.logs.find((l) => l.startsWith('Workspace scan:'))!;
    console.log(line);
    console.log(`scan (including server start): ${(scanMs / 1000).toFixed(2)} s, ${((fileCount + 1) / (scanMs / 1000)).toFixed(0)} files/s`);
    console.log(`edit during the scan: diagnostics after ${editLatency.toFixed(0)} ms (${scanDone ? 'scan had already finished' : 'scan still running'})`);
    console.log(`language server peak RSS: ${peakRssMb(pid).toFixed(0)} MB`);
    await server.stop();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
