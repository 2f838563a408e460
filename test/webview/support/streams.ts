// Probe streams for the panel tests: recorded from the real probe engine (depths 8 and 20,
// and depth 110), and bad-input variants derived from them (a diverged variant, a
// cancelled run).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeMessage, ProbePlan } from '../../../src/core/probe/protocol';
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

export function probeMessages(stream: RecordedStream): ProbeMessage[] {
  return stream.messages.map((m) => m.message);
}
