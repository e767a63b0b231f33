// deploy/kserve/, checked offline (no cluster, and no npm package carries KServe's CRD models): the
// ServingRuntime and InferenceService fields are the ones KServe's Go types define (serving.kserve.io
// v1alpha1 ServingRuntimeSpec, v1beta1 PredictorSpec / ModelSpec), and what those types embed from
// Kubernetes (Container, PodSpec, ObjectMeta) is validated strictly with kubernetes-models' schemas.
// The runtime must do what KServe expects of a custom v2 runtime: HTTP on 8080, the model storage
// mounted at /mnt/models, the v2 protocol.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validate as containerSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Container';
import { validate as configMapSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap';
import { validate as podSpecSchema } from 'kubernetes-models/_schemas/IoK8sApiCoreV1PodSpec';
import { strictErrors } from './k8s-schema.js';
import { parseServeArgs } from './serve-flags.js';
import { fakeServer } from '../server/helpers.js';

const DIR = fileURLToPath(new URL('../../deploy/kserve/', import.meta.url));
type Doc = Record<string, unknown>;
const load = (file: string) => parse(readFileSync(path.join(DIR, file), 'utf8')) as Doc;
const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys of `obj` outside `known`, as errors at `where`. */
const unknownKeys = (obj: Doc, known: readonly string[], where: string) =>
  Object.keys(obj)
    .filter((k) => !known.includes(k))
    .map((k) => `${where}/${k}: unknown field`);

const pick = (obj: Doc, keys: readonly string[]) =>
  Object.fromEntries(Object.entries(obj).filter(([k]) => keys.includes(k)));

// v1alpha1.ServingRuntimeSpec: its own fields plus the inlined ServingRuntimePodSpec.
const RUNTIME_SPEC = [
  'supportedModelFormats',
  'multiModel',
  'disabled',
  'protocolVersions',
  'workerSpec',
  'grpcEndpoint',
  'grpcDataEndpoint',
  'httpDataEndpoint',
  'replicas',
  'storageHelper',
  'builtInAdapter',
];
const RUNTIME_POD_SPEC = [
  'containers',
  'volumes',
  'nodeSelector',
  'affinity',
  'tolerations',
  'labels',
  'annotations',
  'imagePullSecrets',
  'hostIPC',
];
const MODEL_FORMAT = ['name', 'version', 'autoSelect', 'priority'];
// constants.InferenceServiceProtocol values.
const PROTOCOLS = ['v1', 'v2', 'grpc-v1', 'grpc-v2'];
// v1beta1.ComponentExtensionSpec (inlined in PredictorSpec, next to a PodSpec and the model).
const COMPONENT_EXTENSION = [
  'minReplicas',
  'maxReplicas',
  'scaleTarget',
  'scaleMetric',
  'scaleMetricType',
  'autoScaling',
  'containerConcurrency',
  'timeout',
  'canaryTrafficPercent',
  'logger',
  'batcher',
  'labels',
  'annotations',
  'deploymentStrategy',
];
// v1beta1.ModelSpec: modelFormat and runtime, PredictorExtensionSpec's fields, and an inlined Container.
const MODEL_SPEC = ['modelFormat', 'runtime', 'storageUri', 'runtimeVersion', 'protocolVersion', 'storage'];
// The storage initializer's schemes (a PVC, object stores, HTTP, Hugging Face, OCI).
const STORAGE_URI = /^(gs|s3|pvc|https?|hdfs|webhdfs|hf|oci):\/\/[^\s]+$/;

/** Strict ObjectMeta check for `metadata` (through a ConfigMap, the plainest object that embeds one). */
const metaErrors = (doc: Doc) =>
  isObject(doc.metadata)
    ? strictErrors(configMapSchema, { apiVersion: 'v1', kind: 'ConfigMap', metadata: doc.metadata })
    : ['/metadata missing'];

function runtimeErrors(doc: Doc): string[] {
  const errors = [...unknownKeys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], ''), ...metaErrors(doc)];
  if (doc.apiVersion !== 'serving.kserve.io/v1alpha1') errors.push(`/apiVersion ${String(doc.apiVersion)}`);
  if (doc.kind !== 'ServingRuntime' && doc.kind !== 'ClusterServingRuntime')
    errors.push(`/kind ${String(doc.kind)}`);
  const spec = doc.spec;
  if (!isObject(spec)) return [...errors, '/spec missing'];
  errors.push(...unknownKeys(spec, [...RUNTIME_SPEC, ...RUNTIME_POD_SPEC], '/spec'));
  const formats = spec.supportedModelFormats;
  if (!Array.isArray(formats) || formats.length === 0) errors.push('/spec/supportedModelFormats: none');
  else {
    formats.forEach((f: unknown, i) => {
      const at = `/spec/supportedModelFormats/${i}`;
      if (!isObject(f)) return errors.push(`${at}: not an object`);
      errors.push(...unknownKeys(f, MODEL_FORMAT, at));
      if (typeof f.name !== 'string' || f.name === '') errors.push(`${at}/name: required string`);
      if (f.version !== undefined && typeof f.version !== 'string') errors.push(`${at}/version: string`);
      if (f.autoSelect !== undefined && typeof f.autoSelect !== 'boolean')
        errors.push(`${at}/autoSelect: boolean`);
      if (f.priority !== undefined && !(Number.isInteger(f.priority) && (f.priority as number) >= 1)) {
        errors.push(`${at}/priority: integer >= 1`);
      }
    });
  }
  const protocols = spec.protocolVersions;
  if (!Array.isArray(protocols) || protocols.some((p) => !PROTOCOLS.includes(p as string))) {
    errors.push(`/spec/protocolVersions: ${JSON.stringify(protocols)}`);
  }
  // The pod-level fields are PodSpec's (labels / annotations are plain string maps).
  errors.push(
    ...strictErrors(
      podSpecSchema,
      pick(
        spec,
        RUNTIME_POD_SPEC.filter((k) => !['labels', 'annotations'].includes(k)),
      ),
      '/spec',
    ),
  );
  for (const key of ['labels', 'annotations']) {
    if (
      spec[key] !== undefined &&
      (!isObject(spec[key]) || Object.values(spec[key]).some((v) => typeof v !== 'string'))
    ) {
      errors.push(`/spec/${key}: map of strings`);
    }
  }
  return errors;
}

function inferenceServiceErrors(doc: Doc): string[] {
  const errors = [...unknownKeys(doc, ['apiVersion', 'kind', 'metadata', 'spec'], ''), ...metaErrors(doc)];
  if (doc.apiVersion !== 'serving.kserve.io/v1beta1') errors.push(`/apiVersion ${String(doc.apiVersion)}`);
  if (doc.kind !== 'InferenceService') errors.push(`/kind ${String(doc.kind)}`);
  const spec = doc.spec;
  if (!isObject(spec)) return [...errors, '/spec missing'];
  errors.push(...unknownKeys(spec, ['predictor', 'explainer', 'transformer'], '/spec'));
  const predictor = spec.predictor;
  if (!isObject(predictor)) return [...errors, '/spec/predictor: required'];
  const podKeys = Object.keys(predictor).filter((k) => k !== 'model' && !COMPONENT_EXTENSION.includes(k));
  // Anything else on the predictor is a PodSpec field (containers optional there).
  errors.push(
    ...strictErrors(podSpecSchema, { containers: [], ...pick(predictor, podKeys) }, '/spec/predictor'),
  );
  for (const k of ['minReplicas', 'maxReplicas']) {
    if (predictor[k] !== undefined && !Number.isInteger(predictor[k]))
      errors.push(`/spec/predictor/${k}: integer`);
  }
  const model = predictor.model;
  if (!isObject(model)) return [...errors, '/spec/predictor/model: required'];
  const modelFormat = model.modelFormat;
  if (!isObject(modelFormat) || typeof modelFormat.name !== 'string') {
    errors.push('/spec/predictor/model/modelFormat/name: required string');
  } else {
    errors.push(...unknownKeys(modelFormat, ['name', 'version'], '/spec/predictor/model/modelFormat'));
  }
  for (const k of ['runtime', 'storageUri', 'runtimeVersion', 'protocolVersion']) {
    if (model[k] !== undefined && typeof model[k] !== 'string')
      errors.push(`/spec/predictor/model/${k}: string`);
  }
  if (model.protocolVersion !== undefined && !PROTOCOLS.includes(model.protocolVersion as string)) {
    errors.push(`/spec/predictor/model/protocolVersion: ${String(model.protocolVersion)}`);
  }
  if (typeof model.storageUri === 'string' && !STORAGE_URI.test(model.storageUri)) {
    errors.push(`/spec/predictor/model/storageUri: ${model.storageUri}`);
  }
  // The rest of the model is an inlined Container (KServe fills in its name).
  const containerKeys = Object.keys(model).filter((k) => !MODEL_SPEC.includes(k));
  errors.push(
    ...strictErrors(
      containerSchema,
      { name: 'kserve-container', ...pick(model, containerKeys) },
      '/spec/predictor/model',
    ),
  );
  return errors;
}

const runtime = load('serving-runtime.yaml');
const isvc = load('inference-service.yaml');
interface RuntimeContainer {
  name: string;
  command: string[];
  args: string[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: number } };
}
const runtimeSpec = runtime.spec as {
  annotations: Record<string, string>;
  supportedModelFormats: { name: string; version?: string; autoSelect?: boolean }[];
  protocolVersions: string[];
  containers: RuntimeContainer[];
};
const model = (isvc.spec as { predictor: { model: Record<string, unknown> } }).predictor.model as {
  modelFormat: { name: string; version?: string };
  runtime: string;
  protocolVersion: string;
  storageUri: string;
};

describe('deploy/kserve/serving-runtime.yaml', () => {
  it('has only fields KServe and Kubernetes define, with the right types', () => {
    expect(runtimeErrors(runtime)).toEqual([]);
    for (const [i, c] of runtimeSpec.containers.entries()) {
      expect(strictErrors(containerSchema, c, `/spec/containers/${i}`)).toEqual([]);
    }
  });

  it('would catch a misspelt or mistyped field', () => {
    const bad = structuredClone(runtime) as {
      spec: Doc & { containers: Doc[]; supportedModelFormats: Doc[] };
    };
    bad.spec.protocolVersion = ['v2'];
    bad.spec.supportedModelFormats[0]!.autoselect = true;
    bad.spec.containers[0]!.arg = [];
    const errors = runtimeErrors(bad);
    expect(errors).toContain('/spec/protocolVersion: unknown field');
    expect(errors).toContain('/spec/supportedModelFormats/0/autoselect: unknown field');
    expect(errors).toContain('/spec/containers/0/arg: unknown field');
  });

  it("serves KServe's port and storage path over v2 with real serve flags", () => {
    expect(runtimeSpec.protocolVersions).toContain('v2');
    expect(runtimeSpec.containers).toHaveLength(1);
    const c = runtimeSpec.containers[0]!;
    // KServe injects the storage initializer and its volume into the container named kserve-container.
    expect(c.name).toBe('kserve-container');
    expect(c.command).toEqual(['yolo-trt', 'serve']);
    const flags = parseServeArgs(c.args);
    expect(flags.get('--port')).toBe('8080');
    expect(flags.get('--host')).toBe('0.0.0.0');
    expect(flags.get('--model-repository')).toBe('/mnt/models');
    expect(flags.get('--grpc-port')).toBe('8081');
    expect(c.ports).toEqual([{ name: 'http1', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet.port).toBe(8080);
    expect(runtimeSpec.annotations['prometheus.kserve.io/port']).toBe('8080');
    expect(runtimeSpec.annotations['prometheus.kserve.io/path']).toBe('/metrics');
  });

  it('answers its readiness probe and metrics path on a real server', async () => {
    const { app } = await fakeServer();
    try {
      const c = runtimeSpec.containers[0]!;
      expect((await app.inject({ method: 'GET', url: c.readinessProbe.httpGet.path })).statusCode).toBe(200);
      const metrics = await app.inject({
        method: 'GET',
        url: runtimeSpec.annotations['prometheus.kserve.io/path']!,
      });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('nv_inference_request_success');
    } finally {
      await app.close();
    }
  });
});

describe('deploy/kserve/inference-service.yaml', () => {
  it('has only fields KServe and Kubernetes define, with the right types', () => {
    expect(inferenceServiceErrors(isvc)).toEqual([]);
  });

  it('would catch a misspelt or mistyped field', () => {
    const bad = structuredClone(isvc) as { spec: { predictor: Doc & { model: Doc } } };
    bad.spec.predictor.model.storageURI = 's3://x';
    bad.spec.predictor.model.resources = { limits: { cpu: [] } };
    bad.spec.predictor.minReplica = 1;
    const errors = inferenceServiceErrors(bad);
    expect(errors).toContain('/spec/predictor/model/storageURI: unknown field');
    expect(errors).toContain('/spec/predictor/minReplica: unknown field');
    expect(errors.some((e) => e.startsWith('/spec/predictor/model/resources/limits/cpu'))).toBe(true);
  });

  it('runs on the yolo-trt runtime with a format and protocol it supports', () => {
    expect(model.runtime).toBe((runtime.metadata as { name: string }).name);
    expect(runtimeSpec.supportedModelFormats).toContainEqual(expect.objectContaining(model.modelFormat));
    // Unset, KServe assumes v1, which this runtime does not declare.
    expect(model.protocolVersion).toBe('v2');
    expect(runtimeSpec.protocolVersions).toContain(model.protocolVersion);
    expect(model.storageUri).toMatch(STORAGE_URI);
  });
});
