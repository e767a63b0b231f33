// docker/*.Dockerfile, checked offline (no Docker engine or registry here, so no image is built):
// stages and their references, what each COPY takes from the repository (present, and not left out by
// .dockerignore), an unprivileged final stage, and an ENTRYPOINT / CMD / EXPOSE / HEALTHCHECK that agree
// with the real `yolo-trt serve` flags. scripts/build-jetson and CI still find the Jetson `artifact` stage.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  copyArgs,
  execForm,
  ignoredByDockerignore,
  parseDockerfile,
  type Dockerfile,
  type Stage,
} from './dockerfile.js';
import { parseServeArgs } from './serve-flags.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const dockerignore = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

const FILES = {
  cpu: 'docker/cpu.Dockerfile',
  tensorrt: 'docker/tensorrt.Dockerfile',
  jetson: 'docker/jetpack6.Dockerfile',
} as const;
const parsed = Object.fromEntries(
  Object.entries(FILES).map(([k, f]) => [k, parseDockerfile(read(f))]),
) as Record<keyof typeof FILES, Dockerfile>;
/** The stage a server image is built to. */
const SERVE_STAGE = { cpu: 'runtime', tensorrt: 'runtime', jetson: 'serve' } as const;

const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string) => all(stage, keyword).at(-1);
const stageNamed = (df: Dockerfile, name: string) => df.stages.find((s) => s.name === name)!;

describe.each(Object.entries(FILES) as [keyof typeof FILES, string][])('%s (%s)', (kind) => {
  const df = parsed[kind];
  const serve = stageNamed(df, SERVE_STAGE[kind]);

  it('refers only to earlier stages and copies only files the build context has', () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(2);
    const names = df.stages.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    df.stages.forEach((stage, i) => {
      const earlier = new Set(df.stages.slice(0, i).map((s) => s.name));
      // A FROM naming an earlier stage builds on it; anything else is an image reference.
      if (!earlier.has(stage.from)) expect(stage.from).toMatch(/^(scratch|[\w.\-/]+:[\w.-]+)$/);
      for (const ins of [...all(stage, 'COPY'), ...all(stage, 'ADD')]) {
        expect(ins.keyword, `line ${ins.line}`).toBe('COPY');
        const { options, sources } = copyArgs(ins.rest);
        const from = options.get('from');
        if (from !== undefined) {
          expect(earlier.has(from), `line ${ins.line}: --from=${from}`).toBe(true);
          continue;
        }
        for (const src of sources) {
          expect(existsSync(path.join(ROOT, src)), `line ${ins.line}: ${src}`).toBe(true);
          expect(
            ignoredByDockerignore(dockerignore, src),
            `line ${ins.line}: .dockerignore drops ${src}`,
          ).toBe(false);
        }
      }
    });
  });

  it('serves as an unprivileged user with real serve flags', () => {
    const user = last(serve, 'USER')?.rest;
    expect(user, 'USER in the serving stage').toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const entrypoint = execForm(last(serve, 'ENTRYPOINT')!.rest);
    expect(entrypoint.slice(0, 2)).toEqual(['yolo-trt', 'serve']);
    // docker run appends its arguments (or CMD) to the ENTRYPOINT: together they must parse.
    const flags = parseServeArgs([...entrypoint.slice(2), ...execForm(last(serve, 'CMD')!.rest)]);
    expect(flags.get('--host')).toBe('0.0.0.0');
    expect(flags.get('--model-repository')).toBe('/models');
    const exposed = last(serve, 'EXPOSE')!.rest.split(/\s+/);
    expect(exposed).toEqual([String(flags.get('--port')), String(flags.get('--grpc-port'))]);
    const health = last(serve, 'HEALTHCHECK')!.rest;
    expect(health).toContain(`http://127.0.0.1:${String(flags.get('--port'))}/v2/health/ready`);
    expect(execForm(health.slice(health.indexOf('CMD ') + 4))[0]).toBe('node');
  });

  it('puts what the CLI loads at run time into the serving stage', () => {
    const copies = all(serve, 'COPY').map((i) => copyArgs(i.rest));
    const dests = copies.map((c) => c.dest.replace(/^\.\//, ''));
    for (const needed of ['package.json', 'node_modules', 'dist', 'prebuilds', 'bin']) {
      expect(dests, needed).toContain(needed);
    }
    // dist/server/grpc/proto.js reads the protocol from the package's src/ folder.
    expect(read('src/server/grpc/proto.ts')).toContain("'../../../src/server/grpc/inference.proto'");
    expect(dests).toContain('src/server/grpc/inference.proto');
    expect(last(serve, 'WORKDIR')!.rest).toBe('/opt/yolo-trt');
    expect(
      all(serve, 'RUN')
        .map((r) => r.rest)
        .join('\n'),
    ).toContain('ln -s /opt/yolo-trt/bin/yolo-trt.js /usr/local/bin/yolo-trt');
    // The engine cache is writable by that user; the dev dependencies stayed in the build.
    expect(last(serve, 'ENV')!.rest).toContain('YOLO_TRT_CACHE=/var/cache/yolo-trt');
    const built = df.stages.flatMap((s) => all(s, 'RUN').map((r) => r.rest)).join('\n');
    expect(built).toContain('npm ci --ignore-scripts');
    expect(built).toContain('npm prune --omit=dev');
    expect(
      all(serve, 'RUN')
        .map((r) => r.rest)
        .join('\n'),
    ).not.toMatch(/npm (ci|install)|apt-get install/);
  });
});

describe('the variant each image builds', () => {
  const prebuildVariant = (df: Dockerfile) =>
    /scripts\/prebuild\.mjs --variant=(\S+)/.exec(
      df.stages.flatMap((s) => all(s, 'RUN').map((r) => r.rest)).join('\n'),
    )?.[1];

  it('cpu: Node images, slim at run time, CPU addon', () => {
    const df = parsed.cpu;
    expect(df.stages[0]!.from).toMatch(/^node:24-bookworm$/);
    expect(stageNamed(df, 'runtime').from).toMatch(/^node:24-bookworm-slim$/);
    expect(df.stages.at(-1)!.name).toBe('runtime');
    expect(prebuildVariant(df)).toBe('cpu');
  });

  it("tensorrt: NVIDIA's TensorRT image, TensorRT addon", () => {
    const df = parsed.tensorrt;
    expect(df.globalArgs.get('TENSORRT_IMAGE')).toMatch(/^nvcr\.io\/nvidia\/tensorrt:\d\d\.\d\d-py3$/);
    expect(stageNamed(df, 'build').from).toBe(df.globalArgs.get('TENSORRT_IMAGE'));
    expect(stageNamed(df, 'runtime').from).toBe(df.globalArgs.get('TENSORRT_IMAGE'));
    expect(prebuildVariant(df)).toBe('tensorrt10');
    expect(read('scripts/prebuild.mjs')).toMatch(/^\s+tensorrt10: \{ cuda: true, tensorrt: 10,/m);
    expect(last(stageNamed(df, 'runtime'), 'CMD')!.rest).toContain('"--backend", "tensorrt"');
  });

  it('jetson: L4T JetPack base, and the artifact stage the build scripts use is unchanged', () => {
    const df = parsed.jetson;
    expect(df.globalArgs.get('BASE_IMAGE')).toMatch(/^nvcr\.io\/nvidia\/l4t-jetpack:r36\.\d+\.\d+$/);
    expect(stageNamed(df, 'serve').from).toBe(df.globalArgs.get('BASE_IMAGE'));
    const artifact = stageNamed(df, 'artifact');
    expect(artifact.from).toBe('scratch');
    expect(all(artifact, 'COPY').map((c) => c.rest)).toEqual(['--from=build /src/prebuilds /prebuilds']);
    for (const user of ['scripts/build-jetson', '.github/workflows/prebuild.yml']) {
      expect(read(user)).toMatch(/docker\/jetpack6\.Dockerfile[\s\S]*--target artifact/);
    }
    expect(prebuildVariant(df)).toBe('jetpack${JETPACK}');
  });
});

describe('.dockerignore', () => {
  it('keeps the build context to what the images copy', () => {
    for (const out of [
      'node_modules',
      '.git',
      'dist',
      'build',
      'build-prebuild-cpu',
      'prebuilds',
      'test/x.ts',
    ]) {
      expect(ignoredByDockerignore(dockerignore, out), out).toBe(true);
    }
    for (const kept of [
      'src/index.ts',
      'native/CMakeLists.txt',
      'package-lock.json',
      'scripts/prebuild.mjs',
    ]) {
      expect(ignoredByDockerignore(dockerignore, kept), kept).toBe(false);
    }
  });
});
