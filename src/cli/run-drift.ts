import { Detector } from '../detector.js';
import { collectFeatures } from '../monitoring/detector-monitor.js';
import { DriftMonitor, type DriftReport } from '../monitoring/drift.js';
import { checkProfileModel, fileSha256, loadProfile } from '../monitoring/profile.js';
import type { BackendRequest } from '../options.js';
import { EXIT_FAILURE, EXIT_OK, type CliContext } from './command.js';
import { walkImages } from './walk-images.js';

/** `yolo-trt drift` exits with this when the batch is in drift alert. */
export const EXIT_DRIFT_ALERT = 3;

/** Parsed `drift` options. */
export interface DriftCommandOptions {
  profile: string;
  model: string;
  alpha?: number;
  warn?: number;
  alert?: number;
  conf?: number;
  iou?: number;
  backend: string;
  json?: boolean;
}

/** The report as an aligned text table, worst features first. */
export function formatDriftTable(report: DriftReport): string {
  const rows = Object.entries(report.features)
    .sort((a, b) => a[1].pValue - b[1].pValue)
    .map(([name, f]) => [
      name,
      f.psi !== undefined ? `psi ${f.psi.toFixed(3)}` : `js ${(f.js ?? 0).toFixed(3)}`,
      f.pValue.toExponential(1),
      f.adjustedPValue.toFixed(3),
      String(f.images),
      f.status,
    ]);
  const header = ['feature', 'score', 'p', 'adjusted p', 'images', 'status'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const verdict = !report.ready
    ? `no verdict: ${report.window} images, at least ${report.minWindow} needed`
    : report.alert
      ? `ALERT: ${report.alerts.join(', ')} (window p = ${report.pValue?.toFixed(3)})`
      : `no drift alert (window p = ${report.pValue?.toFixed(3)})`;
  return [line(header), ...rows.map(line), '', `${report.window} images: ${verdict}`].join('\n') + '\n';
}

export async function runDrift(
  sources: string[],
  options: DriftCommandOptions,
  ctx: CliContext,
): Promise<number> {
  const profile = await loadProfile(options.profile);
  const walked = await walkImages(sources);
  for (const p of walked.problems) ctx.stderr.write(`error [${p.code}] ${p.path}: ${p.message}\n`);
  const detector = await Detector.create({
    model: options.model,
    backend: options.backend as BackendRequest,
    ...(options.conf === undefined ? {} : { conf: options.conf }),
    ...(options.iou === undefined ? {} : { iou: options.iou }),
  });
  let report: DriftReport;
  try {
    checkProfileModel(profile, await fileSha256(detector.model.path), options.model);
    const thresholds = {
      ...(options.warn === undefined ? {} : { warn: options.warn }),
      ...(options.alert === undefined ? {} : { alert: options.alert }),
    };
    const features = await collectFeatures(detector, walked.images);
    const monitor = new DriftMonitor(profile, {
      window: Math.max(features.length, 10),
      minWindow: Math.min(25, Math.max(features.length, 10)),
      thresholds,
      ...(options.alpha === undefined ? {} : { alpha: options.alpha }),
    });
    for (const f of features) monitor.observe(f);
    report = monitor.report();
  } finally {
    await detector.dispose();
  }
  ctx.stdout.write(options.json === true ? JSON.stringify(report) + '\n' : formatDriftTable(report));
  if (walked.problems.length > 0) return EXIT_FAILURE;
  return report.alert ? EXIT_DRIFT_ALERT : EXIT_OK;
}
