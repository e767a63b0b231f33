import { badRequest } from '../http-errors.js';
import type { RequestParams } from '../model-instance.js';

/** Class ids must exist in the model: checked before queueing so one bad request fails alone. */
export function checkParamsForModel(params: RequestParams, numClasses: number): void {
  for (const c of params.classes ?? []) {
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw badRequest(`Expected class ids between 0 and ${numClasses - 1} for classes but received ${c}`);
    }
  }
}
