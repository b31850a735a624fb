/** createTeamsSink with an injected fetch: what it posts, and what it refuses at creation. */

import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/core/index.js";
import { buildTeamsMessage, createTeamsSink } from "../../../src/notify/index.js";

const digest = {
  id: "d".repeat(64),
  runId: "run-1",
  trigger: "timer",
  evaluatedAt: "2026-11-23T06:00:00Z",
  transitions: [],
  counts: {},
};

describe("createTeamsSink", () => {
  it("posts the Teams message as UTF-8 JSON", async () => {
    const sent: RequestInit[] = [];
    const sink = createTeamsSink({
      name: "ops",
      url: "https://flows.example/invoke?sig=k",
      reportUrl: "https://vigil.example/r",
      fetch: async (_url, init) => {
        sent.push(init);
        return new Response(null, { status: 202 });
      },
    });

    await sink.deliver(digest);

    expect(sink.name).toBe("teams:ops");
    expect(sent[0]?.headers).toMatchObject({ "content-type": "application/json; charset=utf-8" });
    expect(JSON.parse(String(sent[0]?.body))).toEqual(
      buildTeamsMessage(digest, { reportUrl: "https://vigil.example/r" }),
    );
  });

  it("refuses a report URL that is not http(s) at creation", () => {
    expect(() =>
      createTeamsSink({ name: "ops", url: "https://flows.example/", reportUrl: "file:///etc" }),
    ).toThrow(RangeError);
  });

  it("refuses a URL that does not parse at creation", () => {
    expect(() => createTeamsSink({ name: "ops", url: "flows.example/?sig=k" })).toThrow(InputError);
  });
});
