/** Times in seed files: relative to the estate's `now`, or absolute. */

const HOUR_IN_MS = 60 * 60 * 1000;

/**
 * Parses a seed time: `±<n>d` or `±<n>h` relative to `now` (as in `tls/endpoints.json`), or an
 * ISO 8601 date-time. Returns `undefined` for anything else.
 */
export function parseSeedTime(value: string, now: Date): Date | undefined {
  const relativeTime = /^([+-])(\d+)([dh])$/.exec(value);
  if (relativeTime) {
    const hours = Number(relativeTime[2]) * (relativeTime[3] === "d" ? 24 : 1);
    const sign = relativeTime[1] === "-" ? -1 : 1;
    return new Date(now.getTime() + sign * hours * HOUR_IN_MS);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) {
    return new Date(value);
  }
  return undefined;
}
