/**
 * Reading the messages and events the Functions app receives (queue messages, Event Grid events,
 * AKS audit records): internal to the use cases, not part of their public surface.
 */

import { InputError } from "../core/index.js";

/**
 * Parse a message's JSON text.
 * @throws InputError (code `MalformedJson`) saying which text is not JSON
 */
export function parseMessageJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`the ${what} is not JSON`, { code: "MalformedJson" }, { cause: error });
  }
}

/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A short rendering of a value read from an input, for an error message. Never throws: `String`
 * throws on an object whose `toString` and `valueOf` are not functions (`{"toString": 1}`).
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "a list" : "an object";
}
