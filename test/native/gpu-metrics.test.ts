/**
 * gpuMetrics(): the addon's GPU telemetry. Without a GPU: source 'none' with a reason. The Jetson reader
 * runs on fake sysfs trees (the test-only `sysfsRoot` option); the NVML path runs against a fake
 * libnvidia-ml.so.1 compiled here from C and loaded through YOLO_TRT_NVML_PATH in a child process (NVML
 * is opened once per process, so the variable must be set before the first call).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import type { NativeGpuMetrics } from '../../dist/native/binding.js';
import { loadNative } from '../../dist/native/load.js';
import { repoRoot } from './fixtures.js';

const native = loadNative();
const tmp = mkdtempSync(join(tmpdir(), 'yolo-trt-gpu-metrics-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `files` (path relative to `root` -> content) and returns root. */
function tree(root: string, files: Record<string, string>): string {
  for (const [rel, content] of Object.entries(files)) {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return root;
}

// An NVIDIA driver or a Jetson on this machine changes what the default probe finds.
const machineHasGpu = existsSync('/dev/nvidiactl') || existsSync('/etc/nv_tegra_release');

describe('on this machine', () => {
  it.skipIf(machineHasGpu)('resolves source none with the reasons (no NVML, not a Jetson)', async () => {
    const r = await native.gpuMetrics();
    expect(r.source).toBe('none');
    expect(r.devices).toEqual([]);
    expect(r.reason).toMatch(/NVML is not available \(.*libnvidia-ml\.so\.1/);
    expect(r.reason).toMatch(/not a Jetson/);
  });

  it('always resolves a well-formed reading', async () => {
    const r = await native.gpuMetrics();
    expect(['nvml', 'jetson', 'none']).toContain(r.source);
    if (r.source === 'none') {
      expect(r.reason).toEqual(expect.any(String));
      expect(r.devices).toEqual([]);
    } else {
      expect(r.reason).toBeNull();
      expect(r.devices.length).toBeGreaterThan(0);
    }
  });

  it('rejects bad options with ERR_INVALID_OPTION (never a synchronous throw)', async () => {
    const bad = native.gpuMetrics as (o: unknown) => Promise<NativeGpuMetrics>;
    await expect(bad(5)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(bad({ sysfsRoot: '' })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringMatching(/options\.sysfsRoot/),
    });
    await expect(bad({ sysfsRoot: 7 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});

describe('Jetson (fake sysfs)', () => {
  it('Orin Nano layout: load, VDD_IN power, gpu-thermal, meminfo, model name', async () => {
    const root = tree(join(tmp, 'orin-nano'), {
      'etc/nv_tegra_release': '# R36 (release), REVISION: 3.0\n',
      'proc/device-tree/model': 'NVIDIA Jetson Orin Nano Developer Kit\0',
      'sys/devices/platform/gpu.0/load': '537\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in1_label': 'VDD_IN\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in1_input': '5056\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/curr1_input': '1234\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in2_label': 'VDD_CPU_GPU_CV\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in2_input': '5048\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/curr2_input': '400\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in3_label': 'VDD_SOC\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in3_input': '5040\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/curr3_input': '300\n',
      // The sum channel must not count as a rail.
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in7_label': 'sum of shunt voltages\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/in7_input': '9000\n',
      'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/curr4_input': '1934\n',
      'sys/class/thermal/thermal_zone0/type': 'cpu-thermal\n',
      'sys/class/thermal/thermal_zone0/temp': '50000\n',
      'sys/class/thermal/thermal_zone1/type': 'gpu-thermal\n',
      'sys/class/thermal/thermal_zone1/temp': '47531\n',
      'proc/meminfo':
        'MemTotal:        7813312 kB\nMemFree:          812345 kB\nMemAvailable:    5000000 kB\n',
    });
    const r = await native.gpuMetrics({ sysfsRoot: root });
    expect(r).toEqual({
      source: 'jetson',
      reason: null,
      devices: [
        {
          index: 0,
          uuid: 'jetson-0',
          name: 'NVIDIA Jetson Orin Nano Developer Kit',
          utilization: 0.537,
          memoryUsedBytes: (7813312 - 5000000) * 1024,
          memoryTotalBytes: 7813312 * 1024,
          powerWatts: (5056 * 1234) / 1e6,
          temperatureC: 47.531,
        },
      ],
    });
  });

  it('AGX layout: no VDD_IN sums the rails (power*_input in uW, NC and disabled channels skipped)', async () => {
    const hw = 'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1';
    const hw2 = 'sys/bus/i2c/drivers/ina3221/1-0041/hwmon/hwmon2';
    const root = tree(join(tmp, 'agx'), {
      'sys/class/devfreq/17000000.ga10b/device/load': '1000\n',
      'sys/class/devfreq/cpufreq.x/device/load': '5\n',
      [`${hw}/in1_label`]: 'VDD_GPU_SOC\n',
      [`${hw}/power1_input`]: '4000000\n',
      [`${hw}/in1_input`]: '1\n',
      [`${hw}/curr1_input`]: '1\n',
      [`${hw}/in2_label`]: 'VDD_CPU_CV\n',
      [`${hw}/in2_input`]: '5000\n',
      [`${hw}/curr2_input`]: '600\n',
      [`${hw}/in3_label`]: 'VIN_SYS_5V0\n',
      [`${hw}/in3_enable`]: '0\n',
      [`${hw}/in3_input`]: '5000\n',
      [`${hw}/curr3_input`]: '999\n',
      [`${hw2}/in1_label`]: 'NC\n',
      [`${hw2}/in1_input`]: '5000\n',
      [`${hw2}/curr1_input`]: '999\n',
      [`${hw2}/in2_label`]: 'VDDQ_VDD2_1V8AO\n',
      [`${hw2}/in2_input`]: '5000\n',
      [`${hw2}/curr2_input`]: '100\n',
      'sys/class/thermal/thermal_zone3/type': 'GPU-therm\n',
      'sys/class/thermal/thermal_zone3/temp': '-256000\n',
      'sys/class/thermal/thermal_zone4/type': 'GPU-therm\n',
      'sys/class/thermal/thermal_zone4/temp': '39000\n',
    });
    const r = await native.gpuMetrics({ sysfsRoot: root });
    expect(r.source).toBe('jetson');
    expect(r.devices).toEqual([
      {
        index: 0,
        uuid: 'jetson-0',
        name: 'NVIDIA Jetson',
        utilization: 1,
        memoryUsedBytes: null,
        memoryTotalBytes: null,
        powerWatts: 4 + 3 + 0.5,
        temperatureC: 39,
      },
    ]);
  });

  it('JetPack 4 ina3221x IIO rails (mW), POM_5V_IN as the input rail; nulls where files are missing', async () => {
    const iio = 'sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0';
    const root = tree(join(tmp, 'nano'), {
      'etc/nv_tegra_release': '# R32 (release), REVISION: 7.1\n',
      [`${iio}/rail_name_0`]: 'POM_5V_IN\n',
      [`${iio}/in_power0_input`]: '2345\n',
      [`${iio}/rail_name_1`]: 'POM_5V_GPU\n',
      [`${iio}/in_power1_input`]: '120\n',
      'sys/devices/gpu.0/load': 'garbage\n',
    });
    const r = await native.gpuMetrics({ sysfsRoot: root });
    expect(r.devices).toEqual([
      {
        index: 0,
        uuid: 'jetson-0',
        name: 'NVIDIA Jetson',
        utilization: null,
        memoryUsedBytes: null,
        memoryTotalBytes: null,
        powerWatts: 2.345,
        temperatureC: null,
      },
    ]);
  });

  it('a tree with no Jetson files is source none', async () => {
    const root = tree(join(tmp, 'plain'), { 'proc/meminfo': 'MemTotal: 1 kB\n' });
    expect(await native.gpuMetrics({ sysfsRoot: root })).toEqual({
      source: 'none',
      reason: `no Jetson GPU files under ${root}`,
      devices: [],
    });
  });
});

// ---- NVML through a fake libnvidia-ml.so.1 ---------------------------------------------------------

const FAKE_NVML_C = String.raw`
#include <stdlib.h>
#include <string.h>
typedef struct fake_device* nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
enum { OK = 0, INVALID_ARGUMENT = 2, NOT_SUPPORTED = 3, NO_PERMISSION = 4 };
static int index_of(nvmlDevice_t d) { return (int)(size_t)d - 1; }
static int put(char* dst, unsigned int n, const char* s) {
  if (strlen(s) + 1 > n) return INVALID_ARGUMENT;
  strcpy(dst, s);
  return OK;
}
int nvmlInit_v2(void) { const char* rc = getenv("FAKE_NVML_INIT_RC"); return rc ? atoi(rc) : OK; }
int nvmlShutdown(void) { return OK; }
const char* nvmlErrorString(int rc) { return rc == 9 ? "Driver Not Loaded" : "Unknown Error"; }
int nvmlDeviceGetCount_v2(unsigned int* n) { *n = 3; return OK; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t* d) {
  if (i == 1) return NO_PERMISSION; /* a GPU this process may not open: skipped */
  *d = (nvmlDevice_t)(size_t)(i + 1);
  return OK;
}
int nvmlDeviceGetName(nvmlDevice_t d, char* s, unsigned int n) {
  return put(s, n, index_of(d) == 0 ? "Fake H100 80GB HBM3" : "Fake T4");
}
int nvmlDeviceGetUUID(nvmlDevice_t d, char* s, unsigned int n) {
  return put(s, n, index_of(d) == 0 ? "GPU-11111111-2222-3333-4444-555555555555"
                                    : "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
}
int nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t* u) {
  if (index_of(d) != 0) return NOT_SUPPORTED;
  u->gpu = 37; u->memory = 12;
  return OK;
}
int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  m->total = index_of(d) == 0 ? 85520809984ULL : 16106127360ULL;
  m->used = index_of(d) == 0 ? 1234567890ULL : 0;
  m->free = m->total - m->used;
  return OK;
}
int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int* mw) {
  if (index_of(d) != 0) return NOT_SUPPORTED;
  *mw = 123456;
  return OK;
}
int nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int* t) {
  if (sensor != 0) return INVALID_ARGUMENT; /* only NVML_TEMPERATURE_GPU */
  if (index_of(d) != 0) return NOT_SUPPORTED;
  *t = 55;
  return OK;
}
`;

const hasCc = spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasCc) console.warn('gpu-metrics.test: no `cc` on PATH: the fake-NVML tests are SKIPPED');

function compile(name: string, source: string): string {
  const c = join(tmp, `${name}.c`);
  const so = join(tmp, name, 'libnvidia-ml.so.1');
  mkdirSync(dirname(so), { recursive: true });
  writeFileSync(c, source);
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-o', so, c], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc failed: ${r.stderr}`);
  return so;
}

/** gpuMetrics() in a fresh Node process with `env` added (NVML is opened once per process). */
function gpuMetricsInChild(env: Record<string, string>): NativeGpuMetrics {
  const loader = pathToFileURL(join(repoRoot, 'dist', 'native', 'load.js')).href;
  const script = `import { loadNative } from ${JSON.stringify(loader)};
const n = loadNative();
const a = await n.gpuMetrics();
const b = await n.gpuMetrics();
if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('second reading differs');
process.stdout.write(JSON.stringify(a));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as NativeGpuMetrics;
}

describe.skipIf(!hasCc)('NVML (fake libnvidia-ml.so.1 via YOLO_TRT_NVML_PATH)', () => {
  const fake = hasCc ? compile('fake-nvml', FAKE_NVML_C) : '';

  it('reads every device it may open; unsupported fields are null', () => {
    expect(gpuMetricsInChild({ YOLO_TRT_NVML_PATH: fake })).toEqual({
      source: 'nvml',
      reason: null,
      devices: [
        {
          index: 0,
          uuid: 'GPU-11111111-2222-3333-4444-555555555555',
          name: 'Fake H100 80GB HBM3',
          utilization: 0.37,
          memoryUsedBytes: 1234567890,
          memoryTotalBytes: 85520809984,
          powerWatts: 123.456,
          temperatureC: 55,
        },
        {
          index: 2,
          uuid: 'GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
          name: 'Fake T4',
          utilization: null,
          memoryUsedBytes: 0,
          memoryTotalBytes: 16106127360,
          powerWatts: null,
          temperatureC: null,
        },
      ],
    });
  });

  it.skipIf(existsSync('/etc/nv_tegra_release'))(
    'nvmlInit failure is source none with its error string',
    () => {
      const r = gpuMetricsInChild({ YOLO_TRT_NVML_PATH: fake, FAKE_NVML_INIT_RC: '9' });
      expect(r.source).toBe('none');
      expect(r.devices).toEqual([]);
      expect(r.reason).toMatch(/^nvmlInit_v2 failed: Driver Not Loaded \(9\); not a Jetson/);
    },
  );

  it.skipIf(existsSync('/etc/nv_tegra_release'))('a library without the NVML symbols is source none', () => {
    const partial = compile('partial-nvml', 'int nvmlInit_v2(void) { return 0; }\n');
    const r = gpuMetricsInChild({ YOLO_TRT_NVML_PATH: partial });
    expect(r.source).toBe('none');
    expect(r.reason).toContain(`NVML at ${partial} lacks nvmlDeviceGetCount_v2`);
  });

  it.skipIf(existsSync('/etc/nv_tegra_release'))('a missing library is source none naming it', () => {
    const missing = join(tmp, 'nowhere', 'libnvidia-ml.so.1');
    const r = gpuMetricsInChild({ YOLO_TRT_NVML_PATH: missing });
    expect(r.source).toBe('none');
    expect(r.reason).toContain(`NVML is not available (${missing}`);
  });
});
