/** Unit tests of the Graph collector over an injected HTTP client: answers the emulator does not give. */

import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import { createGraphCollector } from "../../../../src/collectors/graph/index.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import { cloudEndpoints } from "../../../../src/core/index.js";

const TENANT = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";

function settings(): CollectorSettings {
  return {
    cloud: cloudEndpoints("AzurePublicCloud"),
    credential: {
      getToken: async () => ({ token: "t", expiresOnTimestamp: Date.now() + 3_600_000 }),
    },
    activityLogDays: 90,
    traefik: { entryPoints: {}, allowCrossNamespace: {} },
    useResourceGraph: false,
    callPolicy: createCallPolicy({ maxAttempts: 1 }),
  };
}

/** An HTTP client that answers every request with one status, content type and body. */
function answering(status: number, contentType: string, body: string): HttpClient {
  return {
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      return {
        status,
        headers: createHttpHeaders({ "content-type": contentType }),
        request,
        bodyAsText: body,
      };
    },
  };
}

describe("createGraphCollector", () => {
  it.each([
    ["an empty JSON object", "application/json", "{}"],
    ["a value that is not an array", "application/json", '{"value": {}}'],
    ["an HTML page", "text/html", "<html><body>Welcome to the proxy</body></html>"],
    ["an empty body", "application/json", ""],
  ])("reports error, not an empty policy list, for a 200 with %s", async (_label, type, body) => {
    const collector = createGraphCollector(settings(), {
      cacheTtlInMs: 0,
      httpClient: answering(200, type, body),
    });

    const [observation] = await collector.collect(
      { kind: "tenant", tenantId: TENANT },
      { now: "2026-11-23T06:00:00Z" },
    );

    expect(observation?.document).toBeUndefined();
    expect(observation?.error).toMatchObject({ code: "UnexpectedResponse", statusCode: 200 });
  });
});
