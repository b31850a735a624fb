import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildRecord,
  canonicalJson,
  controlHash,
  type EvidenceRecord,
  LEDGER_PREFIX,
  LedgerFormatError,
  type LedgerProblem,
  parseRecord,
  type RecordInput,
  recordName,
  recordSeq,
  SNAPSHOT_PREFIX,
  type SnapshotRef,
  sha256Hex,
  snapshotContent,
  snapshotName,
  VigilError,
  verifyLedger,
} from "../../../src/core/index.js";

// ------------------------------------------------------------------------------------------------
// A small in-memory ledger, written the way the store writes one.

interface Ledger {
  records: Map<string, string>;
  snapshots: Map<string, string>;
  head: { seq: number; hash: string } | undefined;
}

const CONTROL = {
  id: "storage-https-only",
  version: 1,
  title: "Storage accounts accept HTTPS only",
};

function input(seq: number, snapshots: SnapshotRef[]): RecordInput {
  return {
    runId: `run-${seq}`,
    target: "subscription 00000000-0000-0000-0000-000000000001",
    trigger: "timer",
    recordedAt: `2025-03-0${(seq % 9) + 1}T06:00:00.000Z`,
    now: `2025-03-0${(seq % 9) + 1}T06:00:00.000Z`,
    vigilVersion: "0.1.0",
    configHash: sha256Hex("{}"),
    controls: [{ id: CONTROL.id, version: CONTROL.version, hash: controlHash(CONTROL) }],
    snapshots,
    findings: [{ controlId: CONTROL.id, resourceId: "sa", status: "pass", trace: [] }],
  };
}

/** n records; every record references a snapshot of its own and one shared by all. */
function makeLedger(n: number): Ledger {
  const ledger: Ledger = { records: new Map(), snapshots: new Map(), head: undefined };
  const shared = addSnapshot(ledger, { id: "shared", type: "T", document: { unchanged: true } });
  for (let seq = 1; seq <= n; seq++) {
    const own = addSnapshot(ledger, { id: `obs-${seq}`, type: "T", document: { seq } });
    append(ledger, input(seq, [own, shared]));
  }
  return ledger;
}

function addSnapshot(
  ledger: Ledger,
  observation: { id: string; type: string; document?: unknown },
): SnapshotRef {
  const { hash, content } = snapshotContent(observation);
  ledger.snapshots.set(hash, content);
  return { observationId: observation.id, type: observation.type, hash };
}

function append(ledger: Ledger, recordInput: RecordInput): void {
  const built = buildRecord(recordInput, ledger.head);
  ledger.records.set(recordName(built.record.seq), built.content);
  ledger.head = { seq: built.record.seq, hash: built.hash };
}

function verify(ledger: Ledger, options: { withHead?: boolean; storedSnapshots?: string[] } = {}) {
  const { withHead = true, storedSnapshots } = options;
  return verifyLedger(
    [...ledger.records].map(([name, content]) => ({ name, content })),
    (hash) => ledger.snapshots.get(hash),
    {
      ...(withHead && ledger.head !== undefined ? { expectedHead: ledger.head } : {}),
      ...(storedSnapshots === undefined ? {} : { storedSnapshots }),
    },
  );
}

/** The problems as (kind, seq, name), the part a test pins exactly. */
function found(problems: readonly LedgerProblem[]) {
  return problems.map(({ kind, seq, name }) => ({ kind, seq, name }));
}

function content(ledger: Ledger, seq: number): string {
  return ledger.records.get(recordName(seq)) as string;
}

/** Re-serialise record `seq` with one field changed: a valid record with other bytes. */
function editRecord(ledger: Ledger, seq: number, change: Partial<EvidenceRecord>): void {
  const record = JSON.parse(content(ledger, seq)) as EvidenceRecord;
  ledger.records.set(recordName(seq), canonicalJson({ ...record, ...change }));
}

// ------------------------------------------------------------------------------------------------

describe("recordName", () => {
  it("pads the seq to 12 digits under ledger/", () => {
    expect(recordName(1)).toBe("ledger/000000000001.json");
    expect(recordName(999_999_999_999)).toBe("ledger/999999999999.json");
  });

  it.each([0, -1, 1.5, 1e12, Number.NaN])("throws RangeError for seq %s", (seq) => {
    expect(() => recordName(seq)).toThrow(RangeError);
  });

  it("is read back by recordSeq, which rejects other names", () => {
    expect(recordSeq(recordName(42))).toBe(42);
    expect(recordSeq("ledger/000000000000.json")).toBeUndefined();
    expect(recordSeq("ledger/42.json")).toBeUndefined();
    expect(recordSeq("snapshots/000000000001.json")).toBeUndefined();
  });
});

describe("snapshotName", () => {
  it("names a snapshot by its hash under snapshots/", () => {
    const hash = sha256Hex("x");

    expect(snapshotName(hash)).toBe(`${SNAPSHOT_PREFIX}${hash}.json`);
    expect(LEDGER_PREFIX).toBe("ledger/");
  });

  it("throws RangeError for a name that is not a SHA-256 hex digest", () => {
    expect(() => snapshotName("../../etc/passwd")).toThrow(RangeError);
    expect(() => snapshotName(sha256Hex("x").toUpperCase())).toThrow(RangeError);
  });
});

describe("snapshotContent", () => {
  it("stores the canonical JSON and names it by its SHA-256", () => {
    const snapshot = snapshotContent({ type: "T", id: "a", document: { b: 1, a: 2 } });

    expect(snapshot.content).toBe('{"document":{"a":2,"b":1},"id":"a","type":"T"}');
    expect(snapshot.hash).toBe(sha256Hex(snapshot.content));
  });

  it("gives an unchanged observation the same hash whatever its key order", () => {
    expect(snapshotContent({ id: "a", type: "T" }).hash).toBe(
      snapshotContent({ type: "T", id: "a" }).hash,
    );
  });
});

describe("controlHash", () => {
  it("hashes the control's canonical JSON", () => {
    expect(controlHash(CONTROL)).toBe(sha256Hex(canonicalJson(CONTROL)));
  });
});

describe("buildRecord", () => {
  it("starts the chain at seq 1 with no previous hash", () => {
    const { record } = buildRecord(input(1, []), undefined);

    expect(record.seq).toBe(1);
    expect(record.previousHash).toBeNull();
    expect(record.schemaVersion).toBe(1);
  });

  it("links the next record to the hash of the one before", () => {
    const first = buildRecord(input(1, []), undefined);

    const second = buildRecord(input(2, []), { seq: 1, hash: first.hash });

    expect(second.record.seq).toBe(2);
    expect(second.record.previousHash).toBe(first.hash);
  });

  it("hashes exactly the canonical JSON it returns", () => {
    const built = buildRecord(input(1, []), undefined);

    expect(built.content).toBe(canonicalJson(built.record));
    expect(built.hash).toBe(sha256Hex(built.content));
    expect(parseRecord(recordName(1), built.content)).toEqual(built.record);
  });

  it("sorts controls by id and snapshots by observation id", () => {
    const h = sha256Hex("h");
    const recordInput = {
      ...input(1, [
        { observationId: "b", type: "T", hash: h },
        { observationId: "a", type: "T", hash: h },
      ]),
      controls: [
        { id: "z-control", version: 1, hash: h },
        { id: "a-control", version: 2, hash: h },
      ],
    };

    const { record } = buildRecord(recordInput, undefined);

    expect(record.controls.map((c) => c.id)).toEqual(["a-control", "z-control"]);
    expect(record.snapshots.map((s) => s.observationId)).toEqual(["a", "b"]);
  });

  it("throws LedgerFormatError naming the record when a control hash is not SHA-256 hex", () => {
    const recordInput = { ...input(1, []), controls: [{ id: "c", version: 1, hash: "nope" }] };

    expect(() => buildRecord(recordInput, undefined)).toThrow(
      /ledger\/000000000001\.json: .*controls\[0\]\.hash/,
    );
  });

  it("throws TypeError when a finding has no JSON form", () => {
    const recordInput = { ...input(1, []), findings: [{ n: 1n }] };

    expect(() => buildRecord(recordInput, undefined)).toThrow(TypeError);
  });
});

describe("parseRecord", () => {
  const good = buildRecord(input(1, []), undefined).content;
  const ref: SnapshotRef = {
    observationId: "sa",
    type: "Microsoft.Storage/storageAccounts",
    hash: sha256Hex("snapshot"),
    observedAt: "2025-03-02T06:00:00.000Z",
    requestIds: [
      { path: null, requestId: "req-1" },
      { path: "joined.blobService", requestId: "req-2" },
    ],
  };
  const withCalls = buildRecord(input(1, [ref]), undefined).content;

  it("keeps a snapshot's collection time and failed calls' request ids in the record", () => {
    expect(parseRecord(recordName(1), withCalls).snapshots).toEqual([ref]);
  });

  it.each([
    ["a request id that is not a string", { path: null, requestId: 7 }, /requestId is not/],
    ["a request id without a path", { requestId: "r" }, /path is missing/],
    ["an unexpected field of a call", { path: null, requestId: "r", x: 1 }, /x is not a field/],
  ])("rejects %s", (_case, call, message) => {
    const record = JSON.parse(withCalls);
    record.snapshots[0].requestIds = [call];

    expect(() => parseRecord(recordName(1), canonicalJson(record))).toThrow(message);
  });

  it("returns the stored record", () => {
    expect(parseRecord(recordName(1), good).runId).toBe("run-1");
  });

  it.each([
    ["content that is not JSON", recordName(1), "{not json", /not JSON/],
    [
      "a schemaVersion other than 1",
      recordName(1),
      good.replace('"schemaVersion":1', '"schemaVersion":2'),
      /schemaVersion is 2, not 1/,
    ],
    [
      "a missing field",
      recordName(1),
      canonicalJson({ ...JSON.parse(good), runId: undefined }),
      /runId is missing/,
    ],
    [
      "an unexpected field",
      recordName(1),
      canonicalJson({ ...JSON.parse(good), extra: 1 }),
      /extra is not a field/,
    ],
    ["a name that is not a record name", "ledger/1.json", good, /not a ledger record name/],
    ["a name for another seq", recordName(2), good, /holds record 1, not record 2/],
  ])("throws LedgerFormatError naming the blob for %s", (_case, name, text, message) => {
    let caught: unknown;
    try {
      parseRecord(name, text);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(LedgerFormatError);
    expect(caught).toBeInstanceOf(VigilError);
    expect((caught as LedgerFormatError).blob).toBe(name);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message.startsWith(`${name}: `)).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------------

describe("verifyLedger", () => {
  it("passes an intact ledger and reports its head and counts", () => {
    const ledger = makeLedger(3);

    const result = verify(ledger);

    expect(result).toEqual({
      ok: true,
      records: 3,
      snapshots: 4,
      head: ledger.head,
      problems: [],
      unreferencedSnapshots: [],
    });
  });

  it("passes an empty ledger with no head", () => {
    const result = verifyLedger([], () => undefined);

    expect(result.ok).toBe(true);
    expect(result.head).toBeNull();
  });

  it("accepts the records in any order", () => {
    const ledger = makeLedger(4);
    const blobs = [...ledger.records].map(([name, text]) => ({ name, content: text })).reverse();

    expect(verifyLedger(blobs, (h) => ledger.snapshots.get(h)).ok).toBe(true);
  });

  describe("tamper cases of the issue", () => {
    it("reports an edited snapshot as snapshot-changed, with the first record that uses it", () => {
      const ledger = makeLedger(3);
      const record2 = parseRecord(recordName(2), content(ledger, 2));
      const own = record2.snapshots.find((s) => s.observationId === "obs-2") as SnapshotRef;
      ledger.snapshots.set(own.hash, '{"id":"obs-2","type":"T","document":{"seq":99}}');

      const result = verify(ledger);

      expect(result.ok).toBe(false);
      expect(found(result.problems)).toEqual([
        { kind: "snapshot-changed", seq: 2, name: snapshotName(own.hash) },
      ]);
    });

    it("reports an edited record as changed at that record", () => {
      const ledger = makeLedger(3);
      editRecord(ledger, 2, { trigger: "cli" });

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "changed", seq: 2, name: recordName(2) },
      ]);
    });

    it("reports a record rewritten with equal values but other bytes as changed", () => {
      // The chain hashes the stored bytes, not a re-serialisation of what they parse to.
      const ledger = makeLedger(3);
      ledger.records.set(recordName(2), JSON.stringify(JSON.parse(content(ledger, 2)), null, 1));

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "changed", seq: 2, name: recordName(2) },
      ]);
    });

    it("reports an edited last record as changed, against the expected head", () => {
      const ledger = makeLedger(3);
      editRecord(ledger, 3, { trigger: "cli" });

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "changed", seq: 3, name: recordName(3) },
      ]);
    });

    it("reports a deleted record as missing, by the name it had", () => {
      const ledger = makeLedger(3);
      ledger.records.delete(recordName(2));

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "missing", seq: 2, name: recordName(2) },
      ]);
    });

    it("reports a deleted last record as missing, against the expected head", () => {
      const ledger = makeLedger(3);
      ledger.records.delete(recordName(3));

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "missing", seq: 3, name: recordName(3) },
      ]);
    });

    it("reports two swapped records as reordered, both of them and nothing else", () => {
      const ledger = makeLedger(3);
      const [two, three] = [content(ledger, 2), content(ledger, 3)];
      ledger.records.set(recordName(2), three);
      ledger.records.set(recordName(3), two);

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "reordered", seq: 2, name: recordName(2) },
        { kind: "reordered", seq: 3, name: recordName(3) },
      ]);
    });

    it("reports a forged record with a correct link as added beyond the expected head", () => {
      const ledger = makeLedger(3);
      const head = ledger.head;
      append(ledger, { ...input(4, []), trigger: "forged" });
      ledger.head = head;

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "added", seq: 4, name: recordName(4) },
      ]);
    });

    it("reports a forged record with a wrong link as broken-link and added", () => {
      const ledger = makeLedger(3);
      const head = ledger.head;
      ledger.head = { seq: 3, hash: sha256Hex("not record 3") };
      append(ledger, input(4, []));
      ledger.head = head;

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "added", seq: 4, name: recordName(4) },
        { kind: "broken-link", seq: 4, name: recordName(4) },
      ]);
    });
  });

  it("blames a forged record, not the head, when forged records vouch for each other", () => {
    const ledger = makeLedger(3);
    const head = ledger.head;
    ledger.head = { seq: 3, hash: sha256Hex("not record 3") };
    append(ledger, input(4, []));
    append(ledger, input(5, []));
    ledger.head = head;

    expect(found(verify(ledger).problems)).toEqual([
      { kind: "added", seq: 4, name: recordName(4) },
      { kind: "broken-link", seq: 4, name: recordName(4) },
      { kind: "added", seq: 5, name: recordName(5) },
    ]);
  });

  describe("without an expected head", () => {
    it("still reports an edited record that has two records after it as changed", () => {
      const ledger = makeLedger(4);
      editRecord(ledger, 2, { trigger: "cli" });

      expect(found(verify(ledger, { withHead: false }).problems)).toEqual([
        { kind: "changed", seq: 2, name: recordName(2) },
      ]);
    });

    it("reports an edit of the second-to-last record as broken-link at the last", () => {
      // Nothing vouches for the last record, so a wrong link cannot be pinned on either side.
      const ledger = makeLedger(3);
      editRecord(ledger, 2, { trigger: "cli" });

      expect(found(verify(ledger, { withHead: false }).problems)).toEqual([
        { kind: "broken-link", seq: 3, name: recordName(3) },
      ]);
    });

    it("reports a forged record with a wrong link as broken-link at its seq", () => {
      const ledger = makeLedger(3);
      ledger.head = { seq: 3, hash: sha256Hex("not record 3") };
      append(ledger, input(4, []));

      expect(found(verify(ledger, { withHead: false }).problems)).toEqual([
        { kind: "broken-link", seq: 4, name: recordName(4) },
      ]);
    });

    it("cannot tell a well-linked forged record, a cut end or an edited last record", () => {
      const appended = makeLedger(3);
      append(appended, input(4, []));
      const cut = makeLedger(3);
      cut.records.delete(recordName(3));
      const edited = makeLedger(3);
      editRecord(edited, 3, { trigger: "cli" });

      expect(verify(appended, { withHead: false }).ok).toBe(true);
      expect(verify(cut, { withHead: false }).ok).toBe(true);
      expect(verify(edited, { withHead: false }).ok).toBe(true);
    });
  });

  describe("other problems", () => {
    it("reports a deleted snapshot as snapshot-missing", () => {
      const ledger = makeLedger(2);
      const shared = snapshotContent({ id: "shared", type: "T", document: { unchanged: true } });
      ledger.snapshots.delete(shared.hash);

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "snapshot-missing", seq: 1, name: snapshotName(shared.hash) },
      ]);
    });

    it("reports a record that is not JSON as unreadable and checks no link through it", () => {
      const ledger = makeLedger(3);
      ledger.records.set(recordName(2), "{truncated");

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "unreadable", seq: 2, name: recordName(2) },
      ]);
    });

    it("reports a record of another schema version as unreadable", () => {
      const ledger = makeLedger(2);
      editRecord(ledger, 1, { schemaVersion: 2 as 1 });

      const result = verify(ledger);

      expect(found(result.problems)).toEqual([{ kind: "unreadable", seq: 1, name: recordName(1) }]);
      expect(result.problems[0]?.message).toMatch(/schemaVersion is 2/);
    });

    it("reports a blob under ledger/ with a name that is not a record name as unreadable", () => {
      const ledger = makeLedger(1);
      ledger.records.set("ledger/notes.txt", "hello");

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "unreadable", seq: undefined, name: "ledger/notes.txt" },
      ]);
    });

    it("reports a name listed twice, as a zip can hold, as unreadable", () => {
      const ledger = makeLedger(2);
      const blobs = [...ledger.records].map(([name, text]) => ({ name, content: text }));
      blobs.push({ name: recordName(2), content: content(ledger, 1) });

      const result = verifyLedger(blobs, (h) => ledger.snapshots.get(h), {
        expectedHead: ledger.head as { seq: number; hash: string },
      });

      expect(found(result.problems)).toEqual([{ kind: "unreadable", seq: 2, name: recordName(2) }]);
    });

    it("reports a first record that names a previous record as broken-link", () => {
      const ledger: Ledger = { records: new Map(), snapshots: new Map(), head: undefined };
      const forged = buildRecord(input(1, []), { seq: 0, hash: sha256Hex("before the start") });
      ledger.records.set(recordName(1), forged.content);

      expect(found(verify(ledger).problems)).toEqual([
        { kind: "broken-link", seq: 1, name: recordName(1) },
      ]);
    });

    it("reports every seq up to the expected head as missing when the ledger is empty", () => {
      const result = verifyLedger([], () => undefined, {
        expectedHead: { seq: 2, hash: sha256Hex("x") },
      });

      expect(found(result.problems)).toEqual([
        { kind: "missing", seq: 1, name: recordName(1) },
        { kind: "missing", seq: 2, name: recordName(2) },
      ]);
    });

    it("names each problem's blob and seq in its message", () => {
      const ledger = makeLedger(3);
      editRecord(ledger, 2, { trigger: "cli" });

      const [problem] = verify(ledger).problems;

      expect(problem?.message).toContain(recordName(2));
      expect(problem?.message).toContain("record 3");
    });
  });

  describe("unreferencedSnapshots", () => {
    it("lists snapshots no record references, as a killed scan leaves, without failing", () => {
      const ledger = makeLedger(2);
      const orphan = snapshotContent({ id: "written-before-kill", type: "T" });
      ledger.snapshots.set(orphan.hash, orphan.content);
      const stored = [...ledger.snapshots.keys()].map(snapshotName);

      const result = verify(ledger, { storedSnapshots: stored });

      expect(result.ok).toBe(true);
      expect(result.unreferencedSnapshots).toEqual([snapshotName(orphan.hash)]);
    });

    it("is empty when the stored snapshots are not given", () => {
      expect(verify(makeLedger(1)).unreferencedSnapshots).toEqual([]);
    });
  });
});

// ------------------------------------------------------------------------------------------------
// Properties: random chains against a reference model of the documented semantics.

const RUNS = { numRuns: 150 };

const text = fc.string({ minLength: 1, maxLength: 12 });
const instant = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) })
  .map((ms) => new Date(ms).toISOString());
const observation = fc.record({ id: text, type: text, document: fc.jsonValue({ maxDepth: 2 }) });
const recordInputs = fc.array(
  fc.record({
    runId: text,
    target: text,
    trigger: text,
    recordedAt: instant,
    now: instant,
    vigilVersion: text,
    configHash: fc.option(text, { nil: null }),
    controls: fc.array(
      fc.record({ id: text, version: fc.integer({ min: 1, max: 9 }), body: fc.jsonValue() }),
      { maxLength: 3 },
    ),
    observations: fc.array(observation, { maxLength: 3 }),
    findings: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 7 },
);

/** Write a random ledger the way the store does. */
function writeLedger(inputs: readonly RandomInput[]): Ledger {
  const ledger: Ledger = { records: new Map(), snapshots: new Map(), head: undefined };
  for (const { observations, controls, ...rest } of inputs) {
    const snapshots = observations.map((o) => addSnapshot(ledger, o));
    append(ledger, {
      ...rest,
      controls: controls.map(({ id, version, body }) => ({
        id,
        version,
        hash: controlHash({ id, version, body }),
      })),
      snapshots,
    });
  }
  return ledger;
}
type RandomInput = typeof recordInputs extends fc.Arbitrary<(infer T)[]> ? T : never;

type Tamper =
  | { op: "edit"; at: number }
  | { op: "delete"; at: number }
  | { op: "swap"; at: number }
  /** Forge `1 + more` records after the last; the first links to record n, or not. */
  | { op: "append"; linked: boolean; more: number };

/**
 * What the documented semantics predict for one tamper of a chain of n records, with and
 * without the expected head. Written from the table in verifyLedger's TSDoc.
 */
function model(tamper: Tamper, n: number, withHead: boolean) {
  const at = (kind: LedgerProblem["kind"], seq: number) => ({ kind, seq, name: recordName(seq) });
  switch (tamper.op) {
    case "edit":
      if (withHead || tamper.at <= n - 2) return [at("changed", tamper.at)];
      return tamper.at === n - 1 ? [at("broken-link", n)] : [];
    case "delete":
      return withHead || tamper.at < n ? [at("missing", tamper.at)] : [];
    case "swap":
      return [at("reordered", tamper.at), at("reordered", tamper.at + 1)];
    case "append": {
      const forged = Array.from({ length: 1 + tamper.more }, (_, i) => n + 1 + i);
      if (withHead) {
        return forged.flatMap((seq) =>
          seq === n + 1 && !tamper.linked
            ? [at("added", seq), at("broken-link", seq)]
            : [at("added", seq)],
        );
      }
      if (tamper.linked) return [];
      // Without a head, a forged record vouched for by a forged successor shifts the blame
      // onto the genuine record n: the chain alone cannot say which side is genuine.
      return tamper.more === 0 ? [at("broken-link", n + 1)] : [at("changed", n)];
    }
  }
}

function applyTamper(ledger: Ledger, tamper: Tamper, n: number): void {
  switch (tamper.op) {
    case "edit":
      editRecord(ledger, tamper.at, { runId: `${content(ledger, tamper.at).length}-edited` });
      return;
    case "delete":
      ledger.records.delete(recordName(tamper.at));
      return;
    case "swap": {
      const [a, b] = [content(ledger, tamper.at), content(ledger, tamper.at + 1)];
      ledger.records.set(recordName(tamper.at), b);
      ledger.records.set(recordName(tamper.at + 1), a);
      return;
    }
    case "append": {
      const head = ledger.head;
      if (!tamper.linked) ledger.head = { seq: n, hash: sha256Hex("elsewhere") };
      for (let i = 0; i <= tamper.more; i++) append(ledger, input(n + 1 + i, []));
      ledger.head = head;
      return;
    }
  }
}

const tamperFor = (n: number): fc.Arbitrary<Tamper> =>
  fc.oneof(
    fc.integer({ min: 1, max: n }).map((at): Tamper => ({ op: "edit", at })),
    fc.integer({ min: 1, max: n }).map((at): Tamper => ({ op: "delete", at })),
    ...(n >= 2
      ? [fc.integer({ min: 1, max: n - 1 }).map((at): Tamper => ({ op: "swap", at }))]
      : []),
    fc
      .record({ linked: fc.boolean(), more: fc.integer({ min: 0, max: 2 }) })
      .map((r): Tamper => ({ op: "append", ...r })),
  );

describe("verifyLedger properties", () => {
  it("passes every chain written by buildRecord, with its head", () => {
    fc.assert(
      fc.property(recordInputs, (inputs) => {
        const ledger = writeLedger(inputs);

        const result = verify(ledger);

        expect(result.problems).toEqual([]);
        expect(result.ok).toBe(true);
        expect(result.head).toEqual(ledger.head);
        expect(result.records).toBe(inputs.length);
      }),
      RUNS,
    );
  });

  it("names the changed record (or its successor, as broken-link) for any one changed byte", () => {
    fc.assert(
      fc.property(
        recordInputs,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (inputs, pick, offset, delta) => {
          const ledger = writeLedger(inputs);
          const seq = (pick % inputs.length) + 1;
          const bytes = Buffer.from(content(ledger, seq), "utf8");
          const index = offset % bytes.length;
          bytes[index] = ((bytes[index] as number) + delta) % 256;
          const tampered = bytes.toString("utf8");
          fc.pre(tampered !== content(ledger, seq));
          ledger.records.set(recordName(seq), tampered);

          const result = verify(ledger);

          expect(result.ok).toBe(false);
          expect(
            result.problems.some(
              (p) =>
                p.name === recordName(seq) ||
                (p.kind === "broken-link" && p.name === recordName(seq + 1)),
            ),
          ).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it("reports exactly what the reference model predicts for each tamper case", () => {
    const scenario = recordInputs.chain((inputs) =>
      fc.tuple(fc.constant(inputs), tamperFor(inputs.length), fc.boolean()),
    );
    fc.assert(
      fc.property(scenario, ([inputs, tamper, withHead]) => {
        const ledger = writeLedger(inputs);
        applyTamper(ledger, tamper, inputs.length);
        const expected = model(tamper, inputs.length, withHead);

        const result = verify(ledger, { withHead });

        expect(found(result.problems)).toEqual(expected);
        expect(result.ok).toBe(expected.length === 0);
      }),
      RUNS,
    );
  });
});
