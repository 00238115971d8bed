/** Entry point of the `voxgate` command (bin/voxgate.js). The commands live in cli-program.ts. */
import { runCli } from './cli-program.ts';

const exitCode = await runCli(process.argv.slice(2));
// Exit only on failure: on success `start` keeps the process alive with its servers,
// and the other commands end by themselves once their output is written.
if (exitCode !== 0) process.exit(exitCode);
