/** Tests of the current-state merge: transition kinds, deletions, late runs and idempotence. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  classifyTransition,
  computeTransitions,
  type StateRow,
  type TransitionKind,
} from "../../../src/core/transitions.js";
import { type Finding, STATUSES, type Status } from "../../../src/core/types.js";

const SCOPE = "/subscriptions/0000";
const RESOURCE =
  "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a";

function finding(status: Status, overrides: Partial<Finding> = {}): Finding {
  return {
    controlId: "storage-https-only",
    controlVersion: 1,
    title: "Storage account accepts HTTPS only",
    resourceId: RESOURCE,
    resourceType: "Microsoft.Storage/storageAccounts",
    status,
    severity: "high",
    family: "backup-encryption",
    reason: "",
    trace: [],
    parameters: {},
    frameworks: { iso27001: [], soc2: [], nist80053: [], mcsb: [] },
    evaluatedAt: "2025-01-01T00:00:00Z",
    ...overrides,
  };
}

function run(
  previous: StateRow[],
  findings: Finding[],
  runId: string,
  observedAt: string,
  deletedResourceIds?: string[],
) {
  return computeTransitions(previous, findings, {
    runId,
    observedAt,
    scope: SCOPE,
    ...(deletedResourceIds ? { deletedResourceIds } : {}),
  });
}

/** State after a first run with one finding of `status`. */
function stateWith(status: Status): StateRow[] {
  return run([], [finding(status)], "run-1", "2025-01-01T00:00:00Z").rows;
}

describe("classifyTransition", () => {
  it.each<[Status | null, Status, TransitionKind | undefined]>([
    [null, "fail", "new-failure"],
    ["not_applicable", "fail", "new-failure"],
    ["pass", "fail", "regression"],
    ["waived", "fail", "regression"],
    ["fail", "pass", "resolved"],
    ["fail", "waived", "resolved"],
    ["fail", "not_applicable", "resolved"],
    ["fail", "fail", "still-failing"],
    [null, "error", "error-started"],
    ["pass", "error", "error-started"],
    ["fail", "error", "error-started"],
    ["error", "pass", "error-cleared"],
    ["error", "fail", "error-cleared"],
    ["error", "waived", "error-cleared"],
    ["error", "error", undefined],
    [null, "pass", undefined],
    [null, "waived", undefined],
    [null, "not_applicable", undefined],
    ["pass", "pass", undefined],
    ["pass", "waived", undefined],
    ["waived", "pass", undefined],
    ["pass", "not_applicable", undefined],
  ])("classifies %s → %s as %s", (from, to, kind) => {
    expect(classifyTransition(from, to)).toBe(kind);
  });
});

describe("computeTransitions", () => {
  it("creates a row and reports a new failure for a first failing finding", () => {
    const result = run([], [finding("fail")], "run-1", "2025-01-01T00:00:00Z");

    expect(result.rows).toEqual([
      {
        scope: SCOPE,
        controlId: "storage-https-only",
        resourceId: RESOURCE,
        status: "fail",
        severity: "high",
        firstSeen: "2025-01-01T00:00:00Z",
        lastChanged: "2025-01-01T00:00:00Z",
        lastSeen: "2025-01-01T00:00:00Z",
        lastRun: "run-1",
        finding: finding("fail"),
      },
    ]);
    expect(result.transitions).toEqual([
      {
        kind: "new-failure",
        scope: SCOPE,
        controlId: "storage-https-only",
        resourceId: RESOURCE,
        from: null,
        to: "fail",
        severity: "high",
        runId: "run-1",
        at: "2025-01-01T00:00:00Z",
      },
    ]);
  });

  it("reports a regression and moves lastChanged when a passing pair fails", () => {
    const result = run(stateWith("pass"), [finding("fail")], "run-2", "2025-01-02T00:00:00Z");

    expect(result.transitions.map((t) => t.kind)).toEqual(["regression"]);
    expect(result.rows[0]).toMatchObject({
      status: "fail",
      firstSeen: "2025-01-01T00:00:00Z",
      lastChanged: "2025-01-02T00:00:00Z",
      lastSeen: "2025-01-02T00:00:00Z",
      lastRun: "run-2",
    });
  });

  it("reports still-failing and keeps lastChanged when a failing pair fails again", () => {
    const result = run(stateWith("fail"), [finding("fail")], "run-2", "2025-01-02T00:00:00Z");

    expect(result.transitions.map((t) => t.kind)).toEqual(["still-failing"]);
    expect(result.rows[0]).toMatchObject({
      lastChanged: "2025-01-01T00:00:00Z",
      lastSeen: "2025-01-02T00:00:00Z",
    });
  });

  it("reports resolved when a failing pair passes", () => {
    const result = run(stateWith("fail"), [finding("pass")], "run-2", "2025-01-02T00:00:00Z");

    expect(result.transitions.map((t) => [t.kind, t.from, t.to])).toEqual([
      ["resolved", "fail", "pass"],
    ]);
  });

  it("reports error-started and then error-cleared, not a second error-started", () => {
    const started = run(stateWith("pass"), [finding("error")], "run-2", "2025-01-02T00:00:00Z");
    const again = run(started.rows, [finding("error")], "run-3", "2025-01-03T00:00:00Z");
    const cleared = run(again.rows, [finding("fail")], "run-4", "2025-01-04T00:00:00Z");

    expect(started.transitions.map((t) => t.kind)).toEqual(["error-started"]);
    expect(again.transitions).toEqual([]);
    expect(cleared.transitions.map((t) => [t.kind, t.to])).toEqual([["error-cleared", "fail"]]);
  });

  it("resolves a failing pair whose resource was deleted and marks the row not_applicable", () => {
    const result = run(stateWith("fail"), [], "run-2", "2025-01-02T00:00:00Z", [RESOURCE]);

    expect(result.transitions).toMatchObject([
      { kind: "resolved", from: "fail", to: "not_applicable", resourceDeleted: true },
    ]);
    expect(result.rows[0]).toMatchObject({
      status: "not_applicable",
      deletedAt: "2025-01-02T00:00:00Z",
      lastSeen: "2025-01-01T00:00:00Z",
      lastChanged: "2025-01-02T00:00:00Z",
    });
  });

  it("reports a new failure when a deleted resource comes back failing", () => {
    const deleted = run(stateWith("fail"), [], "run-2", "2025-01-02T00:00:00Z", [RESOURCE]).rows;

    const result = run(deleted, [finding("fail")], "run-3", "2025-01-03T00:00:00Z");

    expect(result.transitions.map((t) => t.kind)).toEqual(["new-failure"]);
    expect(result.rows[0]?.deletedAt).toBeUndefined();
  });

  it("lets a finding in the same run win over the resource's deletion", () => {
    const result = run(stateWith("fail"), [finding("fail")], "run-2", "2025-01-02T00:00:00Z", [
      RESOURCE,
    ]);

    expect(result.transitions.map((t) => t.kind)).toEqual(["still-failing"]);
    expect(result.rows[0]?.deletedAt).toBeUndefined();
  });

  it("leaves rows without a finding in this run as they are", () => {
    const previous = stateWith("fail");

    const result = run(
      previous,
      [finding("pass", { resourceId: `${RESOURCE}2` })],
      "run-2",
      "2025-01-02T00:00:00Z",
    );

    expect(result.rows).toContainEqual(previous[0]);
    expect(result.transitions).toEqual([]);
  });

  it("ignores a late run older than the row's last sighting", () => {
    const current = run(stateWith("fail"), [finding("pass")], "run-3", "2025-01-03T00:00:00Z");

    const late = run(current.rows, [finding("fail")], "run-2", "2025-01-02T00:00:00Z");

    expect(late.rows).toEqual(current.rows);
    expect(late.transitions).toEqual([]);
  });

  it("keeps the most alarming of duplicate findings, whatever their order", () => {
    const a = run(
      [],
      [finding("pass"), finding("error"), finding("fail")],
      "r",
      "2025-01-01T00:00:00Z",
    );
    const b = run(
      [],
      [finding("fail"), finding("error"), finding("pass")],
      "r",
      "2025-01-01T00:00:00Z",
    );

    expect(a).toEqual(b);
    expect(a.rows[0]?.status).toBe("error");
  });

  it("ignores rows of other scopes", () => {
    const other = stateWith("fail").map((row) => ({ ...row, scope: "other" }));

    const result = run(other, [finding("fail")], "run-2", "2025-01-02T00:00:00Z");

    expect(result.transitions.map((t) => t.kind)).toEqual(["new-failure"]);
    expect(result.rows).toHaveLength(1);
  });

  it("throws RangeError when observedAt is not a time", () => {
    expect(() => run([], [], "run-1", "yesterday")).toThrow(RangeError);
  });

  describe("idempotence (property)", () => {
    const status = fc.constantFrom(...STATUSES);
    const resource = fc.constantFrom("r1", "r2", "r3");
    const control = fc.constantFrom("c1", "c2");
    const findingsArb = fc.array(
      fc
        .record({ controlId: control, resourceId: resource, status })
        .map((f) => finding(f.status, f)),
      { maxLength: 8 },
    );
    const runArb = fc.record({
      findings: findingsArb,
      deleted: fc.subarray(["r1", "r2", "r3"]),
      day: fc.integer({ min: 1, max: 28 }),
    });

    it("applies the same run a second time as a no-op, after any history", () => {
      fc.assert(
        fc.property(fc.array(runArb, { maxLength: 4 }), runArb, (history, last) => {
          let rows: StateRow[] = [];
          history.forEach((h, i) => {
            rows = run(rows, h.findings, `h${i}`, day(h.day), h.deleted).rows;
          });

          const once = run(rows, last.findings, "last", day(last.day), last.deleted);
          const twice = run(once.rows, last.findings, "last", day(last.day), last.deleted);

          expect(twice.rows).toEqual(once.rows);
          expect(twice.transitions).toEqual([]);
        }),
        { numRuns: 300 },
      );
    });

    it("emits at most one transition per pair, each consistent with its rows", () => {
      fc.assert(
        fc.property(runArb, runArb, (first, second) => {
          const a = run([], first.findings, "a", day(1), first.deleted);

          const b = run(a.rows, second.findings, "b", day(2), second.deleted);

          const keys = b.transitions.map((t) => `${t.controlId} ${t.resourceId}`);
          expect(new Set(keys).size).toBe(keys.length);
          for (const t of b.transitions) {
            const row = b.rows.find(
              (r) => r.controlId === t.controlId && r.resourceId === t.resourceId,
            );
            expect(row?.status).toBe(t.to);
            expect(classifyTransition(t.from, t.to)).toBe(t.kind);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});

function day(n: number): string {
  return `2025-01-${String(n).padStart(2, "0")}T00:00:00Z`;
}

describe("computeTransitions: deletions a complete target infers", () => {
  const OTHER = `${RESOURCE}-other`;
  const sweep = (
    previous: StateRow[],
    findings: Finding[],
    runId: string,
    observedAt: string,
    target: string,
    seen?: string[],
  ) =>
    computeTransitions(previous, findings, {
      runId,
      observedAt,
      scope: SCOPE,
      target,
      ...(seen ? { goneUnlessSeen: new Set(seen) } : {}),
    });

  it("stamps the target on the rows it writes", () => {
    const { rows } = sweep([], [finding("fail")], "run-1", day(1), "subscription 0000");

    expect(rows.map((r) => r.target)).toEqual(["subscription 0000"]);
  });

  it("resolves a failing row its own target no longer sees", () => {
    const first = sweep(
      [],
      [finding("fail"), finding("pass", { resourceId: OTHER })],
      "run-1",
      day(1),
      "subscription 0000",
      [RESOURCE, OTHER],
    ).rows;

    const { rows, transitions } = sweep(
      first,
      [finding("pass", { resourceId: OTHER })],
      "run-2",
      day(2),
      "subscription 0000",
      [OTHER],
    );

    expect(transitions).toEqual([
      expect.objectContaining({
        kind: "resolved",
        resourceId: RESOURCE,
        from: "fail",
        to: "not_applicable",
        resourceDeleted: true,
      }),
    ]);
    expect(rows.find((r) => r.resourceId === RESOURCE)).toMatchObject({
      status: "not_applicable",
      deletedAt: day(2),
    });
  });

  it("leaves rows alone without a complete listing, or when another target wrote them", () => {
    const first = sweep([], [finding("fail")], "run-1", day(1), "subscription 0000", [
      RESOURCE,
    ]).rows;

    const partial = sweep(first, [], "run-2", day(2), "subscription 0000");
    const otherTarget = sweep(first, [], "run-2", day(2), "drill records a/b", []);

    expect(partial.transitions).toEqual([]);
    expect(partial.rows[0]?.status).toBe("fail");
    expect(otherTarget.transitions).toEqual([]);
    expect(otherTarget.rows[0]?.status).toBe("fail");
  });

  it("keeps a resource seen elsewhere in the run, and is idempotent", () => {
    const first = sweep([], [finding("fail")], "run-1", day(1), "subscription 0000", [
      RESOURCE,
    ]).rows;

    const stillThere = sweep(first, [], "run-2", day(2), "subscription 0000", [RESOURCE]);
    const gone = sweep(first, [], "run-2", day(2), "subscription 0000", []);
    const again = sweep(gone.rows, [], "run-2", day(2), "subscription 0000", []);

    expect(stillThere.transitions).toEqual([]);
    expect(gone.transitions.map((t) => t.kind)).toEqual(["resolved"]);
    expect(again.transitions).toEqual([]);
    expect(again.rows).toEqual(gone.rows);
  });
});

describe("computeTransitions: a deleted resource takes its children along", () => {
  it("resolves the rows under a deleted id, compared without case, and no sibling", () => {
    const container = `${RESOURCE}/blobServices/default/containers/backups`;
    const sibling = `${RESOURCE}-2`;
    const first = computeTransitions(
      [],
      [
        finding("fail"),
        finding("fail", { resourceId: container }),
        finding("fail", { resourceId: sibling }),
      ],
      { runId: "run-1", observedAt: day(1), scope: SCOPE },
    ).rows;

    const { transitions } = computeTransitions(first, [], {
      runId: "run-2",
      observedAt: day(2),
      scope: SCOPE,
      deletedResourceIds: [RESOURCE.toUpperCase()],
    });

    expect(transitions.map((t) => [t.kind, t.resourceId])).toEqual([
      ["resolved", RESOURCE],
      ["resolved", container],
    ]);
  });
});

describe("computeTransitions: controls no longer in force", () => {
  it("turns a disabled control's rows not_applicable, resolving its failure, once", () => {
    const first = computeTransitions(
      [],
      [finding("fail"), finding("pass", { controlId: "other-control" })],
      { runId: "run-1", observedAt: day(1), scope: SCOPE },
    ).rows;
    const options = {
      runId: "run-2",
      observedAt: day(2),
      scope: SCOPE,
      controlsInForce: new Set(["other-control"]),
    };

    const { rows, transitions } = computeTransitions(
      first,
      [finding("pass", { controlId: "other-control" })],
      options,
    );
    const again = computeTransitions(
      rows,
      [finding("pass", { controlId: "other-control" })],
      options,
    );

    expect(transitions).toEqual([
      expect.objectContaining({
        kind: "resolved",
        controlId: "storage-https-only",
        from: "fail",
        to: "not_applicable",
      }),
    ]);
    expect(rows.find((r) => r.controlId === "storage-https-only")?.status).toBe("not_applicable");
    expect(rows.find((r) => r.controlId === "other-control")?.status).toBe("pass");
    expect(again.transitions).toEqual([]);
  });
});
