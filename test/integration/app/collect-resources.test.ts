/**
 * Collecting a `resources` target (the ids of an Event Grid event) through `collectTarget` over
 * the demo estate: the ARM roots come back with the same drill join as a subscription collection.
 */

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collectTarget,
  loadCatalogue,
  loadConfig,
  targetLabel,
  targetScopes,
} from "../../../src/app/index.js";
import { type EstateSession, openEmulatedEstate } from "../../../src/cli/estate.js";
import type { Observation, Target } from "../../../src/core/index.js";
import { ROOT } from "../../support/cli.js";

const DEMO = join(ROOT, "estates", "demo");
const CONFIG = join(DEMO, "vigil.config.json");
const PROD = "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a";
const SERVER = `/subscriptions/${PROD}/resourceGroups/rg-hfw-erp-data-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-hfw-odoo-prod`;

/**
 * Observations without their source: the demo config lists through Resource Graph, so the
 * subscription collection's bodies say `resource-graph` where a GET says `arm`; the documents are
 * the same.
 */
function withoutSource(observations: Observation[]): unknown[] {
  return observations.map(({ source: _source, ...rest }) => rest);
}

describe("collectTarget with a resources target", () => {
  let session: EstateSession;

  beforeAll(async () => {
    const loaded = loadConfig(loadCatalogue(), CONFIG);
    session = await openEmulatedEstate(DEMO, loaded.config, { configPath: CONFIG });
  });

  afterAll(() => session?.close());

  it("joins drill records onto a re-collected server as a subscription collection does", async () => {
    const target: Target = {
      kind: "resources",
      subscriptionId: PROD,
      resourceIds: [`${SERVER}/configurations/require_secure_transport`],
    };
    const options = { now: session.now ?? "" };

    const observations = await collectTarget(target, session.deps, options);
    const full = await collectTarget(
      { kind: "subscription", subscriptionId: PROD },
      session.deps,
      options,
    );

    expect(observations.map((o) => o.id)).toEqual([SERVER]);
    // The demo's drill records name this server: the join is there, not a gap.
    expect(observations[0]?.document).toHaveProperty("joined.drills.0");
    expect(withoutSource(observations)).toEqual(withoutSource(full.filter((o) => o.id === SERVER)));
    expect(observations[0]?.source?.api).toBe("arm");
  });

  it("labels the target and scopes it to its subscription", () => {
    const target: Target = {
      kind: "resources",
      subscriptionId: PROD,
      resourceIds: [SERVER, SERVER],
    };

    expect(targetLabel(target)).toBe(`resources ${PROD} (2)`);
    expect(targetScopes(target)).toEqual([PROD]);
  });
});
