#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so a fresh clone works after `npm install`.
import { register } from 'tsx/esm/api';

register();
await import('../gateway/cli/main.ts');
