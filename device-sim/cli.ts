/** `voxgate-sim`: a simulated voxgate wearable on the command line (bin/voxgate-sim.js runs this). */
import { runSimCli } from './cli-program.ts';

// A reader that goes away (`voxgate-sim talk --help | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

// The exit code is set, not forced: a handle left open would keep the process alive and show up in tests.
process.exitCode = await runSimCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
