/**
 * createTeamsSink against a real node:http receiver standing in for a Teams Workflows webhook:
 * the envelope and card as they arrive, the 202 a Workflow answers, and the size of a large run.
 */

import { afterEach, describe, expect, it } from "vitest";
import type { Digest, Severity, Transition } from "../../../src/core/index.js";
import { buildDigest, createTeamsSink, isNotificationError } from "../../../src/notify/index.js";
import { type HttpReceiver, startHttpReceiver } from "../../support/http-receiver.js";

// The shape of a Workflows URL: the key is the sig= parameter of the query.
const WORKFLOW_PATH =
  "/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=w0rkfl0w-k3y";
const SEVERITIES: Severity[] = ["critical", "high", "medium", "low"];

function digestOf(count: number, resourceId: (i: number) => string = (i) => `r-${i}`): Digest {
  const transitions: Transition[] = Array.from({ length: count }, (_, i) => ({
    kind: i % 3 === 0 ? "resolved" : "new-failure",
    scope: "sub-1",
    controlId: `control-${i % 40}`,
    resourceId: resourceId(i),
    from: i % 3 === 0 ? "fail" : null,
    to: i % 3 === 0 ? "pass" : "fail",
    severity: SEVERITIES[i % 4] ?? "low",
    runId: "run-9",
    at: "2026-11-23T06:00:00Z",
  }));
  const digest = buildDigest(transitions, {
    runId: "run-9",
    trigger: "event-grid",
    evaluatedAt: "2026-11-23T06:00:00Z",
    titleOf: (id) => `The title of ${id}, as the catalogue states it`,
    reasonOf: (id, resource) => `${id} on ${resource}: observed Disabled, expected Enabled`,
  });
  if (digest === undefined) throw new Error("the fixture digest is empty");
  return digest;
}

const receivers: HttpReceiver[] = [];

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function workflow(status: number, headers?: Record<string, string>): Promise<HttpReceiver> {
  const started = await startHttpReceiver({ status, ...(headers ? { headers } : {}) });
  receivers.push(started);
  return started;
}

function cardOf(body: Buffer): Record<string, unknown> {
  const message = JSON.parse(body.toString("utf8")) as {
    attachments: { content: Record<string, unknown> }[];
  };
  return message.attachments[0]?.content ?? {};
}

describe("createTeamsSink", () => {
  it("posts the message envelope with an Adaptive Card 1.4 and takes 202 as delivered", async () => {
    const hook = await workflow(202);
    const sink = createTeamsSink({ name: "ops", url: `${hook.origin}${WORKFLOW_PATH}` });

    await sink.deliver(digestOf(3));

    const [request] = hook.requests;
    expect(request?.url).toBe(WORKFLOW_PATH);
    expect(request?.headers["content-type"]).toBe("application/json; charset=utf-8");
    const message = JSON.parse(request?.body.toString("utf8") ?? "") as Record<string, unknown>;
    expect(message).toMatchObject({
      type: "message",
      attachments: [
        {
          contentType: "application/vnd.microsoft.card.adaptive",
          contentUrl: null,
          content: { type: "AdaptiveCard", version: "1.4" },
        },
      ],
    });
  });

  it("delivers a run of 2,000 changes in one body under 24 KB, with no Action.Submit", async () => {
    const hook = await workflow(202);
    const sink = createTeamsSink({
      name: "ops",
      url: `${hook.origin}${WORKFLOW_PATH}`,
      reportUrl: "https://vigil.example/reports/run-9",
      maxEntries: 2_000,
    });

    await sink.deliver(
      digestOf(2_000, (i) => `/subscriptions/${"f".repeat(36)}/resourceGroups/erp-${i}/db`),
    );

    const body = hook.requests[0]?.body ?? Buffer.alloc(0);
    expect(body.length).toBeGreaterThan(20_000);
    expect(body.length).toBeLessThanOrEqual(24_000);
    expect(body.toString("utf8")).not.toContain("Action.Submit");
    expect(JSON.stringify(cardOf(body).body)).toMatch(/… and \d+ more changes not shown/);
    expect(cardOf(body).actions).toEqual([
      { type: "Action.OpenUrl", title: "Open report", url: "https://vigil.example/reports/run-9" },
    ]);
  });

  it("arrives with a hostile resource id as plain TextRun text only", async () => {
    const hook = await workflow(202);
    const sink = createTeamsSink({ name: "ops", url: `${hook.origin}${WORKFLOW_PATH}` });

    await sink.deliver(digestOf(1, () => "[click](http://evil.example)\n**x** <script>"));

    const card = cardOf(hook.requests[0]?.body ?? Buffer.alloc(0));
    const blocks = card.body as { type: string; text?: string }[];
    expect(JSON.stringify(card)).toContain(
      '{"type":"TextRun","text":"[click](http://evil.example) **x** <script>","fontType":"Monospace","size":"Small"}',
    );
    for (const block of blocks.filter((element) => element.type === "TextBlock")) {
      expect(block.text).not.toMatch(/click|evil|script|\*\*/);
    }
  });

  it("throws a non-retryable error without the sig key when the Workflow answers 400", async () => {
    const hook = await workflow(400);
    const sink = createTeamsSink({ name: "ops", url: `${hook.origin}${WORKFLOW_PATH}` });

    const error = await sink.deliver(digestOf(1)).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(isNotificationError(error)).toBe(true);
    expect(error).toMatchObject({ sink: "teams:ops", statusCode: 400, retryable: false });
    expect((error as Error).message).not.toMatch(/w0rkfl0w-k3y|sig=|workflows/);
  });

  it("throws a retryable error with retryAfterInMs when the Workflow is throttled", async () => {
    const hook = await workflow(429, { "retry-after": "30" });
    const sink = createTeamsSink({ name: "ops", url: `${hook.origin}${WORKFLOW_PATH}` });

    await expect(sink.deliver(digestOf(1))).rejects.toMatchObject({
      statusCode: 429,
      retryable: true,
      retryAfterInMs: 30_000,
    });
  });
});
