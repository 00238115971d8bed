#!/usr/bin/env node
// Runs the compiled simulator CLI (dist/, built by `npm run build`, which `npm install` runs as `prepare`).
await import('../dist/device-sim/cli.js');
