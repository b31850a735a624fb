/** ARM discovery against the real emulator: subscriptions, AKS clusters and their API servers. */

import { beforeAll, describe, expect, it } from "vitest";
import {
  getAksConnection,
  listAksClusters,
  listSubscriptions,
} from "../../../../src/collectors/arm/index.js";
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
