// The socket tuning on a real TCP pair: frames the broker leaves unanswered get an empty frame back at once.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_FRAME, prepareBrokerSocket } from './broker-socket.js';

const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function pair(options: { open: boolean; answer?: Buffer }) {
  const server = net.createServer((socket) => {
    sockets.push(socket);
    prepareBrokerSocket(socket, () => options.open);
    if (options.answer) {
      const answer = options.answer;
      socket.on('data', () => process.nextTick(() => socket.write(answer)));
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  sockets.push(client);
  await new Promise((resolve) => client.once('connect', resolve));
  const received: Buffer[] = [];
  client.on('data', (chunk: Buffer) => received.push(chunk));
  return { client, received: () => Buffer.concat(received) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('prepareBrokerSocket', () => {
  it('acknowledges client bytes it does not answer with an empty AMQP frame', async () => {
    const { client, received } = await pair({ open: true });
    client.write(Buffer.from([1, 2, 3]));
    await settle();
    expect(received()).toEqual(EMPTY_FRAME);
  });

  it('sends nothing extra when the broker answers, or before AMQP is open', async () => {
    const answered = await pair({ open: true, answer: Buffer.from('reply') });
    answered.client.write(Buffer.from([1]));
    const silent = await pair({ open: false });
    silent.client.write(Buffer.from([1]));
    await settle();
    expect(answered.received().toString()).toBe('reply');
    expect(silent.received()).toHaveLength(0);
  });
});
