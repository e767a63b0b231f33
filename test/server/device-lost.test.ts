/**
 * A model whose GPU context is lost (a sticky CUDA error): the server reports it not ready, reports
 * itself not live (only a restart recovers), logs it once and counts it in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YoloTrtError, createServer } from '../../dist/index.js';
import type { SettledResult } from '../../dist/detector.js';
import type { DetectOptions, DetectorOptions } from '../../dist/options.js';
import type { FastifyInstance } from 'fastify';
import { FakeDetector, listen, modelPath } from './helpers.js';

const LOST =
  'cudaStreamSynchronize(GPU pipeline) failed: cudaErrorIllegalAddress (an illegal memory access was encountered): the CUDA device context is lost; restart the process to use the GPU again';

/** A fake GPU detector: the request whose first byte is 'X' hits a sticky CUDA error. */
class LosingDetector extends FakeDetector {
  deviceLost: string | null = null;
  get healthy(): boolean {
    return this.deviceLost === null;
  }
  override async detectBatchSettled(
    inputs: readonly unknown[],
    options?: DetectOptions,
  ): Promise<SettledResult[]> {
    const first = inputs[0];
    if (this.deviceLost !== null || (first instanceof Uint8Array && first[0] === 'X'.charCodeAt(0))) {
      this.deviceLost ??= LOST;
      throw new YoloTrtError('ERR_CUDA', LOST, { details: { deviceLost: true } });
    }
    return super.detectBatchSettled(inputs, options);
  }
}

describe('server: a model that lost its GPU context', () => {
  let app: FastifyInstance;
  let base: string;
  const logged: { obj: object; msg: string }[] = [];

  beforeAll(async () => {
    app = await createServer({
      models: [{ name: 'gpu', path: modelPath() }],
      processMetrics: false,
      detectorFactory: async (o: DetectorOptions) => new LosingDetector(o.model),
    });
    // The server's logger: capture error lines.
    const original = app.log.error.bind(app.log);
    app.log.error = ((obj: object, msg: string) => {
      logged.push({ obj, msg });
      original(obj, msg);
    }) as typeof app.log.error;
    base = await listen(app);
  });
  afterAll(async () => {
    await app.close();
  });

  const detect = (body: string) =>
    fetch(`${base}/v2/models/gpu/detect`, {
      method: 'POST',
      body: Buffer.from(body, 'latin1'),
      headers: { 'content-type': 'image/png' },
    });

  it('is ready and live before the failure', async () => {
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/gpu/ready`)).status).toBe(200);
    expect((await detect('ok')).status).toBe(200);
  });

  it('after a sticky CUDA error: model not ready, server not live, logged once, counted', async () => {
    const failed = await detect('X-lose-the-device');
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(((await failed.json()) as { code: string }).code).toBe('ERR_CUDA');

    expect((await fetch(`${base}/v2/models/gpu/ready`)).status).toBe(503);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(503);

    const again = await detect('ok');
    expect(again.status).toBe(503);
    expect(((await again.json()) as { code: string }).code).toBe('ERR_MODEL_NOT_READY');

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/yolo_trt_device_lost_total\{model="gpu",version="1"\} 1/);
    const lines = logged.filter((l) => /GPU context lost/.test(l.msg));
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines[0]!.obj)).toContain('cudaErrorIllegalAddress');
  });
});
