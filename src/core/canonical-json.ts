/**
 * Canonical JSON and SHA-256: one byte string per JSON value, so that the evidence ledger's
 * hashes depend on what was recorded and never on key order or formatting.
 */
import { createHash } from "node:crypto";

/**
 * Serialise `value` as JSON with every object's keys sorted in UTF-16 code unit order (the
 * default `Array.prototype.sort` order) and no whitespace; arrays keep their order. Numbers and
 * strings are written as `JSON.stringify` writes them (`-0` becomes `0`; lone surrogates are
 * escaped), and a `toJSON` method is honoured as `JSON.stringify` does, so a `Date` becomes its
 * ISO string.
 *
 * An object property whose value is `undefined` is left out, as `JSON.stringify` does and as a
 * TypeScript optional property means; everything else without a JSON form is refused rather
 * than silently turned into `null` or `{}`.
 *
 * @throws TypeError for `undefined` (at the top or as an array element), functions, symbols,
 * bigint, non-finite numbers, `Map`/`Set`/binary objects/boxed primitives, and cycles.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, [], "$");
  return parts.join("");
}

/** SHA-256 of `data` (a string is hashed as UTF-8) as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function write(value: unknown, out: string[], ancestors: object[], at: string): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      out.push(JSON.stringify(value));
      return;
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonicalJson: ${at} is ${value}, which JSON cannot represent`);
      }
      out.push(JSON.stringify(value));
      return;
    case "object":
      break;
    default:
      throw new TypeError(
        `canonicalJson: ${at} is ${value === undefined ? "undefined" : `a ${typeof value}`}, which JSON cannot represent`,
      );
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (ancestors.includes(value)) {
    throw new TypeError(`canonicalJson: ${at} refers back to an enclosing value (a cycle)`);
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    ancestors.push(value);
    write(toJSON.call(value), out, ancestors, at);
    ancestors.pop();
    return;
  }
  refuseLossy(value, at);
  ancestors.push(value);
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      // Index access, not iteration: a hole reads as undefined and is refused like one.
      write(value[i], out, ancestors, `${at}[${i}]`);
    }
    out.push("]");
  } else {
    const record = value as Record<string, unknown>;
    out.push("{");
    let first = true;
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      if (!first) out.push(",");
      first = false;
      out.push(JSON.stringify(key), ":");
      write(member, out, ancestors, `${at}.${key}`);
    }
    out.push("}");
  }
  ancestors.pop();
}

/** Objects that `JSON.stringify` would flatten to `{}` or unbox: their content would be lost. */
function refuseLossy(value: object, at: string): void {
  if (
    value instanceof Map ||
    value instanceof Set ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    value instanceof Number ||
    value instanceof String ||
    value instanceof Boolean
  ) {
    throw new TypeError(
      `canonicalJson: ${at} is a ${value.constructor.name}, which has no canonical JSON form`,
    );
  }
}
