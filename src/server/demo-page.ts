import { createHash } from 'node:crypto';

/**
 * `GET /`: a one-file demo. It says what the server is, which model runs (from its config) and links to
 * the metadata, statistics and metrics. Pick or drop an image; it is POSTed to the detect route and the
 * boxes are drawn with labels and timings; every new request clears the previous results first. No external resources; the inline script is allowed by its hash in
 * the Content-Security-Policy, nothing else runs. With a token configured the page itself is public
 * (it holds no data) and asks for the token, which it sends as a bearer header.
 */

const SCRIPT = String.raw`
'use strict';
const $ = (id) => document.getElementById(id);
// Where the API is mounted: '' standalone, the plugin's prefix when embedded in another Fastify app.
const BASE = document.querySelector('meta[name="yolo-trt-base"]').content;
const canvas = $('canvas');
const ctx = canvas.getContext('2d');
const COLORS = ['#ff3838','#ff9d97','#ff701f','#ffb21d','#cfd231','#48f90a','#92cc17','#3ddb86','#1a9334','#00d4bb',
  '#2c99a8','#00c2ff','#344593','#6473ff','#0018ec','#8438ff','#520085','#cb38ff','#ff95c8','#ff37c7'];
const token = () => $('token').value.trim();
const headers = (extra) => Object.assign(token() ? { authorization: 'Bearer ' + token() } : {}, extra || {});
function status(text, isError) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}
async function loadModels() {
  try {
    const res = await fetch(BASE + '/v2/repository/index', { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: '{"ready":true}' });
    if (!res.ok) throw new Error((await res.json()).error);
    const names = [...new Set((await res.json()).map((m) => m.name))];
    const sel = $('model');
    sel.replaceChildren(...names.map((n) => new Option(n, n)));
    status(names.length ? 'Pick or drop an image.' : 'No model is ready.', !names.length);
    describeModel();
  } catch (err) {
    status('Cannot list models: ' + err.message + (token() ? '' : ' (a token may be needed)'), true);
  }
}
// What runs: the selected model's versions, backend, input size and classes, from its config.
async function describeModel() {
  const model = $('model').value;
  $('modelInfo').textContent = '';
  if (!model) return;
  const path = BASE + '/v2/models/' + encodeURIComponent(model);
  $('configLink').href = path + '/config';
  try {
    const res = await fetch(path + '/config', { headers: headers() });
    if (!res.ok) return;
    const c = await res.json();
    $('modelInfo').textContent = 'Model ' + c.name + ' version ' + c.version + ': ' + c.model_file + ' on the ' +
      c.backend + ' backend, input ' + c.imgsz.join('x') + ', ' + c.labels.length + ' classes.';
  } catch (err) {
    // the status line already says why listing failed
  }
}
// A new request starts from a blank slate: an error must not leave the previous image's results up.
function clearResults() {
  $('detections').replaceChildren();
  $('timings').textContent = '';
  canvas.width = 640;
  canvas.height = 360;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
}
function parseServerTiming(h) {
  const out = {};
  for (const part of (h || '').split(',')) {
    const m = /^\s*([\w-]+).*?dur=([\d.]+)/.exec(part);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
async function detect(file) {
  const model = $('model').value;
  if (!model) return status('No model selected.', true);
  clearResults();
  status('Detecting ' + file.name + ' ...');
  const bitmap = await createImageBitmap(file).catch(() => null);
  const q = new URLSearchParams({ conf: $('conf').value });
  const t0 = performance.now();
  let res;
  try {
    res = await fetch(BASE + '/v2/models/' + encodeURIComponent(model) + '/detect?' + q, {
      method: 'POST', headers: headers({ 'content-type': file.type || 'application/octet-stream' }), body: file });
  } catch (err) {
    return status('Request failed: ' + err.message, true);
  }
  const roundTrip = performance.now() - t0;
  const body = await res.json().catch(() => ({ error: 'not JSON' }));
  if (!res.ok) return status('Error ' + res.status + ' [' + (body.code || '?') + ']: ' + body.error, true);
  draw(bitmap, body);
  const st = parseServerTiming(res.headers.get('server-timing'));
  const f = (v) => (v === undefined ? '-' : v.toFixed(1) + ' ms');
  $('timings').textContent = 'preprocess ' + f(body.speed.preprocess) + ' | inference ' + f(body.speed.inference) +
    ' | postprocess ' + f(body.speed.postprocess) + ' | queue ' + f(st.queue) + ' | server ' + f(st.total) +
    ' | round trip ' + f(roundTrip);
  const rows = body.detections.map((d) => {
    const tr = document.createElement('tr');
    for (const v of [d.name, d.conf.toFixed(3), d.box.map((x) => x.toFixed(1)).join(', ')]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  });
  $('detections').replaceChildren(...rows);
  status(body.detections.length + ' detection(s) in ' + file.name + ' (' + body.width + 'x' + body.height + ')');
}
function draw(bitmap, result) {
  canvas.width = result.width;
  canvas.height = result.height;
  if (bitmap) ctx.drawImage(bitmap, 0, 0, result.width, result.height);
  else { ctx.fillStyle = '#222'; ctx.fillRect(0, 0, canvas.width, canvas.height); }
  const lw = Math.max(2, Math.round(Math.min(result.width, result.height) / 300));
  ctx.lineWidth = lw;
  ctx.font = Math.max(12, lw * 7) + 'px sans-serif';
  ctx.textBaseline = 'top';
  for (const d of result.detections) {
    const [x1, y1, x2, y2] = d.box;
    const color = COLORS[d.cls % COLORS.length];
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = d.name + ' ' + d.conf.toFixed(2);
    const tw = ctx.measureText(label).width + 6;
    const th = parseInt(ctx.font, 10) + 4;
    const ty = y1 - th >= 0 ? y1 - th : y1;
    ctx.fillStyle = color;
    ctx.fillRect(x1, ty, tw, th);
    ctx.fillStyle = '#fff';
    ctx.fillText(label, x1 + 3, ty + 2);
  }
}
$('file').addEventListener('change', (e) => { const f = e.target.files[0]; if (f) detect(f); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer.files[0];
  if (f) detect(f);
});
$('model').addEventListener('change', describeModel);
$('conf').addEventListener('input', () => { $('confValue').textContent = $('conf').value; });
$('token').value = sessionStorage.getItem('yolo-trt-token') || '';
$('token').addEventListener('change', () => { sessionStorage.setItem('yolo-trt-token', token()); loadModels(); });
loadModels();
`;

const html = (base: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="yolo-trt-base" content="${escapeAttribute(base)}">
<title>yolo-trt: YOLO object detection server</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fafafa; }
  h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  .about, #modelInfo { max-width: 60rem; color: #444; margin: 0 0 .8rem; }
  .row { display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; margin-bottom: .8rem; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 1.2rem; text-align: center; background: #fff; }
  #drop.over { border-color: #2a7; background: #efe; }
  #status.error { color: #b00; }
  #timings { font-family: ui-monospace, monospace; font-size: 13px; color: #444; }
  canvas { max-width: 100%; height: auto; margin-top: .8rem; background: #eee; }
  table { border-collapse: collapse; margin-top: .8rem; font-size: 13px; }
  td { border-bottom: 1px solid #ddd; padding: 2px 10px 2px 0; }
</style>
</head>
<body>
<h1>yolo-trt: YOLO object detection server</h1>
<p class="about">This server runs Ultralytics YOLO detection models (onnxruntime on CPU, TensorRT on NVIDIA
GPUs) behind Triton's KServe v2 protocol over HTTP and gRPC. Try it here: the image is sent to
<code>POST /v2/models/{model}/detect</code> and the boxes it returns are drawn over it.
Links: <a href="${escapeAttribute(base)}/v2">server metadata</a> ·
<a id="configLink" href="${escapeAttribute(base)}/v2/models/stats">model config</a> ·
<a href="${escapeAttribute(base)}/v2/models/stats">statistics</a> ·
<a href="${escapeAttribute(base)}/metrics">Prometheus metrics</a>
(with a token, these need it as a bearer header).</p>
<p id="modelInfo"></p>
<div class="row">
  <label>Model <select id="model"></select></label>
  <label>conf <input id="conf" type="range" min="0.05" max="0.95" step="0.05" value="0.25"> <span id="confValue">0.25</span></label>
  <label>Token <input id="token" type="password" placeholder="only if the server has one" autocomplete="off"></label>
</div>
<div id="drop">Drop an image here, or <input id="file" type="file" accept="image/*"></div>
<p id="status">Loading models...</p>
<div id="timings"></div>
<canvas id="canvas" width="640" height="360"></canvas>
<table><tbody id="detections"></tbody></table>
<script>${SCRIPT}</script>
</body>
</html>
`;

const SCRIPT_HASH = createHash('sha256').update(SCRIPT, 'utf8').digest('base64');

const escapeAttribute = (v: string) =>
  v.replace(/[&"<>]/g, (c) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' })[c]!);

/** The page, for routes mounted under `base` ('' standalone, the prefix when embedded). */
export const demoPageHtml = (base: string): string => html(base);

/** Only the page's own inline script and style run; fetches go to this origin only. */
export const DEMO_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${SCRIPT_HASH}'`,
  "style-src 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
