#!/usr/bin/env node
// Runs the simulator's TypeScript CLI directly through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../device-sim/cli.ts');
