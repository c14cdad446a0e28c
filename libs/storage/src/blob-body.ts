// A blob download's body as bytes. Reads use one `download()` request and this, rather than the SDK's
// downloadToBuffer, which without a known size first asks for the blob's properties: a second round trip on
// every read, on the broadcaster's path from announcement to subscribers.

/** The whole body of a download response (empty when there is none). */
export async function readBody(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
