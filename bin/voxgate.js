#!/usr/bin/env node
// Runs the compiled CLI in dist/, which `npm run build` writes (`npm install` runs it as `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/gateway/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('voxgate is not built yet: run `npm run build` (or `npm install`) in the voxgate checkout\n');
  process.exit(1);
}
await import(entry.href);
