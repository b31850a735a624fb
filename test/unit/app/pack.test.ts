/**
 * Evidence packs over an in-memory store: what a pack holds for a period, that an intact pack
 * verifies, and that changed, missing, added and reordered files and a changed container byte
 * are each reported.
 */
import { unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import type { EvidenceStore } from "../../../src/app/deps.js";
import {
  exportPack,
  PACK_MANIFEST,
  PackExportError,
  PackFormatError,
  type PackManifest,
  verifyPackBytes,
} from "../../../src/app/pack.js";
import {
  buildRecord,
  InputError,
  type RecordInput,
  recordName,
  sha256Hex,
  snapshotContent,
  snapshotName,
  verifyLedger,
} from "../../../src/core/index.js";

const GENERATED_AT = "2025-06-30T23:30:00Z";

/** A store holding `count` records, one a day from 2025-06-01, each with two snapshots. */
function memoryStore(count: number): EvidenceStore & {
  records: Map<string, string>;
  snapshots: Map<string, string>;
} {
  const records = new Map<string, string>();
  const snapshots = new Map<string, string>();
  let previous: { seq: number; hash: string } | undefined;
  for (let i = 1; i <= count; i++) {
    const shared = snapshotContent({ id: "shared", document: { v: 1 } });
    const own = snapshotContent({ id: `own-${i}`, document: { day: i } });
    snapshots.set(shared.hash, shared.content);
    snapshots.set(own.hash, own.content);
    const day = String(i).padStart(2, "0");
    const input: RecordInput = {
      runId: `run-${i}`,
      target: "subscription s",
      trigger: "cli",
      recordedAt: `2025-06-${day}T10:00:00Z`,
      now: `2025-06-${day}T10:00:00Z`,
      vigilVersion: "test",
      configHash: null,
      controls: [],
      snapshots: [
        { observationId: "shared", type: "t", hash: shared.hash },
        { observationId: `own-${i}`, type: "t", hash: own.hash },
      ],
      findings: [{ controlId: "c", status: "fail" }],
    };
    const built = buildRecord(input, previous);
    records.set(recordName(built.record.seq), built.content);
    previous = { seq: built.record.seq, hash: built.hash };
  }
  const store = {
    records,
    snapshots,
    putSnapshots: () => Promise.reject(new Error("read-only")),
    append: () => Promise.reject(new Error("read-only")),
    applyFindings: () => Promise.reject(new Error("read-only")),
    verify: async () =>
      verifyLedger(
        [...records].map(([name, content]) => ({ name, content })),
        (hash) => snapshots.get(hash),
        previous === undefined ? {} : { expectedHead: previous },
      ),
    listRecords: async function* () {
      for (const [name, content] of records) yield { name, content };
    },
    getSnapshot: async (hash: string) => snapshots.get(hash),
    listSnapshotNames: async function* () {
      for (const hash of snapshots.keys()) yield snapshotName(hash);
    },
    close: async () => {},
  };
  return store;
}

function manifestOf(zip: Uint8Array): PackManifest {
  return JSON.parse(new TextDecoder().decode(unzipSync(zip)[PACK_MANIFEST])) as PackManifest;
}

/** Unzip, change the entries, zip again the way a tamperer with any zip tool would. */
function rezip(zip: Uint8Array, edit: (entries: Record<string, Uint8Array>) => void): Uint8Array {
  const entries = unzipSync(zip);
  edit(entries);
  return zipSync(entries);
}

describe("exportPack", () => {
  it("holds the whole chain, its snapshots, the reports and a manifest with every hash", async () => {
    const store = memoryStore(3);

    const zip = await exportPack(store, {
      generatedAt: GENERATED_AT,
      vigilVersion: "1.2.3",
      reports: [{ name: "report.html", content: "<p>hi</p>" }],
    });

    const entries = unzipSync(zip);
    const manifest = manifestOf(zip);
    expect(Object.keys(entries).filter((p) => p.startsWith("ledger/"))).toEqual([
      recordName(1),
      recordName(2),
      recordName(3),
    ]);
    expect(Object.keys(entries).filter((p) => p.startsWith("snapshots/"))).toHaveLength(4);
    expect(manifest.formatVersion).toBe(1);
    expect(manifest.vigilVersion).toBe("1.2.3");
    expect(manifest.period).toEqual({ from: null, to: null, firstSeq: 1, lastSeq: 3 });
    expect(manifest.head).toEqual({ seq: 3, hash: sha256Hex(store.records.get(recordName(3))!) });
    for (const file of manifest.files) {
      expect(sha256Hex(entries[file.path]!)).toBe(file.sha256);
      expect(entries[file.path]!.length).toBe(file.bytes);
    }
    expect(manifest.files.map((f) => f.path)).toContain("reports/report.html");
  });

  it("takes records 1 to the period's last, and marks the period's first and last seq", async () => {
    const store = memoryStore(5);

    const zip = await exportPack(store, {
      from: "2025-06-02T00:00:00Z",
      to: "2025-06-03T23:59:59Z",
      generatedAt: GENERATED_AT,
      vigilVersion: "t",
    });

    const manifest = manifestOf(zip);
    expect(manifest.period).toEqual({
      from: "2025-06-02T00:00:00Z",
      to: "2025-06-03T23:59:59Z",
      firstSeq: 2,
      lastSeq: 3,
    });
    expect(manifest.head.seq).toBe(3);
    expect(manifest.files.filter((f) => f.path.startsWith("ledger/")).map((f) => f.path)).toEqual([
      recordName(1),
      recordName(2),
      recordName(3),
    ]);
    expect(verifyPackBytes(zip).ok).toBe(true);
  });

  it("writes the same bytes for the same store and options", async () => {
    const store = memoryStore(2);
    const options = { generatedAt: GENERATED_AT, vigilVersion: "t" };

    const a = await exportPack(store, options);
    const b = await exportPack(store, options);

    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it("refuses a store whose ledger does not verify", async () => {
    const store = memoryStore(3);
    const name = recordName(2);
    store.records.set(name, store.records.get(name)!.replace('"fail"', '"pass"'));

    const error = await exportPack(store, { generatedAt: GENERATED_AT, vigilVersion: "t" }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(PackExportError);
    expect((error as PackExportError).reason).toBe("tampered");
    expect((error as PackExportError).problems).toContainEqual(
      expect.objectContaining({ kind: "changed", seq: 2 }),
    );
  });

  it.each([
    ["an empty store", 0, {}],
    ["a period with no record", 3, { from: "2026-01-01T00:00:00Z" }],
  ])("refuses %s as empty", async (_case, count, period) => {
    const error = await exportPack(memoryStore(count), {
      ...period,
      generatedAt: GENERATED_AT,
      vigilVersion: "t",
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PackExportError);
    expect((error as PackExportError).reason).toBe("empty");
  });

  it.each([
    ["a --from that is not a date", { from: "yesterday" }],
    ["--from after --to", { from: "2025-06-03T00:00:00Z", to: "2025-06-02T00:00:00Z" }],
    ["a report name with a folder", { reports: [{ name: "../x.html", content: "" }] }],
  ])("rejects %s", async (_case, extra) => {
    await expect(
      exportPack(memoryStore(2), { generatedAt: GENERATED_AT, vigilVersion: "t", ...extra }),
    ).rejects.toBeInstanceOf(InputError);
  });
});

describe("verifyPackBytes", () => {
  async function pack(): Promise<Uint8Array> {
    return exportPack(memoryStore(3), {
      generatedAt: GENERATED_AT,
      vigilVersion: "t",
      reports: [{ name: "summary.csv", content: "a,b\n" }],
    });
  }

  it("passes an intact pack and checks its ledger against the manifest's head", async () => {
    const zip = await pack();

    const result = verifyPackBytes(zip);

    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.ledger).toMatchObject({ ok: true, records: 3, snapshots: 4 });
    expect(result.ledger.head).toEqual(result.manifest.head);
  });

  it("names a record whose bytes were changed", async () => {
    const tampered = rezip(await pack(), (entries) => {
      const name = recordName(2);
      const text = new TextDecoder().decode(entries[name]);
      entries[name] = new TextEncoder().encode(text.replace('"fail"', '"pass"'));
    });

    const result = verifyPackBytes(tampered);

    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(
      expect.objectContaining({ kind: "changed", path: recordName(2), seq: 2 }),
    );
  });

  it("names a changed snapshot, a deleted record and an added file", async () => {
    const zip = await pack();
    const manifest = manifestOf(zip);
    const snapshot = manifest.files.find((f) => f.path.startsWith("snapshots/"))!.path;

    const tampered = rezip(zip, (entries) => {
      entries[snapshot] = new TextEncoder().encode("{}");
      delete entries[recordName(1)];
      entries["reports/extra.txt"] = new TextEncoder().encode("x");
    });
    const kinds = verifyPackBytes(tampered).problems.map((p) => [p.kind, p.path]);

    expect(kinds).toContainEqual(["changed", snapshot]);
    expect(kinds).toContainEqual(["snapshot-changed", snapshot]);
    expect(kinds).toContainEqual(["missing", recordName(1)]);
    expect(kinds).toContainEqual(["added", "reports/extra.txt"]);
  });

  it("names two swapped records", async () => {
    const tampered = rezip(await pack(), (entries) => {
      const one = entries[recordName(1)]!;
      entries[recordName(1)] = entries[recordName(2)]!;
      entries[recordName(2)] = one;
    });

    const problems = verifyPackBytes(tampered).problems;

    expect(problems).toContainEqual(expect.objectContaining({ kind: "reordered", seq: 1 }));
    expect(problems).toContainEqual(expect.objectContaining({ kind: "reordered", seq: 2 }));
  });

  it("never passes a pack with any one byte changed", async () => {
    const zip = await pack();
    const outcomes = new Set<string>();

    for (let i = 0; i < zip.length; i++) {
      const copy = zip.slice();
      copy[i] = (copy[i] as number) ^ 0x20;
      try {
        outcomes.add(verifyPackBytes(copy).ok ? `intact at ${i}` : "tampered");
      } catch (error) {
        if (!(error instanceof PackFormatError)) throw error;
        outcomes.add("unreadable");
      }
    }

    expect([...outcomes].filter((o) => o.startsWith("intact"))).toEqual([]);
    expect(outcomes).toContain("tampered");
  });

  it.each([
    ["bytes that are not a zip", new TextEncoder().encode("not a zip at all")],
    ["a zip without a manifest", zipSync({ "a.txt": new Uint8Array([1]) })],
    ["a manifest that is not JSON", zipSync({ [PACK_MANIFEST]: new Uint8Array([123]) })],
  ])("throws PackFormatError for %s", (_case, bytes) => {
    expect(() => verifyPackBytes(bytes)).toThrow(PackFormatError);
  });
});
