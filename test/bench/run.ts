// `npm run bench [-- name...]`: runs the named benchmarks (all by default), each printing its table and JSON lines.

import type { Figure } from './reporter.js';

type Bench = { run(): Promise<Figure[]> };

const BENCHES: Record<string, () => Promise<Bench>> = {
  compose: () => import('./compose.bench.js'),
  storage: () => import('./storage.bench.js'),
  servicebus: () => import('./servicebus.bench.js'),
  collector: () => import('./collector.bench.js'),
  composer: () => import('./composer.bench.js'),
  broadcast: () => import('./broadcast.bench.js'),
  gateway: () => import('./gateway.bench.js'),
};

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = requested.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
for (const name of requested.length > 0 ? requested : Object.keys(BENCHES)) {
  const bench = await BENCHES[name]!();
  await bench.run();
}
