/**
 * Waivers: accepted, expiring exceptions. A waiver applies to a failing finding of its control
 * on resources matching its pattern until it expires; then it stops applying by itself.
 */
import { InputError, InputErrors, joinPointer } from "./errors.js";
import { likePattern } from "./rule/operators.js";
import { parseInstant } from "./rule/values.js";
import type { Waiver } from "./types.js";

/** Waivers indexed by control id, with parsed expiry. */
export interface WaiverIndex {
  readonly byControl: ReadonlyMap<string, readonly IndexedWaiver[]>;
}

interface IndexedWaiver {
  readonly waiver: Waiver;
  readonly expiresMs: number;
  readonly pattern: RegExp;
}

/**
 * Index waivers by control id, checking what the schema cannot: the expiry is a date-time and
 * ids are unique.
 * @throws InputErrors naming the file and pointer of each bad waiver.
 */
export function indexWaivers(
  waivers: readonly Waiver[],
  file: string,
  pointer = "/waivers",
): WaiverIndex {
  const problems: InputError[] = [];
  const byControl = new Map<string, IndexedWaiver[]>();
  const ids = new Set<string>();
  waivers.forEach((waiver, i) => {
    const expiresMs = parseInstant(waiver.expires);
    if (expiresMs === undefined) {
      problems.push(
        new InputError(`expires '${waiver.expires}' is not an ISO 8601 date-time`, {
          file,
          pointer: joinPointer(pointer, i, "expires"),
        }),
      );
      return;
    }
    if (ids.has(waiver.id))
      problems.push(
        new InputError(`duplicate waiver id '${waiver.id}'`, {
          file,
          pointer: joinPointer(pointer, i, "id"),
        }),
      );
    ids.add(waiver.id);
    const key = waiver.controlId.toLowerCase();
    const list = byControl.get(key) ?? [];
    list.push({ waiver, expiresMs, pattern: likePattern(waiver.resourcePattern) });
    byControl.set(key, list);
  });
  if (problems.length > 0) throw new InputErrors(problems);
  return { byControl };
}

/** The first unexpired waiver for a control (by id or alias) and resource, if any. */
export function findWaiver(
  index: WaiverIndex | undefined,
  controlIds: readonly string[],
  resourceId: string,
  nowMs: number,
): Waiver | undefined {
  if (index === undefined) return undefined;
  for (const id of controlIds) {
    const list = index.byControl.get(id.toLowerCase());
    if (list === undefined) continue;
    for (const entry of list) {
      if (entry.expiresMs > nowMs && entry.pattern.test(resourceId)) return entry.waiver;
    }
  }
  return undefined;
}
