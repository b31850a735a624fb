/** postJson, parseSinkUrl and parseRetryAfter, with an injected fetch: no sockets. */

import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/core/index.js";
import { parseSinkUrl, postJson } from "../../../src/notify/http-delivery.js";
import {
  type FetchFunction,
  NotificationError,
  parseRetryAfter,
} from "../../../src/notify/index.js";

const URL_WITH_KEY = new URL("https://flows.example/workflows/abc/invoke?api-version=1&sig=s3cr3t");

function request(fetch: FetchFunction, abortSignal?: AbortSignal) {
  return {
    sink: "teams:ops",
    url: URL_WITH_KEY,
    headers: { "content-type": "application/json" },
    body: "{}",
    fetch,
    timeoutInMs: 5_000,
    abortSignal,
    nowInMs: () => Date.parse("2026-11-23T06:00:00Z"),
  };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the delivery to fail");
}

describe("postJson", () => {
  it("posts without following redirects", async () => {
    const seen: RequestInit[] = [];

    await postJson(
      request(async (_url, init) => {
        seen.push(init);
        return new Response(null, { status: 202 });
      }),
    );

    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "POST", redirect: "manual", body: "{}" });
  });

  it("turns a network TypeError into a retryable error with the socket's code", async () => {
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });

    const error = await failure(
      postJson(
        request(async () => {
          throw refused;
        }),
      ),
    );

    expect(error).toBeInstanceOf(NotificationError);
    expect(error).toMatchObject({ code: "ECONNREFUSED", retryable: true, statusCode: undefined });
  });

  it("rethrows an error that is not a network failure", async () => {
    const bug = new RangeError("a bug in the injected fetch");

    const error = await failure(
      postJson(
        request(async () => {
          throw bug;
        }),
      ),
    );

    expect(error).toBe(bug);
  });

  it("rethrows the caller's abort reason, not a NotificationError", async () => {
    const controller = new AbortController();
    // A TypeError, like fetch's network failures: the abort must still win.
    const reason = new TypeError("shutting down");
    controller.abort(reason);

    const error = await failure(
      postJson(
        request(async (_url, init) => {
          init.signal?.throwIfAborted();
          return new Response(null, { status: 200 });
        }, controller.signal),
      ),
    );

    expect(error).toBe(reason);
  });

  it("reads an HTTP-date Retry-After against the clock", async () => {
    const error = await failure(
      postJson(
        request(
          async () =>
            new Response(null, {
              status: 503,
              headers: { "retry-after": "Mon, 23 Nov 2026 06:00:30 GMT" },
            }),
        ),
      ),
    );

    expect(error).toMatchObject({ statusCode: 503, retryable: true, retryAfterInMs: 30_000 });
  });

  it("ignores Retry-After on an answer that is not retryable", async () => {
    const error = await failure(
      postJson(
        request(async () => new Response(null, { status: 403, headers: { "retry-after": "5" } })),
      ),
    );

    expect(error).toMatchObject({ statusCode: 403, retryable: false, retryAfterInMs: undefined });
  });

  it("names the origin only, never the path or the query", async () => {
    const error = await failure(postJson(request(async () => new Response(null, { status: 404 }))));

    expect((error as Error).message).toBe("teams:ops: https://flows.example answered 404");
  });
});

describe("parseSinkUrl", () => {
  it.each([
    ["a relative URL", "/workflows/abc?sig=s3cr3t"],
    ["an ftp URL", "ftp://flows.example/x?sig=s3cr3t"],
    ["a URL with credentials", "https://user:s3cr3t@flows.example/x"],
  ])("refuses %s without repeating it", (_case, url) => {
    let error: unknown;
    try {
      parseSinkUrl("teams:ops", "url", url);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).not.toContain("s3cr3t");
    expect((error as Error).cause).toBeUndefined();
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-23T06:00:00Z");

  it.each([
    ["120", 120_000],
    ["0", 0],
    ["1.5", 1_500],
    ["Mon, 23 Nov 2026 06:01:00 GMT", 60_000],
    ["Mon, 23 Nov 2026 05:00:00 GMT", 0],
    ["soon", undefined],
    ["-5", undefined],
    ["", undefined],
    [null, undefined],
  ])("reads %j as %j ms", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
