// The shipped Prometheus files, checked by the tool that reads them (Debian's `prometheus` package:
// promtool check config / check rules / test rules), and every metric an alert uses checked against a
// real scrape of a server with drift monitoring and capture on.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildProfile, extractFeatures, fileSha256, saveProfile } from '../../dist/index.js';
import { fakeServer, modelPath } from '../server/helpers.js';

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
    expect(await promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: 4 rules found/);
    expect(await promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });

  it('uses only metric names a real server exports', async () => {
    const rules = await readFile(path.join(DIR, 'alerts.yml'), 'utf8');
    const used = new Set(
      [...rules.matchAll(/\b((?:nv|yolo_trt)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_bucket$/, '')),
    );
    expect(used.size).toBeGreaterThanOrEqual(5);

    const dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-deploy-'));
    try {
      const features = Array.from({ length: 30 }, (_, i) =>
        extractFeatures({
          width: 100 + i,
          height: 50,
          speed: { preprocess: 0, inference: 0, postprocess: 0 },
          detections: [{ box: [1, 2, 3, 4], conf: 0.5, cls: 0, name: 'person' }],
        }),
      );
      const profile = path.join(dir, 'profile.json');
      await saveProfile(
        profile,
        buildProfile(features, { file: 'm', sha256: await fileSha256(modelPath()), names: ['person'] }),
      );
      const { app } = await fakeServer({
        drift: { references: { fake: profile } },
        capture: { fake: { dir: path.join(dir, 'capture'), rate: 1 } },
      });
      try {
        const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body;
        const exported = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
        for (const name of used) expect(exported, name).toContain(name);
      } finally {
        await app.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
