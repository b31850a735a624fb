/**
 * TLS probe ids of an emulated estate name the estate's stable addresses, not the emulator's
 * loopback ports: two sessions over the same seed give the same ids (so the findings store does
 * not see every endpoint deleted and re-created), while the probe connects through the emulator's
 * `connectTo`.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collectEstate } from "../../../src/app/index.js";
import { type EstateSession, openEmulatedEstate } from "../../../src/cli/estate.js";
import type { Observation, VigilConfig } from "../../../src/core/index.js";
import { tempDir } from "../../support/cli.js";

const DEMO = join(import.meta.dirname, "../../../estates/demo");
const TRAEFIK = { web: { tls: false }, websecure: { tls: true } };

const sessions: EstateSession[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function probes(seed: string, config: VigilConfig): Promise<Observation[]> {
  const session = await openEmulatedEstate(seed, config, { emulator: { blob: false } });
  sessions.push(session);
  const result = await collectEstate(session.config, session.deps, { now: session.now ?? "" });
  return result.observations
    .filter((o) => o.type === "vigil/TlsProbe")
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A seed with one subscription and one TLS endpoint behind no Service. */
function soloSeed(): string {
  const dir = tempDir("vigil-solo-seed-");
  dirs.push(dir);
  writeFileSync(
    join(dir, "estate.json"),
    JSON.stringify({
      tenantId: "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c",
      now: "2026-11-23T06:00:00Z",
      subscriptions: [
        { subscriptionId: "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b", displayName: "sub-solo" },
      ],
    }),
  );
  mkdirSync(join(dir, "tls"));
  writeFileSync(
    join(dir, "tls", "endpoints.json"),
    JSON.stringify({
      endpoints: [
        {
          name: "solo",
          hosts: ["solo.example", "www.solo.example"],
          protocols: ["TLSv1.2", "TLSv1.3"],
          hsts: "max-age=600",
        },
      ],
    }),
  );
  return dir;
}

describe("TLS probe ids of an emulated estate", () => {
  it("are the same in two sessions over the demo estate, all on port 443", async () => {
    const config: VigilConfig = { traefik: { entryPoints: TRAEFIK } };

    const first = await probes(DEMO, config);
    const second = await probes(DEMO, config);

    const ids = first.map((o) => o.id);
    expect(ids).toEqual([
      "tls://edi.hollinsford.example:443",
      "tls://erp-staging.hollinsford.example:443",
      "tls://erp.hollinsford.example:443",
      "tls://grafana.hollinsford.example:443",
      "tls://portal.hollinsford.example:443",
      "tls://traefik-staging.hollinsford.example:443",
      "tls://traefik.hollinsford.example:443",
    ]);
    expect(second.map((o) => o.id)).toEqual(ids);
    // Probed through the emulator's routers: every one answered, at the Services' own addresses.
    expect(first.filter((o) => o.error !== undefined)).toEqual([]);
    expect(first.map((o) => (o.document as { host: string }).host)).toEqual([
      "10.61.4.10",
      "203.0.113.77",
      "10.61.4.10",
      "10.61.4.10",
      "10.61.4.10",
      "203.0.113.77",
      "10.61.4.10",
    ]);
    expect(second.map((o) => o.document)).toEqual(first.map((o) => o.document));
  }, 60_000);

  it("are the same for an endpoint without a Service: its first host on port 443", async () => {
    const seed = soloSeed();

    const first = await probes(seed, {});
    const second = await probes(seed, {});

    expect(first.map((o) => [o.id, o.scope, o.error])).toEqual([
      ["tls://solo.example:443", "emulator", undefined],
    ]);
    expect(first[0]?.document).toMatchObject({
      host: "solo.example",
      port: 443,
      sni: "solo.example",
      protocols: { "TLSv1.2": true, "TLSv1.3": true },
      hsts: { present: true, maxAgeSeconds: 600 },
    });
    expect(second.map((o) => o.id)).toEqual(first.map((o) => o.id));
  });

  it("keeps the emulator's mapping out of the session's config and over the user's own", async () => {
    const session = await openEmulatedEstate(
      DEMO,
      {
        tls: {
          connectTo: { "10.61.4.10:443": "127.0.0.1:1", "other.example:443": "127.0.0.1:2" },
        },
      },
      { emulator: { blob: false } },
    );
    sessions.push(session);
    const router = session.emulator?.connectTo["10.61.4.10:443"];

    expect(session.config.tls?.connectTo).toEqual({
      "10.61.4.10:443": "127.0.0.1:1",
      "other.example:443": "127.0.0.1:2",
    });
    expect(router).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Object.fromEntries(session.deps.settings.tlsConnectTo ?? [])).toEqual({
      "10.61.4.10:443": { host: "127.0.0.1", port: Number(router?.split(":")[1]) },
      "203.0.113.77:443": { host: "127.0.0.1", port: expect.any(Number) },
      "other.example:443": { host: "127.0.0.1", port: 2 },
    });
  });
});
