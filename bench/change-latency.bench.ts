/**
 * Change latency: an Event Grid event → the finding recorded → the notification queued, against
 * `vigil serve` started in this process over a copy of the emulated demo estate (its own Azurite
 * store in a temp folder, a real webhook receiver as the notification sink).
 *
 * Before each event the bench flips the demo's public static-assets storage account between
 * `allowBlobPublicAccess` true and false through the emulator's admin API, so that every event
 * re-reads a changed resource and produces a real transition (fail → pass → fail …), an outbox
 * entry, a state row write and a `notifications` message.
 *
 * How "done" is observed: by hooks, not polling. The bench wraps the runtime's store so that it
 * sees the moment `applyFindings` resolved for the event's run (the row is in the findings table)
 * and the moment `queues.notifications.send` resolved for it (the message is on the queue, as
 * Azurite acknowledged it); an event's latency is from just before its POST to the later of the
 * two. After each event (outside the timed part) the row is read back from the table and checked:
 * its status is the one the flip calls for and its lastRun is the event's run. At the end every
 * run's digest must have reached the webhook with its transition.
 *
 * Baseline, in the same run and interleaved with the events: the same POST to the same endpoint
 * for an event type vigil does not act on (`ResourceWriteFailure`): the HTTP round trip, key check
 * and parse of the webhook with no work behind it. Also printed, for scale: one Azurite table
 * upsert plus one queue send, the two store writes an event cannot avoid.
 *
 * Run: npm run bench:change-latency   (options: --events N, default 1000; --warmup N, default 20)
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TableClient } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import { startServe } from "../src/cli/serve.js";
import { startLocalStore } from "../src/store/index.js";
import { type Figure, quantile, reportFigures } from "./lib/figures.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "1000" },
    warmup: { type: "string", default: "20" },
  },
});
const EVENTS = Number(values.events);
const WARMUP = Number(values.warmup);
const TARGET_P99_MS = 500;

const ROOT = join(import.meta.dirname, "..");
const PROD = "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a";
const ACCOUNT_PATH = `subscriptions/${PROD}/resourceGroups/rg-hfw-web-prod/providers/Microsoft.Storage/storageAccounts/sthfwstaticprod`;
const ACCOUNT = `/${ACCOUNT_PATH}`;
const CONTROL = "storage-account-blob-public-access-disabled";

const dir = mkdtempSync(join(tmpdir(), "vigil-bench-change-"));
const seed = join(dir, "seed");
cpSync(join(ROOT, "estates", "demo"), seed, { recursive: true });

// The notification sink: a real webhook receiver that counts digests per run.
const digests = new Map<string, { kind: string; controlId: string; to: string }[]>();
const receiver: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    try {
      const digest = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        runId: string;
        transitions: { kind: string; controlId: string; to: string }[];
      };
      digests.set(digest.runId, digest.transitions);
    } catch {
      // counted as missing below
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
const receiverPort = (receiver.address() as { port: number }).port;

const logLines: string[] = [];
const served = await startServe({
  emulate: seed,
  configPath: join(seed, "vigil.config.json"),
  storeDir: join(dir, "store"),
  port: 0,
  sweepEveryMinutes: 0,
  io: {
    stdout: (t) => logLines.push(t),
    stderr: (t) => logLines.push(t),
    now: () => Date.now(),
    env: {
      VIGIL_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`,
      VIGIL_WEBHOOK_SECRET: "bench-webhook-secret-0123456789",
    },
  },
});
await served.host.idle();
const emulator = served.emulator;
if (emulator === undefined) throw new Error("vigil serve did not start the emulator");

// Hooks on the store the handlers use (the same object as served.rt.store).
const store = served.rt.store;
const rowWritten = new Map<string, number>();
const queued = new Map<string, number>();
const applyFindings = store.applyFindings;
store.applyFindings = async (...args) => {
  const result = await applyFindings(...args);
  rowWritten.set(args[1], performance.now());
  return result;
};
const notifications = store.queues.notifications;
const send = notifications.send;
notifications.send = async (message, options) => {
  await send(message, options);
  const runId = (message as { runId?: string }).runId;
  if (runId !== undefined && !queued.has(runId)) queued.set(runId, performance.now());
};

const document = JSON.parse(readFileSync(join(seed, "arm", `${ACCOUNT_PATH}.json`), "utf8")) as {
  properties: { allowBlobPublicAccess: boolean };
};

/** Replace the account's ARM document through the emulator's admin API. */
function putAccount(publicAccess: boolean): Promise<void> {
  document.properties.allowBlobPublicAccess = publicAccess;
  const body = JSON.stringify(document);
  const url = new URL(`${emulator?.armEndpoint}/_emulator/arm/${ACCOUNT_PATH}`);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: "PUT",
        ca: emulator?.caPem,
        headers: {
          authorization: `Bearer ${emulator?.token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200 || res.statusCode === 201
            ? resolve()
            : reject(new Error(`emulator admin PUT answered ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function event(id: string, eventType: string) {
  return JSON.stringify([
    {
      id,
      topic: `/subscriptions/${PROD}`,
      subject: ACCOUNT,
      eventType: `Microsoft.Resources.${eventType}`,
      eventTime: new Date().toISOString(),
      dataVersion: "2",
      metadataVersion: "1",
      data: {
        resourceUri: ACCOUNT,
        subscriptionId: PROD,
        operationName: "write",
        status: "Succeeded",
      },
    },
  ]);
}

const webhook = `${served.host.baseUrl}/runtime/webhooks/eventgrid?functionName=resource-changed`;
async function post(body: string): Promise<number> {
  const response = await fetch(webhook, {
    method: "POST",
    headers: { "x-functions-key": served.key, "content-type": "application/json" },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

async function statusOfRow(): Promise<{ status: string; lastRun: string } | undefined> {
  for await (const row of store.listState(PROD))
    if (row.controlId === CONTROL && row.resourceId === ACCOUNT) return row;
  return undefined;
}

const latencies: number[] = [];
const roundTrips: number[] = [];
const baseline: number[] = [];
const problems: string[] = [];
const runs: { runId: string; expected: string }[] = [];
let publicAccess = (await statusOfRow())?.status === "fail";
const started = performance.now();
for (let i = 0; i < WARMUP + EVENTS; i++) {
  publicAccess = !publicAccess;
  await putAccount(publicAccess);
  const expected = publicAccess ? "fail" : "pass";
  const id = `bench-${i}-${Math.random().toString(16).slice(2, 10)}`;
  const runId = `event-${id}`;
  const body = event(id, "ResourceWriteSuccess");

  const t0 = performance.now();
  const status = await post(body);
  const t1 = performance.now();
  const written = rowWritten.get(runId);
  const sent = queued.get(runId);

  // Baseline: the same POST for an event type that is not acted on.
  const b0 = performance.now();
  const baseStatus = await post(event(`${id}-ignored`, "ResourceWriteFailure"));
  const b1 = performance.now();

  if (status !== 200 || baseStatus !== 200)
    problems.push(`event ${i}: HTTP ${status}/${baseStatus}`);
  if (written === undefined || sent === undefined) {
    problems.push(`event ${i}: ${written === undefined ? "no row write" : "no notification"} seen`);
    continue;
  }
  const row = await statusOfRow();
  if (row?.status !== expected || row.lastRun !== runId)
    problems.push(
      `event ${i}: row is ${row?.status} of ${row?.lastRun}, not ${expected} of ${runId}`,
    );
  if (i < WARMUP) continue;
  runs.push({ runId, expected });
  latencies.push(Math.max(written, sent) - t0);
  roundTrips.push(t1 - t0);
  baseline.push(b1 - b0);
  if ((i - WARMUP + 1) % 100 === 0)
    console.log(
      `  ${i - WARMUP + 1}/${EVENTS} events, p50 so far ${quantile(latencies, 0.5).toFixed(1)} ms`,
    );
}
const elapsed = (performance.now() - started) / 1000;

// Every run's digest reaches the webhook with the flip it caused.
await served.host.idle();
let delivered = 0;
for (const { runId, expected } of runs) {
  const transitions = digests.get(runId);
  if (transitions?.some((t) => t.controlId === CONTROL && t.to === expected) === true)
    delivered += 1;
}
if (delivered !== runs.length)
  problems.push(`${runs.length - delivered} of ${runs.length} digests did not reach the webhook`);

// For scale: one Azurite table upsert + one queue send against the same store.
const azurite = await startLocalStore({ inMemory: true, silent: true });
const table = TableClient.fromConnectionString(azurite.connectionString, "benchscale", {
  allowInsecureConnection: true,
});
await table.createTable();
const queue = new QueueClient(azurite.connectionString, "bench-scale");
await queue.createIfNotExists();
const storeWrites: number[] = [];
for (let i = 0; i < 200; i++) {
  const t0 = performance.now();
  await table.upsertEntity({
    partitionKey: "p",
    rowKey: `r${i % 10}`,
    status: i % 2 ? "pass" : "fail",
  });
  await queue.sendMessage(Buffer.from(JSON.stringify({ v: 1, runId: `r${i}` })).toString("base64"));
  storeWrites.push(performance.now() - t0);
}
await azurite.close();

await served.close();
await new Promise<void>((r) => receiver.close(() => r()));
rmSync(dir, { recursive: true, force: true });

const p50 = quantile(latencies, 0.5);
const p99 = quantile(latencies, 0.99);
const b50 = quantile(baseline, 0.5);
const b99 = quantile(baseline, 0.99);
const w50 = quantile(storeWrites, 0.5);
const f = (n: number) => `${n.toFixed(1)} ms`;
console.log(
  `change latency: Event Grid event → finding row written → notification queued (${latencies.length} events, ${WARMUP} warm-up, ${elapsed.toFixed(1)} s; observed by store hooks)`,
);
console.log(
  `  event → row + notification   p50 ${f(p50)}   p99 ${f(p99)}   max ${f(Math.max(...latencies))}   (target p99 ≤ ${TARGET_P99_MS} ms)`,
);
console.log(
  `  POST round trip (answered after both)   p50 ${f(quantile(roundTrips, 0.5))}   p99 ${f(quantile(roundTrips, 0.99))}`,
);
console.log(`  baseline: same POST, event not acted on   p50 ${f(b50)}   p99 ${f(b99)}`);
console.log(`  ratio p50 ${(p50 / b50).toFixed(1)}×, p99 ${(p99 / b99).toFixed(1)}× the baseline`);
console.log(
  `  for scale: one Azurite table upsert + queue send   p50 ${f(w50)} (event p50 = ${(p50 / w50).toFixed(1)}× that)`,
);
console.log(`  digests delivered to the webhook: ${delivered}/${runs.length}`);
if (problems.length > 0) {
  console.log(`  PROBLEMS (${problems.length}):`);
  for (const p of problems.slice(0, 20)) console.log(`    ${p}`);
}
console.log(`  target ${p99 <= TARGET_P99_MS && problems.length === 0 ? "met" : "MISSED"}`);

const figures: Figure[] = [
  {
    name: "change latency p50 (event → row + notification)",
    value: p50,
    unit: "ms",
    baseline: "same POST, event not acted on (p50)",
    baselineValue: b50,
    ratio: p50 / b50,
  },
  {
    name: "change latency p99 (event → row + notification)",
    value: p99,
    unit: "ms",
    baseline: "same POST, event not acted on (p99)",
    baselineValue: b99,
    ratio: p99 / b99,
    target: `p99 ≤ ${TARGET_P99_MS} ms, every event recorded and notified`,
    met: p99 <= TARGET_P99_MS && problems.length === 0,
  },
];
reportFigures("change-latency", figures);
