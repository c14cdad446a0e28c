// The command line of `servicebus-emulator`, parsed without side effects so it can be tested on its own.

import { parseArgs } from 'node:util';

export const USAGE = `Usage: servicebus-emulator --config <file> [--host 127.0.0.1] [--port 5672]

A local Service Bus emulator for development and tests (production uses Azure Service Bus).
  --config <file>  entities, in the config format of Microsoft's Service Bus emulator
  --host <host>    interface to listen on (default 127.0.0.1; 0.0.0.0 in a container)
  --port <port>    AMQP port (default 5672; 0 picks a free one)
  --help           this text`;

export type CliOptions =
  | { readonly help: true }
  | { readonly help: false; readonly configPath: string; readonly host: string; readonly port: number };

/** Reads argv (without node and the script); throws an Error whose message is meant for the user. */
export function parseCliOptions(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5672' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return { help: true };
  if (!values.config) throw new Error('--config <file> is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`--port must be a whole number from 0 to 65535, got "${values.port}"`);
  }
  return { help: false, configPath: values.config, host: values.host, port };
}
