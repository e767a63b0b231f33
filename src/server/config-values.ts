import { invalidOption } from '../errors.js';

/**
 * The value checks every served-model setting goes through (model-config.ts, candidate-config.ts,
 * kserve/load-config.ts), so a bad value gets the same ERR_INVALID_OPTION wording wherever it is read.
 */

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses the first key of `v` that is not `allowed`, naming it and the keys that are. */
export function unknownKeys(where: string, v: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k))
      throw invalidOption(`${where}.${k}`, `one of the keys ${allowed.join(', ')}`, k);
  }
}

/** A finite number in [min, max] (an integer when asked), or undefined when absent. */
export function num(
  where: string,
  v: unknown,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  if (v === undefined) return undefined;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (integer && !Number.isInteger(v))
  ) {
    throw invalidOption(where, `${integer ? 'an integer' : 'a number'} between ${min} and ${max}`, v);
  }
  return v;
}
