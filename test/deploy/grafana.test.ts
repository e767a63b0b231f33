// The Grafana side of deploy/, checked offline (no Grafana runs here): the dashboard reads only metrics a
// real server exports (./scrape.ts), its panels compute what their titles say, and the provisioning files
// give Grafana the Prometheus of deploy/compose.yaml and load this dashboard.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CANDIDATE_METRICS, metricNames, missingNames, realScrape } from './scrape.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const DASHBOARD = path.join(DEPLOY, 'grafana/dashboards/yolo-trt.json');

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  __inputs?: unknown;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

describe('deploy/grafana/dashboards/yolo-trt.json', () => {
  it('reads only metrics a real server exports', async () => {
    expect(exprs.length).toBeGreaterThan(25);
    const scrape = await realScrape();
    const used = new Set([
      ...exprs.flatMap(metricNames),
      ...dashboard.templating.list.flatMap((v) => (typeof v.query === 'string' ? metricNames(v.query) : [])),
    ]);
    expect(missingNames(used, scrape)).toEqual([]);
    // The drift panels read what a server with --drift-reference exports.
    for (const name of ['yolo_trt_drift_score', 'yolo_trt_drift_alert', 'yolo_trt_drift_window_images']) {
      expect(used).toContain(name);
      expect(scrape.names).toContain(name);
    }
    // The candidate panels chart every candidate metric, and the server exports each of them.
    for (const name of CANDIDATE_METRICS) {
      expect(used).toContain(name);
      expect(scrape.names).toContain(name);
    }
    expect(missingNames(['yolo_trt_no_such_metric'], scrape)).toEqual(['yolo_trt_no_such_metric']);
  });

  it('marks the panels that read GPU gauges', async () => {
    const { gpuOnly } = await realScrape();
    expect([...gpuOnly]).toContain('nv_gpu_utilization');
    expect([...gpuOnly]).toContain('yolo_trt_gpu_temperature_celsius');
    // CPU machines export none of them: those panels say so in their title.
    for (const panel of dashboard.panels) {
      const readsGpu = (panel.targets ?? []).some((t) => metricNames(t.expr).some((n) => gpuOnly.has(n)));
      expect(panel.title.includes('(only where a GPU is)'), panel.title).toBe(readsGpu);
    }
  });

  it('has panels that compute what their titles say', async () => {
    // The data source is picked from the `datasource` variable: no import prompt for an unused input.
    expect(dashboard.__inputs).toBeUndefined();
    const expr = (title: string) => dashboard.panels.find((p) => p.title.startsWith(title))!.targets!;
    // Failures carry `reason`: success + failure only match once both are summed by model.
    const mean = expr('Mean request / queue time')[0]!.expr;
    expect(mean).toContain('sum by (model) (rate(nv_inference_request_failure');
    expect(mean).not.toMatch(/\+ rate\(nv_inference_request_failure/);
    // Whole batch sizes: a batch of 1 must not read 0.5 (interpolation inside the (0, 1] bucket).
    for (const t of expr('Batch size p50')) expect(t.expr).toMatch(/^ceil\(histogram_quantile/);
    // Counters (and any name ending in _total) are charted as rates or increases, never raw.
    const { counters } = await realScrape();
    expect(counters).toContain('nv_inference_request_duration_us');
    for (const e of exprs) {
      for (const name of metricNames(e).filter((n) => counters.has(n) || n.endsWith('_total'))) {
        expect(e, name).toMatch(new RegExp(`(rate|increase)\\(${name}\\b`));
      }
    }
  });

  it('is laid out without overlaps, with unique ids and a data source on every query panel', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      if (p.type !== 'row')
        expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
    }
  });
});

describe('deploy/grafana/provisioning', () => {
  const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { volumes?: (string | { source: string; target: string })[] }>;
  };
  /** Where a container path of the grafana service comes from on the host (relative to deploy/). */
  const hostPath = (target: string) => {
    const v = (compose.services.grafana!.volumes ?? []).find(
      (m) => typeof m === 'object' && m.target === target,
    ) as { source: string } | undefined;
    return v && path.join(DEPLOY, v.source);
  };

  it('gives Grafana the compose Prometheus as its default data source', () => {
    const dir = path.join(hostPath('/etc/grafana/provisioning')!, 'datasources');
    const file = parse(readFileSync(path.join(dir, 'prometheus.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: { type: string; url: string; isDefault: boolean; access: string }[];
    };
    expect(file.apiVersion).toBe(1);
    expect(file.datasources).toEqual([
      expect.objectContaining({
        type: 'prometheus',
        url: 'http://prometheus:9090',
        isDefault: true,
        access: 'proxy',
      }),
    ]);
    // The URL's host and port are the compose service and the port Prometheus listens on.
    expect(Object.keys(compose.services)).toContain('prometheus');
    // The dashboard picks its data source through a `datasource` variable of type prometheus.
    expect(dashboard.templating.list.find((v) => v.type === 'datasource')).toMatchObject({
      name: 'datasource',
      query: 'prometheus',
    });
  });

  it('loads the dashboard from the folder compose mounts', () => {
    const dir = path.join(hostPath('/etc/grafana/provisioning')!, 'dashboards');
    const file = parse(readFileSync(path.join(dir, 'yolo-trt.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(file.apiVersion).toBe(1);
    expect(file.providers).toHaveLength(1);
    const provider = file.providers[0]!;
    expect(provider.type).toBe('file');
    const source = hostPath(provider.options.path);
    expect(source, `compose mounts nothing at ${provider.options.path}`).toBeDefined();
    expect(existsSync(path.join(source!, 'yolo-trt.json'))).toBe(true);
    expect(path.join(source!, 'yolo-trt.json')).toBe(DASHBOARD);
  });
});
