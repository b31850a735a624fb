/**
 * Engine benchmark: evaluates the whole catalogue over ≥100,000 generated observations, then five
 * controls through the engine and through a hand-written TypeScript implementation of the same
 * five (the baseline for what a JavaScript evaluator can reach), on the same observations in the
 * same run. Prints observations/s, rule evaluations/s and the engine/hand-written time ratio.
 * Observations are evaluated in batches of 1,000, as a scan worker handles one target at a time;
 * each batch's findings are complete (status, reason, trace, parameters) and then dropped.
 *
 * Run: npm run bench:engine   (options: --observations N, --rounds N)
 */
import { parseArgs } from "node:util";
import { listFiles, loadCatalogue, readJsonFile } from "../src/app/index.js";
import { type Catalogue, evaluate, type Finding, type Observation } from "../src/core/index.js";
import { HANDWRITTEN_CONTROL_IDS, handwrittenEvaluate } from "./handwritten.js";

const { values } = parseArgs({
  options: {
    observations: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
  },
});
const TOTAL = Number(values.observations);
const ROUNDS = Number(values.rounds);
const NOW_MS = Date.parse("2026-11-23T06:00:00Z");
const DISTINCT = 4000;

/**
 * Share of each observation type in a generated estate, per 1,000 observations: roughly what an
 * Odoo hosting estate holds (many containers and storage accounts, namespaces and routes per
 * cluster, one tenant).
 */
const MIX: Readonly<Record<string, number>> = {
  "microsoft.storage/storageaccounts": 150,
  "microsoft.storage/storageaccounts/blobservices/containers": 260,
  "microsoft.dbforpostgresql/flexibleservers": 110,
  "microsoft.containerservice/managedclusters": 20,
  namespace: 160,
  "traefik.io/ingressroute": 120,
  "traefik.containo.us/ingressroute": 20,
  "networking.k8s.io/ingress": 40,
  "vigil/tlsprobe": 90,
  "vigil/drillrecord": 29,
  "microsoft.graph/conditionalaccesspolicies": 1,
};

/** Share of observations that carry a collection error or gap (fixtures named error.*). */
const ERROR_SHARE = 0.02;

/**
 * Observations built from the catalogue's fixtures in the proportions of MIX, re-identified; a
 * pool of distinct deep copies, referenced round-robin, keeps memory bounded while the engine
 * still sees many different objects.
 */
function generate(catalogue: Catalogue, total: number): Observation[] {
  const byType = new Map<string, { ok: Observation[]; error: Observation[] }>();
  for (const c of catalogue.controls) {
    const dir = c.file.replace(/control\.json$/, "fixtures");
    for (const file of listFiles(dir, (n) => n.endsWith(".json"))) {
      const fixture = readJsonFile(file) as { observation?: Observation; now?: string };
      // Only fixtures written for the benchmark's `now` keep their meaning.
      if (
        fixture.observation === undefined ||
        (fixture.now !== undefined && fixture.now !== "2026-11-23T06:00:00Z")
      )
        continue;
      const type = fixture.observation.type.toLowerCase();
      const entry = byType.get(type) ?? { ok: [], error: [] };
      (file.includes("/error.") ? entry.error : entry.ok).push(fixture.observation);
      byType.set(type, entry);
    }
  }
  const weights = Object.entries(MIX).filter(([type]) => byType.has(type));
  const weightSum = weights.reduce((a, [, w]) => a + w, 0);
  const pool: Observation[] = [];
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  for (let i = 0; i < DISTINCT; i += 1) {
    let pick = random() * weightSum;
    let type = weights[0]?.[0] as string;
    for (const [t, w] of weights) {
      pick -= w;
      if (pick < 0) {
        type = t;
        break;
      }
    }
    const entry = byType.get(type) as { ok: Observation[]; error: Observation[] };
    const list = random() < ERROR_SHARE && entry.error.length > 0 ? entry.error : entry.ok;
    pool.push(structuredClone(list[Math.floor(random() * list.length)] as Observation));
  }
  const out: Observation[] = [];
  for (let i = 0; i < total; i += 1) {
    const base = pool[i % pool.length] as Observation;
    out.push({ ...base, id: `${base.id}-${i}` });
  }
  return out;
}

/**
 * Run `fn` over the observations in batches of BATCH, as a worker scans one target at a time and
 * hands its findings on: findings are counted and dropped, not all held at once.
 */
const BATCH = 1000;
function inBatches(fn: (batch: Observation[]) => unknown[]): number {
  let produced = 0;
  for (let i = 0; i < observations.length; i += BATCH)
    produced += fn(observations.slice(i, i + BATCH)).length;
  return produced;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const catalogue = loadCatalogue();
const observations = generate(catalogue, TOTAL);
const five: Catalogue = {
  controls: catalogue.controls.filter((c) => HANDWRITTEN_CONTROL_IDS.includes(c.control.id)),
  byId: catalogue.byId,
};
if (five.controls.length !== HANDWRITTEN_CONTROL_IDS.length)
  throw new Error("a hand-written control is missing from the catalogue");

// Agreement first: the baseline is only a baseline if it decides what the engine decides.
const engineFive = evaluate(five, observations, { nowMs: NOW_MS });
const handFive = handwrittenEvaluate(observations, NOW_MS);
const key = (f: Pick<Finding, "controlId" | "resourceId" | "status">) =>
  `${f.controlId}|${f.resourceId}|${f.status}`;
const engineKeys = new Set(engineFive.map(key));
const disagreements = handFive.filter((f) => !engineKeys.has(key(f)));
if (disagreements.length > 0 || handFive.length !== engineFive.length) {
  console.error(
    `hand-written and engine disagree on ${disagreements.length} findings (of ${engineFive.length}/${handFive.length}); first:`,
    disagreements.slice(0, 3),
  );
  process.exitCode = 1;
}

let fullFindings = 0;
const full: number[] = [];
const engine: number[] = [];
const hand: number[] = [];
for (let r = 0; r < ROUNDS; r += 1) {
  full.push(
    time(() => {
      fullFindings = inBatches((batch) => evaluate(catalogue, batch, { nowMs: NOW_MS }));
    }),
  );
  engine.push(time(() => inBatches((batch) => evaluate(five, batch, { nowMs: NOW_MS }))));
  hand.push(time(() => inBatches((batch) => handwrittenEvaluate(batch, NOW_MS))));
}

const fullMs = median(full);
const engineMs = median(engine);
const handMs = median(hand);
const fiveEvaluations = engineFive.length;
const ratio = engineMs / handMs;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

console.log(
  `vigil engine benchmark — ${fmt(TOTAL)} observations, ${catalogue.controls.length} controls, median of ${ROUNDS} rounds, Node ${process.version}`,
);
console.log(
  `full catalogue : ${fullMs.toFixed(0)} ms, ${fmt((TOTAL / fullMs) * 1000)} observations/s, ${fmt(fullFindings)} rule evaluations, ${fmt((fullFindings / fullMs) * 1000)} rule evaluations/s`,
);
console.log(
  `five controls  : engine ${engineMs.toFixed(0)} ms (${fmt((fiveEvaluations / engineMs) * 1000)} rule evaluations/s), hand-written ${handMs.toFixed(0)} ms (${fmt((fiveEvaluations / handMs) * 1000)} rule evaluations/s), ${fmt(fiveEvaluations)} findings each, agreement ${disagreements.length === 0 ? "100%" : "BROKEN"}`,
);
console.log(`ratio engine / hand-written: ${ratio.toFixed(2)} (target ≤ 3)`);
console.log(
  `rule evaluations/s (full catalogue): ${fmt((fullFindings / fullMs) * 1000)} (target ≥ 1,000,000)`,
);
