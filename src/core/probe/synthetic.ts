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
