/** The lookup the Chromium, Mosquitto and espeak-ng tests use to find their Debian programs. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProgram, requireProgram } from './system-programs.ts';
import { useTempDirs } from './temp-dir.ts';

describe('finding the Debian programs tests drive', () => {
  const tempDir = useTempDirs('system-programs');

  it('takes the first executable file on the PATH, skipping directories and non-executables', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((name) => path.join(tempDir(), name));
    mkdirSync(path.join(a!, 'tool'), { recursive: true }); // a directory named like the program
    mkdirSync(b!);
    writeFileSync(path.join(b!, 'tool'), '#!/bin/sh\n'); // not executable
    mkdirSync(c!);
    writeFileSync(path.join(c!, 'tool'), '#!/bin/sh\n');
    chmodSync(path.join(c!, 'tool'), 0o755);
    expect(findProgram('tool', [a, b, c].join(path.delimiter))).toBe(path.join(c!, 'tool'));
    expect(findProgram('tool', [a, b].join(path.delimiter))).toBeUndefined();
  });

  it('also looks in /usr/sbin and /sbin, where Debian puts daemons such as mosquitto', () => {
    expect(findProgram('mosquitto', '')).toMatch(/^(\/usr\/local\/sbin|\/usr\/sbin|\/sbin)\/mosquitto$/);
  });

  it('names the apt command when a program is missing', () => {
    expect(() => requireProgram('voxgate-no-such-program', 'voxgate-package')).toThrow(/sudo apt-get install voxgate-package/);
  });
});
