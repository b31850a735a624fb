/**
 * Turns a run's transitions into the one digest its sinks receive: only the changes worth
 * telling, in a fixed order, under an id that depends on nothing but the run and those changes,
 * so that a redelivered or recomputed digest is recognisably the same.
 */

import {
  canonicalJson,
  type Digest,
  type DigestEntry,
  type DigestKind,
  severityRank,
  sha256Hex,
  type Transition,
} from "../core/index.js";

/** Order of the kinds in counts and headlines: what needs action first. */
export const DIGEST_KIND_ORDER: Readonly<Record<DigestKind, number>> = {
  "new-failure": 0,
  regression: 1,
  "error-started": 2,
  resolved: 3,
  "error-cleared": 4,
};

/** Options of {@link buildDigest}. */
export interface BuildDigestOptions {
  runId: string;
  /** What started the run: `timer`, `event-grid`, `cli`, … */
  trigger: string;
  /** ISO 8601: when the run evaluated the estate. */
  evaluatedAt: string;
  /** The control's title; the control id stands in when it returns `undefined`. */
  titleOf: (controlId: string) => string | undefined;
  /** The finding's reason after the change; not asked for a deleted resource. */
  reasonOf?: (controlId: string, resourceId: string) => string | undefined;
}

/**
 * Build the digest of one run, or `undefined` when nothing in it is news (no transitions, or only
 * `still-failing` ones). Entries are sorted by severity (critical first), control id, resource
 * id, then scope and kind; identical entries are kept once. The id is the SHA-256 (hex) of the
 * canonical JSON of the run id and the sorted entries: the same run with the same changes gets the
 * same id whatever order the transitions came in.
 * @throws RangeError when `evaluatedAt` is not a time or a transition belongs to another run
 */
export function buildDigest(
  transitions: readonly Transition[],
  options: BuildDigestOptions,
): Digest | undefined {
  const { runId } = options;
  if (Number.isNaN(Date.parse(options.evaluatedAt))) {
    throw new RangeError(
      `evaluatedAt is not an ISO 8601 time: ${JSON.stringify(options.evaluatedAt)}`,
    );
  }

  const byKey = new Map<string, DigestEntry>();
  for (const transition of transitions) {
    if (transition.runId !== runId) {
      throw new RangeError(
        `transition of run ${JSON.stringify(transition.runId)} given to the digest of run ${JSON.stringify(runId)}`,
      );
    }
    if (transition.kind === "still-failing") continue;
    const entry = toEntry(transition, transition.kind, options);
    byKey.set(canonicalJson(entry), entry);
  }
  if (byKey.size === 0) return undefined;

  const entries = [...byKey.entries()]
    .sort(([keyA, a], [keyB, b]) => compareEntries(a, b) || compareStrings(keyA, keyB))
    .map(([, entry]) => entry);
  return {
    id: sha256Hex(canonicalJson({ runId, transitions: entries })),
    runId,
    trigger: options.trigger,
    evaluatedAt: options.evaluatedAt,
    transitions: entries,
    counts: countKinds(entries),
  };
}

/**
 * Split a digest into digests of at most `maxEntries` entries each, for receivers that limit the
 * size of a request. Part `i` of `n` has id `<digest id>-<i>of<n>` and counts of its own entries,
 * so parts are as deterministic as the digest and each can be delivered and deduplicated alone.
 * A digest that fits is returned as it is, id unchanged.
 * @throws RangeError when `maxEntries` is not a positive whole number
 */
export function chunkDigest(digest: Digest, maxEntries: number): Digest[] {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(
      `chunkDigest: maxEntries must be a positive whole number, got ${maxEntries}`,
    );
  }
  const total = digest.transitions.length;
  if (total <= maxEntries) return [digest];
  const parts = Math.ceil(total / maxEntries);
  const chunks: Digest[] = [];
  for (let index = 0; index < parts; index++) {
    const transitions = digest.transitions.slice(index * maxEntries, (index + 1) * maxEntries);
    chunks.push({
      ...digest,
      id: `${digest.id}-${index + 1}of${parts}`,
      transitions,
      counts: countKinds(transitions),
    });
  }
  return chunks;
}

function toEntry(
  transition: Transition,
  kind: DigestKind,
  options: BuildDigestOptions,
): DigestEntry {
  const entry: DigestEntry = {
    kind,
    scope: transition.scope,
    controlId: transition.controlId,
    title: options.titleOf(transition.controlId) ?? transition.controlId,
    resourceId: transition.resourceId,
    severity: transition.severity,
    from: transition.from,
    to: transition.to,
  };
  if (transition.resourceDeleted) {
    entry.resourceDeleted = true;
  } else {
    const reason = options.reasonOf?.(transition.controlId, transition.resourceId);
    if (reason !== undefined) entry.reason = reason;
  }
  return entry;
}

function countKinds(entries: readonly DigestEntry[]): Partial<Record<DigestKind, number>> {
  const tally = new Map<DigestKind, number>();
  for (const entry of entries) tally.set(entry.kind, (tally.get(entry.kind) ?? 0) + 1);
  // Keys in DIGEST_KIND_ORDER, so that the serialised counts read the same for the same digest.
  const counts: Partial<Record<DigestKind, number>> = {};
  for (const kind of [...tally.keys()].sort((a, b) => DIGEST_KIND_ORDER[a] - DIGEST_KIND_ORDER[b]))
    counts[kind] = tally.get(kind);
  return counts;
}

function compareEntries(a: DigestEntry, b: DigestEntry): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    compareStrings(a.controlId, b.controlId) ||
    compareStrings(a.resourceId, b.resourceId) ||
    compareStrings(a.scope, b.scope) ||
    DIGEST_KIND_ORDER[a.kind] - DIGEST_KIND_ORDER[b.kind]
  );
}

// Code-unit order, not locale order: the id must not depend on the host's locale.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
