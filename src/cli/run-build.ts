/** `yolo-trt build`: resolve options, then obtain (find or build) the plan, printing progress. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { obtainPlan, requireTensorRt } from '../backends/tensorrt-plan.js';
import { resolveTensorRtOptions } from '../backends/tensorrt-options.js';
import { enginePaths } from '../engine-cache/cache-dir.js';
import { joinEngineFile } from '../model/engine-file.js';
import { readModelInfo } from '../model/load-model.js';
import { resolveImgsz } from '../options.js';
import type { TrtBuildProgress } from '../native/binding.js';
import { callNative, loadNative } from '../native/load.js';
import type { BuildOptions } from './build.js';
import { EXIT_OK, type CliContext } from './command.js';

/** Prints TensorRT's build phases: top-level phase starts, and step counts of the phase in progress. */
function progressPrinter(ctx: CliContext): (event: TrtBuildProgress) => void {
  const tty = ctx.stderr.isTTY === true;
  const totals = new Map<string, number>();
  return (event) => {
    if (event.kind === 'start') {
      totals.set(event.phase, event.steps);
      if (event.parent === null)
        ctx.stderr.write(`${tty ? '\r\x1b[K' : ''}  ${event.phase}${tty ? '' : '\n'}`);
    } else if (event.kind === 'step' && tty) {
      const total = totals.get(event.phase) ?? 0;
      ctx.stderr.write(`\r\x1b[K  ${event.phase} ${event.step + 1}/${total}`);
    } else if (event.kind === 'finish' && tty && event.parent === null) {
      ctx.stderr.write('\n');
    }
  };
}

export async function runBuild(options: BuildOptions, ctx: CliContext): Promise<number> {
  const model = await readModelInfo(options.model, { imgsz: resolveImgsz(options.imgsz) });
  const native = loadNative();
  const trt = requireTensorRt(native, options.device ?? 0);
  const resolved = resolveTensorRtOptions(
    model,
    {
      precision: options.precision as 'fp16' | 'fp32' | 'int8' | undefined,
      maxBatch: options.batch,
      workspaceMb: options.workspace,
      device: options.device,
      cacheDir: options.cacheDir,
      calibDir: options.calib,
      rebuild: options.rebuild === true,
    },
    process.env,
    trt.features.stronglyTyped,
  );
  if (resolved.precision === 'int8' && !trt.features.int8Calibration && options.calib !== undefined) {
    ctx.stderr.write(
      `note: TensorRT ${trt.version} has no INT8 calibration: --calib is ignored and the model must carry Q/DQ nodes\n`,
    );
  }

  const abort = new AbortController();
  const onSigint = (): void => {
    ctx.stderr.write('\ncancelling the build...\n');
    abort.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onSigint);
  let obtained;
  try {
    obtained = await obtainPlan(native, model, resolved, {
      onProgress: progressPrinter(ctx),
      log: (line) => ctx.stderr.write(`${line}\n`),
      signal: abort.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }

  // Prove the plan loads here (a cache hit from another machine's copy would fail now, not at serve time).
  const engine = await callNative(() =>
    trt.loadEngine(obtained.plan, { contexts: 1, maxBatch: 0, device: resolved.device }),
  );
  const info = engine.info;
  await callNative(() => engine.dispose());

  const plan = enginePaths(resolved.cacheDir, obtained.key).plan;
  ctx.stdout.write(
    [
      `engine  ${plan}${obtained.fromCache ? ' (cached)' : ''}`,
      `model   ${resolve(model.path)}`,
      `tensorrt ${trt.version}, ${resolved.precision}, input ${info.inputType} ${info.width}x${info.height}, batch ${info.dynamicBatch ? `${info.minBatch}..${info.maxBatch}` : info.maxBatch}`,
      ...(obtained.meta !== null ? [`built in ${obtained.meta.buildSeconds} s`] : []),
      '',
    ].join('\n'),
  );
  if (options.output !== undefined) {
    const header = {
      description: `yolo-trt engine for ${model.path}`,
      task: 'detect',
      stride: model.stride,
      batch: info.maxBatch,
      imgsz: model.imgsz,
      names: Object.fromEntries(model.names.map((n, i) => [String(i), n])),
      half: info.inputType === 'float16' || resolved.precision === 'fp16',
      int8: resolved.precision === 'int8',
      dynamic: info.dynamicBatch,
    };
    await writeFile(options.output, joinEngineFile(header, obtained.plan));
    ctx.stdout.write(`wrote ${resolve(options.output)}\n`);
  }
  return EXIT_OK;
}
