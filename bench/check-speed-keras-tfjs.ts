// Check time of the Keras and TF.js front ends, as the server runs them (analyzeDocument),
// after warm-up: every fixture under test/fixtures/keras and test/fixtures/tfjs, plus a
// generated ~300-line and ~2 000-line model file in each language. Figures, not pass/fail;
// targets as for PyTorch: under 5 ms per typical file, under 20 ms for 2 000 lines.
// Wall and CPU time (median of the runs); the test/fixtures scan of bench/check-speed.ts
// includes these fixtures too.
//   node out/bench/check-speed-keras-tfjs.js [--runs 30] [--plain-heap] [--write-generated DIR]  (DIR: the generated files, to profile them)
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { analyzeFile, listFixtures, loadLayersGrammars } from '../test/unit/keras/layersFixtures';
import { fixturesDir } from '../test/support/paths';
import { typicalEdit } from '../test/support/typicalEdit';
import type { Grammars } from '../src/core/parse/grammars';
import { DocumentTrees } from '../src/core/parse/documentTrees';
import { processFlagsLine, rerunWithServerFlags } from './check-process';

function generatedKeras(blocks: number): string {
  const lines = ['from tensorflow import keras', 'from tensorflow.keras import layers', ''];
  for (let i = 0; i < blocks; i++) {
    lines.push(
      `def block_${i}(x, filters, stride=1):`,
      '    shortcut = x',
      '    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)',
      '    y = layers.BatchNormalization()(y)',
      '    y = layers.ReLU()(y)',
      '    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)',
      '    y = layers.BatchNormalization()(y)',
      '    if stride != 1 or x.shape[-1] != filters:',
      '        shortcut = layers.Conv2D(filters, 1, strides=stride)(x)',
      '        shortcut = layers.BatchNormalization()(shortcut)',
      '    return layers.ReLU()(layers.add([y, shortcut]))',
      '',
    );
  }
  lines.push('inputs = keras.Input(shape=(64, 64, 3))', 'x = layers.Conv2D(16, 3, padding="same")(inputs)');
  for (let i = 0; i < blocks; i++) lines.push(`x = block_${i}(x, ${16 << Math.floor((i * 3) / blocks)}, stride=${i > 0 && i % Math.ceil(blocks / 3) === 0 ? 2 : 1})`);
  lines.push('model = keras.Model(inputs, x)', '');
  return lines.join('\n');
}

function generatedTfjs(blocks: number): string {
  const lines = ["import * as tf from '@tensorflow/tfjs';", ''];
  for (let i = 0; i < blocks; i++) {
    lines.push(
      `function block${i}(x: tf.SymbolicTensor, filters: number, strides = 1): tf.SymbolicTensor {`,
      '  let shortcut = x;',
      "  let y = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same' }).apply(x) as tf.SymbolicTensor;",
      '  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;',
      '  y = tf.layers.reLU().apply(y) as tf.SymbolicTensor;',
      "  y = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same' }).apply(y) as tf.SymbolicTensor;",
      '  if (strides !== 1 || x.shape[3] !== filters) {',
      "    shortcut = tf.layers.conv2d({ filters, kernelSize: 1, strides, padding: 'same' }).apply(x) as tf.SymbolicTensor;",
      '  }',
      '  return tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor;',
      '}',
      '',
    );
  }
  lines.push('const inputs = tf.input({ shape: [64, 64, 3] });', "let x = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same' }).apply(inputs) as tf.SymbolicTensor;");
  for (let i = 0; i < blocks; i++) lines.push(`x = block${i}(x, ${16 << Math.floor((i * 3) / blocks)}, ${i > 0 && i % Math.ceil(blocks / 3) === 0 ? 2 : 1});`);
  lines.push('export const model = tf.model({ inputs, outputs: x });', '');
  return lines.join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Wall and CPU time: on a shared machine the wall clock also counts other processes. With
 * `trees`, every run is the re-check after a one-line edit (the text alternates with its
 * edited twin), parsed incrementally as the server does.
 */
function time(grammars: Grammars, path: string, text: string, runs: number, trees?: DocumentTrees): { median: number; min: number; cpu: number; findings: number } {
  const edited = typicalEdit(text, path.endsWith('.py'));
  const textOf = (i: number): string => (trees && i % 2 === 0 ? edited : text);
  for (let i = 0; i < 4; i++) analyzeFile(grammars, path, textOf(i), {}, trees);
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let findings = 0;
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = analyzeFile(grammars, path, textOf(i), {}, trees);
    times.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    cpuTimes.push((used.user + used.system) / 1000);
    findings = result.findings.length;
  }
  return { median: median(times), min: Math.min(...times), cpu: median(cpuTimes), findings };
}


async function main(): Promise<void> {
  if (rerunWithServerFlags()) return;
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, 'write-generated': { type: 'string' }, 'plain-heap': { type: 'boolean' } } });
  const runs = Number(values.runs);
  const generated = [
    ['generated-keras-300.py', generatedKeras(24)],
    ['generated-keras-2000.py', generatedKeras(160)],
    ['generated-tfjs-300.ts', generatedTfjs(24)],
    ['generated-tfjs-2000.ts', generatedTfjs(160)],
  ] as const;
  if (values['write-generated']) {
    for (const [name, text] of generated) writeFileSync(join(values['write-generated'], name), text);
    return;
  }
  const grammars = await loadLayersGrammars();
  const rows: [string, number, number, number, number, number][] = [];
  const files = [
    ...listFixtures(join(fixturesDir, 'keras'), ['.py']),
    ...listFixtures(join(fixturesDir, 'tfjs'), ['.ts', '.js', '.mjs', '.mts', '.tsx']),
  ];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const t = time(grammars, file, text, runs);
    rows.push([basename(file), text.split('\n').length, t.median, t.min, t.cpu, t.findings]);
  }
  for (const [name, text] of generated) {
    const cold = time(grammars, name, text, runs);
    rows.push([`${name}, cold`, text.split('\n').length, cold.median, cold.min, cold.cpu, cold.findings]);
    const trees = new DocumentTrees();
    const edit = time(grammars, name, text, runs, trees);
    trees.clear();
    rows.push([`${name}, edit`, text.split('\n').length, edit.median, edit.min, edit.cpu, edit.findings]);
  }
  console.log(`${runs} runs after 3 warm-up runs, one process, ${cpus()[0]?.model ?? 'CPU'} (${cpus().length} cores shared), load ${loadavg()[0]!.toFixed(1)}, ${processFlagsLine()}`);
  console.log('generated files: cold = parsed from scratch; edit = re-check after a comment typed at the end of a statement in the middle (incremental parse)');
  console.log(`${'file'.padEnd(48)} ${'lines'.padStart(6)} ${'wall ms'.padStart(9)} ${'min ms'.padStart(8)} ${'CPU ms'.padStart(8)} ${'findings'.padStart(9)}`);
  for (const [name, lines, wall, min, cpu, findings] of rows) {
    console.log(`${name.padEnd(48)} ${String(lines).padStart(6)} ${wall.toFixed(2).padStart(9)} ${min.toFixed(2).padStart(8)} ${cpu.toFixed(2).padStart(8)} ${String(findings).padStart(9)}`);
  }
  const fixtureCpu = rows.filter(([n]) => !n.startsWith('generated')).map(([, , , , c]) => c);
  console.log(`\nfixtures: ${fixtureCpu.length} files, median CPU ${median(fixtureCpu).toFixed(2)} ms, slowest ${Math.max(...fixtureCpu).toFixed(2)} ms (medians over the runs)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
