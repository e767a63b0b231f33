/**
 * A drift reference profile: per feature, a histogram over bins fixed by the reference's own quantiles,
 * the number of observations and images behind it, and the class mix; tied to one model by its sha256
 * (features of another model's outputs mean nothing against it). Stored as JSON.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { YoloTrtError } from '../errors.js';
import {
  CLASS_FEATURE,
  CONTINUOUS_FEATURES,
  type ContinuousFeature,
  type ImageFeatures,
} from './features.js';
import { binOf, histogram, quantileEdges } from './histogram.js';

export const PROFILE_FORMAT = 'yolo-trt-drift-profile';
export const PROFILE_VERSION = 1;

/** Fewest images a profile is made from: below this no window comparison can say anything. */
export const MIN_PROFILE_IMAGES = 25;
/** Fewest images a feature needs in the reference to be compared at all. */
const MIN_FEATURE_IMAGES = 10;
/** Most bins per feature (PSI's customary 10), fewer for small references: ~5 observations per bin. */
const MAX_BINS = 10;
const OBSERVATIONS_PER_BIN = 5;
/** Classes with at least this share of the reference's detections get their own category (at most 15). */
const MIN_CLASS_SHARE = 0.01;
const MAX_CLASS_CATEGORIES = 15;

export interface FeatureHistogram {
  /** Inner bin edges (bin j holds edges[j-1] < v <= edges[j]); counts has edges.length + 1 entries. */
  edges: number[];
  counts: number[];
  /** Values counted (one per image, or one per detection for per-detection features). */
  observations: number;
  /** Images that contributed at least one value. */
  images: number;
}

export interface ClassMix {
  /** Class ids with their own category, most frequent first; everything else is counted as 'other'. */
  categories: number[];
  /** Detections per category, then the 'other' count (categories.length + 1 entries). */
  counts: number[];
  detections: number;
  /** Images that had at least one detection. */
  images: number;
}

export interface DriftProfile {
  format: typeof PROFILE_FORMAT;
  version: typeof PROFILE_VERSION;
  createdAt: string;
  model: { file: string; sha256: string; names: string[] };
  images: number;
  features: Partial<Record<ContinuousFeature, FeatureHistogram>>;
  classes: ClassMix;
  /**
   * Per reference image, per feature of `sampleFeatures` (the profile's continuous features, then
   * 'classes'), the bins its values fell in: what the permutation test relabels (comparison.ts).
   */
  sampleFeatures: string[];
  samples: number[][][];
}

/** The features a profile's samples list, in order. */
export function sampleFeatureNames(features: DriftProfile['features']): string[] {
  return [...CONTINUOUS_FEATURES.filter((f) => features[f] !== undefined), CLASS_FEATURE];
}

/** One image's features as bins of the profile, in `sampleFeatures` order. */
export function binImage(
  profile: Pick<DriftProfile, 'features' | 'classes' | 'sampleFeatures'>,
  image: ImageFeatures,
): number[][] {
  return profile.sampleFeatures.map((name) => {
    if (name === CLASS_FEATURE) return image.classes.map((c) => classCategory(profile.classes, c));
    const h = profile.features[name as ContinuousFeature];
    const v = image.values[name as ContinuousFeature];
    if (h === undefined || v === undefined) return [];
    return v.filter((x) => Number.isFinite(x)).map((x) => binOf(h.edges, x));
  });
}

/** Category index of a class id in a class mix ('other' is the last). */
export function classCategory(mix: Pick<ClassMix, 'categories'>, cls: number): number {
  const i = mix.categories.indexOf(cls);
  return i < 0 ? mix.categories.length : i;
}

/** Builds a profile from the features of the reference images. */
export function buildProfile(
  features: readonly ImageFeatures[],
  model: { file: string; sha256: string; names: readonly string[] },
  now: Date = new Date(),
): DriftProfile {
  if (features.length < MIN_PROFILE_IMAGES) {
    throw new YoloTrtError(
      'ERR_INVALID_OPTION',
      `A drift profile needs at least ${MIN_PROFILE_IMAGES} images but received ${features.length}`,
    );
  }
  const out: Partial<Record<ContinuousFeature, FeatureHistogram>> = {};
  for (const name of CONTINUOUS_FEATURES) {
    const values: number[] = [];
    let images = 0;
    for (const f of features) {
      const v = f.values[name];
      if (v === undefined || v.length === 0) continue;
      images++;
      for (const x of v) if (Number.isFinite(x)) values.push(x);
    }
    if (images < MIN_FEATURE_IMAGES) continue;
    const bins = Math.max(2, Math.min(MAX_BINS, Math.floor(values.length / OBSERVATIONS_PER_BIN)));
    const edges = quantileEdges(values, bins);
    out[name] = { edges, counts: histogram(edges, values), observations: values.length, images };
  }
  const perClass = new Map<number, number>();
  let detections = 0;
  let withDetections = 0;
  for (const f of features) {
    if (f.classes.length > 0) withDetections++;
    for (const c of f.classes) {
      perClass.set(c, (perClass.get(c) ?? 0) + 1);
      detections++;
    }
  }
  const categories = [...perClass.entries()]
    .filter(([, n]) => n >= MIN_CLASS_SHARE * detections)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, MAX_CLASS_CATEGORIES)
    .map(([c]) => c);
  const counts = new Array<number>(categories.length + 1).fill(0);
  for (const f of features) for (const c of f.classes) counts[classCategory({ categories }, c)]! += 1;
  const classes = { categories, counts, detections, images: withDetections };
  const sampleFeatures = sampleFeatureNames(out);
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    createdAt: now.toISOString(),
    model: { file: model.file, sha256: model.sha256, names: [...model.names] },
    images: features.length,
    features: out,
    classes,
    sampleFeatures,
    samples: features.map((f) => binImage({ features: out, classes, sampleFeatures }, f)),
  };
}

/** sha256 (hex) of a model file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Refuses a profile made for another model. */
export function checkProfileModel(profile: DriftProfile, sha256: string, modelLabel: string): void {
  if (profile.model.sha256 !== sha256) {
    throw new YoloTrtError(
      'ERR_PROFILE_MODEL_MISMATCH',
      `The drift profile was made with model ${profile.model.file} (sha256 ${profile.model.sha256.slice(0, 12)}...) but ${modelLabel} has sha256 ${sha256.slice(0, 12)}...: make a profile with this model (yolo-trt profile)`,
      { details: { profileSha256: profile.model.sha256, modelSha256: sha256 } },
    );
  }
}

function invalid(source: string, what: string): YoloTrtError {
  return new YoloTrtError('ERR_PROFILE_INVALID', `Drift profile ${source}: ${what}`);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isFiniteArray = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Validates parsed JSON as a profile; every problem is an ERR_PROFILE_INVALID naming the field. */
export function parseProfile(json: unknown, source: string): DriftProfile {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw invalid(source, 'not a JSON object');
  const p = json as Record<string, unknown>;
  if (p.format !== PROFILE_FORMAT) throw invalid(source, `expected format '${PROFILE_FORMAT}'`);
  if (p.version !== PROFILE_VERSION) {
    throw invalid(
      source,
      `version ${String(p.version)} is not supported (this yolo-trt reads ${PROFILE_VERSION})`,
    );
  }
  const model = p.model as Record<string, unknown> | undefined;
  if (
    typeof model !== 'object' ||
    model === null ||
    typeof model.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(model.sha256) ||
    typeof model.file !== 'string' ||
    !Array.isArray(model.names) ||
    !model.names.every((n) => typeof n === 'string')
  ) {
    throw invalid(source, 'model must be { file, sha256 (64 hex digits), names }');
  }
  if (!isCount(p.images) || p.images < MIN_PROFILE_IMAGES) {
    throw invalid(source, `images must be an integer >= ${MIN_PROFILE_IMAGES}`);
  }
  if (typeof p.features !== 'object' || p.features === null)
    throw invalid(source, 'features must be an object');
  const features: Partial<Record<ContinuousFeature, FeatureHistogram>> = {};
  for (const [name, value] of Object.entries(p.features)) {
    if (!(CONTINUOUS_FEATURES as readonly string[]).includes(name))
      throw invalid(source, `unknown feature '${name}'`);
    const h = value as Record<string, unknown>;
    const edges = h.edges;
    if (
      typeof h !== 'object' ||
      h === null ||
      !isFiniteArray(edges) ||
      !Array.isArray(h.counts) ||
      !h.counts.every(isCount) ||
      h.counts.length !== edges.length + 1 ||
      edges.some((e, i) => i > 0 && e <= edges[i - 1]!) ||
      !isCount(h.observations) ||
      !isCount(h.images)
    ) {
      throw invalid(
        source,
        `feature '${name}' must have ascending edges, edges.length + 1 counts, observations and images`,
      );
    }
    features[name as ContinuousFeature] = {
      edges,
      counts: h.counts,
      observations: h.observations,
      images: h.images,
    };
  }
  const c = p.classes as Record<string, unknown> | undefined;
  if (
    typeof c !== 'object' ||
    c === null ||
    !Array.isArray(c.categories) ||
    !c.categories.every(isCount) ||
    !Array.isArray(c.counts) ||
    !c.counts.every(isCount) ||
    c.counts.length !== c.categories.length + 1 ||
    !isCount(c.detections) ||
    !isCount(c.images)
  ) {
    throw invalid(source, 'classes must be { categories, counts (categories + other), detections, images }');
  }
  const sampleFeatures = sampleFeatureNames(features);
  const bins = sampleFeatures.map((name) =>
    name === CLASS_FEATURE
      ? (c.counts as number[]).length
      : features[name as ContinuousFeature]!.counts.length,
  );
  const samples = p.samples;
  if (
    !Array.isArray(samples) ||
    samples.length !== p.images ||
    !samples.every(
      (img) =>
        Array.isArray(img) &&
        img.length === bins.length &&
        img.every((v: unknown, f) => Array.isArray(v) && v.every((b) => isCount(b) && b < bins[f]!)),
    )
  ) {
    throw invalid(source, `samples must hold, per image, the bins of ${sampleFeatures.join(', ')}`);
  }
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    createdAt: typeof p.createdAt === 'string' ? p.createdAt : '',
    model: { file: model.file, sha256: model.sha256, names: model.names as string[] },
    images: p.images,
    features,
    classes: {
      categories: c.categories as number[],
      counts: c.counts as number[],
      detections: c.detections,
      images: c.images,
    },
    sampleFeatures,
    samples: samples as number[][][],
  };
}

/** Reads and validates a profile file. */
export async function loadProfile(path: string): Promise<DriftProfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new YoloTrtError(
      'ERR_PROFILE_INVALID',
      `Cannot read drift profile ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(path, `not JSON (${(err as Error).message})`);
  }
  return parseProfile(json, path);
}

export async function saveProfile(path: string, profile: DriftProfile): Promise<void> {
  await writeFile(path, JSON.stringify(profile, null, 1) + '\n');
}

/** The `model.file` recorded in a profile: the model's file name (never the full local path). */
export function profileModelFile(path: string): string {
  return basename(path);
}
