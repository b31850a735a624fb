/** The emulator's Microsoft Graph surface: seeded GET bodies under /graph with @odata.nextLink paging. */

import { beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../../src/emulator/index.js";
import { emulatorRequest, startTestEmulator } from "../../support/emulator.js";

const POLICIES = "/graph/v1.0/identity/conditionalAccess/policies";

interface GraphList {
  "@odata.context"?: string;
  "@odata.nextLink"?: string;
  value: { id: string; displayName: string }[];
}

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator("basic");
});

describe("Graph GET", () => {
  it("pages a seeded list with @odata.nextLink under the graph endpoint", async () => {
    const first = await emulatorRequest(emulator, `${POLICIES}?$select=id,displayName`);
    const firstBody = first.json as GraphList;

    expect(first.status).toBe(200);
    expect(firstBody.value.map((p) => p.displayName)).toEqual([
      "Require MFA for administrators",
      "Block legacy authentication",
    ]);
    expect(firstBody["@odata.context"]).toContain("conditionalAccess/policies");
    expect(firstBody["@odata.nextLink"]).toBe(
      `${emulator.graphEndpoint}/v1.0/identity/conditionalAccess/policies?$skiptoken=2`,
    );
    const second = (await emulatorRequest(emulator, firstBody["@odata.nextLink"] as string))
      .json as GraphList;
    expect(second.value.map((p) => p.displayName)).toEqual([
      "Require compliant device for ERP (report-only)",
    ]);
    expect(second["@odata.nextLink"]).toBeUndefined();
  });

  it("ignores query options such as $select and returns whole objects", async () => {
    const response = await emulatorRequest(emulator, `${POLICIES}?$select=id`);

    expect((response.json as GraphList).value[0]).toHaveProperty("grantControls");
  });

  it("answers a missing path with a Graph-shaped 404 carrying the request id", async () => {
    const response = await emulatorRequest(
      emulator,
      "/graph/v1.0/identity/conditionalAccess/namedLocations",
    );

    expect(response.status).toBe(404);
    const error = (response.json as { error: { code: string; innerError: Record<string, string> } })
      .error;
    expect(error.code).toBe("Request_ResourceNotFound");
    expect(error.innerError["request-id"]).toBe(response.headers["x-ms-request-id"]);
    expect(response.headers["request-id"]).toBe(response.headers["x-ms-request-id"]);
  });

  it("refuses writes", async () => {
    const response = await emulatorRequest(emulator, POLICIES, { method: "POST", body: {} });

    expect(response.status).toBe(405);
    expect(emulator.requests.at(-1)).toMatchObject({ api: "graph", method: "POST", status: 405 });
  });
});
