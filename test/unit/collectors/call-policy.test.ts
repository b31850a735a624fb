/** Unit tests of the call policy: retries, Retry-After, backoff, deadlines, budgets and slots. */

import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineResponse,
  RestError,
} from "@azure/core-rest-pipeline";
import { ApiException } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CallKey,
  classifyError,
  createCallPolicy,
  runWithCallOptions,
} from "../../../src/collectors/call-policy.js";
import { CollectionError } from "../../../src/collectors/errors.js";
import { VigilError } from "../../../src/core/index.js";

const ARM: CallKey = { api: "arm", partition: "sub-a" };

/** A clock that only moves when the policy sleeps; every sleep is recorded. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: { from: number; ms: number }[] = [];
  return {
    clock: { now: () => now },
    sleep: async (ms: number) => {
      sleeps.push({ from: now, ms });
      now += ms;
    },
    sleeps,
    get now() {
      return now;
    },
  };
}

function restError(status: number, headers: Record<string, string> = {}, body?: unknown) {
  const request = createPipelineRequest({ url: "https://arm.test/subscriptions/sub-a" });
  const response: PipelineResponse = {
    status,
    headers: createHttpHeaders(headers),
    request,
    ...(body !== undefined ? { bodyAsText: JSON.stringify(body) } : {}),
  };
  return new RestError(`status ${status}`, { statusCode: status, request, response });
}

function networkError(code: string, message = `connect ${code}`) {
  return Object.assign(new Error(message), { code });
}

/** A function that fails with the given errors in turn, then returns "ok". */
function failing(...errors: unknown[]) {
  let calls = 0;
  const fn = async () => {
    const error = errors[calls++];
    if (error !== undefined) throw error;
    return "ok";
  };
  return { fn, calls: () => calls };
}

describe("createCallPolicy", () => {
  it("returns the call's value and counts one call", async () => {
    const time = fakeTime();
    const policy = createCallPolicy(time);

    const value = await policy.call(ARM, "get", async () => 42);

    expect(value).toBe(42);
    expect(policy.stats().calls).toEqual({ arm: 1 });
    expect(time.sleeps).toEqual([]);
  });

  it("retries a 503 and a reset connection, then succeeds", async () => {
    const time = fakeTime();
    const policy = createCallPolicy({ ...time, random: () => 0 });
    const { fn, calls } = failing(restError(503), networkError("ECONNRESET"));

    const value = await policy.call(ARM, "get", fn);

    expect(value).toBe("ok");
    expect(calls()).toBe(3);
    expect(policy.stats().retries).toEqual({ arm: 2 });
  });

  it("waits exactly the Retry-After seconds of a 429", async () => {
    const time = fakeTime();
    const policy = createCallPolicy(time);
    const { fn } = failing(restError(429, { "retry-after": "7" }));

    await policy.call(ARM, "get", fn);

    expect(time.sleeps.map((s) => s.ms)).toEqual([7000]);
    expect(policy.stats().throttled).toEqual({ arm: 1 });
  });

  it.each([
    ["retry-after-ms", "250"],
    ["x-ms-retry-after-ms", "1250"],
  ])("prefers the millisecond header %s over Retry-After", async (name, value) => {
    const time = fakeTime();
    const policy = createCallPolicy(time);
    const { fn } = failing(restError(429, { "retry-after": "30", [name]: value }));

    await policy.call(ARM, "get", fn);

    expect(time.sleeps.map((s) => s.ms)).toEqual([Number(value)]);
  });

  it("backs off exponentially with jitter when a 429 names no wait (Graph)", async () => {
    const time = fakeTime();
    const policy = createCallPolicy({
      ...time,
      random: () => 0.5,
      initialBackoffInMs: 400,
      rateLimits: { graph: false },
    });
    const { fn } = failing(restError(429), restError(429), restError(429));

    await policy.call({ api: "graph", partition: "tenant" }, "list", fn);

    // equal jitter: step/2 + random * step/2 with steps 400, 800, 1600
    expect(time.sleeps.map((s) => s.ms)).toEqual([300, 600, 1200]);
  });

  it("does not retry a 403 and reports status, ARM code and request id", async () => {
    const time = fakeTime();
    const policy = createCallPolicy(time);
    const forbidden = restError(
      403,
      { "x-ms-request-id": "req-403" },
      { error: { code: "AuthorizationFailed", message: "no read" } },
    );
    const { fn, calls } = failing(forbidden);

    const error = await policy.call(ARM, "list servers", fn).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CollectionError);
    expect(error).toMatchObject({
      source: "arm",
      statusCode: 403,
      code: "AuthorizationFailed",
      requestId: "req-403",
      retryable: false,
    });
    expect(calls()).toBe(1);
    expect(policy.stats().failures).toEqual({ arm: 1 });
  });

  it("gives up after maxAttempts with a retryable CollectionError", async () => {
    const time = fakeTime();
    const policy = createCallPolicy({ ...time, maxAttempts: 3 });
    const { fn, calls } = failing(restError(500), restError(502), restError(504), restError(503));

    const error = await policy.call(ARM, "get", fn).catch((e: unknown) => e);

    expect(calls()).toBe(3);
    expect(error).toMatchObject({ statusCode: 504, retryable: true });
  });

  it("fails at once rather than wait past the deadline", async () => {
    const time = fakeTime();
    const policy = createCallPolicy(time);
    const { fn, calls } = failing(restError(429, { "retry-after": "10" }));

    const error = await policy
      .call(ARM, "get", fn, { deadlineMs: time.now + 5000 })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ statusCode: 429, retryable: true });
    expect(calls()).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it("starts no attempt once the deadline has passed", async () => {
    const time = fakeTime();
    const policy = createCallPolicy(time);
    const { fn, calls } = failing();

    const error = await policy
      .call(ARM, "get", fn, { deadlineMs: time.now - 1 })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: "DeadlineExceeded" });
    expect(calls()).toBe(0);
  });

  it("paces reads with a client-side bucket per partition", async () => {
    const time = fakeTime();
    const policy = createCallPolicy({
      ...time,
      rateLimits: { arm: { capacity: 2, refillPerSecond: 4 } },
    });

    for (let i = 0; i < 4; i++) await policy.call(ARM, "get", async () => i);
    await policy.call({ api: "arm", partition: "sub-b" }, "get", async () => 0);

    expect(time.sleeps.map((s) => s.ms)).toEqual([250, 250]);
  });

  it("paces sovereign clouds by their hourly read limit", async () => {
    const time = fakeTime();
    const policy = createCallPolicy({
      ...time,
      cloud: { armReadBudget: { model: "hourly", readsPerHour: 2 } },
    });

    for (let i = 0; i < 3; i++) await policy.call(ARM, "get", async () => i);

    expect(time.sleeps.map((s) => s.ms)).toEqual([1_800_000]);
  });

  it("gives up with DeadlineExceeded when the deadline passes while waiting for a slot", async () => {
    const time = fakeTime();
    const policy = createCallPolicy({
      ...time,
      concurrency: { arm: { perApi: 4, perPartition: 1 } },
    });
    let finishFirst = () => {};
    const first = policy.call(
      ARM,
      "hold",
      () =>
        new Promise<string>((resolve) => {
          finishFirst = () => resolve("first");
        }),
    );
    const { fn, calls } = failing();

    const error = await policy
      .call(ARM, "wait", fn, { deadlineMs: time.now + 1000 })
      .catch((e: unknown) => e);
    finishFirst();

    expect(error).toBeInstanceOf(CollectionError);
    expect(error).toMatchObject({ code: "DeadlineExceeded", retryable: false, source: "arm" });
    expect(calls()).toBe(0);
    expect(await first).toBe("first");
    expect(policy.stats().failures).toEqual({ arm: 1 });
  });

  it("hands the slot on to the next waiter when a call finishes before the deadline", async () => {
    const policy = createCallPolicy({ concurrency: { arm: { perApi: 4, perPartition: 1 } } });
    let finishFirst = () => {};
    let start = () => {};
    const started = new Promise<void>((resolve) => {
      start = resolve;
    });
    const first = policy.call(
      ARM,
      "hold",
      () =>
        new Promise<string>((resolve) => {
          finishFirst = () => resolve("first");
          start();
        }),
    );
    await started;

    const second = policy.call(ARM, "wait", async () => "second", {
      deadlineMs: Date.now() + 60_000,
    });
    finishFirst();

    expect(await Promise.all([first, second])).toEqual(["first", "second"]);
  });

  it("returns the read reserved before an aborted wait to the budget", async () => {
    const time = fakeTime();
    const controller = new AbortController();
    const policy = createCallPolicy({
      ...time,
      rateLimits: { arm: { capacity: 1, refillPerSecond: 1 } },
      sleep: async (ms, abortSignal) => {
        if (abortSignal === controller.signal) {
          controller.abort(new DOMException("stop", "AbortError"));
          throw abortSignal.reason;
        }
        await time.sleep(ms);
      },
    });
    await policy.call(ARM, "first", async () => 1);

    const aborted = await policy
      .call(ARM, "aborted", async () => 2, { abortSignal: controller.signal })
      .catch((e: unknown) => e);
    await policy.call(ARM, "third", async () => 3);

    expect(aborted).toMatchObject({ name: "AbortError" });
    expect(time.sleeps.map((s) => s.ms)).toEqual([1000]);
  });

  it("rethrows an abort instead of retrying it", async () => {
    const policy = createCallPolicy(fakeTime());
    const controller = new AbortController();
    controller.abort(new DOMException("stop", "AbortError"));

    await expect(
      policy.call(ARM, "get", async () => 1, { abortSignal: controller.signal }),
    ).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("classifyError", () => {
  it("reads status, ARM code, request id and Retry-After from a core RestError", () => {
    const error = restError(
      429,
      { "x-ms-request-id": "r1", "retry-after": "3" },
      { error: { code: "TooManyRequests", message: "slow down" } },
    );

    expect(classifyError(error)).toEqual({
      kind: "throttled",
      retryable: true,
      statusCode: 429,
      code: "TooManyRequests",
      message: "slow down",
      requestId: "r1",
      retryAfterInMs: 3000,
    });
  });

  it("reads a Kubernetes ApiException's code, Status reason and audit id", () => {
    const error = new ApiException(
      403,
      "forbidden",
      JSON.stringify({ kind: "Status", reason: "Forbidden", message: "no list", code: 403 }),
      { "audit-id": "a1" },
    );

    expect(classifyError(error)).toMatchObject({
      kind: "client",
      retryable: false,
      statusCode: 403,
      code: "Forbidden",
      requestId: "a1",
    });
  });

  it("turns an HTTP-date Retry-After into a wait from now", () => {
    const now = Date.parse("2026-11-23T06:00:00Z");
    const error = restError(503, { "retry-after": "Mon, 23 Nov 2026 06:00:04 GMT" });

    expect(classifyError(error, now).retryAfterInMs).toBe(4000);
  });

  it.each([
    ["ECONNRESET", networkError("ECONNRESET"), true, "network"],
    ["ECONNREFUSED", networkError("ECONNREFUSED"), true, "network"],
    ["socket hang up", new Error("socket hang up"), true, "network"],
    [
      "undici fetch failed",
      new TypeError("fetch failed", { cause: networkError("UND_ERR_SOCKET") }),
      true,
      "network",
    ],
    ["REQUEST_SEND_ERROR", new RestError("socket closed", { code: "ECONNRESET" }), true, "network"],
    ["PARSE_ERROR", new RestError("bad json", { code: "PARSE_ERROR" }), true, "truncated"],
    [
      "PARSE_ERROR of a 200",
      new RestError("bad json", { code: "PARSE_ERROR", statusCode: 200 }),
      true,
      "truncated",
    ],
    ["SyntaxError", new SyntaxError("Unexpected end of JSON input"), true, "truncated"],
    ["ENOTFOUND", networkError("ENOTFOUND"), false, "network"],
    ["AbortError", new DOMException("aborted", "AbortError"), false, "aborted"],
    ["TypeError", new TypeError("x is not a function"), false, "unknown"],
    ["500", restError(500), true, "server"],
    ["501", restError(501), false, "server"],
    ["404", restError(404), false, "client"],
  ])("classifies %s", (_label, error, retryable, kind) => {
    expect(classifyError(error)).toMatchObject({ retryable, kind });
  });
});

describe("pipelinePolicy", () => {
  const url = "https://arm.test/subscriptions/sub-a/providers/Microsoft.Storage/storageAccounts";

  function response(status: number, body: string, headers: Record<string, string> = {}) {
    return (request: ReturnType<typeof createPipelineRequest>): PipelineResponse => ({
      status,
      headers: createHttpHeaders({ "content-type": "application/json", ...headers }),
      request,
      bodyAsText: body,
    });
  }

  it("retries a 429 and a truncated JSON body inside the pipeline", async () => {
    const time = fakeTime();
    const policy = createCallPolicy(time).pipelinePolicy(ARM);
    const answers = [
      response(429, "{}", { "retry-after-ms": "20" }),
      response(200, '{"value": [{"id": "/a"'),
      response(200, '{"value": []}'),
    ];
    let sent = 0;

    const result = await policy.sendRequest(createPipelineRequest({ url }), async (request) => {
      const answer = answers[sent++];
      if (answer === undefined) throw new Error("too many requests");
      return answer(request);
    });

    expect(result.bodyAsText).toBe('{"value": []}');
    expect(sent).toBe(3);
    expect(time.sleeps[0]?.ms).toBe(20);
  });

  it("throws a CollectionError for a final 403", async () => {
    const policy = createCallPolicy(fakeTime()).pipelinePolicy(ARM);
    const body = JSON.stringify({ error: { code: "AuthorizationFailed", message: "denied" } });

    const error = await policy
      .sendRequest(createPipelineRequest({ url }), async (request) =>
        response(403, body, { "x-ms-request-id": "rid" })(request),
      )
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      name: "CollectionError",
      statusCode: 403,
      code: "AuthorizationFailed",
      requestId: "rid",
    });
  });

  it.each([
    ["GET", url, 3],
    ["HEAD", url, 3],
    ["POST", "https://arm.test/providers/Microsoft.ResourceGraph/resources", 3],
    [
      "POST",
      "https://arm.test/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c/listClusterUserCredential",
      3,
    ],
    [
      "POST",
      "https://arm.test/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c/listClusterAdminCredential",
      1,
    ],
    ["PUT", url, 1],
    ["DELETE", url, 1],
    ["PATCH", url, 1],
  ] as const)(
    "sends %s %s at most %i times when it fails with a 503",
    async (method, target, expected) => {
      const time = fakeTime();
      const policy = createCallPolicy({ ...time, maxAttempts: 3 }).pipelinePolicy(ARM);
      let sent = 0;

      const error = await policy
        .sendRequest(createPipelineRequest({ url: target, method }), async (request) => {
          sent++;
          return response(503, "{}")(request);
        })
        .catch((e: unknown) => e);

      expect(sent).toBe(expected);
      expect(error).toMatchObject({ name: "CollectionError", statusCode: 503 });
    },
  );

  it("keeps the HTTP failure as a VigilError cause of the CollectionError", async () => {
    const policy = createCallPolicy(fakeTime()).pipelinePolicy(ARM);

    const error = await policy
      .sendRequest(createPipelineRequest({ url }), async (request) => response(403, "{}")(request))
      .catch((e: unknown) => e);

    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(VigilError);
    expect(cause).toMatchObject({ name: "HttpResponseError", statusCode: 403 });
  });

  it("keeps a truncated body as a VigilError cause of the CollectionError", async () => {
    const policy = createCallPolicy({ ...fakeTime(), maxAttempts: 1 }).pipelinePolicy(ARM);

    const error = await policy
      .sendRequest(createPipelineRequest({ url }), async (request) =>
        response(200, '{"value": [')(request),
      )
      .catch((e: unknown) => e);

    const cause = (error as Error).cause;
    expect(error).toMatchObject({ code: "TruncatedBody", retryable: true });
    expect(cause).toBeInstanceOf(VigilError);
    expect(cause).toMatchObject({ name: "TruncatedBodyError" });
  });

  it("takes the deadline from runWithCallOptions", async () => {
    const time = fakeTime();
    const policy = createCallPolicy(time).pipelinePolicy(ARM);
    let sent = 0;

    const error = await runWithCallOptions({ deadlineMs: time.now + 100 }, () =>
      policy.sendRequest(createPipelineRequest({ url }), async (request) => {
        sent++;
        return response(503, "{}", { "retry-after": "1" })(request);
      }),
    ).catch((e: unknown) => e);

    expect(sent).toBe(1);
    expect(error).toMatchObject({ statusCode: 503, retryable: true });
  });
});

describe("createCallPolicy properties", () => {
  type Outcome = "ok" | "throttle" | "unavailable" | "reset" | "forbidden" | "notFound";
  const outcome = fc.constantFrom<Outcome>(
    "ok",
    "throttle",
    "unavailable",
    "reset",
    "forbidden",
    "notFound",
  );
  const errorFor: Record<Exclude<Outcome, "ok">, () => unknown> = {
    throttle: () => restError(429, { "retry-after-ms": "1500" }),
    unavailable: () => restError(503),
    reset: () => networkError("ECONNRESET"),
    forbidden: () => restError(403),
    notFound: () => restError(404),
  };
  const retryable = (o: Outcome) => o === "throttle" || o === "unavailable" || o === "reset";

  it("never exceeds concurrency, never sleeps past the deadline, retries only retryable errors", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(outcome, { minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        async (scripts, perPartition, budgetInMs, jitter) => {
          const time = fakeTime();
          const deadlineMs = time.now + budgetInMs;
          const policy = createCallPolicy({
            ...time,
            random: () => jitter,
            maxAttempts: 4,
            concurrency: { arm: { perApi: 16, perPartition } },
          });
          let active = 0;
          let maxActive = 0;
          const attempts = scripts.map(() => 0);

          await Promise.allSettled(
            scripts.map((script, index) =>
              policy.call(
                ARM,
                `call ${index}`,
                async () => {
                  active++;
                  maxActive = Math.max(maxActive, active);
                  // Yield so that other calls can run while this one holds its slot.
                  await Promise.resolve();
                  await Promise.resolve();
                  const step = script[attempts[index] ?? 0] ?? "ok";
                  attempts[index] = (attempts[index] ?? 0) + 1;
                  active--;
                  if (step !== "ok") throw errorFor[step]();
                  return index;
                },
                { deadlineMs },
              ),
            ),
          );

          expect(maxActive).toBeLessThanOrEqual(perPartition);
          for (const sleep of time.sleeps) {
            expect(sleep.from + sleep.ms).toBeLessThanOrEqual(deadlineMs);
          }
          scripts.forEach((script, index) => {
            const made = attempts[index] ?? 0;
            // Every attempt but the last ended in a retryable error.
            for (let i = 0; i < made - 1; i++) {
              expect(retryable(script[i] ?? "ok")).toBe(true);
            }
            expect(made).toBeLessThanOrEqual(4);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
