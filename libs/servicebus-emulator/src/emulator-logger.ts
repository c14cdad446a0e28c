// The logging the emulator needs, as a two-method interface: a pino logger fits it as is, and the lib does not
// depend on any logging package. It logs connections, refused links and unsupported settings; never per message.

export interface EmulatorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The default logger: says nothing. */
export const silentLogger: EmulatorLogger = Object.freeze({
  info: () => {},
  warn: () => {},
});
