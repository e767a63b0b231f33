import { invalidOption } from '../errors.js';
import type { ModelInfo } from '../model/types.js';

/** Checks a letterboxed float32 input of n images against the model's input size; returns 3*H*W. */
export function checkTensorInput(tensor: unknown, n: unknown, model: ModelInfo): number {
  const [h, w] = model.imgsz;
  const plane = 3 * h * w;
  if (!(tensor instanceof Float32Array)) throw invalidOption('tensor', 'a Float32Array', tensor);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || tensor.length !== n * plane) {
    throw invalidOption('tensor', `a Float32Array of n x 3 x ${h} x ${w} values (n = ${String(n)})`, tensor);
  }
  return plane;
}
