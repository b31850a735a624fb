/** buildDigest and chunkDigest: what is news, in which order, under which id. */

import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex, type Transition } from "../../../src/core/index.js";
import { buildDigest, chunkDigest } from "../../../src/notify/index.js";

const RUN = "run-1";
const AT = "2026-11-23T06:00:00Z";

function transition(overrides: Partial<Transition> = {}): Transition {
  return {
    kind: "new-failure",
    scope: "sub-1",
    controlId: "storage-https-only",
    resourceId: "/subscriptions/1/storage/a",
    from: null,
    to: "fail",
    severity: "high",
    runId: RUN,
    at: AT,
    ...overrides,
  };
}

const options = {
  runId: RUN,
  trigger: "timer",
  evaluatedAt: AT,
  titleOf: (controlId: string) => `Title of ${controlId}`,
};

describe("buildDigest", () => {
  it("returns undefined when the run changed nothing", () => {
    const digest = buildDigest([], options);

    expect(digest).toBeUndefined();
  });

  it("returns undefined when every transition is still-failing", () => {
    const digest = buildDigest(
      [transition({ kind: "still-failing", from: "fail" }), transition({ kind: "still-failing" })],
      options,
    );

    expect(digest).toBeUndefined();
  });

  it("leaves still-failing transitions out and keeps the others", () => {
    const digest = buildDigest(
      [
        transition({ kind: "still-failing", from: "fail", resourceId: "r-still" }),
        transition({ kind: "resolved", from: "fail", to: "pass", resourceId: "r-resolved" }),
      ],
      options,
    );

    expect(digest?.transitions.map((entry) => entry.resourceId)).toEqual(["r-resolved"]);
    expect(digest?.counts).toEqual({ resolved: 1 });
  });

  it("sorts by severity (critical first), then control id, then resource id", () => {
    const digest = buildDigest(
      [
        transition({ severity: "low", controlId: "a", resourceId: "r1" }),
        transition({ severity: "high", controlId: "b", resourceId: "r2" }),
        transition({ severity: "critical", controlId: "z", resourceId: "r9" }),
        transition({ severity: "high", controlId: "a", resourceId: "r3" }),
        transition({ severity: "high", controlId: "a", resourceId: "r1" }),
        transition({ severity: "medium", controlId: "a", resourceId: "r1" }),
      ],
      options,
    );

    expect(digest?.transitions.map((e) => `${e.severity}/${e.controlId}/${e.resourceId}`)).toEqual([
      "critical/z/r9",
      "high/a/r1",
      "high/a/r3",
      "high/b/r2",
      "medium/a/r1",
      "low/a/r1",
    ]);
  });

  it("gives the same id and entries whatever order the transitions come in", () => {
    const transitions = [
      transition({ controlId: "a", resourceId: "r1" }),
      transition({ controlId: "b", resourceId: "r1", kind: "regression", from: "pass" }),
      transition({ controlId: "a", resourceId: "r2", scope: "sub-2", severity: "critical" }),
      transition({ controlId: "a", resourceId: "r1", scope: "sub-0" }),
    ];

    const forward = buildDigest(transitions, options);
    const backward = buildDigest([...transitions].reverse(), options);

    expect(forward?.id).toMatch(/^[0-9a-f]{64}$/);
    expect(backward).toEqual(forward);
  });

  it("derives the id from the run id and the sorted entries only", () => {
    const digest = buildDigest([transition()], options);

    expect(digest?.id).toBe(
      sha256Hex(canonicalJson({ runId: RUN, transitions: digest?.transitions })),
    );
  });

  it("gives another id to another run or other changes", () => {
    const base = buildDigest([transition()], options)?.id;
    const otherRun = buildDigest([transition({ runId: "run-2" })], {
      ...options,
      runId: "run-2",
    })?.id;
    const otherChange = buildDigest([transition({ severity: "critical" })], options)?.id;

    expect(new Set([base, otherRun, otherChange]).size).toBe(3);
  });

  it("keeps the trigger and evaluation time out of the id", () => {
    const timer = buildDigest([transition()], options);
    const cli = buildDigest([transition()], {
      ...options,
      trigger: "cli",
      evaluatedAt: "2026-11-24T00:00:00Z",
    });

    expect(cli?.trigger).toBe("cli");
    expect(cli?.id).toBe(timer?.id);
  });

  it("counts each kind", () => {
    const digest = buildDigest(
      [
        transition({ resourceId: "r1" }),
        transition({ resourceId: "r2" }),
        transition({ resourceId: "r3", kind: "regression", from: "pass" }),
        transition({ resourceId: "r4", kind: "error-started", to: "error" }),
        transition({ resourceId: "r5", kind: "error-cleared", from: "error", to: "pass" }),
        transition({ resourceId: "r6", kind: "resolved", from: "fail", to: "pass" }),
      ],
      options,
    );

    expect(digest?.counts).toEqual({
      "new-failure": 2,
      regression: 1,
      "error-started": 1,
      resolved: 1,
      "error-cleared": 1,
    });
  });

  it("keeps an identical transition once", () => {
    const digest = buildDigest([transition(), transition()], options);

    expect(digest?.transitions).toHaveLength(1);
    expect(digest?.counts).toEqual({ "new-failure": 1 });
  });

  it("carries the title, the reason and the transition's fields into each entry", () => {
    const digest = buildDigest([transition({ kind: "regression", from: "pass" })], {
      ...options,
      reasonOf: (controlId, resourceId) =>
        `${controlId} on ${resourceId}: supportsHttpsTrafficOnly is false`,
    });

    expect(digest).toEqual({
      id: expect.any(String),
      runId: RUN,
      trigger: "timer",
      evaluatedAt: AT,
      counts: { regression: 1 },
      transitions: [
        {
          kind: "regression",
          scope: "sub-1",
          controlId: "storage-https-only",
          title: "Title of storage-https-only",
          resourceId: "/subscriptions/1/storage/a",
          severity: "high",
          from: "pass",
          to: "fail",
          reason:
            "storage-https-only on /subscriptions/1/storage/a: supportsHttpsTrafficOnly is false",
        },
      ],
    });
  });

  it("uses the control id as the title when the catalogue has none", () => {
    const digest = buildDigest([transition()], { ...options, titleOf: () => undefined });

    expect(digest?.transitions[0]?.title).toBe("storage-https-only");
  });

  it("asks no reason for a deleted resource and marks it deleted", () => {
    const asked: string[] = [];
    const digest = buildDigest(
      [
        transition({
          kind: "resolved",
          from: "fail",
          to: "not_applicable",
          resourceDeleted: true,
        }),
      ],
      {
        ...options,
        reasonOf: (_controlId, resourceId) => {
          asked.push(resourceId);
          return "a stale reason";
        },
      },
    );

    expect(asked).toEqual([]);
    expect(digest?.transitions[0]).toMatchObject({ resourceDeleted: true });
    expect(digest?.transitions[0]).not.toHaveProperty("reason");
  });

  it("refuses a transition of another run", () => {
    expect(() => buildDigest([transition({ runId: "run-0" })], options)).toThrow(RangeError);
  });

  it("refuses an evaluation time that is not a time", () => {
    expect(() => buildDigest([transition()], { ...options, evaluatedAt: "yesterday" })).toThrow(
      RangeError,
    );
  });
});

describe("chunkDigest", () => {
  const digest = buildDigest(
    Array.from({ length: 7 }, (_, i) =>
      transition({
        resourceId: `r${i}`,
        ...(i % 2 === 0
          ? {}
          : { kind: "resolved" as const, from: "fail" as const, to: "pass" as const }),
      }),
    ),
    options,
  );
  if (digest === undefined) throw new Error("the fixture digest is empty");

  it("returns a digest that fits as it is", () => {
    const chunks = chunkDigest(digest, 7);

    expect(chunks).toEqual([digest]);
  });

  it("splits into parts with ids <id>-<i>of<n>, in order, with their own counts", () => {
    const chunks = chunkDigest(digest, 3);

    expect(chunks.map((chunk) => chunk.id)).toEqual([
      `${digest.id}-1of3`,
      `${digest.id}-2of3`,
      `${digest.id}-3of3`,
    ]);
    expect(chunks.flatMap((chunk) => chunk.transitions)).toEqual(digest.transitions);
    expect(chunks.map((chunk) => chunk.transitions.length)).toEqual([3, 3, 1]);
    expect(chunks.map((chunk) => chunk.counts)).toEqual([
      { "new-failure": 2, resolved: 1 },
      { "new-failure": 1, resolved: 2 },
      { "new-failure": 1 },
    ]);
    expect(chunks.every((chunk) => chunk.runId === RUN && chunk.trigger === "timer")).toBe(true);
  });

  it("splits the same digest the same way every time", () => {
    expect(chunkDigest(digest, 2)).toEqual(chunkDigest(structuredClone(digest), 2));
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses maxEntries %s", (maxEntries) => {
    expect(() => chunkDigest(digest, maxEntries)).toThrow(RangeError);
  });
});
