// onnxruntime worker threads start with a clean execArgv: flags of the parent (here --input-type,
// which makes Node refuse to run the worker's file) must not reach them.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { imagePath, modelPath } from '../helpers/assets.js';

describe('onnxruntime workers', () => {
  it('load under `node --input-type=module -e`', async () => {
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const script = `
      import { Detector } from ${JSON.stringify(dist)};
      const d = await Detector.create({ model: ${JSON.stringify(modelPath())}, backend: 'cpu' });
      const r = await d.detect(${JSON.stringify(imagePath('bus.jpg'))});
      console.log('detections', r.detections.length);
      await d.dispose();`;
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      );
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^detections [1-9]/m);
  });
});
