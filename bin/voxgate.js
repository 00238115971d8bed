#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm install` runs as `prepare`).
await import('../dist/gateway/cli/main.js');
