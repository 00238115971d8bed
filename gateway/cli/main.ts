/** Entry point of the `voxgate` command (bin/voxgate.js). The program is program.ts; each command group has its file here. */
import { runCli } from './program.ts';

const exitCode = await runCli(process.argv.slice(2));
// Exit only on failure: on success `start` keeps the process alive with its servers,
// and the other commands end by themselves once their output is written.
if (exitCode !== 0) process.exit(exitCode);
