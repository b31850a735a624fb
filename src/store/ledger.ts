/**
 * The evidence ledger on blob storage (DESIGN.md invariant 3): content-addressed snapshots and
 * hash-chained records, each created once with a conditional create and never overwritten or
 * deleted, so that the container can sit under a locked time-based retention policy.
 *
 * Ordering rule: record `n` is the blob `ledger/<n>.json`, and whoever creates it first (create
 * with `If-None-Match: *`) owns seq `n`. An appender builds its record on the head it knows
 * (`seq`, hash of the stored bytes) and creates `seq + 1`; a 409 means another writer took that
 * seq, so it reads forward to the new head and builds again (bounded, jittered retries).
 * Concurrent appenders therefore serialise into one chain and can never fork it.
 */

import { randomInt } from "node:crypto";
import { odata, type TableClient } from "@azure/data-tables";
import type { ContainerClient } from "@azure/storage-blob";
import {
  buildRecord,
  LEDGER_PREFIX,
  type LedgerVerification,
  type Observation,
  type RecordInput,
  recordName,
  recordSeq,
  redactObservation,
  SNAPSHOT_PREFIX,
  type SnapshotRef,
  sha256Hex,
  snapshotContent,
  snapshotName,
  verifyLedger,
} from "../core/index.js";
import { LedgerContentionError } from "./errors.js";
import { isConflict, isNotFound, toStoreError } from "./rest.js";

/** Options of {@link createEvidenceLedger}. */
export interface EvidenceLedgerOptions {
  /**
   * The table the ledger keeps its index in (the `runs` table): one row per attempted record,
   * written before the record and marked committed after it. It makes appends idempotent per
   * (runId, target) and gives `verify` the head the store last wrote.
   */
  index?: TableClient;
  /** Attempts an append makes before giving up on contention. Default: 64. */
  maxAttempts?: number;
}

/** Options every ledger operation takes. */
export interface LedgerOperationOptions {
  abortSignal?: AbortSignal;
}

/** Snapshot references in observation order, and how many snapshot blobs this call created. */
export type StoredSnapshots = SnapshotRef[] & {
  /** Blobs created by this call; the others were stored already (content-addressed). */
  created: number;
};

/** What {@link EvidenceLedger.append} did. */
export interface AppendResult {
  seq: number;
  hash: string;
  /** `ledger/<seq>.json` */
  name: string;
  /** False when a record for the same run and target was already in the ledger. */
  created: boolean;
}

/** The evidence ledger in one container. */
export interface EvidenceLedger {
  /**
   * Creates the container (and the index table) if missing. Never deletes anything.
   * @throws {StoreError} when the storage call fails
   */
  ensure(options?: LedgerOperationOptions): Promise<void>;
  /**
   * Stores each observation (redacted) as `snapshots/<sha256>.json` unless a blob of that name
   * exists, and returns the references a record names. An unchanged observation costs no blob.
   * @throws {StoreError} when an upload fails for another reason than "already exists"
   */
  putSnapshots(
    observations: readonly Observation[],
    options?: LedgerOperationOptions,
  ): Promise<StoredSnapshots>;
  /**
   * Appends the record of one run and target, chained to the current head (ordering rule in the
   * module comment). Idempotent per (runId, target): when that record is already in the ledger
   * it is returned with `created: false`.
   * @throws {LedgerContentionError} when other writers took the next seq `maxAttempts` times
   * @throws {StoreError} when the storage call fails
   * @throws {LedgerFormatError} when the input cannot make a valid record
   */
  append(input: RecordInput, options?: LedgerOperationOptions): Promise<AppendResult>;
  /**
   * Every blob under `ledger/` with its content, in name (so seq) order.
   * @throws {StoreError} when the storage call fails
   */
  listRecords(options?: LedgerOperationOptions): AsyncIterable<{ name: string; content: string }>;
  /**
   * The stored content of `snapshots/<hash>.json`, or undefined when there is none.
   * @throws {RangeError} when `hash` is not SHA-256 hex
   * @throws {StoreError} when the storage call fails
   */
  getSnapshot(hash: string, options?: LedgerOperationOptions): Promise<string | undefined>;
  /**
   * The newest record's seq and the SHA-256 of its bytes (`null` for an empty ledger): read
   * forward from the head this instance last saw, so it is one read when nothing was appended.
   * @throws {StoreError} when the storage call fails
   */
  head(options?: LedgerOperationOptions): Promise<{ seq: number; hash: string } | null>;
  /**
   * Reads every record and referenced snapshot and recomputes the chain (core `verifyLedger`),
   * with the head from the index as the expected head when there is an index.
   * @throws {StoreError} when the storage call fails
   */
  verify(options?: LedgerOperationOptions): Promise<LedgerVerification>;
}

/** The index partition holding one row per attempted record. */
const INTENT_PARTITION = "evidence-ledger";
/** Parallel blob reads and writes per call. */
const PARALLEL = 16;

/** What the appender knows about the head. */
interface Head {
  seq: number;
  hash: string;
  runId?: string;
  target?: string;
}

/** An index row: record `seq` with `hash` was about to be written (committed: it was). */
interface IntentEntity {
  partitionKey: string;
  rowKey: string;
  seq: string;
  hash: string;
  runId: string;
  target: string;
  committed: boolean;
}

/**
 * An evidence ledger over `container` (DESIGN.md "Storage layout": container `evidence`).
 * Instances are cheap; each caches the head it last saw.
 */
export function createEvidenceLedger(
  container: ContainerClient,
  options: EvidenceLedgerOptions = {},
): EvidenceLedger {
  const index = options.index;
  const maxAttempts = options.maxAttempts ?? 64;
  let cachedHead: Head | null | undefined;

  /** Downloads a blob as text, or undefined when it does not exist. */
  async function readBlob(name: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const buffer = await container
        .getBlobClient(name)
        .downloadToBuffer(0, undefined, signal ? { abortSignal: signal } : {});
      return buffer.toString("utf8");
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toStoreError(error, `read ${name}`);
    }
  }

  /** Creates a blob unless one of that name exists; false when it existed (409). */
  async function createBlob(name: string, content: string, signal?: AbortSignal): Promise<boolean> {
    const body = Buffer.from(content, "utf8");
    try {
      await container.getBlockBlobClient(name).upload(body, body.length, {
        conditions: { ifNoneMatch: "*" },
        blobHTTPHeaders: { blobContentType: "application/json" },
        ...(signal ? { abortSignal: signal } : {}),
      });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw toStoreError(error, `create ${name}`);
    }
  }

  async function* listNames(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    try {
      for await (const blob of container.listBlobsFlat({
        prefix,
        ...(signal ? { abortSignal: signal } : {}),
      })) {
        yield blob.name;
      }
    } catch (error) {
      throw toStoreError(error, `list ${prefix}`);
    }
  }

  function headOf(seq: number, content: string): Head {
    const head: Head = { seq, hash: sha256Hex(content) };
    const identity = identityOf(content);
    if (identity !== undefined) Object.assign(head, identity);
    return head;
  }

  /** The head from a full listing: the highest seq named under `ledger/`. */
  async function discoverHead(signal?: AbortSignal): Promise<Head | null> {
    let highest = 0;
    for await (const name of listNames(LEDGER_PREFIX, signal)) {
      highest = Math.max(highest, recordSeq(name) ?? 0);
    }
    // A writer may have appended since the listing: read forward from what was listed.
    return (await readForward(Math.max(highest, 1), null, undefined, signal)).head;
  }

  /**
   * Reads records `from`, `from + 1`, … until one is missing: the last one read is the head
   * (`fallback` when `from` itself is missing). Also reports a record of `match` among them.
   */
  async function readForward(
    from: number,
    fallback: Head | null,
    match: { runId: string; target: string } | undefined,
    signal?: AbortSignal,
  ): Promise<{ head: Head | null; matched?: Head }> {
    let head = fallback;
    let matched: Head | undefined;
    for (let seq = from; ; seq++) {
      const content = await readBlob(recordName(seq), signal);
      if (content === undefined) return matched ? { head, matched } : { head };
      head = headOf(seq, content);
      if (match !== undefined && head.runId === match.runId && head.target === match.target) {
        matched = head;
      }
    }
  }

  /** A committed (or provably stored) index row for this run and target, if any. */
  async function findInIndex(input: RecordInput, signal?: AbortSignal): Promise<Head | undefined> {
    if (index === undefined) return undefined;
    const intents = await listIntents(
      odata`PartitionKey eq ${INTENT_PARTITION} and runId eq ${input.runId} and target eq ${input.target}`,
      signal,
    );
    intents.sort((a, b) => Number(b.seq) - Number(a.seq));
    for (const intent of intents) {
      const seq = Number(intent.seq);
      if (intent.committed) return { seq, hash: intent.hash };
      // Written, then the writer stopped before marking it: the stored bytes decide.
      const content = await readBlob(recordName(seq), signal);
      if (content !== undefined && sha256Hex(content) === intent.hash) {
        await commitIntent(intent, signal);
        return { seq, hash: intent.hash };
      }
    }
    return undefined;
  }

  async function listIntents(filter: string, signal?: AbortSignal): Promise<IntentEntity[]> {
    if (index === undefined) return [];
    const rows: IntentEntity[] = [];
    try {
      for await (const row of index.listEntities<IntentEntity>({
        queryOptions: { filter },
        ...(signal ? { abortSignal: signal } : {}),
      })) {
        rows.push(row);
      }
    } catch (error) {
      throw toStoreError(error, `list ledger index rows in ${index.tableName}`);
    }
    return rows;
  }

  async function writeIntent(intent: IntentEntity, signal?: AbortSignal): Promise<void> {
    if (index === undefined) return;
    try {
      await index.upsertEntity(intent, "Replace", signal ? { abortSignal: signal } : {});
    } catch (error) {
      throw toStoreError(error, `write ledger index row ${intent.rowKey}`);
    }
  }

  async function commitIntent(intent: IntentEntity, signal?: AbortSignal): Promise<void> {
    await writeIntent({ ...intent, committed: true }, signal);
  }

  function result(head: Head, created: boolean): AppendResult {
    return { seq: head.seq, hash: head.hash, name: recordName(head.seq), created };
  }

  return {
    async ensure(opts = {}) {
      const signal = opts.abortSignal ? { abortSignal: opts.abortSignal } : {};
      try {
        await container.createIfNotExists(signal);
        await index?.createTable(signal);
      } catch (error) {
        throw toStoreError(error, `create ${container.containerName}`);
      }
    },

    async putSnapshots(observations, opts = {}) {
      const refs: SnapshotRef[] = [];
      const contents = new Map<string, string>();
      for (const observation of observations) {
        // Invariant 6: redact again here, so that nothing secret-looking is ever stored.
        const { hash, content } = snapshotContent(redactObservation(observation));
        refs.push({ observationId: observation.id, type: observation.type, hash });
        contents.set(hash, content);
      }
      let created = 0;
      await forEachLimited([...contents], PARALLEL, async ([hash, content]) => {
        if (await createBlob(snapshotName(hash), content, opts.abortSignal)) created += 1;
      });
      return Object.assign(refs, { created });
    },

    async append(input, opts = {}) {
      const signal = opts.abortSignal;
      const identity = { runId: input.runId, target: input.target };
      const known = await findInIndex(input, signal);
      if (known !== undefined) return result(known, false);
      if (cachedHead === undefined) cachedHead = await discoverHead(signal);

      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        signal?.throwIfAborted();
        const head: Head | null = cachedHead;
        if (head !== null && head.runId === input.runId && head.target === input.target) {
          return result(head, false);
        }
        const built = buildRecord(input, head === null ? undefined : head);
        const seq = built.record.seq;
        const name = recordName(seq);
        const intent: IntentEntity = {
          partitionKey: INTENT_PARTITION,
          rowKey: `${name.slice(LEDGER_PREFIX.length, -".json".length)}-${built.hash}`,
          seq: String(seq),
          hash: built.hash,
          runId: input.runId,
          target: input.target,
          committed: false,
        };
        // The row goes first: a writer stopped between the two writes leaves a record the index
        // vouches for, not one that looks appended by someone else.
        await writeIntent(intent, signal);
        if (await createBlob(name, built.content, signal)) {
          cachedHead = { seq, hash: built.hash, ...identity };
          await commitIntent(intent, signal);
          return result(cachedHead, true);
        }
        // Seq taken: read forward to the new head; it may be this very run and target.
        const forward = await readForward(seq, head, identity, signal);
        cachedHead = forward.head;
        if (forward.matched !== undefined) return result(forward.matched, false);
        const again = await findInIndex(input, signal);
        if (again !== undefined) return result(again, false);
        await sleep(randomInt(0, Math.min(1000, 10 * 2 ** Math.min(attempt, 7)) + 1), signal);
      }
      throw new LedgerContentionError(maxAttempts);
    },

    async *listRecords(opts = {}) {
      const names: string[] = [];
      for await (const name of listNames(LEDGER_PREFIX, opts.abortSignal)) names.push(name);
      for (const name of names) {
        const content = await readBlob(name, opts.abortSignal);
        // Listed, then gone: a concurrent deletion, which verify reports as missing.
        if (content !== undefined) yield { name, content };
      }
    },

    getSnapshot(hash, opts = {}) {
      return readBlob(snapshotName(hash), opts.abortSignal);
    },

    async head(opts = {}) {
      const signal = opts.abortSignal;
      cachedHead =
        cachedHead === undefined || cachedHead === null
          ? await discoverHead(signal)
          : (await readForward(cachedHead.seq + 1, cachedHead, undefined, signal)).head;
      return cachedHead === null ? null : { seq: cachedHead.seq, hash: cachedHead.hash };
    },

    async verify(opts = {}) {
      const signal = opts.abortSignal;
      const names: string[] = [];
      for await (const name of listNames(LEDGER_PREFIX, signal)) names.push(name);
      const records: { name: string; content: string }[] = [];
      await forEachLimited(names, PARALLEL, async (name) => {
        const content = await readBlob(name, signal);
        if (content !== undefined) records.push({ name, content });
      });

      const storedSnapshots: string[] = [];
      for await (const name of listNames(SNAPSHOT_PREFIX, signal)) storedSnapshots.push(name);
      const stored = new Set(storedSnapshots);
      const wanted = new Set<string>();
      for (const { content } of records) {
        for (const hash of referencedSnapshots(content)) {
          if (stored.has(`${SNAPSHOT_PREFIX}${hash}.json`)) wanted.add(hash);
        }
      }
      const snapshots = new Map<string, string>();
      await forEachLimited([...wanted], PARALLEL, async (hash) => {
        const content = await readBlob(snapshotName(hash), signal);
        if (content !== undefined) snapshots.set(hash, content);
      });

      const expectedHead = await indexHead(records, signal);
      return verifyLedger(records, (hash) => snapshots.get(hash), {
        ...(expectedHead ? { expectedHead } : {}),
        storedSnapshots,
      });
    },
  };

  /**
   * The head the store last wrote, from the index: the highest seq whose row is committed, or
   * whose row's hash is what is stored under that seq (a writer stopped before committing).
   */
  async function indexHead(
    records: readonly { name: string; content: string }[],
    signal?: AbortSignal,
  ): Promise<{ seq: number; hash: string } | undefined> {
    if (index === undefined) return undefined;
    const storedHash = new Map(records.map((r) => [r.name, sha256Hex(r.content)]));
    let head: { seq: number; hash: string } | undefined;
    for (const intent of await listIntents(odata`PartitionKey eq ${INTENT_PARTITION}`, signal)) {
      const seq = Number(intent.seq);
      if (!Number.isSafeInteger(seq) || seq < 1) continue;
      const vouched = intent.committed || storedHash.get(recordName(seq)) === intent.hash;
      if (vouched && (head === undefined || seq > head.seq)) head = { seq, hash: intent.hash };
    }
    return head;
  }
}

/** The run and target a stored record names, when its content is readable. */
function identityOf(content: string): { runId: string; target: string } | undefined {
  const value = parseLoosely(content);
  if (typeof value.runId === "string" && typeof value.target === "string") {
    return { runId: value.runId, target: value.target };
  }
  return undefined;
}

/** Snapshot hashes a stored record references, as far as its content can be read. */
function referencedSnapshots(content: string): string[] {
  const snapshots = parseLoosely(content).snapshots;
  if (!Array.isArray(snapshots)) return [];
  return snapshots
    .map((ref: unknown) => (ref as { hash?: unknown } | null)?.hash)
    .filter((hash): hash is string => typeof hash === "string" && /^[0-9a-f]{64}$/.test(hash));
}

function parseLoosely(content: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(content);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch (error) {
    // An unreadable record is verify's to report; here it simply names nothing.
    if (error instanceof SyntaxError) return {};
    throw error;
  }
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
