// deploy/compose.yaml, checked offline (no Docker engine here): its services, what they mount, and the
// ports and names they use agree with each other, with the image's ENTRYPOINT, and with the shipped
// Prometheus and Grafana files.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { execForm, parseDockerfile } from './dockerfile.js';
import { parseServeArgs } from './serve-flags.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

type Mount = { type: string; source: string; target: string; read_only?: boolean } | string;
interface ServiceDoc {
  build?: { context: string; dockerfile: string };
  image: string;
  command?: string[];
  ports?: string[];
  volumes?: Mount[];
  environment?: Record<string, string>;
  depends_on?: string[];
}
const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8')) as {
  services: Record<string, ServiceDoc>;
  volumes: Record<string, unknown>;
};
const services = compose.services;

/** The container ports a service publishes ('HOST:CONTAINER'). */
const published = (s: ServiceDoc) => (s.ports ?? []).map((p) => Number(p.split(':').at(-1)));
const bindMounts = (s: ServiceDoc) =>
  (s.volumes ?? []).filter((m): m is Exclude<Mount, string> => typeof m === 'object' && m.type === 'bind');

const yoloTrt = services['yolo-trt']!;
const dockerfilePath = path.resolve(DEPLOY, yoloTrt.build!.context, yoloTrt.build!.dockerfile);
const image = parseDockerfile(readFileSync(dockerfilePath, 'utf8'));
const runtime = image.stages.at(-1)!;
const entrypoint = execForm(runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)!.rest);
// compose's `command` replaces the image's CMD and is appended to its ENTRYPOINT.
const serveFlags = parseServeArgs([...entrypoint.slice(2), ...(yoloTrt.command ?? [])]);

describe('deploy/compose.yaml', () => {
  it('runs yolo-trt from the CPU Dockerfile, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['grafana', 'prometheus', 'yolo-trt']);
    expect(path.relative(DEPLOY, dockerfilePath)).toBe('../docker/cpu.Dockerfile');
    expect(path.resolve(DEPLOY, yoloTrt.build!.context)).toBe(path.resolve(DEPLOY, '..'));
    expect(entrypoint.slice(0, 2)).toEqual(['yolo-trt', 'serve']);
    expect(services.prometheus!.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(services.grafana!.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(services.prometheus!.depends_on).toContain('yolo-trt');
    expect(services.grafana!.depends_on).toContain('prometheus');
  });

  it('mounts the model repository read-only where serve reads it', () => {
    const models = (yoloTrt.volumes ?? []).find(
      (m) => typeof m === 'object' && m.target === serveFlags.get('--model-repository'),
    ) as Exclude<Mount, string> | undefined;
    expect(models).toBeDefined();
    expect(models!.read_only).toBe(true);
    // The host folder is the user's: compose refuses to start without it, with a message.
    expect(models!.source).toMatch(/^\$\{YOLO_TRT_MODELS:\?.+\}$/);
  });

  it('publishes the ports serve listens on, and Prometheus scrapes the service there', () => {
    expect(serveFlags.get('--host')).toBe('0.0.0.0');
    expect(published(yoloTrt)).toEqual([
      Number(serveFlags.get('--port')),
      Number(serveFlags.get('--grpc-port')),
    ]);
    const prom = parse(readFileSync(path.join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'yolo-trt')!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs.flatMap((c) => c.targets)).toEqual([
      `yolo-trt:${String(serveFlags.get('--port'))}`,
    ]);
    // No token in this stack: /metrics on the main port answers Prometheus.
    expect(serveFlags.has('--token')).toBe(false);
    expect(yoloTrt.environment?.YOLO_TRT_TOKEN).toBeUndefined();
  });

  it('gives Prometheus the shipped config and every rule file it names', () => {
    const prometheus = services.prometheus!;
    const configFlag = (prometheus.command ?? []).find((a) => a.startsWith('--config.file='))!;
    const configTarget = configFlag.slice('--config.file='.length);
    const mounts = bindMounts(prometheus);
    const config = mounts.find((m) => m.target === configTarget)!;
    expect(path.resolve(DEPLOY, config.source)).toBe(path.join(DEPLOY, 'prometheus/prometheus.yml'));
    const prom = parse(readFileSync(path.join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
    };
    expect(prom.rule_files.length).toBeGreaterThan(0);
    for (const rules of prom.rule_files) {
      // Rule paths are relative to the config file's folder.
      const target = path.posix.join(path.posix.dirname(configTarget), rules);
      const mount = mounts.find((m) => m.target === target);
      expect(mount, target).toBeDefined();
      expect(path.resolve(DEPLOY, mount!.source)).toBe(path.join(DEPLOY, 'prometheus', rules));
    }
    expect(published(prometheus)).toContain(9090);
  });

  it('points Grafana at the Prometheus service', () => {
    const ds = parse(
      readFileSync(path.join(DEPLOY, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
    ) as { datasources: { url: string }[] };
    const url = new URL(ds.datasources[0]!.url);
    expect(Object.keys(services)).toContain(url.hostname);
    expect(published(services[url.hostname]!)).toContain(Number(url.port));
    const home = services.grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    const dashboards = bindMounts(services.grafana!).find((m) => home.startsWith(`${m.target}/`))!;
    expect(existsSync(path.join(DEPLOY, dashboards.source, home.slice(dashboards.target.length)))).toBe(true);
  });

  it('mounts only files that exist, read-only, and declares its named volumes', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const m of bindMounts(s)) {
        expect(m.read_only, `${name}: ${m.target}`).toBe(true);
        if (m.source.startsWith('$')) continue; // the user's model folder
        expect(existsSync(path.resolve(DEPLOY, m.source)), `${name}: ${m.source}`).toBe(true);
      }
      for (const m of s.volumes ?? []) {
        if (typeof m === 'string') expect(Object.keys(compose.volumes)).toContain(m.split(':')[0]);
      }
    }
  });
});
