// A synthetic image classification task, deterministic by seed and generated on the
// fly (no download, no stored data set). Each class is a texture: a sum of a few
// coloured sinusoidal gratings with class-specific frequencies and orientations. Every
// sample shows its class texture at a random translation and contrast, mixed with a
// weaker texture of another class and pixel noise. Translation invariance and the
// distractor make a linear read-out of pixels useless: the network has to learn
// frequency detectors, which a plain deep stack trains slowly and a shallow or
// residual one trains quickly.

/** Mulberry32: a small, fast generator with good statistics for this use. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes two integers into one seed so that (seed, step) pairs give unrelated streams. */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul((a >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ (b >>> 0), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

interface Grating {
  fx: number;
  fy: number;
  phase: number;
  colour: number[];
}

export interface SyntheticBatch {
  /** NHWC, float32, roughly zero mean and unit variance. */
  images: Float32Array;
  labels: Int32Array;
}

export class SyntheticTextureTask {
  private readonly textures: Grating[][] = [];

  constructor(
    readonly seed: number,
    readonly size: number,
    readonly channels: number,
    readonly classes: number,
    private readonly gratingsPerClass = 3,
  ) {
    const random = seededRandom(mixSeed(seed, 0x7e47));
    for (let c = 0; c < classes; c++) {
      const gratings: Grating[] = [];
      for (let g = 0; g < gratingsPerClass; g++) {
        // integer cycles per image so that translation wraps seamlessly
        const fx = Math.floor(random() * 7) - 3;
        const fy = Math.floor(random() * 4) + (fx === 0 ? 1 : 0);
        const colour = Array.from({ length: channels }, () => gaussian(random));
        gratings.push({ fx, fy, phase: random() * 2 * Math.PI, colour });
      }
      this.textures.push(gratings);
    }
  }

  /** The batch for a given step; the same (seed, step) always gives the same batch. */
  batch(step: number, batchSize: number): SyntheticBatch {
    const random = seededRandom(mixSeed(this.seed, step + 1));
    const { size, channels } = this;
    const images = new Float32Array(batchSize * size * size * channels);
    const labels = new Int32Array(batchSize);
    const norm = 1 / Math.sqrt(this.gratingsPerClass);
    for (let n = 0; n < batchSize; n++) {
      const label = Math.floor(random() * this.classes);
      const distractor = (label + 1 + Math.floor(random() * (this.classes - 1))) % this.classes;
      labels[n] = label;
      const layers = [
        { gratings: this.textures[label]!, amplitude: (0.8 + 0.6 * random()) * norm, sx: random() * size, sy: random() * size },
        { gratings: this.textures[distractor]!, amplitude: 0.5 * random() * norm, sx: random() * size, sy: random() * size },
      ];
      const base = n * size * size * channels;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const offset = base + (y * size + x) * channels;
          for (let ch = 0; ch < channels; ch++) images[offset + ch] = 0.5 * gaussian(random);
          for (const layer of layers) {
            for (const g of layer.gratings) {
              const angle = (2 * Math.PI * (g.fx * (x + layer.sx) + g.fy * (y + layer.sy))) / size + g.phase;
              const value = layer.amplitude * Math.sin(angle);
              for (let ch = 0; ch < channels; ch++) images[offset + ch]! += value * g.colour[ch]!;
            }
          }
        }
      }
    }
    return { images, labels };
  }
}

/** One model input as the probe feeds it: the layout the worker builds (channels last), batch excluded. */
export interface SyntheticInputSpec {
  kind: 'float' | 'tokens';
  shape: number[];
  /** Axis of `shape` that holds the channels (features). */
  channelAxis: number;
  /** Token ids are drawn from 0..vocabulary-1. */
  vocabulary?: number;
}

export interface SyntheticGraphBatch {
  /** Per model input: float32 values or int32 token ids, batch first, in the spec's layout. */
  inputs: (Float32Array | Int32Array)[];
  /** One label per row of the logits: per sample, or per sample and position. */
  labels: Int32Array;
}

export interface SyntheticGraphTask {
  readonly classes: number;
  batch(step: number, batchSize: number): SyntheticGraphBatch;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function randomInputs(specs: readonly SyntheticInputSpec[], random: () => number, batchSize: number): (Float32Array | Int32Array)[] {
  return specs.map((spec) => {
    const size = batchSize * sizeOf(spec.shape);
    if (spec.kind === 'tokens') {
      const vocabulary = Math.max(1, spec.vocabulary ?? 2);
      return Int32Array.from({ length: size }, () => Math.floor(random() * vocabulary));
    }
    return Float32Array.from({ length: size }, () => gaussian(random));
  });
}

/**
 * Classification of N(0, 1) inputs (uniform token ids) by a fixed random teacher, so that
 * the labels are a function of the input a network can learn. The teacher reads
 * translation-invariant features of the first input: per channel, the mean and the
 * mean energy over every other axis (for token ids, a random score per token, summed
 * over positions), through a seeded random linear map; the label is the argmax.
 */
export class SyntheticClassificationTask implements SyntheticGraphTask {
  private readonly teacher: Float32Array;
  private readonly featureCount: number;

  constructor(
    readonly seed: number,
    readonly inputs: readonly SyntheticInputSpec[],
    readonly classes: number,
  ) {
    const first = inputs[0];
    if (!first) throw new Error('the model has no input');
    this.featureCount = first.kind === 'tokens' ? Math.max(1, first.vocabulary ?? 2) : 2 * (first.shape[first.channelAxis] ?? 1);
    const random = seededRandom(mixSeed(seed, 0x7eac4e5));
    this.teacher = Float32Array.from({ length: this.featureCount * classes }, () => gaussian(random));
  }

  private features(values: Float32Array | Int32Array, sample: number): Float64Array {
    const spec = this.inputs[0]!;
    const features = new Float64Array(this.featureCount);
    const size = sizeOf(spec.shape);
    const base = sample * size;
    if (spec.kind === 'tokens') {
      for (let i = 0; i < size; i++) features[values[base + i]!]! += 1;
      return features;
    }
    const channels = spec.shape[spec.channelAxis] ?? 1;
    // Elements between consecutive channels (the product of the axes after the channel axis).
    const inner = sizeOf(spec.shape.slice(spec.channelAxis + 1));
    const positions = size / channels;
    for (let i = 0; i < size; i++) {
      const channel = Math.floor(i / inner) % channels;
      const v = values[base + i]!;
      features[channel]! += v;
      features[channels + channel]! += v * v - 1;
    }
    // Each sum has variance `positions` (2x for the energy): scaled to order one.
    const scale = 1 / Math.sqrt(positions);
    for (let f = 0; f < features.length; f++) features[f]! *= scale;
    return features;
  }

  batch(step: number, batchSize: number): SyntheticGraphBatch {
    const random = seededRandom(mixSeed(this.seed, step + 1));
    const inputs = randomInputs(this.inputs, random, batchSize);
    const labels = new Int32Array(batchSize);
    for (let n = 0; n < batchSize; n++) {
      const features = this.features(inputs[0]!, n);
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < this.classes; c++) {
        let score = 0;
        for (let f = 0; f < this.featureCount; f++) score += features[f]! * this.teacher[f * this.classes + c]!;
        if (score > bestScore) {
          bestScore = score;
          best = c;
        }
      }
      labels[n] = best;
    }
    return { inputs, labels };
  }
}

/**
 * Next-token prediction on sequences of a seeded random Markov chain: each token is
 * followed by one of a few (up to 4) successors with fixed random probabilities, so the
 * best achievable loss is well under chance and a sequence model learns it in tens of
 * steps. Inputs are the first `sequenceLength` tokens, labels the next token at every
 * position; any further model inputs get uniform random ids or N(0, 1) values.
 */
export class SyntheticSequenceTask implements SyntheticGraphTask {
  private readonly successors: Int32Array;
  private readonly cumulative: Float64Array;
  readonly branching: number;

  constructor(
    readonly seed: number,
    readonly vocabulary: number,
    readonly sequenceLength: number,
    readonly inputs: readonly SyntheticInputSpec[] = [{ kind: 'tokens', shape: [sequenceLength], channelAxis: 0, vocabulary }],
  ) {
    this.branching = Math.min(4, vocabulary);
    const random = seededRandom(mixSeed(seed, 0x5e9));
    this.successors = new Int32Array(vocabulary * this.branching);
    this.cumulative = new Float64Array(vocabulary * this.branching);
    for (let token = 0; token < vocabulary; token++) {
      const weights = Array.from({ length: this.branching }, () => 0.2 + random());
      const total = weights.reduce((a, b) => a + b, 0);
      let sum = 0;
      for (let b = 0; b < this.branching; b++) {
        this.successors[token * this.branching + b] = Math.floor(random() * vocabulary);
        sum += weights[b]! / total;
        this.cumulative[token * this.branching + b] = sum;
      }
    }
  }

  get classes(): number {
    return this.vocabulary;
  }

  batch(step: number, batchSize: number): SyntheticGraphBatch {
    const random = seededRandom(mixSeed(this.seed, step + 1));
    const length = this.sequenceLength;
    const tokens = new Int32Array(batchSize * length);
    const labels = new Int32Array(batchSize * length);
    for (let n = 0; n < batchSize; n++) {
      let token = Math.floor(random() * this.vocabulary);
      for (let t = 0; t < length; t++) {
        tokens[n * length + t] = token;
        const u = random();
        let b = 0;
        while (b < this.branching - 1 && u > this.cumulative[token * this.branching + b]!) b++;
        token = this.successors[token * this.branching + b]!;
        labels[n * length + t] = token;
      }
    }
    const others = randomInputs(this.inputs.slice(1), random, batchSize);
    return { inputs: [tokens, ...others], labels };
  }
}
