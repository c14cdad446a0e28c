// The broker's message encoding, checked by decoding its output with rhea (the codec the client uses).

import { describe, expect, it } from 'vitest';
import {
  contentFromDecoded,
  contentFromEncoded,
  contentsFromBatch,
  encodeForDelivery,
  withApplicationProperties,
} from './broker-message.js';
import { codec, rhea, types } from './rhea-internals.js';

const dataSection = (text: string) =>
  (rhea.message as unknown as { data_section(data: Buffer): unknown }).data_section(Buffer.from(text));
const dataSections = (buffers: Buffer[]) =>
  (rhea.message as unknown as { data_sections(data: Buffer[]): unknown }).data_sections(buffers);

const sent = {
  message_id: 'id-1',
  subject: 'position',
  ttl: 60_000,
  application_properties: { vendor: 'v1', count: 3 },
  message_annotations: { 'x-opt-partition-key': 'p-1', 'x-opt-sequence-number': 999 },
  body: dataSection('{"lat":60.17}'),
};

describe('encodeForDelivery', () => {
  it('writes the header, the broker’s annotations and the message as sent', () => {
    const content = contentFromEncoded(codec.encode(sent));
    const decoded = codec.decode(
      encodeForDelivery(content, 3, {
        sequenceNumber: 2 ** 40 + 5,
        enqueuedTime: 1_700_000_000_123,
        lockedUntil: 1_700_000_060_123,
        deferred: true,
      }),
    );
    expect(decoded).toMatchObject({
      delivery_count: 3,
      ttl: 60_000,
      message_id: 'id-1',
      subject: 'position',
      application_properties: { vendor: 'v1', count: 3 },
    });
    expect((decoded.body as { content: Buffer }).content.toString()).toBe('{"lat":60.17}');
    expect(decoded.message_annotations).toEqual({
      'x-opt-partition-key': 'p-1',
      // The sender's own sequence number is replaced by the broker's.
      'x-opt-sequence-number': 2 ** 40 + 5,
      'x-opt-enqueued-time': new Date(1_700_000_000_123),
      'x-opt-locked-until': new Date(1_700_000_060_123),
      'x-opt-message-state': 1,
    });
  });

  it('encodes large delivery counts and no lock', () => {
    const content = contentFromDecoded({ message_id: 'x', body: 'text' });
    const decoded = codec.decode(encodeForDelivery(content, 300, { sequenceNumber: 1, enqueuedTime: 0 }));
    expect(decoded.delivery_count).toBe(300);
    expect(decoded.body).toBe('text');
    expect(decoded.message_annotations).not.toHaveProperty('x-opt-locked-until');
  });
});

describe('reading sent messages', () => {
  it('gives a message without an id one, keeping its other properties', () => {
    const withoutId = contentFromEncoded(codec.encode({ subject: 's', body: 'b' }));
    const noProperties = contentFromDecoded({ body: 'b' });
    for (const content of [withoutId, noProperties]) {
      const decoded = codec.decode(encodeForDelivery(content, 0, { sequenceNumber: 1, enqueuedTime: 0 }));
      expect(decoded.message_id).toMatch(/^[0-9a-f]{32}$/);
      expect(decoded.body).toBe('b');
    }
    expect(codec.decode(withoutId.bare).subject).toBe('s');
  });

  it('unpacks a batch envelope into its messages, in order', () => {
    const inner = ['a', 'b', 'c'].map((id) => codec.encode({ message_id: id, body: dataSection(id) }));
    const envelope = codec.encode({
      message_annotations: { 'x-opt-partition-key': 'p' },
      body: dataSections(inner),
    });
    const contents = contentsFromBatch(envelope);
    expect(contents.map((c) => codec.decode(c.bare).message_id)).toEqual(['a', 'b', 'c']);
    expect(contentsFromBatch(codec.encode({ body: dataSections([inner[0]!]) }))).toHaveLength(1);
    expect(() => contentsFromBatch(codec.encode({ body: 'not a batch' }))).toThrow(/data sections/);
  });

  it('keeps typed annotations of a single (decoded) message', () => {
    const content = contentFromDecoded({
      message_id: 'm',
      message_annotations: {
        'x-opt-scheduled-enqueue-time': types.wrap_timestamp(5000),
        'x-opt-message-state': 2,
      },
      body: 'b',
    });
    const decoded = codec.decode(encodeForDelivery(content, 0, { sequenceNumber: 1, enqueuedTime: 0 }));
    expect(decoded.message_annotations).toMatchObject({ 'x-opt-scheduled-enqueue-time': new Date(5000) });
    expect(decoded.message_annotations).not.toHaveProperty('x-opt-message-state');
  });

  it('adds application properties without touching the rest', () => {
    const content = withApplicationProperties(contentFromEncoded(codec.encode(sent)), {
      DeadLetterReason: 'Unparseable',
      count: 4,
    });
    const decoded = codec.decode(content.bare);
    expect(decoded.application_properties).toEqual({
      vendor: 'v1',
      count: 4,
      DeadLetterReason: 'Unparseable',
    });
    expect(decoded.message_id).toBe('id-1');
  });
});
