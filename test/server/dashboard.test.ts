// deploy/grafana-dashboard.json reads only metrics the server exports; the GPU panels (titled "only where a
// GPU is") read the gauges a ServerMetrics exports when its GPU reader finds a device.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ServerMetrics } from '../../dist/server/metrics.js';
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
    const typed = (t: string) =>
      [...t.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap((m) =>
        m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!],
      );
    const gpuMetrics = new ServerMetrics({ processMetrics: false });
    await gpuMetrics.enableGpuMetrics(async () => ({
      source: 'nvml',
      reason: null,
      devices: [
        {
          index: 0,
          uuid: 'GPU-0',
          name: 'Fake',
          utilization: 0.5,
          memoryUsedBytes: 1,
          memoryTotalBytes: 2,
          powerWatts: 3,
          temperatureC: 4,
        },
      ],
    }));
    const plain = new Set(typed(await new ServerMetrics({ processMetrics: false }).render()));
    const gpuOnly = new Set(typed(await gpuMetrics.render()).filter((name) => !plain.has(name)));
    expect([...gpuOnly]).toContain('nv_gpu_utilization');
    const exported = new Set([...typed(text), ...gpuOnly]);
    const missing = [...used].filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
    // Panels reading a GPU gauge say so in their title (CPU machines export none of them).
    const panels = (JSON.parse(dashboard) as { panels: { title: string; targets?: { expr: string }[] }[] })
      .panels;
    for (const panel of panels) {
      const readsGpu = (panel.targets ?? []).some((t) => [...gpuOnly].some((n) => t.expr.includes(n)));
      expect(panel.title.includes('(only where a GPU is)'), panel.title).toBe(readsGpu);
    }
  } finally {
    await app.close();
  }
});

it('panels compute what their titles say', () => {
  const dashboard = JSON.parse(readFileSync('deploy/grafana-dashboard.json', 'utf8')) as {
    __inputs?: unknown;
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  // The data source is picked from the `datasource` variable: no import prompt for an unused input.
  expect(dashboard.__inputs).toBeUndefined();
  const expr = (title: string) => dashboard.panels.find((p) => p.title.startsWith(title))!.targets!;
  // Failures carry `reason`: success + failure only match once both are summed by model.
  const mean = expr('Mean request / queue time')[0]!.expr;
  expect(mean).toContain('sum by (model) (rate(nv_inference_request_failure');
  expect(mean).not.toMatch(/\+ rate\(nv_inference_request_failure/);
  // Whole batch sizes: a batch of 1 must not read 0.5 (interpolation inside the (0, 1] bucket).
  for (const t of expr('Batch size p50')) expect(t.expr).toMatch(/^ceil\(histogram_quantile/);
});
