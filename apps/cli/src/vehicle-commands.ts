// `transit-fusion vehicle …`: per-vehicle device state (message count, last sighting, accumulated quality
// flags) as the collectors and the composer recorded it.

import type { Command } from 'commander';
import { StorageError, createDeviceStateTable, type DeviceState } from '@transit-fusion/storage';
import type { CommandContext } from './context.js';
import { isoTime, table } from './format.js';

export function registerVehicleCommands(program: Command, context: CommandContext): void {
  const vehicle = program.command('vehicle').description('per-vehicle device state');

  vehicle
    .command('state')
    .description('the device state recorded for vehicle <id>')
    .argument('<id>', 'the canonical vehicle id (from the fleet registry)')
    .option('--json', 'the state as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const tableName = context.config().deviceStateTable;
      const state = await createDeviceStateTable({ clients: context.clients(), table: tableName }).get(id);
      if (!state) {
        throw new StorageError('NOT_FOUND', `no device state for vehicle "${id}" in table ${tableName}`);
      }
      await context.out(options.json ? `${JSON.stringify(state, null, 2)}\n` : stateSummary(state));
    });
}

function stateSummary(state: DeviceState): string {
  return table([
    ['vehicle', state.vehicleId],
    ['messages', String(state.messageCount)],
    ['lastSeen', state.lastSeen !== undefined ? isoTime(state.lastSeen) : '-'],
    ['position', state.position ? `${state.position.lat}, ${state.position.lon}` : '-'],
    ['quality', `${state.quality}${state.flags.length > 0 ? ` (${state.flags.join(', ')})` : ''}`],
    ['updatedAt', isoTime(state.updatedAt)],
  ]);
}
