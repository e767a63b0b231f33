import { YoloTrtError } from '../errors.js';

export interface FetchLimits {
  /** Largest body accepted, bytes (default 50 MB). */
  maxBytes?: number;
  /** Whole request, redirects included, milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Redirects followed before giving up (default 5). */
  maxRedirects?: number;
  signal?: AbortSignal;
}

export const URL_DEFAULTS = { maxBytes: 50 * 1024 * 1024, timeoutMs: 30_000, maxRedirects: 5 } as const;

function sourceError(url: string, message: string, reason: string, cause?: unknown): YoloTrtError {
  return new YoloTrtError('ERR_SOURCE', `${url}: ${message}`, { details: { source: url, reason }, cause });
}

/**
 * Downloads an image over http(s) with bounds on size, time and redirects (each hop re-checked: only
 * http and https, never file: or data:), so a URL given to the CLI or library cannot hang it or fill
 * its memory.
 */
export async function fetchBytes(url: string, limits: FetchLimits = {}): Promise<Buffer> {
  const maxBytes = limits.maxBytes ?? URL_DEFAULTS.maxBytes;
  const maxRedirects = limits.maxRedirects ?? URL_DEFAULTS.maxRedirects;
  const timeout = AbortSignal.timeout(limits.timeoutMs ?? URL_DEFAULTS.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([limits.signal, timeout]) : timeout;
  let current = url;
  for (let hop = 0; ; hop++) {
    let parsed: URL;
    try {
      parsed = new URL(current);
    } catch (err) {
      throw sourceError(url, `not a valid URL: ${current}`, 'url', err);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw sourceError(url, `only http and https URLs are fetched, not ${parsed.protocol}`, 'url');
    }
    let res: Response;
    try {
      res = await fetch(parsed, { redirect: 'manual', signal });
    } catch (err) {
      if (limits.signal?.aborted)
        throw new YoloTrtError('ABORT_ERR', 'The operation was aborted', { cause: err });
      if (timeout.aborted)
        throw sourceError(
          url,
          `no complete answer within ${limits.timeoutMs ?? URL_DEFAULTS.timeoutMs} ms`,
          'timeout',
          err,
        );
      throw sourceError(url, `request failed: ${(err as Error).message}`, 'network', err);
    }
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel();
      if (hop >= maxRedirects) throw sourceError(url, `more than ${maxRedirects} redirects`, 'redirects');
      current = new URL(res.headers.get('location')!, parsed).href;
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw sourceError(url, `HTTP ${res.status} ${res.statusText}`, 'status');
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel();
      throw sourceError(url, `${declared} bytes is more than the ${maxBytes}-byte limit`, 'too-large');
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body ?? []) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          throw sourceError(url, `more than the ${maxBytes}-byte limit`, 'too-large');
        }
        parts.push(chunk);
      }
    } catch (err) {
      if (err instanceof YoloTrtError) throw err;
      if (timeout.aborted)
        throw sourceError(
          url,
          `no complete answer within ${limits.timeoutMs ?? URL_DEFAULTS.timeoutMs} ms`,
          'timeout',
          err,
        );
      throw sourceError(url, `download failed: ${(err as Error).message}`, 'network', err);
    }
    return Buffer.concat(parts);
  }
}
