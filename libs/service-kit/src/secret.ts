// A credential (a vendor's key, an HMAC secret, a header sent to a vendor) held in memory without ever being
// printed: JSON.stringify, console.log, util.inspect and pino all see `[redacted]`. Only the code that verifies
// a request or sends the header asks for the bytes.

import { inspect } from 'node:util';

export class Secret {
  readonly #bytes: Buffer;

  constructor(value: string | Buffer) {
    this.#bytes = Buffer.isBuffer(value) ? Buffer.from(value) : Buffer.from(value, 'utf8');
  }

  /** The secret's bytes; callers hash or compare them and never keep or change them. */
  reveal(): Buffer {
    return this.#bytes;
  }

  get length(): number {
    return this.#bytes.length;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
