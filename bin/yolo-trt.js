#!/usr/bin/env node
// The `yolo-trt` command: a shim over the compiled CLI (src/cli/main.ts -> dist/cli/main.js).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
