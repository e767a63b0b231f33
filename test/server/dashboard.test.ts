// deploy/grafana-dashboard.json reads only metrics the server exports (GPU gauges aside: no GPU here).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { fakeServer } from './helpers.js';

it('every metric in the Grafana dashboard exists in /metrics', async () => {
  const dashboard = readFileSync('deploy/grafana-dashboard.json', 'utf8');
  const exprs = [...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map(
    (m) => JSON.parse(`"${m[1]}"`) as string,
  );
  expect(exprs.length).toBeGreaterThan(15);
  const used = new Set(
    exprs.flatMap((e) => [...e.matchAll(/\b((?:nv|yolo_trt|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!)),
  );
  const { app } = await fakeServer({ processMetrics: true });
  try {
    await app.inject({
      method: 'POST',
      url: '/v2/models/fake/detect',
      headers: { 'content-type': 'image/png' },
      payload: Buffer.from('\x01x'),
    });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const exported = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap((m) =>
        m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!],
      ),
    );
    const missing = [...used].filter((name) => !exported.has(name) && !name.startsWith('nv_gpu_'));
    expect(missing).toEqual([]);
  } finally {
    await app.close();
  }
});
