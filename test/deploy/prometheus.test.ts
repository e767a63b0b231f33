// The shipped Prometheus files, checked by the tool that reads them (Debian's `prometheus` package:
// promtool check config / check rules / test rules), and every metric an alert uses checked against a
// real scrape (./scrape.ts: drift monitoring and capture on, GPU gauges as a GPU host exports them).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { metricNames, realScrape } from './scrape.js';

const run = promisify(execFile);
const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));

async function promtool(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('promtool', args, { cwd: DIR });
  return stdout + stderr;
}

describe('deploy/prometheus', () => {
  it('has a valid config', async () => {
    expect(await promtool('check', 'config', 'prometheus.yml')).toMatch(/SUCCESS: prometheus.yml is valid/);
  });

  it('has valid rules that pass their unit tests', async () => {
    expect(await promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: 6 rules found/);
    expect(await promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });

  it('uses only metric names a real server exports', async () => {
    const rules = await readFile(path.join(DIR, 'alerts.yml'), 'utf8');
    const exprs = (parse(rules) as { groups: { rules: { expr: string }[] }[] }).groups.flatMap((g) =>
      g.rules.map((r) => r.expr),
    );
    const used = exprs.flatMap(metricNames);
    expect(new Set(used).size).toBeGreaterThanOrEqual(6);
    expect(used).toContain('yolo_trt_gpu_temperature_celsius');
    const scrape = await realScrape();
    expect(used.filter((n) => !scrape.names.has(n))).toEqual([]);
  });
});
