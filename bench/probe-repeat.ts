// A probe run 20 times in a row through the supervisor, the host side as the extension
// has it (each message validated, applied to the run model the panel shows, batched for
// the page; a new run replaces the old). Prints the host's RSS, V8 heap and active
// handles after GC before the first run, after the first (warm) and after the last, and
// the children left alive. Figures, plus a line against the stated bound.
//   node --expose-gc out/bench/probe-repeat.js [--runs 20] [--steps 3] [--depth 8]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { planProbe } from '../src/core/probe/plan';
import { parseProbeMessage, type ReceivedProbeMessage } from '../src/core/probe/probeMessageValidation';
import { ProbeRunState, createProbeRun } from '../src/core/probe/probeRun';
import { MessageBatcher } from '../src/extension/panel/messageBatcher';
import { startProbe } from '../src/probe-worker/supervisor';
import { distDir } from '../test/support/paths';

/** Growth of the host's RSS from the warm run to the last one that counts as a leak. */
const rssBoundMb = 20;

interface Sample {
  rssMb: number;
  heapMb: number;
  handles: number;
}

async function sample(): Promise<Sample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const memory = process.memoryUsage();
  return { rssMb: memory.rss / 2 ** 20, heapMb: memory.heapUsed / 2 ** 20, handles: process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length };
}

function ownChildren(): number {
  const file = `/proc/${process.pid}/task/${process.pid}/children`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).length : -1;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, steps: { type: 'string', default: '3' }, depth: { type: 'string', default: '8' } } });
  const runs = Number(values.runs);
  if (!(globalThis as { gc?: unknown }).gc) console.log('note: run with --expose-gc for steady figures');
  const { plan } = planProbe({ depths: [Number(values.depth)], steps: Number(values.steps) });
  const workerPath = join(distDir, 'probe-worker.js');
  let pagePosts = 0;
  const batcher = new MessageBatcher<ReceivedProbeMessage>(100, () => pagePosts++);
  const samples: Sample[] = [await sample()];
  const wallMs: number[] = [];
  let messages = 0;
  let childrenLeft = 0;
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    const run = new ProbeRunState(createProbeRun(plan));
    const probe = startProbe({
      plan,
      workerPath,
      maxParallel: 2,
      onMessage: (message) => {
        messages++;
        const parsed = parseProbeMessage(message);
        if (!parsed.ok) throw new Error(parsed.error);
        run.apply(parsed.value);
        batcher.add(parsed.value);
      },
    });
    const ends = await probe.finished;
    if ([...ends.values()].some((end) => end !== 'done')) throw new Error(`run ${i + 1} did not finish: ${[...ends.entries()].join(' ')}`);
    run.end('completed', null);
    batcher.flush();
    wallMs.push(Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 100)); // children's exit is reported just after 'done'
    childrenLeft = Math.max(childrenLeft, ownChildren());
    if (i === 0) samples.push(await sample());
  }
  samples.push(await sample());
  batcher.dispose();
  const [before, warm, last] = samples as [Sample, Sample, Sample];
  const fmt = (s: Sample): string => `RSS ${s.rssMb.toFixed(1)} MB, heap ${s.heapMb.toFixed(1)} MB, ${s.handles} active handles`;
  wallMs.sort((a, b) => a - b);
  console.log(`probe repeat: ${runs} runs of ${plan.variants.map((v) => v.id).join(' + ')}, ${plan.steps} steps each, ${messages} messages, ${pagePosts} page posts`);
  console.log(`wall per run: median ${wallMs[Math.floor(runs / 2)]} ms, max ${wallMs.at(-1)} ms`);
  console.log(`host before:      ${fmt(before)}`);
  console.log(`host after run 1: ${fmt(warm)}`);
  console.log(`host after run ${runs}: ${fmt(last)}`);
  const growth = last.rssMb - warm.rssMb;
  console.log(`RSS growth from run 1 to run ${runs}: ${growth.toFixed(1)} MB (${(growth / Math.max(1, runs - 1)).toFixed(2)} MB per run); heap ${(last.heapMb - warm.heapMb).toFixed(1)} MB; handles ${last.handles - warm.handles}`);
  console.log(`children alive after a run (most): ${childrenLeft}; after all: ${ownChildren()}`);
  console.log(`bound: RSS growth under ${rssBoundMb} MB, no handle growth, no child left: ${growth < rssBoundMb && last.handles <= warm.handles && ownChildren() === 0 ? 'within' : 'EXCEEDED'}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
