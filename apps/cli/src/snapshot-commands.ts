// `transit-fusion snapshot …`: the stored snapshot history: one snapshot by time, a range's descriptors, and
// exports of a range as NDJSON or GeoJSON.

import { Option, type Command } from 'commander';
import { StorageError } from '@transit-fusion/storage';
import { parseRange, parseTimeArgument, type CommandContext } from './context.js';
import { descriptorLine, isoTime, snapshotSummary } from './format.js';
import { exportSnapshots, type ExportFormat } from './snapshot-export.js';

export function registerSnapshotCommands(program: Command, context: CommandContext): void {
  const snapshot = program
    .command('snapshot')
    .description('stored snapshots of all vehicles, one per second, by time');

  snapshot
    .command('at')
    .description('the snapshot closest to <time> (with --before: the newest at or before it)')
    .argument('<time>', 'ISO-8601 with a zone (2026-11-21T08:47:00Z) or epoch milliseconds')
    .option('--before', 'the newest snapshot generated at or before <time>, never a later one')
    .addOption(
      new Option('--format <format>', 'summary: a short overview; json: the whole snapshot')
        .choices(['summary', 'json'])
        .default('summary'),
    )
    .action(async (time: string, options: { before?: boolean; format: 'summary' | 'json' }) => {
      const t = parseTimeArgument(time, '<time>');
      const store = context.snapshotStore();
      const descriptor = options.before ? await store.latestAtOrBefore(t) : await store.closestAt(t);
      if (!descriptor) {
        throw new StorageError(
          'NOT_FOUND',
          `no snapshot ${options.before ? 'at or before' : 'near'} ${isoTime(t)} (container ${context.config().snapshotContainer})`,
        );
      }
      const stored = await store.read(descriptor);
      await context.out(
        options.format === 'json' ? `${JSON.stringify(stored)}\n` : snapshotSummary(descriptor, stored, t),
      );
    });

  snapshot
    .command('list')
    .description('the snapshots generated between --from and --to (inclusive), oldest first')
    .requiredOption('--from <time>', 'start, ISO-8601 with a zone or epoch milliseconds')
    .requiredOption('--to <time>', 'end, ISO-8601 with a zone or epoch milliseconds')
    .option('--json', 'one JSON descriptor per line (NDJSON)')
    .action(async (options: { from: string; to: string; json?: boolean }) => {
      const { from, to } = parseRange(options.from, options.to);
      let count = 0;
      for await (const descriptor of context.snapshotStore().between(from, to)) {
        await context.out(options.json ? `${JSON.stringify(descriptor)}\n` : descriptorLine(descriptor));
        count++;
      }
      if (count === 0 && !options.json)
        context.warn(`no snapshots between ${isoTime(from)} and ${isoTime(to)}`);
    });

  snapshot
    .command('export')
    .description(
      'the snapshots between --from and --to as NDJSON (one per line) or a GeoJSON FeatureCollection',
    )
    .requiredOption('--from <time>', 'start, ISO-8601 with a zone or epoch milliseconds')
    .requiredOption('--to <time>', 'end, ISO-8601 with a zone or epoch milliseconds')
    .addOption(
      new Option(
        '--format <format>',
        'ndjson: one snapshot per line; geojson: one point per vehicle position',
      )
        .choices(['ndjson', 'geojson'])
        .makeOptionMandatory(),
    )
    .option('--out <file>', 'write to this file instead of stdout (replaced only when the export completes)')
    .action(async (options: { from: string; to: string; format: ExportFormat; out?: string }) => {
      const range = parseRange(options.from, options.to);
      await exportSnapshots(context, { ...range, format: options.format, out: options.out });
    });
}
