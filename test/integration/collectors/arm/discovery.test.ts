/** ARM discovery against the real emulator: subscriptions, AKS clusters and their API servers. */

import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  getAksConnection,
  listAksClusters,
  listSubscriptions,
} from "../../../../src/collectors/arm/index.js";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import { cloudEndpoints } from "../../../../src/core/index.js";
import { createCertificateAuthority } from "../../../../src/emulator/certificates.js";
import type { RunningEmulator } from "../../../../src/emulator/index.js";
import { emulatorSettings } from "../../../support/contracts/collector-contract.js";
import { startTestEmulator } from "../../../support/emulator.js";

const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const CLUSTER_ID = `/subscriptions/${PROD}/resourceGroups/rg-basic-aks/providers/Microsoft.ContainerService/managedClusters/aks-basic-prod`;

describe("ARM discovery", () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTestEmulator("arm-estate");
  });

  it("lists every subscription the credential can read", async () => {
    const subscriptions = await listSubscriptions(emulatorSettings(emulator));

    expect(subscriptions.map((s) => s.subscriptionId)).toEqual(
      emulator.estate.subscriptions.map((s) => s.subscriptionId),
    );
    expect(subscriptions[0]).toMatchObject({ displayName: "sub-basic-prod", state: "Enabled" });
  });

  it("lists the AKS clusters of a subscription as cluster targets", async () => {
    const clusters = await listAksClusters(emulatorSettings(emulator), PROD);

    expect(clusters).toEqual([
      { kind: "aks", name: "aks-basic-prod", resourceId: CLUSTER_ID, subscriptionId: PROD },
    ]);
  });

  it("leaves out clusters outside the resource group filter", async () => {
    const clusters = await listAksClusters(
      emulatorSettings(emulator, { resourceGroups: ["rg-basic-data"] }),
      PROD,
    );

    expect(clusters).toEqual([]);
  });

  it("reads the API server and CA from the user kubeconfig", async () => {
    const connection = await getAksConnection(emulatorSettings(emulator), {
      kind: "aks",
      name: "aks-basic-prod",
      resourceId: CLUSTER_ID,
      subscriptionId: PROD,
    });

    expect(connection).toEqual({
      server: emulator.kubernetes["aks-basic-prod"]?.server,
      caPem: emulator.caPem,
    });
    const posts = emulator.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => r.path.split("?")[0])).toEqual([
      `${CLUSTER_ID}/listClusterUserCredential`,
    ]);
  });

  it("throws UnexpectedResponse, not an empty list, when the list answers 200 without a value array", async () => {
    emulator.setFaults([{ api: "arm", path: "^/subscriptions$", kind: "error", status: 200 }]);

    const error = await listSubscriptions(emulatorSettings(emulator)).catch((e: unknown) => e);
    emulator.setFaults([]);

    expect(error).toMatchObject({ name: "CollectionError", code: "UnexpectedResponse" });
  });

  it("throws a CollectionError with status and request id when the list is refused", async () => {
    emulator.setFaults([{ api: "arm", path: "^/subscriptions$", kind: "error", status: 403 }]);

    const error = await listSubscriptions(emulatorSettings(emulator)).catch((e: unknown) => e);
    emulator.setFaults([]);

    expect(error).toMatchObject({
      name: "CollectionError",
      statusCode: 403,
      requestId: expect.any(String),
    });
  });
});

/** A credential secret that a kubeconfig carries and no error may repeat. */
const KUBECONFIG_SECRET = "s3cr3t-t0ken";

/**
 * ARM answers that the emulator does not give: a proxy's HTML page with status 200, and a user
 * kubeconfig that is not valid YAML (the line that breaks it holds a token).
 */
describe("ARM discovery behind a misbehaving endpoint", () => {
  let server: Server;
  let settings: CollectorSettings;

  beforeAll(async () => {
    const ca = createCertificateAuthority();
    const now = Date.now();
    const certificate = ca.issue({
      names: ["127.0.0.1"],
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + 3_600_000),
    });
    const kubeconfig = [
      "apiVersion: v1",
      "clusters:",
      "- cluster:",
      "    server: https://aks.example",
      "users:",
      "- name: clusterUser",
      "  user:",
      `    token: ${KUBECONFIG_SECRET}: [`,
      "",
    ].join("\n");
    server = createServer(
      { key: certificate.keyPem, cert: certificate.certPem },
      (request, response) => {
        if (request.method === "POST" && /listClusterUserCredential/i.test(request.url ?? "")) {
          const value = Buffer.from(kubeconfig).toString("base64");
          response.writeHead(200, { "content-type": "application/json" });
          response.end(JSON.stringify({ kubeconfigs: [{ name: "clusterUser", value }] }));
          return;
        }
        response.writeHead(200, { "content-type": "text/html" });
        response.end("<html><body>Welcome to the proxy</body></html>");
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    settings = {
      cloud: cloudEndpoints("AzurePublicCloud", { arm: `https://127.0.0.1:${port}` }),
      credential: {
        getToken: async () => ({ token: "stub-token", expiresOnTimestamp: now + 3_600_000 }),
      },
      apiCaPem: [ca.caPem],
      activityLogDays: 90,
      traefik: { entryPoints: {}, allowCrossNamespace: {} },
      useResourceGraph: false,
      callPolicy: createCallPolicy({ maxAttempts: 1 }),
    };
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("throws UnexpectedResponse when a list answers 200 with an HTML page", async () => {
    const error = await listSubscriptions(settings).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "CollectionError", code: "UnexpectedResponse" });
  });

  it("names the cluster, not the kubeconfig's text, when the kubeconfig is not YAML", async () => {
    const error = await getAksConnection(settings, {
      kind: "aks",
      name: "aks-basic-prod",
      resourceId: CLUSTER_ID,
      subscriptionId: PROD,
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "CollectionError", code: "InvalidKubeconfig" });
    expect((error as Error).message).toContain(CLUSTER_ID);
    expect((error as Error).cause).toBeUndefined();
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(
      KUBECONFIG_SECRET,
    );
  });
});
