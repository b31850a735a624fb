/**
 * The evidence ledger's format: hash-chained records (one per run and target) and
 * content-addressed observation snapshots, how to build them, and how to verify a stored ledger
 * from its bytes alone (DESIGN.md invariant 3). Pure: the store reads and writes the blobs.
 */
import { canonicalJson, sha256Hex } from "./canonical-json.js";
import { VigilError } from "./errors.js";

/** Record blobs are named `ledger/<seq as 12 digits>.json`. */
export const LEDGER_PREFIX = "ledger/";
/** Snapshot blobs are named `snapshots/<sha256 of the content>.json`. */
export const SNAPSHOT_PREFIX = "snapshots/";

const SEQ_DIGITS = 12;
const MAX_SEQ = 10 ** SEQ_DIGITS - 1;
const HEX64 = /^[0-9a-f]{64}$/;
const RECORD_NAME = /^ledger\/(\d{12})\.json$/;
const SNAPSHOT_NAME = /^snapshots\/([0-9a-f]{64})\.json$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * The blob name of record `seq`: `ledger/000000000001.json`. Zero-padding makes the names sort
 * in chain order in a blob listing.
 * @throws RangeError when `seq` is not an integer from 1 to 999 999 999 999.
 */
export function recordName(seq: number): string {
  if (!isSeq(seq)) {
    throw new RangeError(`ledger seq must be an integer from 1 to ${MAX_SEQ}: ${seq}`);
  }
  return `${LEDGER_PREFIX}${String(seq).padStart(SEQ_DIGITS, "0")}.json`;
}

/** The seq a record blob's name stands for, or `undefined` when `name` is not a record name. */
export function recordSeq(name: string): number | undefined {
  const match = RECORD_NAME.exec(name);
  if (match === null) return undefined;
  const seq = Number(match[1]);
  return seq >= 1 ? seq : undefined;
}

/**
 * The blob name of the snapshot whose content hashes to `hash`.
 * @throws RangeError when `hash` is not 64 lowercase hex digits.
 */
export function snapshotName(hash: string): string {
  if (!HEX64.test(hash)) throw new RangeError(`snapshot hash must be 64 lowercase hex digits`);
  return `${SNAPSHOT_PREFIX}${hash}.json`;
}

/** A record's reference to one observation snapshot. */
export interface SnapshotRef {
  observationId: string;
  type: string;
  hash: string;
  /**
   * What changes on every collection of an unchanged resource, kept in the record so that the
   * snapshot does not change: when it was collected, and the request ids of the failed calls behind
   * its `error` (`path` null) and its gaps.
   */
  observedAt?: string;
  requestIds?: { path: string | null; requestId: string }[];
}

/** What a record is built from: everything but the chain fields. */
export interface RecordInput {
  runId: string;
  /** The target's label, e.g. `subscription <id>`. */
  target: string;
  trigger: string;
  /** When the record was written (ISO 8601). */
  recordedAt: string;
  /** The evaluation time the findings were computed for (ISO 8601). */
  now: string;
  vigilVersion: string;
  configHash: string | null;
  /** Sorted by id. */
  controls: { id: string; version: number; hash: string }[];
  /** Sorted by observationId. */
  snapshots: SnapshotRef[];
  /** Finding objects with their traces, as evaluated. */
  findings: unknown[];
}

/** One ledger record: what one run saw and decided for one target, chained to the record before. */
export interface EvidenceRecord extends RecordInput {
  schemaVersion: 1;
  /** 1, 2, 3 … contiguous. */
  seq: number;
  /** The hash of record `seq - 1`'s stored bytes; `null` for seq 1. */
  previousHash: string | null;
}

/** A stored record or snapshot blob is not in the ledger's format. The message names the blob. */
export class LedgerFormatError extends VigilError {
  /** The blob's name, e.g. `ledger/000000000003.json`. */
  readonly blob: string;
  constructor(blob: string, message: string, options?: { cause?: unknown }) {
    super(`${blob}: ${message}`, options);
    this.name = "LedgerFormatError";
    this.blob = blob;
  }
}

/**
 * A snapshot of one (already redacted) observation: `content` is its canonical JSON, `hash` the
 * SHA-256 of that, so an unchanged observation always yields the same blob.
 * @throws TypeError when the observation has no JSON form (see {@link canonicalJson}).
 */
export function snapshotContent(observation: unknown): { hash: string; content: string } {
  const content = canonicalJson(observation);
  return { hash: sha256Hex(content), content };
}

/**
 * The hash a record keeps for a control definition: SHA-256 of its canonical JSON.
 * @throws TypeError when the control has no JSON form.
 */
export function controlHash(control: unknown): string {
  return sha256Hex(canonicalJson(control));
}

/**
 * Build the record that follows `previous` (or the first record, when `previous` is undefined):
 * controls sorted by id, snapshots by observation id. `content` is the record's canonical JSON,
 * the bytes to store; `hash` is their SHA-256, which the next record names. `record` is
 * `content` parsed back, so it is exactly what was hashed (a `Date` in a finding is its string).
 * @throws LedgerFormatError when the result would not be a valid record (a bad `previous`, a
 * control or snapshot hash that is not SHA-256 hex, an empty id or a time that is not ISO 8601).
 * @throws TypeError when a finding has no JSON form.
 */
export function buildRecord(
  input: RecordInput,
  previous: { seq: number; hash: string } | undefined,
): { record: EvidenceRecord; content: string; hash: string } {
  const seq = previous === undefined ? 1 : previous.seq + 1;
  const draft: EvidenceRecord = {
    schemaVersion: 1,
    seq,
    previousHash: previous === undefined ? null : previous.hash,
    runId: input.runId,
    target: input.target,
    trigger: input.trigger,
    recordedAt: input.recordedAt,
    now: input.now,
    vigilVersion: input.vigilVersion,
    configHash: input.configHash,
    controls: input.controls
      .map(({ id, version, hash }) => ({ id, version, hash }))
      .sort((a, b) => compare(a.id, b.id) || a.version - b.version || compare(a.hash, b.hash)),
    snapshots: input.snapshots
      .map(({ observationId, type, hash, observedAt, requestIds }) => ({
        observationId,
        type,
        hash,
        ...(observedAt !== undefined ? { observedAt } : {}),
        ...(requestIds !== undefined && requestIds.length > 0
          ? { requestIds: requestIds.map(({ path, requestId }) => ({ path, requestId })) }
          : {}),
      }))
      .sort(
        (a, b) =>
          compare(a.observationId, b.observationId) ||
          compare(a.type, b.type) ||
          compare(a.hash, b.hash),
      ),
    findings: input.findings,
  };
  const name = isSeq(seq) ? recordName(seq) : `${LEDGER_PREFIX}${seq}`;
  const content = canonicalJson(draft);
  const problem = recordProblem(JSON.parse(content));
  if (problem !== undefined) throw new LedgerFormatError(name, `cannot build record: ${problem}`);
  return { record: JSON.parse(content) as EvidenceRecord, content, hash: sha256Hex(content) };
}

/**
 * Parse a stored record blob and check its shape.
 * @throws LedgerFormatError naming the blob when the name is not a record name, the content is
 * not JSON, the schemaVersion is not 1, a field is missing, unexpected or of the wrong type, or
 * the record's seq differs from the one its name stands for.
 */
export function parseRecord(name: string, content: string): EvidenceRecord {
  const read = readRecord(name, content);
  if (read.problem !== undefined) {
    throw new LedgerFormatError(name, read.problem.message, { cause: read.cause });
  }
  return read.record;
}

/** One thing wrong with a stored ledger, named by the blob it concerns. */
export interface LedgerProblem {
  kind:
    | "changed"
    | "missing"
    | "added"
    | "reordered"
    | "broken-link"
    | "unreadable"
    | "snapshot-changed"
    | "snapshot-missing";
  /** The record's seq; for a snapshot problem, the lowest seq of a record that references it. */
  seq?: number;
  /** The blob: `ledger/<seq>.json` or `snapshots/<hash>.json`. */
  name: string;
  message: string;
}

/** The outcome of {@link verifyLedger}. */
export interface LedgerVerification {
  /** No problems. */
  ok: boolean;
  /** Record blobs examined. */
  records: number;
  /** Distinct snapshots referenced by the readable records (each one checked). */
  snapshots: number;
  /** The highest-seq readable record and its recomputed hash; `null` when there is none. */
  head: { seq: number; hash: string } | null;
  /** Sorted by seq, then blob name, then kind. */
  problems: LedgerProblem[];
  /**
   * Names of stored snapshots (from `options.storedSnapshots`) that no readable record
   * references: a scan stopped after writing snapshots but before its record leaves these.
   * They are not problems.
   */
  unreferencedSnapshots: string[];
}

/** Options of {@link verifyLedger}. */
export interface VerifyLedgerOptions {
  /**
   * The head the store keeps apart from the ledger (the runs table, a pack's manifest). Without
   * it, records cut from or appended to the end with correct links cannot be told from a
   * shorter or longer genuine ledger.
   */
  expectedHead?: { seq: number; hash: string };
  /**
   * Names of every blob stored under `snapshots/`, used only to list `unreferencedSnapshots`
   * (`snapshot(hash)` can look a snapshot up but not enumerate them).
   */
  storedSnapshots?: readonly string[];
}

/**
 * Verify a ledger from its stored bytes, recomputing every hash. `records`: every blob under
 * `ledger/` (name and content), in any order; `snapshot(hash)`: the stored content of
 * `snapshots/<hash>.json`, or undefined when there is no such blob.
 *
 * Each record is placed in the chain by the seq it carries. `H(r)` is the SHA-256 of record
 * `r`'s stored bytes. The problems, each naming the blob (and seq) it concerns:
 *
 * | kind | reported when |
 * | --- | --- |
 * | `unreadable` | a blob's name is not `ledger/<12 digits>.json`, is listed twice, or its content is not JSON or not a schemaVersion 1 record with every field well typed; it takes no part in the chain |
 * | `reordered` | a readable record sits under another seq's name (two records swapped or renamed); it still takes its own seq's place in the chain, so a swap reports only the two names |
 * | `missing` | for a seq from 1 to the highest named seq (or the expected head's, if higher), no blob is named for it and no record carries it: a deleted record |
 * | `broken-link` | record 1's `previousHash` is not null; or record `s`'s `previousHash` is not `H(s - 1)` and record `s` is not vouched for (below): a forged record with a wrong link |
 * | `changed` | record `s`'s `previousHash` is not `H(s - 1)` and record `s` is vouched for, so record `s - 1` was edited; or the record at the expected head's seq does not hash to the expected head's hash |
 * | `added` | a record's seq is beyond the expected head's: appended after the store last wrote |
 * | `snapshot-missing` | a readable record references a snapshot that is not stored |
 * | `snapshot-changed` | a referenced snapshot's content does not hash to its name |
 *
 * Record `s` is vouched for when it is the expected head and hashes to it, or record `s + 1`
 * names `H(s)` and (given an expected head) `s + 1` is not beyond it. So an edit of record `k`
 * is `changed` at `k`; an edit of the last record is caught only with `expectedHead`, and
 * without it an edit of the second-to-last record shows as `broken-link` at the last. A link
 * into or out of a missing or unreadable record is not checked: that record's problem stands
 * for it. Links are only evidence among records; with `expectedHead` also cuts and appends at
 * the end are caught. `ok` is true when there are no problems; unreferenced snapshots are
 * listed but are not problems.
 */
export function verifyLedger(
  records: readonly { name: string; content: string }[],
  snapshot: (hash: string) => string | undefined,
  options: VerifyLedgerOptions = {},
): LedgerVerification {
  const problems: LedgerProblem[] = [];
  const head = options.expectedHead;
  const chain = new Map<number, Slot>();
  const namedSeqs = new Set<number>();
  const referenced = new Map<string, number>();
  let highestNamed = 0;

  const blobs = [...records].sort((a, b) => compare(a.name, b.name));
  const seenNames = new Set<string>();
  for (const blob of blobs) {
    const nameSeq = recordSeq(blob.name);
    if (seenNames.has(blob.name)) {
      // A blob store cannot hold two blobs of one name, but a zip pack can hold two entries.
      problems.push({
        kind: "unreadable",
        ...(nameSeq === undefined ? {} : { seq: nameSeq }),
        name: blob.name,
        message: `${blob.name} is listed more than once`,
      });
      continue;
    }
    seenNames.add(blob.name);
    if (nameSeq !== undefined) {
      namedSeqs.add(nameSeq);
      highestNamed = Math.max(highestNamed, nameSeq);
    }
    const read = readRecord(blob.name, blob.content);
    if (read.problem !== undefined) problems.push(read.problem);
    if (read.record === undefined) continue;
    const record = read.record;
    const slot: Slot = {
      name: blob.name,
      record,
      hash: sha256Hex(blob.content),
      named: record.seq === nameSeq,
    };
    const taken = chain.get(record.seq);
    if (taken === undefined || (!taken.named && slot.named)) chain.set(record.seq, slot);
    for (const ref of record.snapshots) {
      const first = referenced.get(ref.hash);
      if (first === undefined || record.seq < first) referenced.set(ref.hash, record.seq);
    }
  }

  const lastExpected = Math.max(highestNamed, head?.seq ?? 0);
  for (let seq = 1; seq <= lastExpected; seq++) {
    if (namedSeqs.has(seq) || chain.has(seq)) continue;
    problems.push({
      kind: "missing",
      seq,
      name: recordName(seq),
      message:
        seq > highestNamed
          ? `record ${seq} is missing: the expected head is record ${head?.seq}`
          : `record ${seq} is missing: no blob holds it`,
    });
  }

  const vouched = (seq: number, slot: Slot): boolean => {
    if (head !== undefined && head.seq === seq && head.hash === slot.hash) return true;
    const next = chain.get(seq + 1);
    return (
      next !== undefined &&
      next.record.previousHash === slot.hash &&
      (head === undefined || seq + 1 <= head.seq)
    );
  };
  const seqs = [...chain.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const slot = chain.get(seq) as Slot;
    const previousHash = slot.record.previousHash;
    if (seq === 1) {
      if (previousHash !== null) {
        problems.push({
          kind: "broken-link",
          seq,
          name: slot.name,
          message: `${slot.name} is record 1 but names a previous record (${previousHash})`,
        });
      }
      continue;
    }
    const before = chain.get(seq - 1);
    if (before === undefined || previousHash === before.hash) continue;
    if (vouched(seq, slot)) {
      problems.push({
        kind: "changed",
        seq: seq - 1,
        name: before.name,
        message: `${before.name} hashes to ${before.hash}, but record ${seq} (${slot.name}) recorded ${previousHash} for it`,
      });
    } else {
      problems.push({
        kind: "broken-link",
        seq,
        name: slot.name,
        message: `${slot.name} names ${previousHash} as its previous record, but record ${seq - 1} (${before.name}) hashes to ${before.hash}`,
      });
    }
  }

  if (head !== undefined) {
    const atHead = chain.get(head.seq);
    if (atHead !== undefined && atHead.hash !== head.hash) {
      problems.push({
        kind: "changed",
        seq: head.seq,
        name: atHead.name,
        message: `${atHead.name} hashes to ${atHead.hash}, but the expected head is ${head.hash}`,
      });
    }
    for (const seq of seqs) {
      if (seq <= head.seq) continue;
      const slot = chain.get(seq) as Slot;
      problems.push({
        kind: "added",
        seq,
        name: slot.name,
        message: `${slot.name} is record ${seq}, beyond the expected head, record ${head.seq}`,
      });
    }
  }

  for (const [hash, seq] of [...referenced].sort(([a], [b]) => compare(a, b))) {
    const name = snapshotName(hash);
    const content = snapshot(hash);
    if (content === undefined) {
      problems.push({
        kind: "snapshot-missing",
        seq,
        name,
        message: `${name}, referenced by record ${seq}, is not stored`,
      });
    } else if (sha256Hex(content) !== hash) {
      problems.push({
        kind: "snapshot-changed",
        seq,
        name,
        message: `${name}, referenced by record ${seq}, hashes to ${sha256Hex(content)}`,
      });
    }
  }

  const unreferencedSnapshots = (options.storedSnapshots ?? [])
    .filter((name) => {
      const match = SNAPSHOT_NAME.exec(name);
      return match === null || !referenced.has(match[1] as string);
    })
    .sort(compare);
  const last = seqs.at(-1);
  const lastSlot = last === undefined ? undefined : chain.get(last);
  const sortedProblems = dedupe(problems).sort(
    (a, b) =>
      (a.seq ?? Number.POSITIVE_INFINITY) - (b.seq ?? Number.POSITIVE_INFINITY) ||
      compare(a.name, b.name) ||
      compare(a.kind, b.kind),
  );
  return {
    ok: sortedProblems.length === 0,
    records: records.length,
    snapshots: referenced.size,
    head: lastSlot === undefined ? null : { seq: lastSlot.record.seq, hash: lastSlot.hash },
    problems: sortedProblems,
    unreferencedSnapshots,
  };
}

/** A readable record in the chain, under the blob name it was stored as. */
interface Slot {
  name: string;
  record: EvidenceRecord;
  hash: string;
  /** Its blob name stands for its seq. */
  named: boolean;
}

type Read =
  | { record: EvidenceRecord; problem?: undefined; cause?: undefined }
  | { record: EvidenceRecord; problem: LedgerProblem; cause?: undefined }
  | { record?: undefined; problem: LedgerProblem; cause?: unknown };

/** Parse a record blob: unreadable (no record), reordered (a record under another seq's name), or fine. */
function readRecord(name: string, content: string): Read {
  const nameSeq = recordSeq(name);
  const at = nameSeq === undefined ? {} : { seq: nameSeq };
  const unreadable = (message: string, cause?: unknown): Read => ({
    problem: { kind: "unreadable", ...at, name, message: `${name}: ${message}` },
    cause,
  });
  if (nameSeq === undefined) {
    return unreadable("not a ledger record name (expected ledger/<seq as 12 digits>.json)");
  }
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return unreadable(`not JSON (${error.message})`, error);
  }
  const problem = recordProblem(value);
  if (problem !== undefined) return unreadable(problem);
  const record = value as EvidenceRecord;
  if (record.seq !== nameSeq) {
    return {
      record,
      problem: {
        kind: "reordered",
        seq: nameSeq,
        name,
        message: `${name} holds record ${record.seq}, not record ${nameSeq}`,
      },
    };
  }
  return { record };
}

const RECORD_FIELDS = [
  "schemaVersion",
  "seq",
  "previousHash",
  "runId",
  "target",
  "trigger",
  "recordedAt",
  "now",
  "vigilVersion",
  "configHash",
  "controls",
  "snapshots",
  "findings",
] as const;

/** What is wrong with a parsed record's shape, or undefined when it is a valid record. */
function recordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "not a JSON object";
  if (value.schemaVersion !== 1) return `schemaVersion is ${show(value.schemaVersion)}, not 1`;
  const shape = exactKeys(value, RECORD_FIELDS, "");
  if (shape !== undefined) return shape;
  if (!isSeq(value.seq)) return `seq is ${show(value.seq)}, not an integer from 1 to ${MAX_SEQ}`;
  if (value.previousHash !== null && !isHash(value.previousHash)) {
    return "previousHash is neither null nor 64 lowercase hex digits";
  }
  for (const field of ["runId", "target", "trigger", "vigilVersion"] as const) {
    if (!isText(value[field])) return `${field} is not a non-empty string`;
  }
  for (const field of ["recordedAt", "now"] as const) {
    const time = value[field];
    if (typeof time !== "string" || !ISO_INSTANT.test(time) || Number.isNaN(Date.parse(time))) {
      return `${field} is not an ISO 8601 date-time`;
    }
  }
  if (value.configHash !== null && !isText(value.configHash)) {
    return "configHash is neither null nor a non-empty string";
  }
  if (!Array.isArray(value.controls)) return "controls is not an array";
  for (const [i, control] of value.controls.entries()) {
    const where = `controls[${i}]`;
    if (!isObject(control)) return `${where} is not an object`;
    const keys = exactKeys(control, ["id", "version", "hash"], `${where}.`);
    if (keys !== undefined) return keys;
    if (!isText(control.id)) return `${where}.id is not a non-empty string`;
    if (!Number.isSafeInteger(control.version) || (control.version as number) < 1) {
      return `${where}.version is not a positive integer`;
    }
    if (!isHash(control.hash)) return `${where}.hash is not 64 lowercase hex digits`;
  }
  if (!Array.isArray(value.snapshots)) return "snapshots is not an array";
  for (const [i, ref] of value.snapshots.entries()) {
    const where = `snapshots[${i}]`;
    if (!isObject(ref)) return `${where} is not an object`;
    const keys = exactKeys(ref, ["observationId", "type", "hash"], `${where}.`, [
      "observedAt",
      "requestIds",
    ]);
    if (keys !== undefined) return keys;
    if (!isText(ref.observationId)) return `${where}.observationId is not a non-empty string`;
    if (!isText(ref.type)) return `${where}.type is not a non-empty string`;
    if (!isHash(ref.hash)) return `${where}.hash is not 64 lowercase hex digits`;
    if (ref.observedAt !== undefined && !isText(ref.observedAt))
      return `${where}.observedAt is not a non-empty string`;
    if (ref.requestIds !== undefined) {
      if (!Array.isArray(ref.requestIds)) return `${where}.requestIds is not an array`;
      for (const [j, call] of ref.requestIds.entries()) {
        const at = `${where}.requestIds[${j}]`;
        if (!isObject(call)) return `${at} is not an object`;
        const callKeys = exactKeys(call, ["path", "requestId"], `${at}.`);
        if (callKeys !== undefined) return callKeys;
        if (call.path !== null && !isText(call.path)) return `${at}.path is not a string or null`;
        if (!isText(call.requestId)) return `${at}.requestId is not a non-empty string`;
      }
    }
  }
  if (!Array.isArray(value.findings)) return "findings is not an array";
  return undefined;
}

function exactKeys(
  value: Record<string, unknown>,
  fields: readonly string[],
  prefix: string,
  optional: readonly string[] = [],
): string | undefined {
  for (const field of fields) {
    if (!Object.hasOwn(value, field)) return `${prefix}${field} is missing`;
  }
  for (const key of Object.keys(value)) {
    if (!fields.includes(key) && !optional.includes(key))
      return `${prefix}${key} is not a field of a version 1 record`;
  }
  return undefined;
}

function dedupe(problems: LedgerProblem[]): LedgerProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.kind}\u0000${p.seq}\u0000${p.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_SEQ;
}

function isHash(value: unknown): value is string {
  return typeof value === "string" && HEX64.test(value);
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

function show(value: unknown): string {
  return value === undefined ? "missing" : JSON.stringify(value);
}

/** UTF-16 code unit order, the order `canonicalJson` sorts keys in. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
