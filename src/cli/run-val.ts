import { writeFile } from 'node:fs/promises';
import { Detector } from '../detector.js';
import type { BackendRequest } from '../options.js';
import { formatG } from '../results/format-g.js';
import type { ValResult } from '../val/validate.js';
import { EXIT_FAILURE, EXIT_OK, type CliContext } from './command.js';
import type { ValCliOptions } from './val.js';

const g3 = (x: number): string => formatG(x, 3);

/** Ultralytics' val table: class name, images, instances, P, R, mAP50, mAP50-95 (%.3g). */
export function formatValTable(r: ValResult): string {
  const row = (name: string, images: number, instances: number, values: number[]) =>
    name.padStart(22) +
    String(images).padStart(11) +
    String(instances).padStart(11) +
    values.map((v) => g3(v).padStart(11)).join('');
  const lines = [
    'Class'.padStart(22) +
      'Images'.padStart(11) +
      'Instances'.padStart(11) +
      ['Box(P', 'R', 'mAP50', 'mAP50-95)'].map((h) => h.padStart(11)).join(''),
    row('all', r.images, r.instances, [r.precision, r.recall, r.map50, r.map50_95]),
    ...r.classes.map((c) => row(c.name, c.images, c.instances, [c.precision, c.recall, c.map50, c.map50_95])),
  ];
  const s = r.speed;
  lines.push(
    `Speed: ${s.preprocess.toFixed(1)}ms preprocess, ${s.inference.toFixed(1)}ms inference, ` +
      `${s.postprocess.toFixed(1)}ms postprocess per image`,
  );
  return lines.join('\n');
}

/** One line per model: the overall numbers side by side (e.g. fp32 vs fp16 vs int8 engines). */
export function formatComparison(rows: { model: string; result: ValResult }[]): string {
  const width = Math.max(5, ...rows.map((r) => r.model.length));
  const head =
    'Model'.padEnd(width) + ['P', 'R', 'mAP50', 'mAP50-95', 'ms/img'].map((h) => h.padStart(11)).join('');
  return [
    head,
    ...rows.map(
      ({ model, result: r }) =>
        model.padEnd(width) +
        [r.precision, r.recall, r.map50, r.map50_95].map((v) => g3(v).padStart(11)).join('') +
        (r.speed.preprocess + r.speed.inference + r.speed.postprocess).toFixed(1).padStart(11),
    ),
  ].join('\n');
}

/** `yolo-trt val`: validates each model on the dataset, prints Ultralytics' table, optionally JSON. */
export async function runVal(options: ValCliOptions, ctx: CliContext): Promise<number> {
  const toStdout = options.json === '-';
  const info = toStdout ? ctx.stderr : ctx.stdout;
  const done: { model: string; result: ValResult }[] = [];
  const failed: { model: string; code: string; message: string }[] = [];
  for (const model of options.model) {
    let detector: Detector;
    try {
      detector = await Detector.create({ model, backend: options.backend as BackendRequest });
    } catch (err) {
      if (options.model.length === 1) throw err;
      const e = err as { code?: string; message?: string };
      failed.push({ model, code: e.code ?? 'ERR_INTERNAL', message: e.message ?? String(err) });
      ctx.stderr.write(`error [${e.code ?? 'ERR_INTERNAL'}] ${model}: ${e.message ?? String(err)}\n`);
      continue;
    }
    try {
      const result = await detector.val(options.data, {
        conf: options.conf,
        iou: options.iou,
        maxDet: options.maxDet,
        batch: options.batch,
        split: options.split,
      });
      for (const p of result.problems) ctx.stderr.write(`error [${p.code}] ${p.image}: ${p.message}\n`);
      info.write(`${model} (${detector.backend}) on ${options.data}\n${formatValTable(result)}\n\n`);
      done.push({ model, result });
    } finally {
      await detector.dispose();
    }
  }
  if (done.length > 1) info.write(`${formatComparison(done)}\n`);
  if (options.json !== undefined) {
    const body = `${JSON.stringify(done.length === 1 && failed.length === 0 ? { model: done[0]!.model, ...done[0]!.result } : { models: done.map((d) => ({ model: d.model, ...d.result })), failed }, null, 2)}\n`;
    if (toStdout) ctx.stdout.write(body);
    else await writeFile(options.json, body);
  }
  const problems = done.some((d) => d.result.problems.length > 0);
  return failed.length > 0 || problems ? EXIT_FAILURE : EXIT_OK;
}
