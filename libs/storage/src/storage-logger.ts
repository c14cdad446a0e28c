// The logging the storage lib needs, as a two-method interface: a pino logger fits it as is, and the lib does
// not depend on any logging package. Repositories log only what the caller cannot see in a return value (a
// corrupt blob skipped, a write given up on); everything else is reported through results and errors.

export interface StorageLogger {
  /** Optional: notable events that are not problems (a leader lease acquired or released). */
  info?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The default logger: says nothing. */
export const silentLogger: StorageLogger = Object.freeze({
  warn: () => {},
  error: () => {},
});
