// Benchmark output: a readable table for people and one JSON line per figure for machines, e.g.
// {"bench":"compose","metric":"us_per_vehicle","n":50000,"value":1.7,"unit":"us"}

export interface Figure {
  bench: string;
  metric: string;
  n: number;
  value: number;
  unit: string;
}

export interface BenchReporter {
  figure(metric: string, n: number, value: number, unit: string, target?: string): void;
  /** Prints the collected table, then the JSON lines. */
  flush(): Figure[];
}

export function createReporter(bench: string, write: (line: string) => void = console.log): BenchReporter {
  const rows: (Figure & { target: string })[] = [];
  return {
    figure(metric, n, value, unit, target = '') {
      rows.push({ bench, metric, n, value: round(value), unit, target });
    },
    flush() {
      const header = ['metric', 'n', 'value', 'unit', 'target'];
      const cells = rows.map((r) => [r.metric, r.n.toLocaleString('en'), String(r.value), r.unit, r.target]);
      const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
      const line = (c: string[]) =>
        c.map((s, i) => (i === 1 || i === 2 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ');
      write(`\n${bench}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
      for (const c of cells) write(line(c));
      write('');
      const figures = rows.map(({ target: _target, ...figure }) => figure);
      for (const f of figures) write(JSON.stringify(f));
      rows.length = 0;
      return figures;
    },
  };
}

function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value * 10) / 10 : Math.round(value * 1000) / 1000;
}

/** Median of `runs` timed calls after `warmup` untimed ones, in milliseconds. */
export async function medianMs(fn: () => unknown, runs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** The p-th percentile (0–100) of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function forEachConcurrent<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i]!, i);
      }
    }),
  );
}
