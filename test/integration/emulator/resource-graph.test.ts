/** The emulator's Resource Graph query endpoint: the supported query forms, ARG row shape and paging. */

import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../../src/emulator/index.js";
import { emulatorCredential, emulatorRequest, startTestEmulator } from "../../support/emulator.js";

const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const STAGING = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
const PATH = "/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01";

interface ArgResponse {
  totalRecords: number;
  count: number;
  resultTruncated: string;
  data: Record<string, unknown>[];
  $skipToken?: string;
}

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator("basic");
});

async function query(body: unknown) {
  return emulatorRequest(emulator, PATH, { method: "POST", body });
}

describe("Resource Graph resources query", () => {
  it("filters by type =~ case-insensitively across subscriptions, ordered by id, with ARG's extra columns", async () => {
    const response = await query({
      subscriptions: [PROD, STAGING],
      query:
        "resources | where type =~ 'microsoft.dbforpostgresql/FLEXIBLESERVERS' | order by id asc",
    });

    expect(response.status).toBe(200);
    const body = response.json as ArgResponse;
    expect(body.data.map((r) => r.name)).toEqual(["psql-basic-prod", "psql-basic-staging"]);
    expect(body.data[0]).toMatchObject({
      type: "microsoft.dbforpostgresql/flexibleservers",
      subscriptionId: PROD,
      resourceGroup: "rg-basic-data",
      properties: { version: "17" },
    });
    expect(body).toMatchObject({ totalRecords: 2, count: 2, resultTruncated: "false" });
  });

  it("accepts or-chains and in~ lists, and omits child resources", async () => {
    const or = await query({
      subscriptions: [PROD],
      query:
        "resources | where type =~ 'Microsoft.Storage/storageAccounts' or type =~ 'Microsoft.ContainerService/managedClusters' | order by id asc",
    });
    const inList = await query({
      subscriptions: [PROD],
      query:
        "resources | where type in~ ('microsoft.storage/storageaccounts', 'microsoft.containerservice/managedclusters') | order by id asc",
    });

    const names = (or.json as ArgResponse).data.map((r) => r.name);
    expect(names).toEqual(["aks-basic-prod", "stbasicarchive", "stbasicbkpprod"]);
    expect((inList.json as ArgResponse).data.map((r) => r.name)).toEqual(names);
  });

  it("limits rows to the requested subscriptions", async () => {
    const response = await query({
      subscriptions: [STAGING],
      query:
        "resources | where type =~ 'microsoft.dbforpostgresql/flexibleservers' | order by id asc",
    });

    expect((response.json as ArgResponse).data.map((r) => r.subscriptionId)).toEqual([STAGING]);
  });

  it("pages with $top and $skipToken", async () => {
    const text =
      "resources | where type in~ ('microsoft.storage/storageaccounts', 'microsoft.containerservice/managedclusters') | order by id asc";

    const first = (await query({ subscriptions: [PROD], query: text, options: { $top: 2 } }))
      .json as ArgResponse;
    const second = (
      await query({
        subscriptions: [PROD],
        query: text,
        options: { $top: 2, $skipToken: first.$skipToken },
      })
    ).json as ArgResponse;

    expect(first.count).toBe(2);
    expect(first.totalRecords).toBe(3);
    expect(first.$skipToken).toEqual(expect.any(String));
    expect(second.data.map((r) => r.name)).toEqual(["stbasicbkpprod"]);
    expect(second.$skipToken).toBeUndefined();
  });

  it("returns no $skipToken when the query uses take, as ARG does", async () => {
    const response = await query({
      subscriptions: [PROD],
      query:
        "resources | where type =~ 'microsoft.storage/storageaccounts' | order by id asc | take 5",
      options: { $top: 1 },
    });

    const body = response.json as ArgResponse;
    expect(body.count).toBe(1);
    expect(body.$skipToken).toBeUndefined();
  });

  it("answers 400 BadRequest for a query form it does not support", async () => {
    const response = await query({
      subscriptions: [PROD],
      query: "resources | summarize count() by type",
    });

    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: { code: "BadRequest" } });
    expect(emulator.requests.at(-1)).toMatchObject({ api: "resource-graph", status: 400 });
  });

  it("serves the ResourceGraphClient SDK", async () => {
    const client = new ResourceGraphClient(emulatorCredential(emulator), {
      baseUri: emulator.armEndpoint,
      // ms-rest-js (the generation of @azure/arm-resourcegraph 4.x) takes no tlsOptions: hand it an agent.
      ...(await agentOptions()),
    });

    const result = await client.resources({
      subscriptions: [PROD],
      query:
        "resources | where type =~ 'microsoft.containerservice/managedclusters' | order by id asc",
      options: { resultFormat: "objectArray" },
    });

    expect((result.data as { name: string }[]).map((r) => r.name)).toEqual(["aks-basic-prod"]);
  });
});

async function agentOptions(): Promise<Record<string, unknown>> {
  const { Agent } = await import("node:https");
  const agent = new Agent({ ca: emulator.caPem });
  return { agentSettings: { http: agent, https: agent } };
}
