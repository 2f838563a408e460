// Training speed of the probe per backend and depth: ms per step and GFLOP/s (forward and
// backward FLOPs of the convs and the classifier, from the core's network description).
// One process, one core, as each probe child runs. Figures, not pass/fail; other work on
// the machine makes the wall-clock figures noisy, so the CPU time this process used per
// step is printed too (less sensitive to load, though caches are still shared).
//   node out/bench/probe-speed.js [--backends wasm,cpu] [--depths 8,20,56] [--steps 10]
//        [--width 16] [--input 16] [--batch 32] [--plain]
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { planProbe } from '../src/core/probe/plan';
import type { BackendPreference, ProbeMessage } from '../src/core/probe/protocol';
import { selectBackend } from '../src/probe-worker/backend';
import { runVariant } from '../src/probe-worker/train';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'wasm' },
      depths: { type: 'string', default: '8,20,56' },
      steps: { type: 'string', default: '10' },
      width: { type: 'string', default: '16' },
      input: { type: 'string', default: '16' },
      batch: { type: 'string', default: '32' },
      plain: { type: 'boolean', default: false },
    },
  });
  const steps = Number(values.steps);
  const warmup = 2;
  console.log(`probe speed: batch ${values.batch}, ${values.input}x${values.input}x3 input, width ${values.width}, BatchNorm, Adam; ${steps} timed steps after ${warmup} warm-up; ${cpus()[0]?.model ?? 'CPU'}`);
  console.log('backend     variant          ms/step   GFLOP/s   cpu ms/step   GFLOP/s (cpu)   init profile ms');
  for (const backendName of values.backends.split(',') as BackendPreference[]) {
    let backend;
    try {
      backend = await selectBackend(backendName);
    } catch (err) {
      console.log(`${backendName.padEnd(11)} unavailable: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    for (const depth of values.depths.split(',').map(Number)) {
      const { plan } = planProbe({
        depths: [depth],
        architectures: [values.plain ? 'plain' : 'residual'],
        steps: warmup + steps,
        width: Number(values.width),
        inputSize: Number(values.input),
        batchSize: Number(values.batch),
        gradientEvery: 100_000,
      });
      const variant = plan.variants[0]!;
      const messages: ProbeMessage[] = [];
      const started = performance.now();
      let initMs = 0;
      let cpuAtWarm = 0;
      const cpuMs = (): number => {
        const usage = process.cpuUsage();
        return (usage.user + usage.system) / 1000;
      };
      await runVariant(backend, plan, variant.id, {
        emit: (m) => {
          if (m.type === 'gradients' && m.step === 0) initMs = performance.now() - started;
          if (m.type === 'step' && m.step === warmup - 1) cpuAtWarm = cpuMs();
          messages.push(m);
        },
        cancelled: () => false,
      });
      const cpuPerStep = (cpuMs() - cpuAtWarm) / steps;
      const flops = (messages.find((m) => m.type === 'started') as Extract<ProbeMessage, { type: 'started' }>).flopsPerStep!;
      const timed = messages.filter((m): m is Extract<ProbeMessage, { type: 'step' }> => m.type === 'step' && m.step >= warmup).map((m) => m.ms);
      const ms = timed.reduce((a, b) => a + b, 0) / timed.length;
      console.log(
        `${backend.name.padEnd(11)} ${variant.id.padEnd(15)} ${ms.toFixed(0).padStart(8)} ${(flops / ms / 1e6).toFixed(1).padStart(9)} ${cpuPerStep.toFixed(0).padStart(13)} ${(flops / cpuPerStep / 1e6).toFixed(1).padStart(15)} ${initMs.toFixed(0).padStart(17)}`,
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
