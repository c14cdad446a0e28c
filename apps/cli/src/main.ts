// The process entry: wires argv, the environment and the standard streams into runCli and exits with its code.

import { runCli } from './cli.js';

// A reader that goes away (`transit-fusion snapshot list … | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  process.exit(error.code === 'EPIPE' ? 0 : 1);
});

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: process.stderr.isTTY === true,
});
// Let buffered output reach pipes before exiting (writes to pipes are asynchronous on some platforms), then exit
// even if an SDK left a socket or timer behind.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
