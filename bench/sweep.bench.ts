/**
 * Sweep benchmark (issue 7, figure "Sweep"): one whole-estate sweep of a large synthetic estate,
 * collected through vigil's real collectors and evaluated in ONE process, against the estate
 * emulator with ARM's documented read throttling (a token bucket per subscription: 250 reads,
 * refilled 25/s) and 20–50 ms latency on every call.
 *
 * What runs: `bench/estate-generator.ts` writes the seed into an OS temp folder; the emulator
 * serves it from a child process (so the figures of this process are vigil's alone: its RSS, its
 * event loop; the emulator's own request log counts the calls); this process then runs
 * `scanEstate` — the planning, collection and evaluation `vigil scan --emulate` runs, with the
 * collectors and deps built the way `openEmulatedEstate` builds them. Recording to the store is
 * left out: it is a separate stage with its own benchmark, and its Azurite writes would blur the
 * collection figures.
 *
 * Figures: wall time; API calls by kind (ARM by resource type and operation, Resource Graph,
 * Graph, Kubernetes, blob); ARM calls per resource; 429s; peak RSS; and the lower bound the
 * throttle and latency allow: per subscription its ARM reads cannot finish before
 * max(0, (reads − 250) / 25) s plus one minimum latency; the sweep's bound is the largest over its
 * subscriptions. The bound is computed from the reads vigil made and from the ideal of one read
 * per resource (the baseline of this run), and the wall time is compared with both.
 *
 * The sweep keeps one target at a time (`scanEstate` with `retain: false`): each target's
 * observations and findings are counted as it is evaluated, as a queue worker handles one target.
 *
 * Run: npm run bench:sweep   (options: --scale 0.1, --subscriptions N, --latency 20-50 (or 0),
 *      --no-throttle, --keep (keep the generated seed), --heap-snapshot FILE (written right after
 *      the sweep). Profile both processes with
 *      node --cpu-prof --import tsx bench/sweep.bench.ts)
 */
import { type ChildProcess, fork } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeHeapSnapshot } from "node:v8";
import {
  createEstateDeps,
  loadCatalogue,
  loadConfig,
  scanEstate,
  staticTokenCredential,
} from "../src/app/index.js";
import type { VigilConfig } from "../src/core/index.js";
import type { RequestLogEntry, RunningEmulator } from "../src/emulator/index.js";
import { type EstateSize, generateEstate, scaledSize } from "./estate-generator.js";
import { type Figure, reportFigures } from "./lib/figures.js";

const THROTTLE = { capacity: 250, refillPerSecond: 25 } as const;
const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Child: serve the seed and count the requests.

interface ServedEstate {
  tenantId: string;
  now: string;
  caPem: string;
  token: string;
  armEndpoint: string;
  graphEndpoint: string;
  blobEndpointTemplate?: string;
  connectTo: Record<string, string>;
}

/** The request log, reduced: counts by kind, and per subscription the ARM reads and 429s. */
interface RequestSummary {
  total: number;
  byKind: Record<string, number>;
  armReadsBySubscription: Record<string, number>;
  armThrottledBySubscription: Record<string, number>;
  throttled: number;
  errors: Record<string, number>;
}

/** `GET flexibleServers/backups (list)`-style label of an ARM request. */
function armOperation(method: string, path: string): string {
  const bare = (path.split("?")[0] ?? "").replace(/\/+$/, "");
  const providers = bare.toLowerCase().lastIndexOf("/providers/");
  if (providers < 0) {
    const segments = bare.split("/").filter(Boolean);
    if (segments.length <= 1) return `${method} subscriptions (list)`;
    if (segments.length === 2) return `${method} subscription`;
    return `${method} ${segments.length % 2 === 1 ? `${segments.at(-1)} (list)` : (segments.at(-2) ?? "")}`;
  }
  const segments = bare
    .slice(providers + "/providers/".length)
    .split("/")
    .filter(Boolean);
  // [Namespace, type, name, childType, childName, ...]
  const types: string[] = [];
  for (let i = 1; i < segments.length; i += 2) types.push(segments[i] as string);
  const isList = segments.length % 2 === 0;
  const label = types.join("/");
  if (/eventtypes\/management/i.test(bare)) return `${method} activityLog (query)`;
  if (/listClusterUserCredential$/i.test(bare))
    return `${method} managedClusters/listClusterUserCredential`;
  if (/Microsoft\.ResourceGraph/i.test(bare)) return `${method} resourceGraph`;
  return `${method} ${label}${isList ? " (list)" : ""}`;
}

function kindOf(entry: RequestLogEntry): string {
  switch (entry.api) {
    case "arm":
      return `arm: ${armOperation(entry.method, entry.path)}`;
    case "kubernetes": {
      const bare = (entry.path.split("?")[0] ?? "").replace(/^\/k8s\/[^/]+/, "");
      const plural = bare.split("/").filter(Boolean).at(-1) ?? bare;
      return `kubernetes: ${entry.method} ${plural}`;
    }
    case "blob":
      return `blob: ${entry.method} ${/comp=list/i.test(entry.path) ? "list blobs" : "get blob"}`;
    default:
      return `${entry.api}: ${entry.method}`;
  }
}

async function serve(
  seedDir: string,
  latency: { min: number; max: number } | undefined,
  throttle: boolean,
) {
  const { startEmulator } = await import("../src/emulator/index.js");
  const summary: RequestSummary = {
    total: 0,
    byKind: {},
    armReadsBySubscription: {},
    armThrottledBySubscription: {},
    throttled: 0,
    errors: {},
  };
  let counting = false;
  const emulator: RunningEmulator = await startEmulator({
    seedDir,
    watch: false,
    ...(throttle ? { throttle: { ...THROTTLE } } : {}),
    ...(latency !== undefined ? { latencyInMs: latency } : {}),
    onRequest: (entry) => {
      if (!counting || entry.api === "admin") return;
      summary.total++;
      const kind = kindOf(entry);
      summary.byKind[kind] = (summary.byKind[kind] ?? 0) + 1;
      if (entry.status === 429) {
        summary.throttled++;
        if (entry.subscriptionId !== undefined)
          summary.armThrottledBySubscription[entry.subscriptionId] =
            (summary.armThrottledBySubscription[entry.subscriptionId] ?? 0) + 1;
      } else if (entry.status >= 400 || entry.status === 0) {
        const key = `${entry.api} ${entry.status}`;
        summary.errors[key] = (summary.errors[key] ?? 0) + 1;
      }
      if (entry.api === "arm" && entry.method === "GET" && entry.status !== 429) {
        const sub = entry.subscriptionId ?? "tenant";
        summary.armReadsBySubscription[sub] = (summary.armReadsBySubscription[sub] ?? 0) + 1;
      }
    },
  });
  const served: ServedEstate = {
    tenantId: emulator.estate.tenantId,
    now: emulator.estate.now,
    caPem: emulator.caPem,
    token: emulator.token,
    armEndpoint: emulator.armEndpoint,
    graphEndpoint: emulator.graphEndpoint,
    ...(emulator.blobEndpointTemplate !== undefined
      ? { blobEndpointTemplate: emulator.blobEndpointTemplate }
      : {}),
    connectTo: { ...emulator.connectTo },
  };
  process.on("message", async (message: { type: string }) => {
    if (message.type === "start") {
      counting = true;
      process.send?.({ type: "started" });
    } else if (message.type === "summary") {
      counting = false;
      process.send?.({ type: "summary", summary });
    } else if (message.type === "close") {
      await emulator.close();
      process.exit(0);
    }
  });
  process.send?.({ type: "ready", served });
}

// ---------------------------------------------------------------------------------------------
// Parent: generate, sweep, report.

function request<T>(child: ChildProcess, message: { type: string }, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string } & Record<string, unknown>) => {
      if (m.type !== reply) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(m as unknown as T);
    };
    const onExit = (code: number | null) =>
      reject(new Error(`the emulator process exited (${code})`));
    child.on("message", onMessage);
    child.once("exit", onExit);
    if (message.type !== "") child.send(message);
  });
}

function lowerBoundSeconds(readsBySubscription: Iterable<number>, minLatencyMs: number): number {
  let worst = 0;
  for (const reads of readsBySubscription)
    worst = Math.max(worst, Math.max(0, (reads - THROTTLE.capacity) / THROTTLE.refillPerSecond));
  return worst + minLatencyMs / 1000;
}

const mb = (bytes: number) => bytes / (1024 * 1024);
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: "string" },
      scale: { type: "string", default: "1" },
      subscriptions: { type: "string" },
      latency: { type: "string", default: "20-50" },
      "no-throttle": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      concurrency: { type: "string" },
      "heap-snapshot": { type: "string" },
    },
  });
  const [minText, maxText] = (values.latency ?? "20-50").split("-");
  const latency =
    values.latency === "0" ? undefined : { min: Number(minText), max: Number(maxText ?? minText) };
  const throttle = values["no-throttle"] !== true;
  if (values.serve !== undefined) {
    await serve(values.serve, latency, throttle);
    return;
  }

  let size: EstateSize = scaledSize(Number(values.scale));
  if (values.subscriptions !== undefined)
    size = { ...size, subscriptions: Number(values.subscriptions) };
  const generatedAt = Date.now();
  const estate = generateEstate(size);
  const c = estate.counts;
  process.stdout.write(
    `sweep: generated ${c.files} seed files in ${fixed((Date.now() - generatedAt) / 1000, 1)} s: ` +
      `${size.subscriptions} subscriptions, ${c.aksClusters} AKS clusters (${size.heavyClusters} with ` +
      `${size.namespacesPerCluster} namespaces × ${size.routesPerNamespace} IngressRoutes), ` +
      `${c.postgresServers} PostgreSQL servers (${c.backups} backups), ${c.storageAccounts} storage ` +
      `accounts (${c.containers} containers), ${c.namespaces} namespaces, ${c.ingressRoutes} ` +
      `IngressRoutes, ${c.tlsEndpoints} TLS endpoints\n`,
  );

  const child = fork(
    SELF,
    [
      "--serve",
      estate.dir,
      "--latency",
      values.latency ?? "20-50",
      ...(throttle ? [] : ["--no-throttle"]),
    ],
    {
      // A profiling flag given to this process (node --cpu-prof …) profiles the emulator too.
      execArgv: ["--import", "tsx", ...process.execArgv.filter((a) => a.startsWith("--cpu-prof"))],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  try {
    const startedAt = Date.now();
    const { served } = await request<{ served: ServedEstate }>(child, { type: "" }, "ready");
    process.stdout.write(
      `sweep: emulator ready in ${fixed((Date.now() - startedAt) / 1000, 1)} s (child process; ` +
        `throttle ${throttle ? "250 reads, 25/s per subscription" : "off"}, latency ${latency ? `${latency.min}-${latency.max} ms` : "none"})\n`,
    );

    // The config and deps `vigil scan --emulate --config` builds (src/cli/estate.ts).
    const catalogue = loadCatalogue();
    const loaded = loadConfig(catalogue, estate.configPath);
    const config: VigilConfig = {
      ...(loaded.config ?? {}),
      tenantId: served.tenantId,
      subscriptions: "all",
    };
    const deps = createEstateDeps(
      {
        ...config,
        tls: {
          ...config.tls,
          connectTo: { ...(config.tls?.connectTo ?? {}), ...served.connectTo },
        },
      },
      {
        credential: staticTokenCredential(served.token),
        endpoints: {
          arm: served.armEndpoint,
          graph: served.graphEndpoint,
          ...(served.blobEndpointTemplate !== undefined
            ? { blob: served.blobEndpointTemplate }
            : {}),
        },
        apiCaPem: [served.caPem],
        probeCaPem: [served.caPem],
        configPath: estate.configPath,
      },
    );

    await request(child, { type: "start" }, "started");
    const before = process.memoryUsage();
    const loadBefore = loadavg()[0] ?? 0;
    const cpuBefore = process.cpuUsage();
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 20);
    const targetsDone = { count: 0 };
    const sweepStart = performance.now();
    let collectedAt = 0;
    // The sweep keeps one target at a time (retain: false); what the figures need of each
    // target is counted as it is evaluated.
    const armTypes = new Set([
      "microsoft.containerservice/managedclusters",
      "microsoft.dbforpostgresql/flexibleservers",
      "microsoft.storage/storageaccounts",
      "microsoft.storage/storageaccounts/blobservices/containers",
    ]);
    const resourcesBySubscription = new Map<string, number>();
    const errorsByControl = new Map<string, number>();
    const result = await scanEstate(catalogue, config, deps, {
      nowMs: Date.parse(served.now),
      vigilVersion: "bench",
      retain: false,
      onTargetEvaluated: (_index, observations, findings) => {
        for (const o of observations) {
          if (!armTypes.has(o.type.toLowerCase()) || !o.id.includes("/providers/")) continue;
          const sub = o.id.split("/")[2]?.toLowerCase() ?? "";
          resourcesBySubscription.set(sub, (resourcesBySubscription.get(sub) ?? 0) + 1);
        }
        for (const f of findings)
          if (f.status === "error")
            errorsByControl.set(f.controlId, (errorsByControl.get(f.controlId) ?? 0) + 1);
      },
      ...(loaded.config !== undefined ? { loaded } : {}),
      onProgress: (progress) => {
        if (/^done \(|^failed \(/.test(progress.message)) {
          targetsDone.count++;
          collectedAt = performance.now();
        }
      },
    });
    const sweepSeconds = (performance.now() - sweepStart) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const loadAfter = loadavg()[0] ?? 0;
    clearInterval(sampler);
    const after = process.memoryUsage();
    // What the sweep left reachable (the result is still held here, as a caller would hold it).
    if (values["heap-snapshot"] !== undefined)
      console.log(`sweep: heap snapshot ${writeHeapSnapshot(values["heap-snapshot"])}`);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const maxRss = process.resourceUsage().maxRSS * 1024;
    const { summary } = await request<{ summary: RequestSummary }>(
      child,
      { type: "summary" },
      "summary",
    );
    const stats = deps.settings.callPolicy.stats();

    const observationCount = result.run.observations;
    const resources = [...resourcesBySubscription.values()].reduce((a, b) => a + b, 0);
    const expectedResources = c.aksClusters + c.postgresServers + c.storageAccounts + c.containers;
    const armReadsBySub = new Map(
      Object.entries(summary.armReadsBySubscription).filter(([sub]) => sub !== "tenant"),
    );
    const armReads = [...armReadsBySub.values()].reduce((a, b) => a + b, 0);
    const armCalls = Object.entries(summary.byKind)
      .filter(([kind]) => kind.startsWith("arm:"))
      .reduce((a, [, n]) => a + n, 0);
    const armCallsNot429 = armCalls - summary.throttled;
    const minLatency = latency?.min ?? 0;
    const boundActual = lowerBoundSeconds(armReadsBySub.values(), minLatency);
    const boundIdeal = lowerBoundSeconds(resourcesBySubscription.values(), minLatency);
    const busiest = [...armReadsBySub.entries()].sort((a, b) => b[1] - a[1])[0];
    const perResource = resources > 0 ? armCallsNot429 / resources : Number.NaN;

    // --- print ---
    const byStatus = result.summary.byStatus as Record<string, number>;
    const lines: string[] = [];
    lines.push(
      `sweep: ${result.targets.length} targets (${result.failedTargets.length} failed), ` +
        `${observationCount} observations, ${result.summary.total} findings ` +
        `(${Object.entries(byStatus)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`,
    );
    lines.push(
      `sweep: wall ${fixed(sweepSeconds)} s (collection ${fixed((collectedAt - sweepStart) / 1000)} s, ` +
        `evaluation ${fixed((performance.now() - collectedAt) / 1000)} s after the last target)`,
    );
    lines.push(`sweep: API calls: ${summary.total} in all; by kind:`);
    for (const [kind, n] of Object.entries(summary.byKind).sort((a, b) => b[1] - a[1]))
      lines.push(`  ${String(n).padStart(8)}  ${kind}`);
    if (Object.keys(summary.errors).length > 0)
      lines.push(`sweep: error answers (other than 429): ${JSON.stringify(summary.errors)}`);
    lines.push(
      `sweep: ARM resources observed ${resources} (estate holds ${expectedResources}: clusters, servers, ` +
        `accounts, containers); ARM calls ${armCallsNot429} besides 429s (${armReads} throttled reads) → ` +
        `${fixed(perResource, 3)} calls per resource`,
    );
    lines.push(`sweep: 429s received ${summary.throttled}; call policy: ${JSON.stringify(stats)}`);
    lines.push(
      `sweep: lower bound from the reads vigil made: ${fixed(boundActual)} s (busiest subscription ` +
        `${busiest?.[0] ?? "-"} with ${busiest?.[1] ?? 0} reads); from 1 read per resource: ${fixed(boundIdeal)} s`,
    );
    lines.push(
      `sweep: wall / bound (reads made) ${fixed(sweepSeconds / boundActual)}×; wall / bound (ideal) ` +
        `${fixed(sweepSeconds / boundIdeal)}×`,
    );
    lines.push(
      `sweep: CPU of this process during the sweep ${fixed(cpuSeconds, 1)} s (${fixed((100 * cpuSeconds) / sweepSeconds, 0)}% of one core); ` +
        `machine load average ${fixed(loadBefore, 1)} before, ${fixed(loadAfter, 1)} after (${cpus().length} cores)`,
    );
    lines.push(
      `sweep: memory before the sweep: rss ${fixed(mb(before.rss), 0)} MB, heap ${fixed(mb(before.heapUsed), 0)} MB; ` +
        `after: rss ${fixed(mb(after.rss), 0)} MB, heap ${fixed(mb(after.heapUsed), 0)} MB, external ${fixed(mb(after.external), 0)} MB`,
    );
    lines.push(
      `sweep: peak RSS ${fixed(mb(peakRss), 0)} MB sampled every 20 ms during the sweep; ` +
        `process maxRSS ${fixed(mb(maxRss), 0)} MB (vigil only: the emulator runs in a child process)`,
    );
    if (errorsByControl.size > 0)
      lines.push(
        `sweep: error findings by control: ${[...errorsByControl]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      );
    for (const failed of result.failedTargets.slice(0, 5))
      lines.push(`sweep: failed target ${failed.label}: ${failed.message}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    const ratioActual = sweepSeconds / boundActual;
    const ratioIdeal = sweepSeconds / boundIdeal;
    const figures: Figure[] = [
      {
        name: "sweep wall time / throttle lower bound (reads made)",
        value: sweepSeconds,
        unit: "s",
        baseline: "max over subscriptions of (ARM reads made − 250) / 25 s + min latency",
        baselineValue: boundActual,
        ratio: ratioActual,
        target: "≤ 1.3×",
        met: ratioActual <= 1.3,
      },
      {
        name: "sweep wall time / throttle lower bound (1 read per resource)",
        value: sweepSeconds,
        unit: "s",
        baseline: "max over subscriptions of (ARM resources − 250) / 25 s + min latency",
        baselineValue: boundIdeal,
        ratio: ratioIdeal,
        target: "≤ 1.3×",
        met: ratioIdeal <= 1.3,
      },
      {
        name: "ARM calls per resource",
        value: perResource,
        unit: "calls",
        baseline: "1 call per ARM resource observed",
        baselineValue: 1,
        ratio: perResource,
        target: "≤ 1.1",
        met: perResource <= 1.1,
      },
      {
        name: "429 responses received",
        value: summary.throttled,
        unit: "responses",
      },
      {
        name: "peak RSS during the sweep",
        value: mb(Math.max(peakRss, maxRss)),
        unit: "MB",
        target: "≤ 512 MB",
        met: mb(Math.max(peakRss, maxRss)) <= 512,
      },
      { name: "API calls (all kinds)", value: summary.total, unit: "calls" },
      {
        name: "observations collected",
        value: observationCount,
        unit: "observations",
      },
    ];
    reportFigures("sweep", figures);
  } finally {
    await request(child, { type: "close" }, "__never__").catch(() => undefined);
    if (values.keep === true) process.stdout.write(`sweep: seed kept at ${estate.dir}\n`);
    else estate.remove();
  }
}

await main();
