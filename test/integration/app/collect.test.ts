/**
 * Planning and collecting an emulated estate: discovery failures and an empty "all" make the scan
 * incomplete rather than clean, and a cluster whose routes cannot be listed gets an error probe.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collectEstate } from "../../../src/app/index.js";
import { type EstateSession, openEmulatedEstate } from "../../../src/cli/estate.js";
import type { VigilConfig } from "../../../src/core/index.js";
import type { FaultRule } from "../../../src/emulator/index.js";
import { tempDir } from "../../support/cli.js";
import { seedPath } from "../../support/emulator.js";

const PROD_SUBSCRIPTION = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";

let session: EstateSession | undefined;
let seedCopy: string | undefined;

afterEach(async () => {
  await session?.close();
  session = undefined;
  if (seedCopy !== undefined) rmSync(seedCopy, { recursive: true, force: true });
  seedCopy = undefined;
});

/** The basic seed, with its estate.json changed. */
function basicSeedWith(change: (estate: Record<string, unknown>) => void): string {
  seedCopy = tempDir("vigil-basic-");
  cpSync(seedPath("basic"), seedCopy, { recursive: true });
  const file = join(seedCopy, "estate.json");
  const estate = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  change(estate);
  writeFileSync(file, JSON.stringify(estate));
  return seedCopy;
}

async function collect(
  seed: string,
  config: VigilConfig = {},
  faults: FaultRule[] = [],
  blob = false,
) {
  session = await openEmulatedEstate(seed, config, { emulator: { faults, blob } });
  return collectEstate(session.config, session.deps, { now: session.now ?? "" });
}

describe("collectEstate", () => {
  it("reports an empty 'all' as a failure, not as a clean estate", async () => {
    const seed = basicSeedWith((estate) => {
      estate.subscriptions = [];
    });

    const result = await collect(seed, { subscriptions: "all" });

    expect(result.failedTargets).toEqual([
      { label: "subscriptions (all)", message: "no subscription is visible to this identity" },
    ]);
    expect(result.targets.some((t) => t.kind === "subscription")).toBe(false);
  });

  it("reports a subscription list that cannot be read, and still collects the tenant", async () => {
    const result = await collect(seedPath("basic"), { subscriptions: "all" }, [
      { api: "arm", path: "^/subscriptions$", kind: "error", status: 403 },
    ]);

    expect(result.failedTargets.map((f) => f.label)).toEqual(["subscriptions (all)"]);
    expect(result.failedTargets[0]?.message).toMatch(/403|Authorization/);
    expect(
      result.observations.some((o) => o.type === "microsoft.graph/conditionalAccessPolicies"),
    ).toBe(true);
  });

  it("keeps collecting when AKS discovery fails in one subscription, and says which", async () => {
    const result = await collect(
      seedPath("basic"),
      { subscriptions: "all", resourceGraph: false },
      [
        {
          api: "arm",
          path: `^/subscriptions/${PROD_SUBSCRIPTION}/providers/Microsoft.ContainerService/managedClusters$`,
          kind: "error",
          status: 500,
        },
      ],
    );

    expect(result.failedTargets.map((f) => f.label)).toEqual([
      `AKS clusters of subscription ${PROD_SUBSCRIPTION}`,
    ]);
    expect(result.targets.filter((t) => t.kind === "subscription")).toHaveLength(2);
    const clusters = result.observations.filter(
      (o) => o.type === "Microsoft.ContainerService/managedClusters",
    );
    expect(clusters.some((o) => o.error?.statusCode === 500)).toBe(true);
  });

  it("adds an error TLS probe for a cluster whose routes cannot be listed", async () => {
    const result = await collect(seedPath("basic"), { subscriptions: "all" }, [
      { api: "kubernetes", path: "/ingressroutes$", kind: "error", status: 403 },
    ]);

    const probe = result.observations.find((o) => o.id === "tls://aks-basic-prod/*");
    expect(probe?.type).toBe("vigil/TlsProbe");
    expect(probe?.error?.statusCode).toBe(403);
    expect(probe?.error?.message).toMatch(/TLS endpoints of cluster aks-basic-prod are unknown/);
  });

  it("leaves every server's drills unknown when one drill record cannot be read", async () => {
    const seed = basicSeedWith(() => {});
    cpSync(
      join(seedPath("col-k8s-blob"), "blob", "stcoldrills"),
      join(seed, "blob", "stcoldrills"),
      { recursive: true },
    );

    const result = await collect(
      seed,
      {
        subscriptions: "all",
        drillRecords: { account: "stcoldrills", container: "drill-records" },
      },
      [{ api: "blob", path: "psql-a-failover\\.json$", method: "GET", kind: "error", status: 403 }],
      true,
    );

    const servers = result.observations.filter(
      (o) => o.type === "Microsoft.DBforPostgreSQL/flexibleServers",
    );
    expect(servers.length).toBeGreaterThan(0);
    for (const server of servers)
      expect(server.gaps?.find((g) => g.path === "joined.drills")?.message).toMatch(
        /could not be read/,
      );
  });
});
