/**
 * Ultralytics' `key=value` command-line form (`yolo predict model=yolo11n.pt source=bus.jpg conf=0.5`)
 * rewritten into our flags, so commands copied from its docs run unchanged. Only known keys are
 * rewritten (a file name with '=' in it stays a file name); booleans take True/False like Python's.
 */
const FLAG_OF_KEY: Readonly<Record<string, string>> = {
  model: '--model',
  data: '--data',
  conf: '--conf',
  iou: '--iou',
  max_det: '--max-det',
  classes: '--classes',
  agnostic_nms: '--agnostic',
  device: '--device',
  half: '--half',
  batch: '--batch',
  imgsz: '--imgsz',
  save: '--save',
  save_txt: '--save-txt',
  save_conf: '--save-conf',
  save_crop: '--save-crop',
  project: '--project',
  name: '--name',
  exist_ok: '--exist-ok',
  line_width: '--line-width',
  vid_stride: '--vid-stride',
  split: '--split',
  tracker: '--tracker',
  persist: '--persist',
};

/** Keys whose False value is a different flag (Ultralytics shows what we hide). */
const NEGATED: Readonly<Record<string, string>> = { show_labels: '--hide-labels', show_conf: '--hide-conf' };

const BOOLEAN_KEYS = new Set([
  'half',
  'save',
  'save_txt',
  'save_conf',
  'save_crop',
  'exist_ok',
  'agnostic_nms',
  'persist',
]);

function isTrue(v: string): boolean | null {
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no|none)$/i.test(v)) return false;
  return null;
}

/** Rewrites `key=value` arguments after the command name; `source=` becomes a positional argument. */
export function rewriteKeyValueArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const m = /^([a-z_]+)=(.*)$/s.exec(arg);
    if (m === null) {
      out.push(arg);
      continue;
    }
    const key = m[1]!;
    const value = m[2]!;
    if (key === 'source') {
      out.push(value);
    } else if (key in NEGATED) {
      if (isTrue(value) === false) out.push(NEGATED[key]!);
    } else if (BOOLEAN_KEYS.has(key) && isTrue(value) !== null) {
      if (isTrue(value)) out.push(FLAG_OF_KEY[key]!);
    } else if (key in FLAG_OF_KEY) {
      // classes=[0,2] or classes=0,2 -> --classes 0,2
      out.push(FLAG_OF_KEY[key]!, key === 'classes' ? value.replace(/[[\]\s]/g, '') : value);
    } else {
      out.push(arg);
    }
  }
  return out;
}
