// Checks a probe message that arrived from another process or over postMessage.
// Known fields are type-checked and copied; unknown fields are dropped and named,
// so a newer worker can add fields without breaking an older panel.
import type { ModelGraph } from '../modelGraph/graph';
import { validateModelGraph } from './graphValidation';
import type { ProbeErrorCode, ProbeLayer, ProbeMessage, ProbePlan, ProbeTask, VariantSpec } from './protocol';

export type Parsed<T> = { ok: true; value: T; ignoredFields: string[] } | { ok: false; error: string };

type Json = Record<string, unknown>;

const errorCodes: readonly ProbeErrorCode[] = ['diverged', 'out-of-memory', 'crashed', 'backend', 'invalid-plan', 'timeout'];
const doneReasons = ['completed', 'time-budget', 'cancelled'] as const;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class FieldReader {
  readonly used = new Set<string>();
  constructor(
    private readonly source: Json,
    private readonly where: string,
  ) {}

  private take(name: string): unknown {
    this.used.add(name);
    return this.source[name];
  }

  string(name: string): string {
    const v = this.take(name);
    if (typeof v !== 'string') throw new Error(`${this.where}.${name} must be a string`);
    return v;
  }

  optionalString(name: string): string | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new Error(`${this.where}.${name} must be a string`);
    return v;
  }

  optionalStringArray(name: string): string[] | undefined {
    const v = this.take(name);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${this.where}.${name} must be an array of strings`);
    return v as string[];
  }

  number(name: string): number {
    const v = this.take(name);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${this.where}.${name} must be a finite number`);
    return v;
  }

  /** A metric that may be NaN or infinite; JSON carries those as null. */
  metric(name: string): number | null {
    const v = this.take(name);
    if (v === null) return null;
    if (typeof v !== 'number') throw new Error(`${this.where}.${name} must be a number or null`);
    return Number.isFinite(v) ? v : null;
  }

  optionalNumber(name: string): number | undefined {
    const v = this.take(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${this.where}.${name} must be a finite number`);
    return v;
  }

  boolean(name: string): boolean {
    const v = this.take(name);
    if (typeof v !== 'boolean') throw new Error(`${this.where}.${name} must be a boolean`);
    return v;
  }

  metricArray(name: string): (number | null)[] {
    const v = this.take(name);
    if (!Array.isArray(v)) throw new Error(`${this.where}.${name} must be an array`);
    return v.map((x, i) => {
      if (x === null) return null;
      if (typeof x !== 'number') throw new Error(`${this.where}.${name}[${i}] must be a number or null`);
      return Number.isFinite(x) ? x : null;
    });
  }

  /** A value checked by the caller. */
  optional(name: string): unknown {
    return this.take(name);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.take(name);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new Error(`${this.where}.${name} must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  array(name: string): unknown[] {
    const v = this.take(name);
    if (!Array.isArray(v)) throw new Error(`${this.where}.${name} must be an array`);
    return v;
  }

  unknownFields(): string[] {
    return Object.keys(this.source)
      .filter((k) => !this.used.has(k))
      .map((k) => `${this.where}.${k}`);
  }
}

function parseLayer(value: unknown, where: string, ignored: string[]): ProbeLayer {
  if (!isRecord(value)) throw new Error(`${where} must be an object`);
  const r = new FieldReader(value, where);
  const layer: ProbeLayer = {
    index: r.number('index'),
    name: r.string('name'),
    kind: r.oneOf('kind', ['conv', 'dense', 'norm'] as const),
    params: r.number('params'),
    residualAddAfter: r.boolean('residualAddAfter'),
  };
  const sourceLine = r.optionalNumber('sourceLine');
  if (sourceLine !== undefined) layer.sourceLine = sourceLine;
  const sourceUri = r.optionalString('sourceUri');
  if (sourceUri !== undefined) layer.sourceUri = sourceUri;
  ignored.push(...r.unknownFields());
  return layer;
}

/** Gradients and activations carry NaN as null; the panel draws null as a gap. */
export type ReceivedProbeMessage =
  | Exclude<ProbeMessage, { type: 'step' | 'gradients' | 'activations' }>
  | { type: 'step'; variant: string; step: number; loss: number | null; accuracy: number | null; ms: number }
  | {
      type: 'gradients';
      variant: string;
      step: number;
      gradNorms: (number | null)[];
      weightNorms: (number | null)[];
      updateRatios: (number | null)[];
      firstToLastRatio?: number;
    }
  | { type: 'activations'; variant: string; step: number; means: (number | null)[]; stds: (number | null)[] };

export function parseProbeMessage(value: unknown): Parsed<ReceivedProbeMessage> {
  try {
    if (!isRecord(value)) return { ok: false, error: 'a probe message must be an object' };
    const type = value.type;
    const where = `probe message '${String(type)}'`;
    const r = new FieldReader(value, where);
    r.used.add('type');
    const ignored: string[] = [];
    let message: ReceivedProbeMessage;
    switch (type) {
      case 'started':
        message = {
          type,
          variant: r.string('variant'),
          backend: r.string('backend'),
          device: r.string('device'),
          params: r.number('params'),
          layers: r.array('layers').map((l, i) => parseLayer(l, `${where}.layers[${i}]`, ignored)),
        };
        {
          const notes = r.optionalStringArray('notes');
          if (notes !== undefined) message.notes = notes;
          const flops = r.optionalNumber('flopsPerStep');
          if (flops !== undefined) message.flopsPerStep = flops;
        }
        break;
      case 'step':
        message = { type, variant: r.string('variant'), step: r.number('step'), loss: r.metric('loss'), accuracy: r.metric('accuracy'), ms: r.number('ms') };
        break;
      case 'gradients':
        message = {
          type,
          variant: r.string('variant'),
          step: r.number('step'),
          gradNorms: r.metricArray('gradNorms'),
          weightNorms: r.metricArray('weightNorms'),
          updateRatios: r.metricArray('updateRatios'),
        };
        {
          const ratio = r.optionalNumber('firstToLastRatio');
          if (ratio !== undefined) message.firstToLastRatio = ratio;
        }
        break;
      case 'activations':
        message = { type, variant: r.string('variant'), step: r.number('step'), means: r.metricArray('means'), stds: r.metricArray('stds') };
        break;
      case 'done':
        message = {
          type,
          variant: r.string('variant'),
          steps: r.number('steps'),
          finalLoss: r.metric('finalLoss') ?? Number.NaN,
          finalAccuracy: r.metric('finalAccuracy') ?? Number.NaN,
          msPerStep: r.number('msPerStep'),
          reason: r.oneOf('reason', doneReasons),
        };
        break;
      case 'error': {
        const variant = r.string('variant');
        const code = r.oneOf('code', errorCodes);
        const text = r.string('message');
        const step = r.optionalNumber('step');
        message = step === undefined ? { type, variant, code, message: text } : { type, variant, code, message: text, step };
        break;
      }
      default:
        return { ok: false, error: `unknown probe message type '${String(type)}'` };
    }
    return { ok: true, value: message, ignoredFields: [...r.unknownFields(), ...ignored] };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function parseVariantSpec(value: unknown, where: string, ignored: string[]): VariantSpec {
  if (!isRecord(value)) throw new Error(`${where} must be an object`);
  const r = new FieldReader(value, where);
  const spec: VariantSpec = {
    id: r.string('id'),
    label: r.string('label'),
    architecture: r.oneOf('architecture', ['plain', 'residual'] as const),
    depth: r.number('depth'),
    shortcut: r.oneOf('shortcut', ['A', 'B'] as const),
    batchNorm: r.boolean('batchNorm'),
    width: r.number('width'),
  };
  const graph = r.optional('graph');
  if (graph !== undefined) {
    // A graph is untrusted input: checked whole before anything reads it.
    const problems = validateModelGraph(graph, `${where}.graph`);
    if (problems.length) throw new Error(problems.slice(0, 5).join('; ') + (problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''));
    spec.graph = graph as ModelGraph;
  }
  ignored.push(...r.unknownFields());
  return spec;
}

function parseTask(value: unknown): ProbeTask {
  if (!isRecord(value)) throw new Error('plan.task must be an object');
  const r = new FieldReader(value, 'plan.task');
  const kind = r.oneOf('kind', ['classification', 'next-token'] as const);
  if (kind === 'classification') return { kind, classes: r.number('classes') };
  return { kind, vocabulary: r.number('vocabulary'), sequenceLength: r.number('sequenceLength') };
}

export function parseProbePlan(value: unknown): Parsed<ProbePlan> {
  try {
    if (!isRecord(value)) return { ok: false, error: 'a probe plan must be an object' };
    const r = new FieldReader(value, 'plan');
    const ignored: string[] = [];
    const version = r.number('version');
    if (version !== 1) return { ok: false, error: `probe plan version ${version} is not supported (expected 1)` };
    const plan: ProbePlan = {
      version: 1,
      variants: r.array('variants').map((v, i) => parseVariantSpec(v, `plan.variants[${i}]`, ignored)),
      inputSize: r.number('inputSize'),
      inputChannels: r.number('inputChannels'),
      classes: r.number('classes'),
      batchSize: r.number('batchSize'),
      optimizer: r.oneOf('optimizer', ['adam', 'sgd'] as const),
      learningRate: r.number('learningRate'),
      momentum: r.number('momentum'),
      steps: r.number('steps'),
      timeBudgetMs: r.number('timeBudgetMs'),
      gradientEvery: r.number('gradientEvery'),
      seed: r.number('seed'),
      backend: r.oneOf('backend', ['auto', 'tensorflow', 'wasm', 'cpu'] as const),
    };
    const task = r.optional('task');
    if (task !== undefined) plan.task = parseTask(task);
    const notes = r.optionalStringArray('notes');
    if (notes !== undefined) plan.notes = notes;
    return { ok: true, value: plan, ignoredFields: [...r.unknownFields(), ...ignored] };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
