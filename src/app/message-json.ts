/**
 * Reading the messages and events the Functions app receives (queue messages, Event Grid events,
 * AKS audit records): internal to the use cases, not part of their public surface.
 */

import { InputError } from "../core/index.js";

/** Parse a message's JSON text. @throws InputError saying which text is not JSON */
export function parseMessageJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`the ${what} is not JSON`, {}, { cause: error });
  }
}

/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
