// The transit-fusion command line, as a function: arguments and injected streams in, exit code out. main.ts wires
// it to the process; tests call it directly.
//
// Exit codes: 0 success; 1 not found, unreadable data, storage failures, anything unexpected; 2 usage errors
// (bad arguments, bad times, bad or missing configuration).

import { Command, CommanderError } from 'commander';
import { isStorageError } from '@transit-fusion/storage';
import { OutputClosedError, createContext, type CliIo } from './context.js';
import { registerSnapshotCommands } from './snapshot-commands.js';
import { registerVehicleCommands } from './vehicle-commands.js';

export type { CliIo } from './context.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Runs one command line (without the `node` and script arguments); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const context = createContext(io);
  const program = new Command('transit-fusion')
    .description('Query the stored transit-fusion snapshot history and device state.')
    // Set before the subcommands are added: they inherit it.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nStorage settings come from the environment (TF_STORAGE_CONNECTION_STRING, or TF_STORAGE_BLOB_URL and\n' +
        'TF_STORAGE_TABLE_URL; TF_SNAPSHOT_CONTAINER, TF_SNAPSHOT_INDEX_TABLE, TF_DEVICE_STATE_TABLE).\n',
    );
  registerSnapshotCommands(program, context);
  registerVehicleCommands(program, context);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    return report(error, context.warn, io);
  }
}

function report(error: unknown, warn: (line: string) => void, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has printed the message (or the help) already.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
      ? EXIT_OK
      : EXIT_USAGE;
  }
  if (error instanceof OutputClosedError || (error as { code?: unknown } | null)?.code === 'EPIPE') {
    // Whoever read our output stopped reading (`| head`): nothing more to say, and nobody to say it to.
    return EXIT_OK;
  }
  if (isStorageError(error)) {
    warn(`transit-fusion: ${error.message}`);
    switch (error.code) {
      case 'INVALID_ARGUMENT':
      case 'INVALID_CONFIG':
        return EXIT_USAGE;
      default:
        return EXIT_FAILURE;
    }
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  warn(`transit-fusion: unexpected error: ${message}`);
  if (io.env['TF_CLI_DEBUG'] && error instanceof Error && error.stack) warn(error.stack);
  return EXIT_FAILURE;
}
