// Probe streams for the panel tests: the one recorded from the real probe engine, and
// bad-input variants derived from it (a diverged variant, a cancelled run) or built to
// the protocol (110-layer variants).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeLayer, ProbeMessage, ProbePlan, VariantSpec } from '../../../src/core/probe/protocol';
import { fixturesDir } from '../../support/paths';

export interface TimedMessage {
  atMs: number;
  message: ProbeMessage;
}

export interface RecordedStream {
  plan: ProbePlan;
  messages: TimedMessage[];
}

/** Plain and residual at depths 8 and 20, 30 Adam steps, gradients every 5: see probe-streams/README.md. */
export function loadRecordedStream(name = 'recorded-depth-8-20.jsonl'): RecordedStream {
  const lines = readFileSync(join(fixturesDir, 'probe-streams', name), 'utf8').trim().split('\n');
  const header = JSON.parse(lines[0]!) as { plan: ProbePlan };
  return { plan: header.plan, messages: lines.slice(1).map((l) => JSON.parse(l) as TimedMessage) };
}

/** The recorded run with one variant diverging at `step`, the way the worker reports it. */
export function withDivergence(stream: RecordedStream, variant: string, step: number): RecordedStream {
  const messages: TimedMessage[] = [];
  let atMs = 0;
  for (const m of stream.messages) {
    const msg = m.message;
    if (msg.variant === variant) {
      if (msg.type === 'done') continue;
      if ((msg.type === 'step' || msg.type === 'gradients') && msg.step >= step) continue;
      atMs = m.atMs;
    }
    messages.push(m);
  }
  messages.push({ atMs: atMs + 1, message: { type: 'error', variant, code: 'diverged', message: `diverged at step ${step}: the loss became NaN`, step } });
  messages.sort((a, b) => a.atMs - b.atMs);
  return { plan: stream.plan, messages };
}

/** The recorded run cut off at `fraction` of its duration, as a Stop would leave it. */
export function cutShort(stream: RecordedStream, fraction: number): RecordedStream {
  const end = stream.messages[stream.messages.length - 1]!.atMs * fraction;
  return { plan: stream.plan, messages: stream.messages.filter((m) => m.atMs <= end) };
}

/** Plain and residual nets of 6n+2 = `depth` layers, built to the protocol (the engine caps depth lower). */
export function deepStream(depth = 110, steps = 40): RecordedStream {
  const specs: VariantSpec[] = (['plain', 'residual'] as const).map((architecture) => ({
    id: `${architecture}-${depth}`,
    label: architecture === 'plain' ? `plain-${depth}` : `residual-${depth} (A)`,
    architecture,
    depth,
    shortcut: 'A',
    batchNorm: true,
    width: 16,
  }));
  const plan: ProbePlan = {
    version: 1,
    variants: specs,
    inputSize: 16,
    inputChannels: 3,
    classes: 10,
    batchSize: 32,
    optimizer: 'adam',
    learningRate: 1e-3,
    momentum: 0.9,
    steps,
    timeBudgetMs: 0,
    gradientEvery: 10,
    seed: 1,
    backend: 'auto',
  };
  const messages: TimedMessage[] = [];
  let atMs = 0;
  const push = (message: ProbeMessage): void => {
    messages.push({ atMs: atMs++, message });
  };
  for (const spec of specs) {
    const residual = spec.architecture === 'residual';
    const layers: ProbeLayer[] = Array.from({ length: depth }, (_, index) => ({
      index,
      name: index === 0 ? 'stem.conv' : index === depth - 1 ? 'classifier' : `stage${1 + Math.floor(((index - 1) * 3) / (depth - 2))}.block${Math.floor((index - 1) / 2) % ((depth - 2) / 6)}.conv${((index - 1) % 2) + 1}`,
      kind: index === depth - 1 ? 'dense' : 'conv',
      params: 2304,
      residualAddAfter: residual && index > 0 && index < depth - 1 && index % 2 === 0,
    }));
    push({ type: 'started', variant: spec.id, backend: 'wasm', device: 'CPU', params: 1_730_000, layers });
    // Plain: the norm rises steadily towards the input (about 460x at depth 56); residual: nearly flat.
    const norms = (step: number): number[] => layers.map((l) => (residual ? 0.17 * Math.pow(9, 1 - l.index / depth) : 0.29 * Math.pow(1600, 1 - l.index / depth)) * (1 + step / 200));
    push({ type: 'activations', variant: spec.id, step: 0, means: layers.map(() => 0), stds: layers.map((l) => (residual ? Math.sqrt(1 + l.index / 2) : 0.8)) });
    for (let step = 0; step < steps; step++) {
      if (step % plan.gradientEvery === 0) push({ type: 'gradients', variant: spec.id, step, gradNorms: norms(step), weightNorms: norms(0), updateRatios: layers.map(() => (step ? 1e-3 : null)) });
      push({ type: 'step', variant: spec.id, step, loss: 2.3 - (residual ? 0.02 : 0.002) * step, accuracy: 0.1 + (residual ? 0.01 : 0.001) * step, ms: 4000 });
    }
    push({ type: 'done', variant: spec.id, steps, finalLoss: 2.3 - (residual ? 0.02 : 0.002) * (steps - 5), finalAccuracy: 0.3, msPerStep: 4000, reason: 'completed' });
  }
  return { plan, messages };
}

export function probeMessages(stream: RecordedStream): ProbeMessage[] {
  return stream.messages.map((m) => m.message);
}
