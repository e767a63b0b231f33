// Shutdown with a gRPC stream still open: what it sent is answered, then the stream ends and close()
// completes (instead of waiting out the grace period).
import { expect, it } from 'vitest';
import { kserveClient, type Msg } from './grpc-client.js';
import { fakeServer, sleep } from './helpers.js';

it('app.close() answers an open stream, ends it, and completes promptly', async () => {
  const { app, made } = await fakeServer({ grpc: { port: 0 } }, { delayMs: 100 });
  const client = kserveClient(app.yolo.grpc!.port);
  try {
    const stream = client.stream();
    const got: Msg[] = [];
    stream.on('data', (m: Msg) => got.push(m));
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write({
      model_name: 'fake',
      id: 'last-frame',
      inputs: [
        {
          name: 'image_bytes',
          datatype: 'BYTES',
          shape: [1],
          contents: { bytes_contents: [Buffer.from([7, 1])] },
        },
      ],
    });
    while (made[0]!.running === 0) await sleep(5); // the request is running
    const t0 = performance.now();
    await app.close();
    await ended;
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(got.map((m) => (m.infer_response as Msg).id)).toEqual(['last-frame']);
  } finally {
    client.close();
  }
});
