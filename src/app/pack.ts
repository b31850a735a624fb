/**
 * Evidence packs: a zip an auditor can check on a laptop with nothing but the pack and vigil.
 * It holds the ledger records of a period (with the chain back to record 1), the snapshots they
 * reference, the caller's reports and a manifest naming every file's SHA-256 and the chain head.
 */

import { unzipSync, zipSync } from "fflate";
import {
  InputError,
  LEDGER_PREFIX,
  type LedgerProblem,
  type LedgerVerification,
  parseInstant,
  parseRecord,
  recordName,
  recordSeq,
  SNAPSHOT_PREFIX,
  sha256Hex,
  snapshotName,
  VigilError,
  verifyLedger,
} from "../core/index.js";
import type { EvidenceStore } from "./deps.js";

/** The manifest format this code writes and reads. */
export const PACK_FORMAT_VERSION = 1;
/** The manifest's path inside the pack. */
export const PACK_MANIFEST = "manifest.json";
/** Folder of the caller's reports inside the pack. */
export const PACK_REPORTS_PREFIX = "reports/";

/** One file of the pack as the manifest lists it. */
export interface PackFile {
  /** `ledger/<seq>.json`, `snapshots/<sha256>.json` or `reports/<name>`. */
  path: string;
  /** SHA-256 of the file's bytes, lowercase hex. */
  sha256: string;
  bytes: number;
}

/** `manifest.json`: what the pack holds and the head its ledger must end at. */
export interface PackManifest {
  formatVersion: typeof PACK_FORMAT_VERSION;
  generatedAt: string;
  vigilVersion: string;
  /**
   * The period asked for (`null`: unbounded) and the records it covers: `firstSeq` to `lastSeq`.
   * The pack holds records 1 to `lastSeq` so that the chain verifies from its start; records
   * before `firstSeq` are there only as the chain's context.
   */
  period: { from: string | null; to: string | null; firstSeq: number; lastSeq: number };
  /** Record `lastSeq` and the SHA-256 of its stored bytes: the head the pack's ledger ends at. */
  head: { seq: number; hash: string };
  /** Every file but the manifest, in the order they are stored in the zip. */
  files: PackFile[];
}

/** Options of {@link exportPack}. */
export interface ExportPackOptions {
  /** ISO 8601: the first record recorded at or after this instant opens the period. */
  from?: string;
  /** ISO 8601: the last record recorded at or before this instant closes the period. */
  to?: string;
  /** ISO 8601: when the pack was made (also the date the zip entries carry). */
  generatedAt: string;
  vigilVersion: string;
  /** Files stored as `reports/<name>`; `name` is a plain file name (letters, digits, `._-`). */
  reports?: { name: string; content: string | Uint8Array }[];
}

/** One thing wrong with a pack, named by the file (and, for a record, the seq) it concerns. */
export interface PackProblem {
  /**
   * `missing`, `changed`, `added`: a file against the manifest; `container`: the zip's bytes
   * outside the files' contents were altered; the other kinds are the ledger's (see
   * `verifyLedger`).
   */
  kind: "missing" | "changed" | "added" | "container" | LedgerProblem["kind"];
  path: string;
  seq?: number;
  message: string;
}

/** The outcome of {@link verifyPackBytes}. */
export interface PackVerification {
  ok: boolean;
  manifest: PackManifest;
  /** File problems first (manifest order, then added files), then the ledger's, then the container. */
  problems: PackProblem[];
  /** The ledger inside the pack, verified against the manifest's head. */
  ledger: LedgerVerification;
}

/** The store cannot be exported: it does not verify, or the period holds no record. */
export class PackExportError extends VigilError {
  /** `tampered`: the store's ledger does not verify; `empty`: there is nothing to export. */
  readonly reason: "tampered" | "empty";
  /** The store's problems when `reason` is `tampered`. */
  readonly problems: readonly LedgerProblem[];
  constructor(
    reason: "tampered" | "empty",
    message: string,
    problems: readonly LedgerProblem[] = [],
  ) {
    super(message);
    this.name = "PackExportError";
    this.reason = reason;
    this.problems = problems;
  }
}

/** The bytes are not a pack vigil can read: not a zip, or no readable manifest in it. */
export class PackFormatError extends VigilError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PackFormatError";
  }
}

/**
 * Build an evidence pack from the store: verify the store's ledger (a pack must not launder a
 * tampered store), choose the period's records by `recordedAt`, take records 1 to the period's
 * last one and every snapshot they reference, add the reports and the manifest, and zip them in
 * the pack's canonical form (see {@link verifyPackBytes}). The result is verified before it is
 * returned.
 * @throws InputError when `from`, `to` or `generatedAt` is not an ISO 8601 instant, `from` is
 *   after `to`, or a report name is not a plain file name or is given twice.
 * @throws PackExportError when the store's ledger does not verify (`tampered`) or no record falls
 *   in the period (`empty`).
 * @throws StoreError when the store cannot be read.
 */
export async function exportPack(
  store: EvidenceStore,
  options: ExportPackOptions,
): Promise<Uint8Array> {
  const from = instantOption(options.from, "--from");
  const to = instantOption(options.to, "--to");
  const generatedAt = instantOption(options.generatedAt, "generatedAt") ?? Number.NaN;
  const year = new Date(generatedAt).getUTCFullYear();
  if (year < MIN_ZIP_YEAR || year > MAX_ZIP_YEAR) {
    // A zip entry's date is a DOS date, which spans 1980 to 2107; vigil reads 1980–2099.
    throw new InputError(`generatedAt must fall in ${MIN_ZIP_YEAR}–${MAX_ZIP_YEAR}`);
  }
  if (from !== undefined && to !== undefined && from > to) {
    throw new InputError(`--from (${options.from}) is after --to (${options.to})`, {
      file: "--from",
    });
  }
  const reports = reportFiles(options.reports ?? []);

  const stored = await store.verify();
  if (!stored.ok) {
    throw new PackExportError(
      "tampered",
      `the evidence store does not verify (${stored.problems.length} problem(s), first: ${stored.problems[0]?.message}); run 'vigil verify'`,
      stored.problems,
    );
  }
  if (stored.head === null) throw new PackExportError("empty", "the evidence store is empty");
  const storeHead = stored.head;

  // Records above the verified head were appended since: they are not part of this pack.
  const records = new Map<number, { name: string; content: string; recordedAt: number }>();
  for await (const { name, content } of store.listRecords()) {
    const seq = recordSeq(name);
    if (seq === undefined || seq > storeHead.seq) continue;
    const record = parseRecord(name, content);
    records.set(seq, { name, content, recordedAt: parseInstant(record.recordedAt) ?? Number.NaN });
  }
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  for (let seq = 1; seq <= storeHead.seq; seq++) {
    const recordedAt = records.get(seq)?.recordedAt ?? Number.NaN;
    const inPeriod =
      (from === undefined || recordedAt >= from) && (to === undefined || recordedAt <= to);
    if (!inPeriod) continue;
    firstSeq ??= seq;
    lastSeq = seq;
  }
  if (firstSeq === undefined || lastSeq === undefined) {
    throw new PackExportError(
      "empty",
      `no evidence record was recorded ${periodText(options.from, options.to)}`,
    );
  }

  const files = new Map<string, Uint8Array>();
  const snapshotHashes = new Set<string>();
  for (let seq = 1; seq <= lastSeq; seq++) {
    const entry = records.get(seq);
    // Verified a moment ago; records are created once and never deleted.
    if (entry === undefined) {
      throw new PackExportError("tampered", `${recordName(seq)} disappeared during the export`);
    }
    files.set(entry.name, utf8(entry.content));
    for (const ref of parseRecord(entry.name, entry.content).snapshots)
      snapshotHashes.add(ref.hash);
  }
  for (const hash of [...snapshotHashes].sort()) {
    const content = await store.getSnapshot(hash);
    if (content === undefined) {
      throw new PackExportError("tampered", `${snapshotName(hash)} disappeared during the export`);
    }
    files.set(snapshotName(hash), utf8(content));
  }
  for (const [path, bytes] of reports) files.set(path, bytes);

  const lastContent = (records.get(lastSeq) as { content: string }).content;
  const manifest: PackManifest = {
    formatVersion: PACK_FORMAT_VERSION,
    generatedAt: options.generatedAt,
    vigilVersion: options.vigilVersion,
    period: { from: options.from ?? null, to: options.to ?? null, firstSeq, lastSeq },
    head: { seq: lastSeq, hash: sha256Hex(lastContent) },
    files: [...files].map(([path, bytes]) => ({
      path,
      sha256: sha256Hex(bytes),
      bytes: bytes.length,
    })),
  };
  const zip = canonicalZip(manifestBytes(manifest), manifest, files);

  const check = verifyPackBytes(zip);
  if (!check.ok) {
    throw new PackExportError(
      "tampered",
      `the pack built from the store does not verify: ${check.problems[0]?.message}`,
      check.ledger.problems,
    );
  }
  return zip;
}

/**
 * Verify a pack from its bytes alone. Checks, each problem naming the file (and seq):
 *
 * - every file the manifest lists is in the zip (`missing`) with its SHA-256 and size
 *   (`changed`), and nothing else is (`added`);
 * - the ledger inside (`verifyLedger`) with the manifest's head as the expected head: records
 *   1 to the head, their links, and every referenced snapshot;
 * - the zip container is in its canonical form (`container`): the entries in manifest order,
 *   stored uncompressed, with the manifest's date. vigil writes packs that way, so a changed
 *   byte anywhere in the zip, even in a header field no unzip tool reads, is reported.
 *
 * The manifest itself is not signed: a forger who rewrites a record, its hashes and the head
 * makes a pack that verifies. Compare the head with the store's (`vigil verify`) or with a head
 * kept elsewhere to rule that out.
 * @throws PackFormatError when the bytes are not a zip, or the zip has no readable manifest.
 */
export function verifyPackBytes(zip: Uint8Array): PackVerification {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip);
  } catch (error) {
    throw new PackFormatError(`not a readable zip archive (${(error as Error).message})`, {
      cause: error,
    });
  }
  const manifestEntry = entries[PACK_MANIFEST];
  if (manifestEntry === undefined) throw new PackFormatError(`the zip holds no ${PACK_MANIFEST}`);
  const manifest = parseManifest(manifestEntry);

  const problems: PackProblem[] = [];
  const listed = new Set<string>();
  for (const file of manifest.files) {
    listed.add(file.path);
    const bytes = entries[file.path];
    if (bytes === undefined) {
      problems.push({
        kind: "missing",
        path: file.path,
        ...seqOf(file.path),
        message: `${file.path} is listed in the manifest but not in the pack`,
      });
      continue;
    }
    const hash = sha256Hex(bytes);
    if (hash !== file.sha256 || bytes.length !== file.bytes) {
      problems.push({
        kind: "changed",
        path: file.path,
        ...seqOf(file.path),
        message: `${file.path} hashes to ${hash} (${bytes.length} bytes), but the manifest lists ${file.sha256} (${file.bytes} bytes)`,
      });
    }
  }
  for (const path of Object.keys(entries)) {
    if (path === PACK_MANIFEST || listed.has(path)) continue;
    problems.push({
      kind: "added",
      path,
      ...seqOf(path),
      message: `${path} is in the pack but not in the manifest`,
    });
  }

  const decoder = new TextDecoder();
  const records: { name: string; content: string }[] = [];
  const snapshots = new Map<string, string>();
  const storedSnapshots: string[] = [];
  for (const [path, bytes] of Object.entries(entries)) {
    if (path.startsWith(LEDGER_PREFIX))
      records.push({ name: path, content: decoder.decode(bytes) });
    else if (path.startsWith(SNAPSHOT_PREFIX)) {
      storedSnapshots.push(path);
      snapshots.set(path, decoder.decode(bytes));
    }
  }
  const ledger = verifyLedger(records, (hash) => snapshots.get(snapshotName(hash)), {
    expectedHead: manifest.head,
    storedSnapshots,
  });
  for (const p of ledger.problems) {
    problems.push({
      kind: p.kind,
      path: p.name,
      ...(p.seq === undefined ? {} : { seq: p.seq }),
      message: p.message,
    });
  }

  const present = new Map(
    manifest.files.flatMap((f) => {
      const bytes = entries[f.path];
      return bytes === undefined ? [] : [[f.path, bytes] as const];
    }),
  );
  for (const [path, bytes] of Object.entries(entries)) {
    if (path !== PACK_MANIFEST && !present.has(path)) present.set(path, bytes);
  }
  if (!sameBytes(canonicalZip(manifestEntry, manifest, present), zip)) {
    problems.push({
      kind: "container",
      path: "(zip container)",
      message:
        "the zip's bytes differ from the canonical form vigil writes: a byte outside the files' contents (a header, the directory or the order of entries) was changed",
    });
  }
  return { ok: problems.length === 0, manifest, problems, ledger };
}

/**
 * The canonical zip: the manifest, then the files in the given order, stored uncompressed so
 * the bytes depend on no compressor's version. Every entry carries the manifest's UTC date at
 * noon. fflate writes DOS times from local date fields, so the date is built from local fields
 * (noon: no daylight-saving change happens then), and the bytes are the same in every time zone.
 */
function canonicalZip(
  manifest: Uint8Array,
  parsed: Pick<PackManifest, "generatedAt">,
  files: ReadonlyMap<string, Uint8Array>,
): Uint8Array {
  const at = new Date(parseInstant(parsed.generatedAt) ?? 0);
  const mtime = new Date(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), 12, 0, 0);
  const entries: Record<string, Uint8Array> = { [PACK_MANIFEST]: manifest };
  for (const [path, bytes] of files) entries[path] = bytes;
  return zipSync(entries, { level: 0, mtime });
}

function manifestBytes(manifest: PackManifest): Uint8Array {
  return utf8(`${JSON.stringify(manifest, null, 2)}\n`);
}

const HEX64 = /^[0-9a-f]{64}$/;
const REPORT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MIN_ZIP_YEAR = 1980;
const MAX_ZIP_YEAR = 2099;

/** Parse and check `manifest.json`. */
function parseManifest(bytes: Uint8Array): PackManifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new PackFormatError(`${PACK_MANIFEST} is not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  const bad = (what: string): never => {
    throw new PackFormatError(`${PACK_MANIFEST}: ${what}`);
  };
  if (!isObject(value)) return bad("not a JSON object");
  if (value.formatVersion !== PACK_FORMAT_VERSION) {
    return bad(
      `formatVersion is ${JSON.stringify(value.formatVersion)}, not ${PACK_FORMAT_VERSION}`,
    );
  }
  const generatedAt = parseInstantText(value.generatedAt);
  if (generatedAt === undefined) return bad("generatedAt is not an ISO 8601 instant");
  const year = new Date(generatedAt).getUTCFullYear();
  if (year < MIN_ZIP_YEAR || year > MAX_ZIP_YEAR) return bad("generatedAt is outside 1980–2099");
  if (typeof value.vigilVersion !== "string") return bad("vigilVersion is not a string");
  const period = value.period;
  if (
    !isObject(period) ||
    (period.from !== null && parseInstantText(period.from) === undefined) ||
    (period.to !== null && parseInstantText(period.to) === undefined) ||
    !isSeq(period.firstSeq) ||
    !isSeq(period.lastSeq) ||
    period.firstSeq > period.lastSeq
  ) {
    return bad("period is not { from, to, firstSeq, lastSeq }");
  }
  const head = value.head;
  if (
    !isObject(head) ||
    !isSeq(head.seq) ||
    typeof head.hash !== "string" ||
    !HEX64.test(head.hash)
  ) {
    return bad("head is not { seq, hash }");
  }
  if (head.seq !== period.lastSeq) return bad("head.seq is not period.lastSeq");
  if (!Array.isArray(value.files)) return bad("files is not an array");
  const paths = new Set<string>();
  for (const [i, file] of value.files.entries()) {
    if (
      !isObject(file) ||
      typeof file.path !== "string" ||
      typeof file.sha256 !== "string" ||
      !HEX64.test(file.sha256) ||
      !Number.isSafeInteger(file.bytes) ||
      (file.bytes as number) < 0
    ) {
      return bad(`files[${i}] is not { path, sha256, bytes }`);
    }
    if (!isPackPath(file.path))
      return bad(`files[${i}].path ${JSON.stringify(file.path)} is not a pack path`);
    if (paths.has(file.path)) return bad(`files[${i}].path ${file.path} is listed twice`);
    paths.add(file.path);
  }
  return value as unknown as PackManifest;
}

function isPackPath(path: string): boolean {
  if (path.startsWith(PACK_REPORTS_PREFIX))
    return REPORT_NAME.test(path.slice(PACK_REPORTS_PREFIX.length));
  return recordSeq(path) !== undefined || /^snapshots\/[0-9a-f]{64}\.json$/.test(path);
}

function reportFiles(reports: readonly { name: string; content: string | Uint8Array }[]) {
  const files = new Map<string, Uint8Array>();
  for (const report of reports) {
    if (!REPORT_NAME.test(report.name)) {
      throw new InputError(
        `report name ${JSON.stringify(report.name)} is not a plain file name (letters, digits, '.', '_', '-')`,
      );
    }
    const path = `${PACK_REPORTS_PREFIX}${report.name}`;
    if (files.has(path)) throw new InputError(`report ${report.name} is given twice`);
    files.set(path, typeof report.content === "string" ? utf8(report.content) : report.content);
  }
  return files;
}

function instantOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseInstantText(text);
  if (ms === undefined) {
    throw new InputError(`${name} must be an ISO 8601 date-time, got ${JSON.stringify(text)}`, {
      file: name,
    });
  }
  return ms;
}

function parseInstantText(value: unknown): number | undefined {
  return typeof value === "string" ? parseInstant(value) : undefined;
}

function periodText(from: string | undefined, to: string | undefined): string {
  if (from !== undefined && to !== undefined) return `between ${from} and ${to}`;
  if (from !== undefined) return `at or after ${from}`;
  if (to !== undefined) return `at or before ${to}`;
  return "at all";
}

function seqOf(path: string): { seq?: number } {
  const seq = recordSeq(path);
  return seq === undefined ? {} : { seq };
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}
