/**
 * Gate throughput and latency: requests/s and p50/p99 at 100 concurrent connections (autocannon,
 * its programmatic API) against `vigil serve`'s gate endpoint (`GET /api/gate?environment=prod`
 * with the function key, over a copy of the emulated demo estate swept once), and against a bare
 * `node:http` server answering the same bytes (the gate's own answer, fixed) in the same run.
 *
 * Fairness on two cores: both servers run in one child process (this script with `--serve`), the
 * load generator in this one, so that autocannon does not steal the event loop of the server it
 * measures. The servers are measured one at a time, alternating (bare, gate, bare, gate, …) after a
 * warm-up of each, so that machine noise hits both alike. Azurite (the store) is a third process.
 *
 * Every response is checked: the gate must answer 409 (the demo's prod has failing controls) and
 * the bare server 200; any other status, error or timeout is counted and printed.
 *
 * Run: npm run bench:gate   (options: --duration S per round, default 10; --rounds N, default 2;
 *                            --connections N, default 100)
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { type Figure, reportFigures } from "./lib/figures.js";

const { values } = parseArgs({
  options: {
    serve: { type: "boolean", default: false },
    duration: { type: "string", default: "10" },
    rounds: { type: "string", default: "2" },
    connections: { type: "string", default: "100" },
  },
});

const ROOT = join(import.meta.dirname, "..");
const GATE_PATH = "/api/gate?environment=prod";

/** What the child tells the parent once both servers listen. */
interface Endpoints {
  gateUrl: string;
  bareUrl: string;
  key: string;
  bodyBytes: number;
}

if (values.serve) await serve();
else await measure();

/** The child: vigil serve over a demo copy, and the bare server with the gate's answer. */
async function serve(): Promise<void> {
  const { startServe } = await import("../src/cli/serve.js");
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-gate-"));
  const seed = join(dir, "seed");
  cpSync(join(ROOT, "estates", "demo"), seed, { recursive: true });
  const served = await startServe({
    emulate: seed,
    configPath: join(seed, "vigil.config.json"),
    storeDir: join(dir, "store"),
    port: 0,
    sweepEveryMinutes: 0,
    io: {
      stdout: () => {},
      // Routine log lines stay quiet; a failure is passed through.
      stderr: (t) => {
        if (/fail|error|cannot/i.test(t) && !/could not be planned/.test(t))
          process.stderr.write(t);
      },
      now: () => Date.now(),
      env: {},
    },
  });
  await served.host.idle();
  const gateUrl = `${served.host.baseUrl}${GATE_PATH}`;
  const answer = await fetch(gateUrl, { headers: { "x-functions-key": served.key } });
  const body = Buffer.from(await answer.arrayBuffer());
  if (answer.status !== 409)
    throw new Error(`the demo's prod gate answered ${answer.status}, not 409: ${body}`);
  const bare = createServer((_req, res) => {
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "content-length": body.length,
    });
    res.end(body);
  });
  await new Promise<void>((r) => bare.listen(0, "127.0.0.1", () => r()));
  const endpoints: Endpoints = {
    gateUrl,
    bareUrl: `http://127.0.0.1:${(bare.address() as { port: number }).port}/`,
    key: served.key,
    bodyBytes: body.length,
  };
  process.stdout.write(`${JSON.stringify(endpoints)}\n`);
  // Until the parent closes stdin.
  process.stdin.resume();
  await new Promise<void>((r) => process.stdin.on("end", () => r()));
  bare.close();
  await served.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

/** The parts of autocannon's result this bench reads. */
interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
  duration: number;
}
type Cannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<CannonResult>;

/** The parent: start the child, warm up, alternate autocannon rounds, report. */
async function measure(): Promise<void> {
  const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "gate.bench.ts"), "--serve"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  const endpoints = await new Promise<Endpoints>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the server process exited with ${code}`)));
    lines.once("line", (line) => resolve(JSON.parse(line) as Endpoints));
  });
  const gate: { url: string; headers: Record<string, string>; expect: string } = {
    url: endpoints.gateUrl,
    headers: { "x-functions-key": endpoints.key },
    expect: "409",
  };
  const bare = { url: endpoints.bareUrl, headers: {}, expect: "200" };
  const problems: string[] = [];
  const run = async (what: typeof gate, seconds: number, label: string) => {
    const result = await autocannon({
      url: what.url,
      connections,
      duration: seconds,
      headers: what.headers,
    });
    const stats = result.statusCodeStats ?? {};
    const unexpected = Object.entries(stats).filter(([code]) => code !== what.expect);
    if (result.errors > 0 || result.timeouts > 0 || unexpected.length > 0)
      problems.push(
        `${label}: ${result.errors} errors, ${result.timeouts} timeouts, unexpected statuses ${JSON.stringify(Object.fromEntries(unexpected.map(([c, s]) => [c, s.count])))}`,
      );
    if ((stats[what.expect]?.count ?? 0) === 0) problems.push(`${label}: no ${what.expect} answer`);
    return result;
  };
  console.log(
    `gate: autocannon, ${connections} connections, ${rounds} round(s) of ${duration} s per server, alternating; servers in a child process, answer ${endpoints.bodyBytes} bytes`,
  );
  await run(bare, 2, "bare warm-up");
  await run(gate, 2, "gate warm-up");
  const results: { gate: CannonResult[]; bare: CannonResult[] } = { gate: [], bare: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const [name, what] of [
      ["bare", bare],
      ["gate", gate],
    ] as const) {
      const result = await run(what, duration, `${name} round ${round}`);
      results[name].push(result);
      console.log(
        `  round ${round} ${name.padEnd(4)}  ${result.requests.average.toFixed(0).padStart(6)} req/s   p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms   (${result.requests.total} requests)`,
      );
    }
  }
  child.stdin.end();
  await new Promise<void>((r) => child.once("exit", () => r()));

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summary = (list: CannonResult[]) => ({
    rps: mean(list.map((r) => r.requests.average)),
    p50: mean(list.map((r) => r.latency.p50)),
    p99: Math.max(...list.map((r) => r.latency.p99)),
  });
  const g = summary(results.gate);
  const b = summary(results.bare);
  const share = g.rps / b.rps;
  console.log(
    `  gate  (vigil serve, /api/gate?environment=prod, 409)   ${g.rps.toFixed(0)} req/s   p50 ${g.p50.toFixed(1)} ms   p99 ${g.p99} ms`,
  );
  console.log(
    `  bare  (node:http, the same bytes, 200)                 ${b.rps.toFixed(0)} req/s   p50 ${b.p50.toFixed(1)} ms   p99 ${b.p99} ms`,
  );
  console.log(
    `  ratio gate/bare throughput ${(share * 100).toFixed(1)}% (target ≥ 50%); gate p99 ${g.p99} ms (target ≤ 20 ms)`,
  );
  console.log("  (req/s and p50: mean over rounds; p99: the worst round)");
  if (problems.length > 0) {
    console.log(`  PROBLEMS (${problems.length}):`);
    for (const p of problems) console.log(`    ${p}`);
  }
  const throughputMet = share >= 0.5 && problems.length === 0;
  const p99Met = g.p99 <= 20 && problems.length === 0;
  console.log(
    `  throughput target ${throughputMet ? "met" : "MISSED"}; p99 target ${p99Met ? "met" : "MISSED"}`,
  );
  const figures: Figure[] = [
    {
      name: "gate throughput at 100 connections",
      value: g.rps,
      unit: "req/s",
      baseline: "bare node:http server, same bytes",
      baselineValue: b.rps,
      ratio: share,
      target: "≥ 50% of the bare server",
      met: throughputMet,
    },
    {
      name: "gate p50 latency at 100 connections",
      value: g.p50,
      unit: "ms",
      baseline: "bare node:http server p50",
      baselineValue: b.p50,
      ratio: g.p50 / b.p50,
    },
    {
      name: "gate p99 latency at 100 connections",
      value: g.p99,
      unit: "ms",
      baseline: "bare node:http server p99",
      baselineValue: b.p99,
      ratio: g.p99 / b.p99,
      target: "≤ 20 ms",
      met: p99Met,
    },
  ];
  reportFigures("gate", figures);
}
