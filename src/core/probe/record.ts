// The full record of a probe run, built from the stream of ProbeMessages: what the CLI
// writes with --json. Versioned; layers are ordered from input to output. Schema
// (version 1; fields only ever added, a breaking change bumps `version`):
//   { version: 1, createdAt, wallMs, plan: ProbePlan, backend: { name, device }, notes[],
//     verdict: [{ architecture, shallow, deep, comparison, shallowLoss, deepLoss,
//                 progressRatio, text }], caveat?,
//     variants: [{ name: "plain-20", label, depth, residual, shortcut, batchNorm, width,
//       params, status: "done" | "diverged" | "error" | "cancelled",
//       error?: { code, message, step }, backend, notes[], layers: ProbeLayer[],
//       init: { gradNorms: [{ layer, norm }], weightNorms: [{ layer, norm }],
//               activations: [{ layer, mean, std }], firstToLastRatio },
//       gradients: [{ step, gradNorms[], weightNorms[], updateRatios[] }]  (by layer index),
//       steps: [{ step, loss, accuracy, ms }], finalLoss, finalAccuracy, msPerStep,
//       cpuMs, flopsPerStep, initProfileAtMs, finishedAtMs }] }
// NaN and infinite numbers become null in JSON.
import { firstToLastRatio } from './metrics';
import type { ProbeLayer, ProbeMessage, ProbePlan, VariantSpec } from './protocol';
import { probeVerdict, type DepthVerdict, type VariantOutcome } from './verdict';

export const probeRecordVersion = 1;

export type VariantStatus = 'pending' | 'running' | 'done' | 'diverged' | 'error' | 'cancelled';

export interface VariantRecord {
  name: string;
  label: string;
  depth: number;
  residual: boolean;
  shortcut: VariantSpec['shortcut'];
  batchNorm: boolean;
  width: number;
  params: number;
  status: VariantStatus;
  backend?: { name: string; device: string };
  notes: string[];
  error?: { code: string; message: string; step?: number };
  layers: ProbeLayer[];
  init: {
    gradNorms: { layer: string; norm: number }[];
    weightNorms: { layer: string; norm: number }[];
    activations: { layer: string; mean: number; std: number }[];
    firstToLastRatio?: number;
  };
  gradients: { step: number; gradNorms: number[]; weightNorms: number[]; updateRatios: (number | null)[] }[];
  steps: { step: number; loss: number; accuracy: number; ms: number }[];
  finalLoss?: number;
  finalAccuracy?: number;
  msPerStep?: number;
  /** CPU time of the variant's process, start-up included. */
  cpuMs?: number;
  flopsPerStep?: number;
  /** Wall-clock ms from the probe's start to this variant's init gradient profile and to its end. */
  initProfileAtMs?: number;
  finishedAtMs?: number;
}

export interface ProbeRecord {
  version: typeof probeRecordVersion;
  createdAt: string;
  plan: ProbePlan;
  backend: { name: string; device: string };
  notes: string[];
  variants: VariantRecord[];
  verdict: DepthVerdict[];
  caveat?: string;
  wallMs?: number;
}

/** Accumulates messages into a ProbeRecord; the same code serves the CLI and the extension. */
export class ProbeRecorder {
  private readonly variants = new Map<string, VariantRecord>();
  private readonly startedAt: number;

  constructor(
    readonly plan: ProbePlan,
    readonly notes: string[] = [],
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    for (const spec of plan.variants) {
      this.variants.set(spec.id, {
        name: spec.id,
        label: spec.label,
        depth: spec.depth,
        residual: spec.architecture === 'residual',
        shortcut: spec.shortcut,
        batchNorm: spec.batchNorm,
        width: spec.width,
        params: 0,
        status: 'pending',
        notes: [],
        layers: [],
        init: { gradNorms: [], weightNorms: [], activations: [] },
        gradients: [],
        steps: [],
      });
    }
  }

  variant(id: string): VariantRecord | undefined {
    return this.variants.get(id);
  }

  add(message: ProbeMessage): void {
    const v = this.variants.get(message.variant);
    if (!v) return;
    const elapsed = this.now() - this.startedAt;
    switch (message.type) {
      case 'started':
        v.status = 'running';
        v.backend = { name: message.backend, device: message.device };
        v.params = message.params;
        v.layers = message.layers;
        v.notes = message.notes ?? [];
        if (message.flopsPerStep !== undefined) v.flopsPerStep = message.flopsPerStep;
        break;
      case 'step':
        v.steps.push({ step: message.step, loss: message.loss, accuracy: message.accuracy, ms: message.ms });
        break;
      case 'gradients': {
        v.gradients.push({ step: message.step, gradNorms: message.gradNorms, weightNorms: message.weightNorms, updateRatios: message.updateRatios });
        if (message.step === 0) {
          const name = (i: number): string => v.layers[i]?.name ?? `layer${i}`;
          v.init.gradNorms = message.gradNorms.map((norm, i) => ({ layer: name(i), norm }));
          v.init.weightNorms = message.weightNorms.map((norm, i) => ({ layer: name(i), norm }));
          const ratio = message.firstToLastRatio ?? firstToLastRatio(v.layers, message.gradNorms);
          if (ratio !== undefined) v.init.firstToLastRatio = ratio;
          v.initProfileAtMs = elapsed;
        }
        break;
      }
      case 'activations':
        if (message.step === 0) v.init.activations = message.means.map((mean, i) => ({ layer: v.layers[i]?.name ?? `layer${i}`, mean, std: message.stds[i] ?? Number.NaN }));
        break;
      case 'done':
        v.status = message.reason === 'cancelled' ? 'cancelled' : 'done';
        v.finalLoss = message.finalLoss;
        v.finalAccuracy = message.finalAccuracy;
        v.msPerStep = message.msPerStep;
        if (message.cpuMs !== undefined) v.cpuMs = message.cpuMs;
        v.finishedAtMs = elapsed;
        break;
      case 'error':
        v.status = message.code === 'diverged' ? 'diverged' : 'error';
        v.error = { code: message.code, message: message.message, ...(message.step !== undefined ? { step: message.step } : {}) };
        v.finishedAtMs = elapsed;
        break;
    }
  }

  /** Variants still pending or running become 'cancelled' (after Ctrl-C or a cancel). */
  markUnfinishedCancelled(): void {
    for (const v of this.variants.values()) if (v.status === 'pending' || v.status === 'running') v.status = 'cancelled';
  }

  outcomes(): VariantOutcome[] {
    return [...this.variants.values()].map((v) => ({
      id: v.name,
      architecture: v.residual ? 'residual' : 'plain',
      depth: v.depth,
      status: v.status === 'done' ? 'done' : v.status === 'diverged' ? 'diverged' : v.status === 'error' ? 'error' : 'cancelled',
      batchNorm: v.batchNorm,
      steps: v.steps.length,
      ...(v.finalLoss !== undefined ? { finalLoss: v.finalLoss } : {}),
    }));
  }

  record(): ProbeRecord {
    const variants = [...this.variants.values()];
    const backend = variants.find((v) => v.backend)?.backend ?? { name: 'none', device: 'none' };
    const { verdicts, caveat } = probeVerdict(this.outcomes(), this.plan.classes);
    return {
      version: probeRecordVersion,
      createdAt: new Date(this.startedAt).toISOString(),
      plan: this.plan,
      backend,
      notes: this.notes,
      variants,
      verdict: verdicts,
      ...(caveat ? { caveat } : {}),
      wallMs: this.now() - this.startedAt,
    };
  }
}
