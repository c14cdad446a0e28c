// Group commit for Service Bus sends. Under load many pushes wait for the broker at once; sending each alone
// costs a batch, a transfer and a disposition round trip apiece, and that per-send overhead (SDK and AMQP
// encoding) is what limits the receiver. So sends that arrive while `maxInFlight` sends are already under way
// queue up, and the next free slot sends all of them together (up to `maxGroupBytes`) in one
// `MessageSender.send`. Alone (no load) a send goes out at once: grouping adds no latency, it only appears when
// the broker is the wait anyway.
//
// Acknowledgement stays exact: a caller's promise resolves only when every one of its messages was accepted.
// When a group fails part-way, the messaging sender says how many messages (in order) were accepted; callers
// whose messages all lie in that prefix resolve, the others reject with the error. A caller whose abort signal
// fires while still queued is removed (nothing of it was sent); one aborted mid-send rejects, and its outcome is
// unknown, as for any aborted send.

import { MessagingError } from './messaging-error.js';
import type { MessageSender, OutgoingMessage } from './message-sender.js';

export interface CoalescingSenderOptions {
  /** Sends under way at once (default 4); more arrivals wait and go out together. */
  readonly maxInFlight?: number;
  /** Most body bytes sent together (default 200 KiB, about one Service Bus batch). */
  readonly maxGroupBytes?: number;
}

export interface CoalescingSender {
  send(messages: readonly OutgoingMessage[], options?: { abortSignal?: AbortSignal }): Promise<void>;
}

interface Waiting {
  readonly messages: readonly OutgoingMessage[];
  readonly bytes: number;
  readonly abortSignal: AbortSignal | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  onAbort?: () => void;
}

export function createCoalescingSender(
  sender: MessageSender,
  options: CoalescingSenderOptions = {},
): CoalescingSender {
  const maxInFlight = options.maxInFlight ?? 4;
  const maxGroupBytes = options.maxGroupBytes ?? 200 * 1024;
  const queue: Waiting[] = [];
  let inFlight = 0;

  const takeGroup = (): Waiting[] => {
    const group: Waiting[] = [];
    let bytes = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (group.length > 0 && bytes + next.bytes > maxGroupBytes) break;
      queue.shift();
      bytes += next.bytes;
      group.push(next);
    }
    return group;
  };

  const pump = () => {
    while (inFlight < maxInFlight && queue.length > 0) {
      const group = takeGroup();
      inFlight += 1;
      void sendGroup(group).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  const sendGroup = async (group: Waiting[]) => {
    for (const w of group) if (w.onAbort) w.abortSignal!.removeEventListener('abort', w.onAbort);
    const signals = group.flatMap((w) => (w.abortSignal ? [w.abortSignal] : []));
    const abortSignal =
      signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    try {
      await sender.send(
        group.flatMap((w) => w.messages),
        abortSignal ? { abortSignal } : {},
      );
      for (const w of group) w.resolve();
    } catch (error) {
      // Messages are accepted in order: callers entirely within the accepted prefix are through.
      let accepted = error instanceof MessagingError ? (error.acceptedCount ?? 0) : 0;
      for (const w of group) {
        if (accepted >= w.messages.length) w.resolve();
        else w.reject(error);
        accepted -= w.messages.length;
      }
    }
  };

  return {
    send(messages, { abortSignal } = {}) {
      if (messages.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        if (abortSignal?.aborted) {
          reject(new MessagingError('ABORTED', 'send aborted before it started', { acceptedCount: 0 }));
          return;
        }
        const waiting: Waiting = {
          messages,
          bytes: messages.reduce((sum, m) => sum + bodyBytes(m.body), 0),
          abortSignal,
          resolve,
          reject,
        };
        if (abortSignal) {
          waiting.onAbort = () => {
            const at = queue.indexOf(waiting);
            if (at < 0) return; // already being sent: the group's signal aborts it
            queue.splice(at, 1);
            reject(
              new MessagingError('ABORTED', 'send aborted while queued (nothing was sent)', {
                acceptedCount: 0,
              }),
            );
          };
          abortSignal.addEventListener('abort', waiting.onAbort, { once: true });
        }
        queue.push(waiting);
        pump();
      });
    },
  };
}

function bodyBytes(body: unknown): number {
  if (body instanceof Uint8Array) return body.byteLength;
  if (typeof body === 'string') return Buffer.byteLength(body, 'utf8');
  return Buffer.byteLength(JSON.stringify(body) ?? '', 'utf8');
}
