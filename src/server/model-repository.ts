import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { YoloTrtError } from '../errors.js';
import { HttpError } from './http-errors.js';
import {
  DEFAULT_MODEL_FILENAME,
  mergeModelConfig,
  parseModelConfig,
  selectVersions,
  type ModelConfig,
} from './model-config.js';

/**
 * The model repository (--model-repository), laid out like Triton's:
 *
 *   <repo>/<name>/config.json         optional, a ModelConfig
 *   <repo>/<name>/<version>/model.onnx  one directory per version (a number)
 *   <repo>/<name>.onnx                a single-version model (version 1)
 *
 * Only files inside the repository are ever opened: names are checked, and every path is resolved with
 * realpath (following symlinks) and must stay under the repository's own realpath.
 */

/** Model names are URL path segments and directory names: no separators, no dot-dot, no surprises. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkModelName(name: string): void {
  if (!MODEL_NAME.test(name) || name.includes('..')) {
    throw new HttpError(
      400,
      'ERR_BAD_REQUEST',
      `Expected a model name of letters, digits, '_', '-', '.' (no '..', at most 128) but received '${name.slice(0, 60)}'`,
    );
  }
}

export interface PlannedVersion {
  version: string;
  /** Real path of the model file. */
  path: string;
}

export interface RepositoryPlan {
  config: ModelConfig;
  versions: PlannedVersion[];
}

const VERSION_DIR = /^[0-9]{1,18}$/;

export class ModelRepository {
  /** Real path of the repository root. */
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  static async open(dir: string): Promise<ModelRepository> {
    let root: string;
    try {
      root = await realpath(path.resolve(dir));
      if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw new YoloTrtError(
        'ERR_INVALID_OPTION',
        `Expected a directory for --model-repository but received '${dir}'`,
        {
          cause: err,
        },
      );
    }
    return new ModelRepository(root);
  }

  /** Names of the models present (directories and .onnx files with valid names). */
  async list(): Promise<string[]> {
    const names = new Set<string>();
    for (const e of await readdir(this.root, { withFileTypes: true })) {
      const name = e.isDirectory() ? e.name : e.name.endsWith('.onnx') ? e.name.slice(0, -5) : null;
      if (name !== null && MODEL_NAME.test(name) && !name.includes('..')) names.add(name);
    }
    return [...names].sort();
  }

  async has(name: string): Promise<boolean> {
    checkModelName(name);
    return (
      (await this.#exists(path.join(this.root, name))) ||
      (await this.#exists(path.join(this.root, `${name}.onnx`)))
    );
  }

  /**
   * Finds the versions to serve for a model and its config (defaults < config.json < override).
   * Throws 404 when the model is not in the repository, 403 when a path leaves it.
   */
  async plan(
    name: string,
    defaults: ModelConfig,
    override: ModelConfig | undefined,
  ): Promise<RepositoryPlan> {
    checkModelName(name);
    const dir = path.join(this.root, name);
    if (await this.#isDirectory(dir)) {
      await this.#contained(dir, `model '${name}'`);
      let fileConfig: ModelConfig | undefined;
      const configPath = path.join(dir, 'config.json');
      if (await this.#exists(configPath)) {
        const real = await this.#contained(configPath, `config.json of model '${name}'`);
        let json: unknown;
        try {
          json = JSON.parse(await readFile(real, 'utf8'));
        } catch (err) {
          throw new HttpError(
            400,
            'ERR_BAD_REQUEST',
            `config.json of model '${name}' is not valid JSON: ${(err as Error).message}`,
          );
        }
        fileConfig = parseModelConfig(json, `config.json of model '${name}'`);
      }
      const config = mergeModelConfig(defaults, fileConfig, override);
      const found: string[] = [];
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (VERSION_DIR.test(e.name) && (e.isDirectory() || e.isSymbolicLink()))
          found.push(String(Number(e.name)));
      }
      const chosen = selectVersions(found, config.versionPolicy);
      if (chosen.length === 0) {
        throw new HttpError(
          404,
          'ERR_MODEL_NOT_FOUND',
          `model '${name}' has no version directory matching its version policy (found: ${found.join(', ') || 'none'})`,
        );
      }
      const filename = config.modelFilename ?? DEFAULT_MODEL_FILENAME;
      const versions: PlannedVersion[] = [];
      for (const version of chosen) {
        // The directory may be spelled "001"; find it back.
        const entry = (await readdir(dir)).find((d) => VERSION_DIR.test(d) && String(Number(d)) === version)!;
        const file = path.resolve(dir, entry, filename);
        const shown = path.relative(this.root, file);
        if (!this.#lexicallyInside(file)) throw outside(shown);
        if (!(await this.#exists(file))) {
          throw new HttpError(
            404,
            'ERR_MODEL_NOT_FOUND',
            `model '${name}' version ${version}: ${shown} does not exist`,
          );
        }
        versions.push({ version, path: await this.#contained(file, shown) });
      }
      return { config, versions };
    }
    const file = path.join(this.root, `${name}.onnx`);
    if (await this.#exists(file)) {
      const config = mergeModelConfig(defaults, override);
      return { config, versions: [{ version: '1', path: await this.#contained(file, `${name}.onnx`) }] };
    }
    throw new HttpError(404, 'ERR_MODEL_NOT_FOUND', `model '${name}' is not in the model repository`);
  }

  #lexicallyInside(p: string): boolean {
    const rel = path.relative(this.root, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  }

  /** Realpath of `p`, which must lie inside the repository (symlinks followed). */
  async #contained(p: string, shown: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(p);
    } catch {
      throw new HttpError(404, 'ERR_MODEL_NOT_FOUND', `${shown} does not exist in the model repository`);
    }
    if (!this.#lexicallyInside(real)) throw outside(shown);
    return real;
  }

  async #exists(p: string): Promise<boolean> {
    try {
      await stat(p);
      return true;
    } catch {
      return false;
    }
  }

  async #isDirectory(p: string): Promise<boolean> {
    try {
      return (await stat(p)).isDirectory();
    } catch {
      return false;
    }
  }
}

function outside(shown: string): HttpError {
  return new HttpError(
    403,
    'ERR_PATH_OUTSIDE_REPOSITORY',
    `${shown} resolves outside the model repository; only files inside --model-repository can be loaded`,
  );
}
