/**
 * TLS probe benchmark: starts a fleet of loopback TLS servers with mixed configurations (TLS 1.0
 * only to TLS 1.3 only, weak and unusual suites, bad certificates; bench/lib/tls-fleet.ts) in a
 * child process, probes all of them with vigil's TLS collector, then compares vigil's protocol
 * verdicts and per-endpoint time with testssl.sh (`-p`) and sslscan on a sample that covers every
 * protocol range, and vigil's verdicts over the whole fleet with the configured ranges.
 *
 * Run: npm run bench:tls   (options: --endpoints N (200), --sample N (12), --rounds N (3),
 *                           --repeats N (5), --full-testssl: also time one default testssl run)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createCallPolicy } from "../src/collectors/call-policy.js";
import {
  createTlsCollector,
  probeTlsEndpoint,
  TLS_VERSIONS,
  type TlsProbeDocument,
} from "../src/collectors/tls/index.js";
import type { CollectorSettings } from "../src/collectors/types.js";
import {
  cloudEndpoints,
  formatHostPort,
  type HostPort,
  type Observation,
} from "../src/core/index.js";
import {
  hasSslscan,
  hasTestssl,
  runSslscan,
  runTestsslScan,
  SCANNED_VERSIONS,
  type ScannedVersion,
} from "../test/support/tls-servers.js";
import { type Figure, quantile, reportFigures } from "./lib/figures.js";
import { FLEET_MARKER, type FleetEndpoint } from "./lib/tls-fleet.js";

const { values } = parseArgs({
  options: {
    endpoints: { type: "string", default: "200" },
    sample: { type: "string", default: "12" },
    rounds: { type: "string", default: "3" },
    repeats: { type: "string", default: "5" },
    "full-testssl": { type: "boolean", default: false },
  },
});
const ENDPOINTS = Number(values.endpoints);
const SAMPLE = Math.min(Number(values.sample), ENDPOINTS);
const ROUNDS = Number(values.rounds);
const REPEATS = Number(values.repeats);
const NOW = new Date().toISOString();
const TARGET_SPEEDUP = 20;

/** Starts the fleet in its own process and resolves its endpoints once it prints them. */
function startFleet(
  count: number,
): Promise<{ child: ChildProcess; endpoints: FleetEndpoint[]; caPem: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "lib", "tls-fleet.ts"), "--count", String(count)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (!line.startsWith(FLEET_MARKER)) return;
      const fleet = JSON.parse(line.slice(FLEET_MARKER.length)) as {
        endpoints: FleetEndpoint[];
        caPem: string;
      };
      resolve({ child, ...fleet });
    });
    child.once("exit", (code) => reject(new Error(`the TLS fleet exited with ${code}`)));
  });
}

/** Stops the fleet: closing its stdin makes it close every server and exit. */
function stopFleet(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill(), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}

type Verdicts = Partial<Record<ScannedVersion, boolean>>;

/** `1`, `0` or `?` per version, SSLv3 first: `-1100` reads "SSLv3 not probed, TLS 1.0 and 1.1 accepted". */
function row(verdicts: Verdicts, versions: readonly ScannedVersion[] = SCANNED_VERSIONS): string {
  return versions
    .map((version) => {
      const verdict = verdicts[version];
      if (verdict === undefined) return version === "SSLv3" ? "-" : "?";
      return verdict ? "1" : "0";
    })
    .join("");
}

function vigilVerdicts(observation: Observation | undefined): Verdicts {
  return { ...((observation?.document as TlsProbeDocument | undefined)?.protocols ?? {}) };
}

/** Whether two verdict sets agree on every TLS version (vigil does not probe SSLv3). */
function sameTls(a: Verdicts, b: Verdicts): boolean {
  return TLS_VERSIONS.every((version) => a[version] !== undefined && a[version] === b[version]);
}

function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;

const started = performance.now();
const fleet = await startFleet(ENDPOINTS);
console.log(
  `tls-probe: ${fleet.endpoints.length} servers started in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
    `(${fleet.endpoints.filter((e) => e.server === "openssl").length} openssl s_server, the rest Node tls)`,
);

try {
  const connectTo = new Map<string, HostPort>(
    fleet.endpoints.map((e) => [formatHostPort(e.name, e.port), { host: e.host, port: e.port }]),
  );
  const settings: CollectorSettings = {
    cloud: cloudEndpoints("AzurePublicCloud"),
    credential: {
      getToken: async () => {
        throw new Error("the TLS collector needs no token");
      },
    },
    probeCaPem: [fleet.caPem],
    tlsConnectTo: connectTo,
    activityLogDays: 30,
    traefik: { entryPoints: {}, allowCrossNamespace: {} },
    useResourceGraph: false,
    callPolicy: createCallPolicy(),
  };
  const collector = createTlsCollector(settings);
  const target = {
    kind: "tls" as const,
    set: "bench",
    endpoints: fleet.endpoints.map((e) => ({ host: e.name, port: e.port })),
  };
  const probeAlone = (e: FleetEndpoint) =>
    probeTlsEndpoint(
      { host: e.name, port: e.port },
      { now: NOW, caPem: [fleet.caPem], connect: { host: e.host, port: e.port } },
    );

  // Warm-up: module code, the trust store of Node's roots, the first sockets.
  for (const e of fleet.endpoints.slice(0, 3)) await probeAlone(e);

  // 1. The whole fleet through the collector, as a sweep runs it (call policy: 16 probes at once).
  const fleetTimes: number[] = [];
  let observations: Observation[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    observations = await collector.collect(target, { now: NOW });
    fleetTimes.push(performance.now() - t0);
  }
  const fleetWall = median(fleetTimes);
  console.log(
    `vigil collector over ${fleet.endpoints.length} endpoints: wall ${ms(fleetWall)} (median of ${ROUNDS}: ${fleetTimes.map(ms).join(", ")}), ` +
      `${ms(fleetWall / fleet.endpoints.length)} per endpoint`,
  );

  // 2. vigil's verdicts over the whole fleet against the configured ranges.
  const byId = new Map(observations.map((o) => [o.id, o]));
  const fleetMismatches: string[] = [];
  let errors = 0;
  for (const e of fleet.endpoints) {
    const observation = byId.get(`tls://${e.name}:${e.port}`);
    if (observation?.error !== undefined) errors += 1;
    const verdicts = vigilVerdicts(observation);
    if (!sameTls(verdicts, e.configured)) {
      fleetMismatches.push(
        `  ${e.name} (${e.label}, ${e.server}, ${e.certificate}): configured ${row(e.configured, TLS_VERSIONS)} vigil ${row(verdicts, TLS_VERSIONS)}` +
          `${observation?.error ? ` error ${observation.error.code}` : ""}${observation?.gaps ? ` gaps ${observation.gaps.map((g) => g.code).join(",")}` : ""}`,
      );
    }
  }
  const fleetAgreeing = fleet.endpoints.length - fleetMismatches.length;
  console.log(
    `vigil verdicts equal to the configured ranges: ${fleetAgreeing}/${fleet.endpoints.length} (${errors} error observations)`,
  );
  for (const line of fleetMismatches) console.log(line);

  // 3. The sample: every protocol range once. vigil alone (median of REPEATS), testssl -p, sslscan.
  const sample = fleet.endpoints.slice(0, SAMPLE);
  console.log(
    `\nsample of ${sample.length} endpoints; verdict columns SSLv3 TLS1.0 TLS1.1 TLS1.2 TLS1.3 (- = not probed)` +
      `${hasTestssl ? "" : "\ntestssl not installed (Debian package testssl.sh): its comparison is skipped"}` +
      `${hasSslscan ? "" : "\nsslscan not installed (Debian package sslscan): its comparison is skipped"}`,
  );
  const vigilAlone: number[] = [];
  const testsslTimes: number[] = [];
  const sslscanTimes: number[] = [];
  const sslscanFullTimes: number[] = [];
  const disagreements: string[] = [];
  let testsslAgree = 0;
  let sslscanAgree = 0;
  let toolsAgree = 0;
  for (const e of sample) {
    const times: number[] = [];
    let observation: Observation | undefined;
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const t0 = performance.now();
      observation = await probeAlone(e);
      times.push(performance.now() - t0);
    }
    const vigilTime = median(times);
    vigilAlone.push(vigilTime);
    const vigil = vigilVerdicts(observation);
    let line = `  ${e.name.slice(0, 6)} ${e.label.padEnd(40)} configured -${row(e.configured, TLS_VERSIONS)}  vigil ${row(vigil)} ${ms(vigilTime).padStart(9)}`;
    let testssl: Verdicts | undefined;
    let sslscan: Verdicts | undefined;
    // A tool that reports no verdict is a disagreement to list, not a reason to stop the run.
    const scanned = <T>(tool: string, scan: Promise<T>): Promise<T | undefined> =>
      scan.catch((error: unknown) => {
        disagreements.push(
          `  ${e.name} (${e.label}): ${tool} gave no verdict: ${String(error).slice(0, 300)}`,
        );
        return undefined;
      });
    const testsslScan = hasTestssl
      ? await scanned("testssl", runTestsslScan(e.host, e.port, { protocolsOnly: true }))
      : undefined;
    if (testsslScan !== undefined) {
      const scan = testsslScan;
      testssl = scan.verdicts;
      testsslTimes.push(scan.elapsedInMs);
      line += `  testssl ${row(testssl)} ${(scan.elapsedInMs / 1000).toFixed(1).padStart(5)} s`;
      if (sameTls(vigil, testssl)) testsslAgree += 1;
      else
        disagreements.push(
          `  ${e.name} (${e.label}): configured -${row(e.configured, TLS_VERSIONS)} vigil ${row(vigil)} testssl ${row(testssl)}`,
        );
    }
    const sslscanScan = hasSslscan
      ? await scanned("sslscan", runSslscan(e.host, e.port, { protocolsOnly: true }))
      : undefined;
    if (sslscanScan !== undefined) {
      const scan = sslscanScan;
      sslscan = scan.verdicts;
      sslscanTimes.push(scan.elapsedInMs);
      const full = await scanned("sslscan", runSslscan(e.host, e.port, { protocolsOnly: false }));
      if (full !== undefined) sslscanFullTimes.push(full.elapsedInMs);
      line += `  sslscan ${row(sslscan)} ${ms(scan.elapsedInMs).padStart(9)}`;
      if (sameTls(vigil, sslscan)) sslscanAgree += 1;
      else
        disagreements.push(
          `  ${e.name} (${e.label}): configured -${row(e.configured, TLS_VERSIONS)} vigil ${row(vigil)} sslscan ${row(sslscan)}`,
        );
    }
    if (testssl !== undefined && sslscan !== undefined) {
      if (SCANNED_VERSIONS.every((v) => testssl[v] === sslscan[v])) toolsAgree += 1;
      else
        disagreements.push(
          `  ${e.name} (${e.label}): testssl ${row(testssl)} sslscan ${row(sslscan)}`,
        );
    }
    console.log(line);
  }
  console.log(
    disagreements.length === 0
      ? "protocol verdicts: identical across vigil, testssl and sslscan on every sampled endpoint"
      : `protocol verdict disagreements:\n${disagreements.join("\n")}`,
  );

  const vigilPerEndpoint = median(vigilAlone);
  const figures: Figure[] = [
    {
      name: `collector wall time, ${fleet.endpoints.length} endpoints`,
      value: fleetWall,
      unit: "ms",
    },
    {
      name: "collector time per endpoint (fleet wall / endpoints)",
      value: fleetWall / fleet.endpoints.length,
      unit: "ms",
      baseline: "vigil probe of one endpoint alone (sample median)",
      baselineValue: vigilPerEndpoint,
      ratio: fleetWall / fleet.endpoints.length / vigilPerEndpoint,
    },
    {
      name: "fleet verdicts equal to configured ranges",
      value: fleetAgreeing,
      unit: `of ${fleet.endpoints.length}`,
      target: "all",
      met: fleetAgreeing === fleet.endpoints.length,
    },
  ];
  console.log(
    `\nvigil per endpoint alone: median ${ms(vigilPerEndpoint)}, p90 ${ms(quantile(vigilAlone, 0.9))}`,
  );
  if (hasTestssl && testsslTimes.length > 0) {
    const testsslPerEndpoint = median(testsslTimes);
    const speedup = testsslPerEndpoint / vigilPerEndpoint;
    console.log(
      `testssl -p per endpoint: median ${ms(testsslPerEndpoint)} → vigil is ${speedup.toFixed(0)}× faster (target ≥ ${TARGET_SPEEDUP}×); ` +
        `fleet-amortised vigil is ${(testsslPerEndpoint / (fleetWall / fleet.endpoints.length)).toFixed(0)}× faster`,
    );
    figures.push(
      {
        name: "vigil probe per endpoint vs testssl -p (speed-up)",
        value: vigilPerEndpoint,
        unit: "ms",
        baseline: "testssl -p, same endpoints, sequential",
        baselineValue: testsslPerEndpoint,
        ratio: speedup,
        target: `testssl ÷ vigil ≥ ${TARGET_SPEEDUP}×`,
        met: speedup >= TARGET_SPEEDUP,
      },
      {
        name: "sampled endpoints with vigil verdicts = testssl",
        value: testsslAgree,
        unit: `of ${sample.length}`,
        target: "all (identical)",
        met: testsslAgree === sample.length,
      },
    );
  }
  if (hasSslscan && sslscanTimes.length > 0) {
    const sslscanPerEndpoint = median(sslscanTimes);
    console.log(
      `sslscan per endpoint: protocols only median ${ms(sslscanPerEndpoint)}, default run median ${ms(median(sslscanFullTimes))} ` +
        `→ vigil is ${(sslscanPerEndpoint / vigilPerEndpoint).toFixed(1)}× faster than sslscan's protocol check`,
    );
    figures.push(
      {
        name: "vigil probe per endpoint vs sslscan protocols-only",
        value: vigilPerEndpoint,
        unit: "ms",
        baseline: "sslscan --no-ciphersuites … (protocols only), same endpoints",
        baselineValue: sslscanPerEndpoint,
        ratio: sslscanPerEndpoint / vigilPerEndpoint,
      },
      {
        name: "sampled endpoints with vigil verdicts = sslscan",
        value: sslscanAgree,
        unit: `of ${sample.length}`,
        target: "all (identical)",
        met: sslscanAgree === sample.length,
      },
    );
  }
  if (hasTestssl && hasSslscan) {
    figures.push({
      name: "sampled endpoints with testssl = sslscan (SSLv3 included)",
      value: toolsAgree,
      unit: `of ${sample.length}`,
    });
  }
  if (values["full-testssl"] && hasTestssl) {
    // The widest archetype (TLS 1.0-1.3 on Node), so that every testssl section has work to do.
    const e = sample.find((s) => s.configured.TLSv1 && s.configured["TLSv1.3"]) ?? sample[0]!;
    const full = await runTestsslScan(e.host, e.port, { protocolsOnly: false }).catch(
      (error: unknown) => {
        console.log(
          `testssl default run on ${e.name} gave no verdicts: ${String(error).slice(0, 300)}`,
        );
        return undefined;
      },
    );
    if (full !== undefined) {
      console.log(
        `testssl default run on ${e.name} (${e.label}): ${(full.elapsedInMs / 1000).toFixed(1)} s, ${full.findings.length} findings`,
      );
      figures.push({
        name: "testssl default run, one endpoint",
        value: full.elapsedInMs,
        unit: "ms",
        baseline: "vigil probe of one endpoint alone (sample median)",
        baselineValue: vigilPerEndpoint,
        ratio: full.elapsedInMs / vigilPerEndpoint,
      });
    }
  }
  reportFigures("tls-probe", figures);
} finally {
  await stopFleet(fleet.child);
}
