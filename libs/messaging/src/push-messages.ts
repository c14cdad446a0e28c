// How pushed records are written to Service Bus (by the receiver for HTTP pushes, by the device gateway for
// trackers; the collector reads them back): one message per push, JSON
// `{ pushId, vendorId, receivedAt, records }` with contentType application/json, applicationProperties
// `{ vendorId, pushId, recordCount, partIndex, partCount }` and messageId = pushId. A push whose body would exceed
// the message size limit is split into parts of whole records: messageId `<pushId>:<index>`, and the body gains
// `part: { index, count }`. Message ids are stable per push, so Service Bus duplicate detection or the consumer
// can drop a part sent twice.

import type { OutgoingMessage } from './message-sender.js';

/** Records accepted from a vendor (an HTTP push, a tracker's packets), as they travel to the collector. */
export interface VendorPush {
  /** Unique per push; the message id on Service Bus (with a part suffix when split). */
  readonly pushId: string;
  readonly vendorId: string;
  /** When they were accepted, epoch milliseconds. */
  readonly receivedAt: number;
  readonly records: readonly unknown[];
}

export const PUSH_CONTENT_TYPE = 'application/json';

/** The body of one push message, as consumers parse it. */
export interface PushMessageBody {
  readonly pushId: string;
  readonly vendorId: string;
  readonly receivedAt: number;
  /** Present only when the push was split. */
  readonly part?: { readonly index: number; readonly count: number };
  readonly records: readonly unknown[];
}

export function toPushMessages(push: VendorPush, maxMessageBytes: number): OutgoingMessage[] {
  const head = `{"pushId":${JSON.stringify(push.pushId)},"vendorId":${JSON.stringify(push.vendorId)},"receivedAt":${push.receivedAt}`;
  const encoded = push.records.map((r) => JSON.stringify(r));
  const sizes = encoded.map((e) => Buffer.byteLength(e, 'utf8'));
  // Room left for records once the envelope (with the largest part header possible) is written.
  const room =
    maxMessageBytes - Buffer.byteLength(`${head},"part":{"index":999999,"count":999999},"records":[]}`);

  // Greedy packing in order: [start, end) ranges of records, each within the room (a lone oversized record still
  // gets a part of its own; the broker then refuses it as too large).
  const ranges: [number, number][] = [];
  let start = 0;
  let used = 0;
  for (let i = 0; i < encoded.length; i++) {
    const add = sizes[i]! + (i > start ? 1 : 0);
    if (i > start && used + add > room) {
      ranges.push([start, i]);
      start = i;
      used = sizes[i]!;
    } else {
      used += add;
    }
  }
  ranges.push([start, encoded.length]);

  const count = ranges.length;
  return ranges.map(([from, to], index) => {
    const part = count > 1 ? `,"part":{"index":${index},"count":${count}}` : '';
    const body = Buffer.from(`${head}${part},"records":[${encoded.slice(from, to).join(',')}]}`, 'utf8');
    return {
      body,
      contentType: PUSH_CONTENT_TYPE,
      messageId: count > 1 ? `${push.pushId}:${index}` : push.pushId,
      applicationProperties: {
        vendorId: push.vendorId,
        pushId: push.pushId,
        recordCount: to - from,
        partIndex: index,
        partCount: count,
      },
    };
  });
}
