// Adam and SGD with momentum over plain typed arrays. tf.train.adam issues about ten
// small tensor ops per variable per step (over 2 000 ops a step at depth 56, each with
// its fixed cost); here each variable is read once, updated in one loop and written
// back once. The same loop gives the probe's per-layer gradient norm, weight norm and
// update norm for free. Works on every backend (it only reads and assigns tensors).
//
// Adam as in Kingma & Ba (2015) with bias correction, beta1 0.9, beta2 0.999, epsilon
// 1e-8 (PyTorch's defaults). SGD momentum as PyTorch: v = mu * v + g; w -= lr * v.
import type * as tfc from '@tensorflow/tfjs';
import type { OptimizerName } from '../core/probe/protocol';
import type { TensorFlow } from './backend';

export interface UpdateNorms {
  gradNorm: number;
  /** Before the update. */
  weightNorm: number;
  updateNorm: number;
}

export class ArrayOptimizer {
  /** The weights, kept here: only this class changes them, so they are never read back. */
  private readonly weights: Float32Array[];
  private readonly first: Float32Array[];
  private readonly second: Float32Array[];
  private steps = 0;

  constructor(
    private readonly tf: TensorFlow,
    private readonly variables: tfc.Variable[],
    private readonly kind: OptimizerName,
    private readonly learningRate: number,
    private readonly momentum = 0.9,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.weights = variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
    this.first = variables.map((v) => new Float32Array(v.size));
    this.second = kind === 'adam' ? variables.map((v) => new Float32Array(v.size)) : [];
  }

  /** Applies one update; returns the norms of every variable, in the order given. */
  apply(grads: tfc.NamedTensorMap): UpdateNorms[] {
    const { tf } = this;
    this.steps++;
    const norms: UpdateNorms[] = [];
    const correction1 = 1 - this.beta1 ** this.steps;
    const correction2 = 1 - this.beta2 ** this.steps;
    const stepSize = this.learningRate / correction1;
    this.variables.forEach((variable, index) => {
      const gradient = grads[variable.name];
      if (!gradient) throw new Error(`no gradient for ${variable.name}`);
      const g = gradient.dataSync() as Float32Array;
      const w = this.weights[index]!;
      const m = this.first[index]!;
      let gradSquares = 0;
      let weightSquares = 0;
      let updateSquares = 0;
      if (this.kind === 'adam') {
        const v = this.second[index]!;
        const { beta1, beta2, epsilon } = this;
        const rootCorrection2 = Math.sqrt(correction2);
        for (let i = 0; i < w.length; i++) {
          const gi = g[i]!;
          const mi = beta1 * m[i]! + (1 - beta1) * gi;
          const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
          m[i] = mi;
          v[i] = vi;
          const update = (stepSize * mi) / (Math.sqrt(vi) / rootCorrection2 + epsilon);
          gradSquares += gi * gi;
          weightSquares += w[i]! * w[i]!;
          updateSquares += update * update;
          w[i] = w[i]! - update;
        }
      } else {
        const { momentum, learningRate } = this;
        for (let i = 0; i < w.length; i++) {
          const gi = g[i]!;
          const mi = momentum * m[i]! + gi;
          m[i] = mi;
          const update = learningRate * mi;
          gradSquares += gi * gi;
          weightSquares += w[i]! * w[i]!;
          updateSquares += update * update;
          w[i] = w[i]! - update;
        }
      }
      const updated = tf.tensor(w, variable.shape);
      variable.assign(updated);
      updated.dispose(); // the variable holds its own reference to the data
      norms.push({ gradNorm: Math.sqrt(gradSquares), weightNorm: Math.sqrt(weightSquares), updateNorm: Math.sqrt(updateSquares) });
    });
    return norms;
  }
}
