import { Detector } from '../detector.js';
import { collectFeatures } from '../monitoring/detector-monitor.js';
import { buildProfile, fileSha256, profileModelFile, saveProfile } from '../monitoring/profile.js';
import type { BackendRequest } from '../options.js';
import { CliUsageError, EXIT_FAILURE, EXIT_OK, type CliContext } from './command.js';
import { walkImages } from './walk-images.js';

/** Parsed `profile` options. */
export interface ProfileCommandOptions {
  model: string;
  output: string;
  images?: string[];
  conf?: number;
  iou?: number;
  backend: string;
}

export async function runProfile(
  sources: string[],
  options: ProfileCommandOptions,
  ctx: CliContext,
): Promise<number> {
  if (sources.length === 0) throw new CliUsageError('profile needs reference images (--images DIR or paths)');
  const walked = await walkImages(sources);
  for (const p of walked.problems) ctx.stderr.write(`error [${p.code}] ${p.path}: ${p.message}\n`);
  const detector = await Detector.create({
    model: options.model,
    backend: options.backend as BackendRequest,
    ...(options.conf === undefined ? {} : { conf: options.conf }),
    ...(options.iou === undefined ? {} : { iou: options.iou }),
  });
  try {
    const features = await collectFeatures(detector, walked.images, {
      onProgress: (done, total) => {
        if (ctx.stderr.isTTY === true) ctx.stderr.write(`\rprofile: ${done}/${total} images`);
      },
    });
    if (ctx.stderr.isTTY === true) ctx.stderr.write('\n');
    const profile = buildProfile(features, {
      file: profileModelFile(detector.model.path),
      sha256: await fileSha256(detector.model.path),
      names: detector.model.names,
    });
    await saveProfile(options.output, profile);
    const measured = Object.keys(profile.features).length;
    ctx.stdout.write(
      `profile: ${profile.images} images, ${measured} features + class mix (${profile.classes.detections} detections) -> ${options.output}\n`,
    );
    if (profile.features.lumaMean === undefined) {
      ctx.stderr.write(
        `warning: backend ${detector.backend} does not measure pixel statistics; the profile has size and output features only\n`,
      );
    }
  } finally {
    await detector.dispose();
  }
  return walked.problems.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
