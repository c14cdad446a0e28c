// `npm start`: the whole system locally. Waits until every service is ready, prints where to look, and on Ctrl-C
// (or SIGTERM) stops everything cleanly. Exit codes: 0 stopped cleanly, 1 failed to start, 2 bad arguments.

import { createLocalStack, LocalStackError } from './local-stack.js';
import { stackConfigFrom, USAGE } from './stack-config.js';

const config = stackConfigFrom(process.argv.slice(2), process.env, process.cwd());
if (typeof config === 'string') {
  const help = config === USAGE;
  (help ? console.log : console.error)(config);
  process.exit(help ? 0 : 2);
}

const colour = process.stdout.isTTY === true && !process.env['NO_COLOR'];
const stack = createLocalStack(config, { cwd: process.cwd(), write: (line) => console.log(line), colour });
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping every service…');
  await stack.stop();
  console.log('stopped; nothing left running.');
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  const endpoints = await stack.start();
  console.log(`
transit-fusion is running locally (${config.vehicles} simulated vehicles; data in ${config.dataDir})

  map           ${endpoints.mapUrl}
  HTTP API      ${endpoints.apiUrl.replace(/\/api\/vehicles$/, '/api/openapi.json')}
  vehicles      curl -H 'authorization: Bearer ${endpoints.token}' ${endpoints.apiUrl}
  SignalR hub   ${endpoints.hubUrl}
  gRPC          ${endpoints.grpcAddress}  (grpcurl -plaintext -H 'authorization: Bearer ${endpoints.token}' ${endpoints.grpcAddress} list)
  API token     ${endpoints.token}   (this run only)
  vendor push   ${endpoints.receiverUrl}/v1/vendors/fuel/records   x-api-key: ${endpoints.receiverApiKey}
  trackers      ${endpoints.gatewayAddress}  (Teltonika Codec 8/8E; ${endpoints.trackers} simulated trackers connected)
  storage       ${endpoints.storageConnectionString}

Ctrl-C stops everything.
READY`);
} catch (error) {
  console.error(error instanceof LocalStackError ? `cannot start: ${error.message}` : error);
  await stop(1);
}
