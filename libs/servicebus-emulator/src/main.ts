// The process entry of `servicebus-emulator`: reads the command line and the config file, starts the emulator,
// prints its connection string, and stops cleanly on SIGINT/SIGTERM. Logs go to stderr, so stdout carries only
// what scripts read.

import { parseCliOptions, USAGE } from './cli-options.js';
import { loadEmulatorConfig } from './emulator-config.js';
import { isEmulatorError } from './emulator-error.js';
import type { EmulatorLogger } from './emulator-logger.js';
import { startServiceBusEmulator } from './servicebus-emulator.js';

const log =
  (level: string) =>
  (obj: object, msg: string): void => {
    const fields = Object.keys(obj).length > 0 ? ` ${JSON.stringify(obj)}` : '';
    process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${fields}\n`);
  };
const logger: EmulatorLogger = { info: log('INFO'), warn: log('WARN') };

let options;
try {
  options = parseCliOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`servicebus-emulator: ${(error as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

try {
  const config = await loadEmulatorConfig(options.configPath);
  const emulator = await startServiceBusEmulator({ config, host: options.host, port: options.port, logger });
  process.stdout.write(
    `Service Bus emulator (development and tests only) listening on ${emulator.host}:${emulator.port}\n` +
      `Connection string: ${emulator.connectionString}\n`,
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return; // a terminal's Ctrl-C reaches both the bin wrapper and this process
    stopping = true;
    logger.info({ signal }, 'stopping');
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.warn({ error: String(error) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`servicebus-emulator: ${(error as Error).message}\n`);
  process.exit(isEmulatorError(error) && error.code !== 'LISTEN_FAILED' ? 2 : 1);
}
