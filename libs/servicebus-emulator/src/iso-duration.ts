// ISO-8601 durations (PT30S, PT1M, PT0.5S, P1DT2H): the notation of Microsoft's emulator config and of Azure's
// entity properties (LockDuration, DefaultMessageTimeToLive). Only days and smaller units: years and months have
// no fixed length, and Service Bus never uses them.

const pattern =
  /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Milliseconds in an ISO-8601 duration, or undefined when the text is not one (or has no component at all). */
export function parseIsoDuration(text: string): number | undefined {
  const match = pattern.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, days, hours, minutes, seconds] = match;
  if (days === undefined && hours === undefined && minutes === undefined && seconds === undefined)
    return undefined;
  const ms =
    Number(days ?? 0) * 86_400_000 +
    Number(hours ?? 0) * 3_600_000 +
    Number(minutes ?? 0) * 60_000 +
    Number(seconds ?? 0) * 1000;
  return Math.round(ms);
}
