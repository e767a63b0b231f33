// `yolo-trt val` end to end on the shared coco8 sample: the table, the JSON, data.yaml handling, errors.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { ASSETS, modelPath } from '../helpers/assets.js';

// Real inference, ffmpeg and python3-opencv on a shared 2-core machine: allow time.
vi.setConfig({ testTimeout: 240000, hookTimeout: 240000 });

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin/yolo-trt.js');
const COCO8 = path.join(ASSETS, 'datasets/coco8');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

interface ValJson {
  images: number;
  instances: number;
  precision: number;
  recall: number;
  map50: number;
  map50_95: number;
  settings: { conf: number; iou: number; maxDet: number };
  classes: { name: string; instances: number; map50: number }[];
}

describe('yolo-trt val', () => {
  it('validates coco8 through a data.yaml: table on stderr with --json -, JSON on stdout', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-val-'));
    const yaml = path.join(dir, 'coco8.yaml');
    // Names from the yaml win over the model's (here: renamed person).
    await writeFile(
      yaml,
      `path: ${COCO8}\ntrain: images/train\nval: images/val\nnames:\n  0: human\n  16: dog\n`,
    );
    const r = await run(['val', '--model', modelPath(), '--data', yaml, '--backend', 'cpu', '--json', '-']);
    expect(r.stderr).toContain('Box(P');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as ValJson;
    expect(json.images).toBe(4);
    expect(json.instances).toBe(17); // the label lines of coco8's 4 val images
    expect(json.settings).toMatchObject({ conf: 0.001, iou: 0.7, maxDet: 300 });
    expect(json.classes.find((c) => c.name === 'human')?.instances).toBe(10);
    // A sane detector on its own training domain; exact values are the metric tests' job.
    expect(json.map50).toBeGreaterThan(0.5);
    expect(json.map50_95).toBeLessThan(json.map50);
    expect(r.stderr).toMatch(/^\s+all\s+4\s+17\s/m);
  });

  it('reports a missing dataset with ERR_DATASET and exit 1', async () => {
    const r = await run(['val', '--model', modelPath(), '--data', '/nonexistent/data', '--backend', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_DATASET');
  });
});
