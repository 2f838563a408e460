// A probe run as the panel, the report and the result file see it. The record keeps
// the plan and the validated message stream; everything the charts show is derived by
// replaying that stream, so a live panel, a restored panel and an exported report
// cannot disagree.
import { isRecord, parseProbeMessage, parseProbePlan, type Parsed, type ReceivedProbeMessage } from './probeMessageValidation';
import type { ProbeErrorCode, ProbeLayer, ProbePlan, VariantSpec } from './protocol';

export const probeRunFormat = 'residual-lens-probe-run';
export const probeRunVersion = 1;

export type RunOutcome = 'running' | 'completed' | 'cancelled' | 'failed';

export interface ProbeRunRecord {
  format: typeof probeRunFormat;
  version: typeof probeRunVersion;
  createdAt: string;
  plan: ProbePlan | null;
  outcome: RunOutcome;
  /** Why the run ended early, shown under the charts. */
  outcomeMessage: string | null;
  messages: ReceivedProbeMessage[];
}

export type VariantStatus = 'waiting' | 'running' | 'completed' | 'time-budget' | 'cancelled' | 'failed';

export interface GradientSnapshot {
  step: number;
  gradNorms: (number | null)[];
}

export interface ActivationSnapshot {
  step: number;
  stds: (number | null)[];
}

export interface VariantResult {
  id: string;
  label: string;
  spec: VariantSpec | null;
  backend: string | null;
  device: string | null;
  params: number | null;
  layers: ProbeLayer[];
  /** What the worker said about its backend (fallbacks taken, depth rounding). */
  notes: string[];
  steps: number[];
  loss: (number | null)[];
  accuracy: (number | null)[];
  ms: number[];
  gradientInit: GradientSnapshot | null;
  gradientLatest: GradientSnapshot | null;
  activationInit: ActivationSnapshot | null;
  status: VariantStatus;
  finalLoss: number | null;
  finalAccuracy: number | null;
  msPerStep: number | null;
  failure: { code: ProbeErrorCode | 'stopped'; message: string; step: number | null } | null;
}

export function createProbeRun(plan: ProbePlan | null, createdAt = new Date().toISOString()): ProbeRunRecord {
  return { format: probeRunFormat, version: probeRunVersion, createdAt, plan, outcome: 'running', outcomeMessage: null, messages: [] };
}

function emptyVariant(id: string, spec: VariantSpec | null): VariantResult {
  return {
    id,
    label: spec?.label ?? id,
    spec,
    backend: null,
    device: null,
    params: null,
    layers: [],
    notes: [],
    steps: [],
    loss: [],
    accuracy: [],
    ms: [],
    gradientInit: null,
    gradientLatest: null,
    activationInit: null,
    status: 'waiting',
    finalLoss: null,
    finalAccuracy: null,
    msPerStep: null,
    failure: null,
  };
}

const finished = (status: VariantStatus): boolean => status === 'completed' || status === 'time-budget' || status === 'cancelled' || status === 'failed';

/** Replays messages into per-variant results; `apply` is called once per message as it arrives. */
export class ProbeRunState {
  readonly record: ProbeRunRecord;
  private readonly byId = new Map<string, VariantResult>();

  constructor(record: ProbeRunRecord) {
    this.record = { ...record, messages: [] };
    for (const spec of record.plan?.variants ?? []) this.byId.set(spec.id, emptyVariant(spec.id, spec));
    for (const message of record.messages) this.apply(message);
    if (record.outcome !== 'running') this.end(record.outcome, record.outcomeMessage);
  }

  get variants(): VariantResult[] {
    return [...this.byId.values()];
  }

  get running(): boolean {
    return this.record.outcome === 'running';
  }

  variant(id: string): VariantResult {
    let v = this.byId.get(id);
    if (!v) {
      v = emptyVariant(id, null);
      this.byId.set(id, v);
    }
    return v;
  }

  apply(message: ReceivedProbeMessage): void {
    this.record.messages.push(message);
    const v = this.variant(message.variant);
    switch (message.type) {
      case 'started':
        v.backend = message.backend;
        v.device = message.device;
        v.params = message.params;
        v.layers = message.layers;
        v.notes = message.notes ?? [];
        if (!finished(v.status)) v.status = 'running';
        break;
      case 'step':
        v.steps.push(message.step);
        v.loss.push(message.loss);
        v.accuracy.push(message.accuracy);
        v.ms.push(message.ms);
        if (v.status === 'waiting') v.status = 'running';
        break;
      case 'gradients': {
        const snapshot = { step: message.step, gradNorms: message.gradNorms };
        if (!v.gradientInit || message.step < v.gradientInit.step) v.gradientInit = snapshot;
        if (!v.gradientLatest || message.step >= v.gradientLatest.step) v.gradientLatest = snapshot;
        break;
      }
      case 'activations':
        if (!v.activationInit || message.step < v.activationInit.step) v.activationInit = { step: message.step, stds: message.stds };
        break;
      case 'done':
        v.status = message.reason;
        v.finalLoss = Number.isFinite(message.finalLoss) ? message.finalLoss : null;
        v.finalAccuracy = Number.isFinite(message.finalAccuracy) ? message.finalAccuracy : null;
        v.msPerStep = message.msPerStep;
        if (message.reason === 'cancelled') v.failure = { code: 'stopped', message: `cancelled after ${message.steps} steps`, step: message.steps };
        break;
      case 'error':
        v.status = 'failed';
        v.failure = { code: message.code, message: message.message, step: message.step ?? lastStep(v) };
        break;
    }
  }

  /** Marks the run finished; variants that had not finished become partial. */
  end(outcome: Exclude<RunOutcome, 'running'>, message: string | null = null): void {
    this.record.outcome = outcome;
    this.record.outcomeMessage = message;
    for (const v of this.byId.values()) {
      if (finished(v.status)) continue;
      const neverStarted = v.status === 'waiting';
      v.status = outcome === 'failed' ? 'failed' : 'cancelled';
      const why = outcome === 'failed' ? (message ?? 'the probe failed') : outcome === 'cancelled' ? 'the probe was stopped' : 'the probe ended';
      v.failure = { code: 'stopped', message: v.steps.length ? `${why} at step ${lastStep(v)}` : `${why} before ${neverStarted ? 'this variant started' : 'its first step'}`, step: lastStep(v) };
    }
  }
}

function lastStep(v: VariantResult): number | null {
  return v.steps.length ? v.steps[v.steps.length - 1]! : null;
}

/** True when a variant's curves stop short of what the plan asked for. */
export function isPartial(v: VariantResult): boolean {
  return v.status === 'cancelled' || v.status === 'failed' || v.status === 'running' || v.status === 'waiting';
}

/**
 * Reads a result file: the current format, or a bare stream of probe messages (the
 * `residual-lens probe --json` lines, one message per line). Files from another
 * format version are refused with a message that says what to do.
 */
export function parseProbeRunFile(input: unknown): Parsed<ProbeRunRecord> {
  let value = input;
  if (typeof input === 'string') {
    const text = input.trim();
    try {
      value = JSON.parse(text);
    } catch {
      const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
      try {
        value = lines.map((l) => JSON.parse(l) as unknown);
      } catch {
        return { ok: false, error: 'not a Residual Lens probe result: neither JSON nor JSON lines' };
      }
    }
  }
  if (Array.isArray(value)) return fromMessages(value, null, 'completed', null, new Date(0).toISOString());
  if (!isRecord(value)) return { ok: false, error: 'not a Residual Lens probe result: expected an object' };
  if (value.format === undefined && Array.isArray(value.variants) && isRecord(value.plan)) return fromCliRecord(value);
  if (value.format !== probeRunFormat) {
    return { ok: false, error: `not a Residual Lens probe result (format is ${JSON.stringify(value.format ?? null)}, expected "${probeRunFormat}")` };
  }
  const version = value.version;
  if (typeof version !== 'number') return { ok: false, error: 'the probe result has no format version' };
  if (version > probeRunVersion) {
    return { ok: false, error: `this probe result has format version ${version}, written by a newer Residual Lens; this one reads version ${probeRunVersion}. Update the extension to open it` };
  }
  if (version < probeRunVersion) {
    return { ok: false, error: `this probe result has format version ${version}, from an older Residual Lens that this one cannot migrate; run the probe again` };
  }
  let plan: ProbePlan | null = null;
  const ignored: string[] = [];
  if (value.plan !== null && value.plan !== undefined) {
    const parsedPlan = parseProbePlan(value.plan);
    if (!parsedPlan.ok) return { ok: false, error: `the probe result's plan is invalid: ${parsedPlan.error}` };
    plan = parsedPlan.value;
    ignored.push(...parsedPlan.ignoredFields);
  }
  const outcomes: RunOutcome[] = ['running', 'completed', 'cancelled', 'failed'];
  const outcome = outcomes.includes(value.outcome as RunOutcome) ? (value.outcome as RunOutcome) : 'completed';
  const outcomeMessage = typeof value.outcomeMessage === 'string' ? value.outcomeMessage : null;
  const createdAt = typeof value.createdAt === 'string' ? value.createdAt : new Date(0).toISOString();
  if (!Array.isArray(value.messages)) return { ok: false, error: 'the probe result has no messages array' };
  const parsed = fromMessages(value.messages, plan, outcome, outcomeMessage, createdAt);
  if (parsed.ok) parsed.ignoredFields.unshift(...ignored);
  return parsed;
}

function fromMessages(items: unknown[], plan: ProbePlan | null, outcome: RunOutcome, outcomeMessage: string | null, createdAt: string): Parsed<ProbeRunRecord> {
  const record = createProbeRun(plan, createdAt);
  record.outcome = outcome;
  record.outcomeMessage = outcomeMessage;
  const ignored: string[] = [];
  for (const [i, item] of items.entries()) {
    const parsed = parseProbeMessage(item);
    if (!parsed.ok) {
      ignored.push(`message ${i}: ${parsed.error}`);
      continue;
    }
    ignored.push(...parsed.ignoredFields);
    record.messages.push(parsed.value);
  }
  if (record.messages.length === 0 && items.length > 0) return { ok: false, error: `none of the ${items.length} messages is a valid probe message (${ignored[0] ?? ''})` };
  return { ok: true, value: record, ignoredFields: ignored };
}

/** The version of the CLI's `probe --json` record (record.ts) that fromCliRecord reads. */
const cliRecordVersion = 1;

/**
 * Converts the CLI's `probe --json` record into the message stream it was built from, so
 * the panel opens and exports what the CLI wrote. Unknown record versions are refused.
 */
function fromCliRecord(value: Record<string, unknown>): Parsed<ProbeRunRecord> {
  if (value.version !== cliRecordVersion) {
    const newer = typeof value.version === 'number' && value.version > cliRecordVersion;
    return {
      ok: false,
      error: newer
        ? `this probe record has version ${String(value.version)}, written by a newer Residual Lens; this one reads version ${cliRecordVersion}. Update the extension to open it`
        : `this probe record has version ${JSON.stringify(value.version ?? null)}, which this Residual Lens cannot read; run the probe again`,
    };
  }
  const plan = parseProbePlan(value.plan);
  if (!plan.ok) return { ok: false, error: `the probe record's plan is invalid: ${plan.error}` };
  const messages: unknown[] = [];
  let cancelled = false;
  for (const item of value.variants as unknown[]) {
    if (!isRecord(item) || typeof item.name !== 'string') continue;
    const variant = item.name;
    const backend = isRecord(item.backend) ? item.backend : null;
    const layers = Array.isArray(item.layers) ? item.layers : [];
    if (backend || layers.length) {
      messages.push({
        type: 'started',
        variant,
        backend: typeof backend?.name === 'string' ? backend.name : 'unknown',
        device: typeof backend?.device === 'string' ? backend.device : 'unknown',
        params: typeof item.params === 'number' ? item.params : 0,
        layers,
        ...(Array.isArray(item.notes) ? { notes: item.notes } : {}),
        ...(typeof item.flopsPerStep === 'number' ? { flopsPerStep: item.flopsPerStep } : {}),
      });
    }
    const init = isRecord(item.init) ? item.init : {};
    const activations = Array.isArray(init.activations) ? init.activations.filter(isRecord) : [];
    if (activations.length) messages.push({ type: 'activations', variant, step: 0, means: activations.map((a) => a.mean ?? null), stds: activations.map((a) => a.std ?? null) });
    for (const g of Array.isArray(item.gradients) ? item.gradients.filter(isRecord) : []) messages.push({ type: 'gradients', variant, ...g });
    const steps = Array.isArray(item.steps) ? item.steps.filter(isRecord) : [];
    for (const step of steps) messages.push({ type: 'step', variant, ...step });
    const error = isRecord(item.error) ? item.error : null;
    if (item.status === 'done') {
      messages.push({ type: 'done', variant, steps: steps.length, finalLoss: item.finalLoss ?? null, finalAccuracy: item.finalAccuracy ?? null, msPerStep: item.msPerStep ?? 0, reason: 'completed' });
    } else if ((item.status === 'diverged' || item.status === 'error') && error) {
      messages.push({ type: 'error', variant, code: error.code, message: error.message, ...(typeof error.step === 'number' ? { step: error.step } : {}) });
    } else {
      cancelled = true;
    }
  }
  const createdAt = typeof value.createdAt === 'string' ? value.createdAt : new Date(0).toISOString();
  const parsed = fromMessages(messages, plan.value, cancelled ? 'cancelled' : 'completed', cancelled ? 'the probe was stopped before every variant finished' : null, createdAt);
  if (parsed.ok) parsed.ignoredFields.unshift(...plan.ignoredFields);
  return parsed;
}
