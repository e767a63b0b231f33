// The demo page in headless Chromium (Debian's /usr/bin/chromium through playwright-core; no browser
// download): pick bus.jpg, see the boxes drawn with labels and timings.
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../dist/index.js';
import { imagePath, listen, modelPath } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`SKIPPED demo page test: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

describe.skipIf(!haveChromium)('demo page in headless Chromium', () => {
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    app = await createServer({
      models: [{ name: 'yolo11n', path: modelPath() }],
      processMetrics: false,
      token: 'demo-token',
    });
    base = await listen(app);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('detects bus.jpg and draws labelled boxes with timings', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/`);
    // The server has a token: the page says the model list needs one, then works once it is given.
    // Waits use selectors, not predicates: the page's CSP forbids the eval that string predicates need
    // (and this project's TypeScript has no DOM types for function ones).
    await page.waitForSelector('#status:has-text("token")');
    await page.fill('#token', 'demo-token');
    await page.dispatchEvent('#token', 'change');
    await page.waitForSelector('#model option[value="yolo11n"]', { state: 'attached' });
    await page.setInputFiles('#file', imagePath('bus.jpg'));
    await page.waitForSelector('#detections tr', { state: 'attached', timeout: 30_000 });

    const labels = await page.$$eval('#detections tr td:first-child', (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(labels.sort()).toEqual(['bus', 'person', 'person', 'person', 'person']);
    expect(await page.textContent('#status')).toMatch(/^5 detection\(s\) in bus\.jpg \(810x1080\)/);
    expect(await page.textContent('#timings')).toMatch(
      /inference \d+\.\d ms .*queue \d+\.\d ms .*round trip \d+\.\d ms/,
    );

    // The canvas holds the image at full size with coloured box outlines drawn over it.
    // The person box on the left starts near x=47, y=398 (original pixels): its outline is the first
    // class colour, red; the photo is drawn everywhere else.
    const canvas = (await page.evaluate(`(() => {
      const c = document.getElementById('canvas');
      const ctx = c.getContext('2d');
      return {
        width: c.width,
        height: c.height,
        edge: [...ctx.getImageData(47, 600, 1, 1).data],
        inside: [...ctx.getImageData(400, 500, 1, 1).data],
      };
    })()`)) as { width: number; height: number; edge: number[]; inside: number[] };
    expect(canvas).toMatchObject({ width: 810, height: 1080 });
    expect(canvas.edge[0]).toBeGreaterThan(200);
    expect(canvas.edge[1]).toBeLessThan(100);
    expect(canvas.inside[3]).toBe(255); // the photo itself was drawn
    // The page says what it is, which model runs, and links to the API and the metrics.
    expect(await page.textContent('h1')).toMatch(/YOLO object detection server/);
    await page.waitForSelector('#modelInfo:has-text("yolo11n")');
    expect(await page.textContent('#modelInfo')).toMatch(
      /Model yolo11n version 1: yolo11n\.onnx on the cpu backend, input 640x640, 80 classes/,
    );
    const links = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
    expect(links).toEqual(expect.arrayContaining(['/v2', '/metrics', '/v2/models/yolo11n/config']));

    // An image the server cannot decode: the error is shown and the previous results are gone.
    await page.setInputFiles('#file', {
      name: 'broken.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.from('not a jpeg'),
    });
    await page.waitForSelector('#status.error');
    expect(await page.textContent('#status')).toMatch(/Error 4\d\d/);
    expect(await page.$$eval('#detections tr', (rows) => rows.length)).toBe(0);
    expect(await page.textContent('#timings')).toBe('');
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of (400|415)/.test(p)));

    // The one expected failure is the model list asked for before the token was given.
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    expect(problems.length).toBeLessThanOrEqual(1);
    await page.close();
  });
});
