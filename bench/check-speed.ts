// Check speed of the PyTorch shape checker: a ~300-line model file after warm-up, a
// ~2 000-line file, and a scan of every model file in test/fixtures and examples.
// Each file twice: a cold check (parsed from scratch, as the CLI and the workspace scan
// do) and the re-check after a one-line edit in the middle of the file (typicalEdit), as the server
// runs it while the user types (incremental parse from the document's previous tree).
// One process, one core. Figures, not pass/fail; other work on the machine makes them noisy.
// V8 compiles the checker's hot functions only after some tens of checks: with the default
// 5 warm-up runs the first row's cold figures still carry that compilation (on background
// threads, so its CPU median runs well above its wall median); `--warmup 30` measures the
// steady state that a server reaches after its workspace scan.
//   node out/bench/check-speed.js [--runs 30] [--warmup 5] [--plain-heap] [--write-large FILE]  (FILE: the generated 2 000-line file, to profile it)
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeDocument, defaultAnalysisOptions } from '../src/core/analysis';
import { registerBuiltinCheckers } from '../src/core/checkers';
import { Grammars, grammarFor } from '../src/core/parse/grammars';
import { DocumentTrees } from '../src/core/parse/documentTrees';
import { loadavg } from 'node:os';
import { examplesDir, fixturesDir, grammarsDir } from '../test/support/paths';
import { typicalEdit } from '../test/support/typicalEdit';
import { readBesides } from '../test/support/pytorchFixtures';
import { processFlagsLine, rerunWithServerFlags } from './check-process';

/** A 2 000-line file: many blocks of different kinds, each built by a default-argument class. */
function largeModelFile(lines: number): string {
  const parts = ['import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n'];
  let i = 0;
  while (parts.join('').split('\n').length < lines) {
    parts.push(`

class Block${i}(nn.Module):
    expansion = ${1 + (i % 2) * 3}

    def __init__(self, in_planes=${16 * (1 + (i % 3))}, planes=${16 * (1 + (i % 4))}, stride=${1 + (i % 2)}):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes * self.expansion, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes * self.expansion)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes * self.expansion:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes * self.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * self.expansion),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + self.shortcut(x)
        return F.relu(out)


class Stage${i}(nn.Module):
    def __init__(self, width=${16 * (1 + (i % 3))}, depth=3):
        super().__init__()
        self.blocks = nn.Sequential(*[Block${i}(width, width // Block${i}.expansion, 1) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(x) + x
`);
    i++;
  }
  return parts.join('');
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `median ${at(0.5).toFixed(2)} ms, p90 ${at(0.9).toFixed(2)} ms, min ${sorted[0]!.toFixed(2)} ms`;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => grammarFor(f) !== undefined).map((f) => join(dir, f)).sort();
}

async function main(): Promise<void> {
  if (rerunWithServerFlags()) return;
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '30' }, warmup: { type: 'string', default: '5' }, 'write-large': { type: 'string' }, 'plain-heap': { type: 'boolean' } },
  });
  const runs = Number(values.runs);
  const warmUpRuns = Number(values.warmup);
  if (values['write-large']) {
    writeFileSync(values['write-large'], largeModelFile(2000));
    return;
  }
  registerBuiltinCheckers();
  const grammars = await Grammars.load(grammarsDir);
  const options = { ...defaultAnalysisOptions, readWorkspaceFile: readBesides, budgetMs: 10_000 };
  // CPU time of this process as well as wall time: on a shared machine the wall clock
  // also counts the time other processes hold the core.
  const time = (uri: string, text: string, trees?: DocumentTrees): { ms: number; cpuMs: number; findings: number } => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = analyzeDocument({ uri, grammar: grammarFor(uri) ?? 'python', text }, grammars, options, trees);
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, findings: result.findings.length };
  };
  const measure = (label: string, uri: string, text: string): void => {
    const trees = new DocumentTrees();
    const edited = typicalEdit(text, true);
    for (const [mode, check] of [
      ['cold', () => time(uri, text)],
      // Every run is an edit: the text alternates between the file and its edited twin.
      ['edit', (i: number) => time(uri, i % 2 ? text : edited, trees)],
    ] as const) {
      for (let i = 0; i < warmUpRuns; i++) check(i); // warm-up: JIT and parser
      const samples: number[] = [];
      const cpuSamples: number[] = [];
      let findings = 0;
      for (let i = 0; i < runs; i++) {
        const r = check(i);
        samples.push(r.ms);
        cpuSamples.push(r.cpuMs);
        findings = r.findings;
      }
      console.log(`${`${label}, ${mode}`.padEnd(50)} ${String(text.split('\n').length).padStart(5)} lines  wall ${stats(samples)}; CPU ${stats(cpuSamples)}  (${findings} findings)`);
    }
    trees.clear();
  };

  console.log(`check speed: ${runs} runs after ${warmUpRuns} warm-up runs, one process, ${cpus()[0]?.model ?? 'CPU'} (${cpus().length} cores shared), load ${loadavg()[0]!.toFixed(1)}, ${processFlagsLine()}`);
  console.log('cold: parsed from scratch; edit: re-check after a comment typed at the end of a statement in the middle of the file, incremental parse');
  const typical = join(fixturesDir, 'pytorch', 'c02_torchvision_resnet.py');
  measure('torchvision-style resnet.py (6 factories)', typical, readFileSync(typical, 'utf8'));
  const cifar = join(fixturesDir, 'pytorch', 'c03_cifar_option_a.py');
  measure('CIFAR ResNet with option A', cifar, readFileSync(cifar, 'utf8'));
  const gpt = join(fixturesDir, 'pytorch', 'c04_nanogpt.py');
  measure('nanoGPT-style Transformer', gpt, readFileSync(gpt, 'utf8'));
  measure('generated model file', '/bench/large.py', largeModelFile(2000));
  // Real code, where Debian's python3-torchvision is installed: checked in place, so its
  // relative imports resolve (the tests install it; the bench only reads it when present).
  if (existsSync(join(realTorchvisionModels, 'resnet.py'))) {
    const real = join(realTorchvisionModels, 'resnet.py');
    measure('real torchvision resnet.py (Debian 0.14)', real, readFileSync(real, 'utf8'));
  }

  const files = [...listFiles(fixturesDir), ...listFiles(examplesDir)];
  const texts = files.map((f) => [f, readFileSync(f, 'utf8')] as const);
  for (const [f, t] of texts) time(f, t);
  const scans: number[] = [];
  const cpuScans: number[] = [];
  const perFile = new Map<string, number>();
  for (let i = 0; i < Math.max(3, Math.floor(runs / 5)); i++) {
    const started = performance.now();
    let cpu = 0;
    for (const [f, t] of texts) {
      const r = time(f, t);
      cpu += r.cpuMs;
      perFile.set(f, Math.min(perFile.get(f) ?? Infinity, r.cpuMs));
    }
    scans.push(performance.now() - started);
    cpuScans.push(cpu);
  }
  const slowest = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([f, ms]) => `${f.split('/').pop()} ${ms.toFixed(1)} ms`);
  const perFileMedian = [...perFile.values()].sort((a, b) => a - b)[Math.floor(perFile.size / 2)] ?? 0;
  console.log(`scan of test/fixtures + examples: ${files.length} files, wall ${stats(scans)}; CPU ${stats(cpuScans)} per scan`);
  console.log(`  per file (best CPU of the scans): median ${perFileMedian.toFixed(2)} ms; slowest ${slowest.join(', ')}`);
  if (existsSync(realTorchvisionModels)) {
    const real = listFiles(realTorchvisionModels).map((f) => [f, readFileSync(f, 'utf8')] as const);
    for (const [f, t] of real) time(f, t);
    const best = new Map<string, number>();
    for (let i = 0; i < 3; i++) for (const [f, t] of real) best.set(f, Math.min(best.get(f) ?? Infinity, time(f, t).cpuMs));
    const sorted = [...best.values()].sort((a, b) => a - b);
    const slowestReal = [...best].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([f, ms]) => `${f.split('/').slice(-2).join('/')} ${ms.toFixed(1)} ms`);
    console.log(`real torchvision models (${realTorchvisionModels}): ${real.length} files, per file best CPU of 3: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, total ${sorted.reduce((a, b) => a + b, 0).toFixed(0)} ms; slowest ${slowestReal.join(', ')}`);
  }
}

const realTorchvisionModels = '/usr/lib/python3/dist-packages/torchvision/models';

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
