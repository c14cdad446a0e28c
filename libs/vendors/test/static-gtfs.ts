// Just enough of a static GTFS zip to check realtime ids against it: a minimal zip reader (stored and deflate
// entries, via the central directory) and a CSV reader for GTFS's plain, mostly unquoted tables.

import { inflateRawSync } from 'node:zlib';

/** The text of one file in a zip archive. */
export function readZipEntry(zip: Uint8Array, name: string): string {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip archive: no end-of-central-directory record');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  for (let i = 0; i < count; i++) {
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    if (new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength)) === name) {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const data = zip.subarray(start, start + size);
      return new TextDecoder().decode(method === 8 ? inflateRawSync(data) : data);
    }
    at += 46 + skip;
  }
  throw new Error(`${name} is not in the archive`);
}

/** Rows of a GTFS table as objects; handles quoted fields without embedded newlines. */
export function readCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l !== '');
  const columns = splitCsvLine(header ?? '');
  return lines.map((line) => {
    const cells = splitCsvLine(line);
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  for (const match of line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)) {
    cells.push(match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] ?? ''));
  }
  return cells;
}
