// The Service Bus side of following the composer: a receive-and-delete subscriber on this replica's own
// subscription of the snapshots topic. Receive-and-delete, not peek-lock: an announcement is worth something
// for about a second, and a replica that restarts starts from the newest snapshot in storage anyway, so there
// is nothing to redeliver. Every replica needs its own subscription (each must see every announcement); see the
// README for how they are provisioned.

import type { ServiceBusClient, ServiceBusReceiver } from '@azure/service-bus';
import { parseAnnouncement, type Announcement } from './snapshot-follower.js';

export interface AnnouncementReceiver {
  close(): Promise<void>;
}

export interface AnnouncementReceiverDeps {
  readonly client: ServiceBusClient;
  readonly topic: string;
  readonly subscription: string;
  /** `enqueuedAt`: when the broker accepted it (its clock), epoch ms, if it says. */
  onAnnouncement(announcement: Announcement, enqueuedAt: number | undefined): void;
  /** A message that is not an announcement: counted and logged by the caller, then dropped. */
  onInvalid(reason: string): void;
  /** Connection or entity errors; the SDK keeps retrying. */
  onError(error: Error): void;
}

export function startAnnouncementReceiver(deps: AnnouncementReceiverDeps): AnnouncementReceiver {
  const receiver: ServiceBusReceiver = deps.client.createReceiver(deps.topic, deps.subscription, {
    receiveMode: 'receiveAndDelete',
  });
  const subscription = receiver.subscribe(
    {
      processMessage: async (message) => {
        const announcement = parseAnnouncement(message.body);
        if (typeof announcement === 'string') deps.onInvalid(announcement);
        else deps.onAnnouncement(announcement, message.enqueuedTimeUtc?.getTime());
      },
      processError: async (args) => deps.onError(args.error),
    },
    { maxConcurrentCalls: 1 },
  );
  return {
    async close() {
      await subscription.close();
      await receiver.close();
    },
  };
}
