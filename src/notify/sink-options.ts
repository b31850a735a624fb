/** Checks shared by the sink factories: the sink's name and the clock they read. */

import { InputError } from "../core/index.js";

const SINK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Epoch milliseconds now; injected by tests that pin the signing time. */
export interface Clock {
  now(): number;
}

/** The system clock. */
export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

/**
 * The full name of a sink, `<kind>:<name>` (`webhook:secops`), so that a webhook and a Teams sink
 * configured under the same name stay apart in logs and delivery marks.
 * @throws InputError when the name is not 1 to 64 letters, digits, `.`, `_` or `-`
 */
export function sinkName(kind: "webhook" | "teams", name: string): string {
  if (!SINK_NAME_PATTERN.test(name)) {
    throw new InputError(
      `${kind} sink name ${JSON.stringify(name.slice(0, 80))} must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { code: "InvalidSinkName" },
    );
  }
  return `${kind}:${name}`;
}
