// The sample frames of ../shared/data/teltonika/frames.txt (Teltonika's wiki examples, real devices' packets),
// read in place: one hex frame per line, described by the '#' comment lines just above it.

import { existsSync, readFileSync } from 'node:fs';
import { SHARED_DATA_DIR } from '@transit-fusion/testing';

export const FRAMES_FILE = `${SHARED_DATA_DIR}teltonika/frames.txt`;
export const framesMissing = !existsSync(FRAMES_FILE);

if (framesMissing) console.warn(`skipping Teltonika sample-frame tests: ${FRAMES_FILE} missing`);

export interface SampleFrame {
  /** The comment line just above the frame. */
  description: string;
  bytes: Buffer;
}

export function readSampleFrames(): SampleFrame[] {
  const frames: SampleFrame[] = [];
  let description = '';
  for (const raw of readFileSync(FRAMES_FILE, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line === '#') continue;
    if (line.startsWith('#')) description = line.slice(1).trim();
    else frames.push({ description, bytes: Buffer.from(line, 'hex') });
  }
  return frames;
}

/** The one sample whose description contains `text`; throws when there is not exactly one. */
export function sampleFrame(frames: readonly SampleFrame[], text: string): Buffer {
  const found = frames.filter((f) => f.description.includes(text));
  if (found.length !== 1) throw new Error(`${found.length} sample frames described "${text}"`);
  return found[0]!.bytes;
}
