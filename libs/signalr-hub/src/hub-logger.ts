// The logging the hub needs, as a three-method interface: a pino logger fits it as is, and the lib does not
// depend on any logging package. Per-message events log at debug; refusals and protocol violations at warn
// (they are also counted in the hub's stats, which is what dashboards should watch).

export interface HubLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The default logger: says nothing. */
export const silentLogger: HubLogger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
});
