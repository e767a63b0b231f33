// Detector.describe() reports the backend choice (requested, name, reasons) next to the backend's own
// settings, rather than the backend's self-description overwriting it; the warmup option is checked.
import { describe, expect, it } from 'vitest';
import { Detector } from '../../dist/index.js';
import { imagePath, modelPath } from '../helpers/assets.js';

describe('Detector.describe and create options', () => {
  it('keeps the backend choice in describe().backend, with the backend settings beside it', async () => {
    const detector = await Detector.create({ model: modelPath(), backend: 'cpu', warmup: false });
    try {
      const d = detector.describe();
      expect(d.backend).toEqual(detector.backendChoice);
      expect(d.backend).toMatchObject({ requested: 'cpu', name: 'cpu' });
      expect(d).toMatchObject({ runtime: 'onnxruntime-node', model: modelPath() });
    } finally {
      await detector.dispose();
    }
  });

  it('refuses a warmup that is not a boolean', async () => {
    await expect(
      Detector.create({ model: modelPath(), backend: 'cpu', warmup: 'yes' as unknown as boolean }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('warms up by default and still gives the same detections afterwards', async () => {
    const detector = await Detector.create({ model: modelPath(), backend: 'cpu' });
    try {
      const r = await detector.detect(imagePath('bus.jpg'));
      expect(r.detections.map((x) => x.name).sort()).toEqual(['bus', 'person', 'person', 'person', 'person']);
    } finally {
      await detector.dispose();
    }
  });
});
