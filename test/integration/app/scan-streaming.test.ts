/**
 * A scan that does not keep the estate in memory (`retain: false`) hands every target's
 * observations and findings to its caller as it goes and still summarises the whole run: the
 * same findings and summary as a scan that keeps them.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type EstateScanResult,
  loadCatalogue,
  loadConfig,
  type ScanEstateOptions,
  scanEstate,
} from "../../../src/app/index.js";
import { openEmulatedEstate } from "../../../src/cli/estate.js";
import { type Finding, parseInstant } from "../../../src/core/index.js";
import { ROOT } from "../../support/cli.js";

const DEMO = join(ROOT, "estates", "demo");
const CONFIG = join(DEMO, "vigil.config.json");

async function scanDemo(extra: Partial<ScanEstateOptions>): Promise<EstateScanResult> {
  const catalogue = loadCatalogue();
  const loaded = loadConfig(catalogue, CONFIG);
  const session = await openEmulatedEstate(DEMO, loaded.config, { configPath: CONFIG });
  try {
    return await scanEstate(catalogue, session.config, session.deps, {
      nowMs: parseInstant(session.now ?? "") ?? 0,
      loaded: { ...loaded, config: session.config },
      vigilVersion: "test",
      ...extra,
    });
  } finally {
    await session.close();
  }
}

const line = (f: Finding) => `${f.controlId} ${f.resourceId} ${f.status} ${f.reason}`;

describe("scanEstate without retaining the estate", () => {
  it("streams every target's findings and keeps the summary of a retaining scan", async () => {
    const kept = await scanDemo({});
    const streamed: Finding[] = [];
    let observations = 0;
    const indexes = new Set<number>();
    const lean = await scanDemo({
      retain: false,
      onTargetEvaluated: (index, targetObservations, findings) => {
        indexes.add(index);
        observations += targetObservations.length;
        streamed.push(...findings);
      },
    });

    expect(lean.findings).toEqual([]);
    expect(lean.observations).toEqual([]);
    expect(lean.byTarget.every((t) => t.observations.length === 0)).toBe(true);
    expect(lean.byTarget.map((t) => [t.label, t.complete])).toEqual(
      kept.byTarget.map((t) => [t.label, t.complete]),
    );
    expect(indexes.size).toBe(kept.targets.length);
    expect(observations).toBe(kept.observations.length);
    expect(lean.run.observations).toBe(kept.run.observations);
    expect(streamed.map(line).sort()).toEqual(kept.findings.map(line).sort());
    expect(lean.summary).toEqual(kept.summary);
    expect(kept.summary.byStatus.fail).toBeGreaterThan(0);
  });
});
