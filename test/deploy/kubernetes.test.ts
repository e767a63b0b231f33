// deploy/kubernetes/, checked offline (no cluster here): every object against the Kubernetes schemas of
// kubernetes-models, strictly (./k8s-schema.ts: unknown fields refused too), and against each other and
// the server: the container's flags are real `yolo-trt serve` flags, its probes answer on a real server,
// the Service and scrape annotations point at the ports the flags open, and the HPA's metric is the one
// the prometheus-adapter rule makes from a gauge a real server exports.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { validate as deploymentSchema } from 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment';
import { validate as hpaSchema } from 'kubernetes-models/_schemas/IoK8sApiAutoscalingV2HorizontalPodAutoscaler';
import { validate as pvcSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1PersistentVolumeClaim';
import { validate as serviceSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service';
import { strictErrors } from './k8s-schema.js';
import { realScrape } from './scrape.js';
import { parseServeArgs } from './serve-flags.js';
import { fakeServer } from '../server/helpers.js';

const DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const load = <T>(file: string) => parse(readFileSync(path.join(DIR, file), 'utf8')) as T;

interface Port {
  name: string;
  containerPort: number;
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  args: string[];
  ports: Port[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  startupProbe: Probe;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean };
}
interface DeploymentDoc {
  metadata: { name: string };
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: {
        securityContext: { runAsNonRoot: boolean; runAsUser: number };
        containers: ContainerSpec[];
        volumes: { name: string; persistentVolumeClaim?: { claimName: string; readOnly: boolean } }[];
      };
    };
  };
}
interface ServiceDoc {
  spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] };
}
interface HpaDoc {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    metrics: { type: string; pods: { metric: { name: string }; target: { type: string } } }[];
  };
}
interface AdapterRule {
  seriesQuery: string;
  resources: { overrides: Record<string, { resource: string }> };
  name: { matches: string; as: string };
  metricsQuery: string;
}

const deployment = load<DeploymentDoc>('deployment.yaml');
const service = load<ServiceDoc>('service.yaml');
const hpa = load<HpaDoc>('hpa.yaml');
const container = deployment.spec.template.spec.containers[0]!;
const flags = parseServeArgs(container.args);
const portOf = (flag: string) => Number(flags.get(flag));

describe('deploy/kubernetes objects', () => {
  const objects: [string, (d: unknown) => boolean, { validate(): void }][] = [
    ['deployment.yaml', deploymentSchema, new Deployment(load('deployment.yaml'))],
    ['service.yaml', serviceSchema, new Service(load('service.yaml'))],
    ['hpa.yaml', hpaSchema, new HorizontalPodAutoscaler(load('hpa.yaml'))],
    ['models-pvc.yaml', pvcSchema, new PersistentVolumeClaim(load('models-pvc.yaml'))],
  ];
  it.each(objects)('%s passes the Kubernetes schema, with no unknown field', (file, schema, model) => {
    expect(() => model.validate()).not.toThrow();
    expect(strictErrors(schema, load(file))).toEqual([]);
  });

  it('would catch a misspelt field and a wrong type', () => {
    const bad = structuredClone(deployment) as unknown as {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    bad.spec.template.spec.containers[0]!.readynessProbe = {};
    bad.spec.template.spec.containers[0]!.ports = [{ containerPort: '8000' }];
    const errors = strictErrors(deploymentSchema, bad);
    expect(errors).toContain('/spec/template/spec/containers/0/readynessProbe: unknown field');
    expect(errors.some((e) => e.includes('/containers/0/ports/0/containerPort type'))).toBe(true);
  });

  it('kustomization lists every object file', () => {
    const k = load<{ kind: string; resources: string[] }>('kustomization.yaml');
    expect(k.kind).toBe('Kustomization');
    expect(k.resources.sort()).toEqual(['deployment.yaml', 'hpa.yaml', 'models-pvc.yaml', 'service.yaml']);
    for (const f of k.resources) expect(existsSync(path.join(DIR, f)), f).toBe(true);
  });
});

describe('deploy/kubernetes/deployment.yaml', () => {
  it('runs yolo-trt serve with real flags on every interface', () => {
    expect(container.command).toEqual(['yolo-trt', 'serve']);
    expect(flags.get('--host')).toBe('0.0.0.0');
    expect(flags.get('--model-repository')).toBe('/models');
    const models = container.volumeMounts.find((m) => m.mountPath === '/models')!;
    expect(models.readOnly).toBe(true);
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === models.name)!;
    expect(volume.persistentVolumeClaim).toEqual({ claimName: 'yolo-trt-models', readOnly: true });
    expect(load<{ metadata: { name: string } }>('models-pvc.yaml').metadata.name).toBe('yolo-trt-models');
    for (const m of container.volumeMounts) {
      expect(deployment.spec.template.spec.volumes.map((v) => v.name)).toContain(m.name);
    }
  });

  it('names the ports the flags open, and points probes and scrapes at them', () => {
    const byName = new Map(container.ports.map((p) => [p.name, p.containerPort]));
    expect(byName.get('http')).toBe(portOf('--port'));
    expect(byName.get('grpc')).toBe(portOf('--grpc-port'));
    expect(byName.get('metrics')).toBe(portOf('--metrics-port'));
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(byName.has(String(probe.httpGet.port))).toBe(true);
    }
    const annotations = deployment.spec.template.metadata.annotations;
    expect(Number(annotations['prometheus.io/port'])).toBe(portOf('--metrics-port'));
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  it('probes routes a real server answers', async () => {
    const { app } = await fakeServer();
    try {
      for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
        const res = await app.inject({ method: 'GET', url: probe.httpGet.path });
        expect(res.statusCode, probe.httpGet.path).toBe(200);
      }
      expect(container.readinessProbe.httpGet.path).toBe('/v2/health/ready');
    } finally {
      await app.close();
    }
  });

  it('runs unprivileged as the CPU image user, read-only root', () => {
    const pod = deployment.spec.template.spec.securityContext;
    expect(pod.runAsNonRoot).toBe(true);
    // uid 1000 is `node` in the Node images docker/cpu.Dockerfile builds on (USER node).
    expect(pod.runAsUser).toBe(1000);
    expect(readFileSync(new URL('../../docker/cpu.Dockerfile', import.meta.url), 'utf8')).toMatch(
      /^USER node$/m,
    );
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    // The paths the server writes to are volumes: the engine cache and temporary files.
    const mounts = container.volumeMounts.map((m) => m.mountPath);
    expect(mounts).toEqual(expect.arrayContaining(['/var/cache/yolo-trt', '/tmp']));
  });
});

describe('deploy/kubernetes/service.yaml', () => {
  it('selects the pods and forwards to named container ports', () => {
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const names = container.ports.map((p) => p.name);
    for (const p of service.spec.ports) {
      expect(names).toContain(p.targetPort);
      expect(p.port).toBe(container.ports.find((c) => c.name === p.targetPort)!.containerPort);
    }
  });
});

describe('deploy/kubernetes/hpa.yaml and the prometheus-adapter rule', () => {
  const rules = load<{ rules: AdapterRule[] }>('prometheus-adapter-rules.yaml').rules;
  const rule = rules[0]!;
  const seriesMetric = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{/.exec(rule.seriesQuery)?.[1];

  it('scales the Deployment on the metric the adapter rule exposes', () => {
    expect(rules).toHaveLength(1);
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    const [metric] = hpa.spec.metrics;
    expect(metric!.type).toBe('Pods');
    expect(metric!.pods.target.type).toBe('AverageValue');
    // The adapter names the metric by applying name.matches / name.as to the series' name.
    expect(seriesMetric).toBeDefined();
    expect(new RegExp(rule.name.matches).test(seriesMetric!)).toBe(true);
    expect(seriesMetric!.replace(new RegExp(rule.name.matches), rule.name.as)).toBe(metric!.pods.metric.name);
  });

  it('maps the series to pods and namespaces, as a Pods metric needs', () => {
    expect(rule.resources.overrides).toEqual({
      namespace: { resource: 'namespace' },
      pod: { resource: 'pod' },
    });
    expect(rule.seriesQuery).toMatch(/namespace!=""/);
    expect(rule.seriesQuery).toMatch(/pod!=""/);
    for (const t of ['<<.Series>>', '<<.LabelMatchers>>', '<<.GroupBy>>'])
      expect(rule.metricsQuery).toContain(t);
  });

  it('reads a queue-depth gauge a real server exports', async () => {
    const scrape = await realScrape();
    expect(scrape.text).toMatch(new RegExp(`^# TYPE ${seriesMetric} gauge$`, 'm'));
    // The same gauge YoloTrtQueueSaturated watches.
    expect(readFileSync(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), 'utf8')).toContain(
      `(${seriesMetric}) > 48`,
    );
  });

  it('has a metricsQuery that is valid PromQL once the adapter fills it in', async () => {
    const query = rule.metricsQuery
      .replace('<<.Series>>', seriesMetric!)
      .replace('<<.LabelMatchers>>', 'namespace="default",pod=~"yolo-trt-a|yolo-trt-b"')
      .replace('<<.GroupBy>>', 'pod');
    const dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-adapter-'));
    try {
      const file = path.join(dir, 'rules.yml');
      await writeFile(
        file,
        JSON.stringify({ groups: [{ name: 'adapter', rules: [{ record: 'q', expr: query }] }] }),
      );
      const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', file]);
      expect(stdout).toMatch(/SUCCESS: 1 rules found/);
      expect(await readFile(file, 'utf8')).toContain('sum(nv_inference_pending_request_count{namespace=');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
