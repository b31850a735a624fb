import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { FailedTarget, ScanResult } from "../app/index.js";
import {
  atOrAbove,
  FAMILIES,
  FRAMEWORKS,
  InputError,
  InputErrors,
  type LedgerVerification,
  parseInstant,
  SEVERITIES,
  type Severity,
  VigilError,
} from "../core/index.js";
import type { RunningEmulator } from "../emulator/index.js";
import {
  renderControlsMarkdown,
  renderCsv,
  renderJson,
  renderOcsf,
  renderSarif,
  renderTable,
  terminalSafe,
} from "../reports/index.js";
import {
  CLI_HELP,
  EMULATE_HELP,
  POLICIES_DOCS_HELP,
  POLICIES_HELP,
  POLICIES_LIST_HELP,
  POLICIES_TEST_HELP,
  POLICIES_VALIDATE_HELP,
  SCAN_HELP,
  VERIFY_HELP,
} from "./help.js";

/**
 * The use cases, with the Azure SDKs, the store and the collectors behind them: loaded only by the
 * commands that use them (`scan` and `verify` once their arguments are checked), so that help and
 * usage errors answer without loading them (test/unit/cli/startup.test.ts).
 */
type App = typeof import("../app/index.js");
let loadedApp: App | undefined;
async function loadApp(): Promise<App> {
  loadedApp ??= await import("../app/index.js");
  return loadedApp;
}

/** Where the CLI writes; tests pass buffers. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The clock, epoch ms. */
  now: () => number;
  /** Environment variables (`VIGIL_*` settings); none when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Resolves when the user asks a long-running command (`emulate`) to stop. */
  untilStopped?: () => Promise<void>;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  now: () => Date.now(),
  env: process.env,
  untilStopped: () =>
    new Promise((resolveStop) => {
      process.once("SIGINT", () => resolveStop());
      process.once("SIGTERM", () => resolveStop());
    }),
};

/** A wrong flag, a missing argument, a bad value: exit 2 with the command's help hint. */
export class UsageError extends InputError {
  constructor(message: string) {
    super(message, { code: "Usage" });
    this.name = "UsageError";
  }
}

const FORMATS = ["table", "json", "csv", "sarif", "ocsf"] as const;
const FAIL_ON = [...SEVERITIES, "none"] as const;

/** Run the CLI with arguments (without `node` and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  try {
    return await dispatch([...argv], io);
  } catch (error) {
    return await reportError(error, io);
  }
}

async function reportError(error: unknown, io: CliIo): Promise<number> {
  if (error instanceof UsageError) {
    io.stderr(`vigil: ${error.message}\nRun 'vigil --help' for usage.\n`);
    return 2;
  }
  if (error instanceof InputErrors) {
    io.stderr(
      `vigil: ${error.errors.length} input error${error.errors.length === 1 ? "" : "s"}:\n${error.errors.map((e) => `  ${terminalSafe(e.message)}`).join("\n")}\n`,
    );
    return 2;
  }
  // A FileAccessError is the use cases' (thrown by them or by a command module built on them, so
  // they are loaded by then; loading them here costs nothing more).
  if (
    error instanceof InputError ||
    (error instanceof VigilError && error instanceof (await loadApp()).FileAccessError)
  ) {
    io.stderr(`vigil: ${terminalSafe(error.message)}\n`);
    return 2;
  }
  io.stderr(
    `vigil: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 2;
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.stdout(CLI_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    io.stdout(`${(await loadApp()).vigilVersion()}\n`);
    return 0;
  }
  if (command === "policies") return policies(rest, io);
  if (command === "scan") return scan(rest, io);
  if (command === "emulate") return emulate(rest, io);
  if (command === "verify") return verify(rest, io);
  if (command === "report") return (await import("./report.js")).reportCommand(rest, io);
  if (command === "export") return (await import("./pack.js")).exportCommand(rest, io);
  if (command === "serve") return (await import("./serve.js")).serveCommand(rest, io);
  if (command === "gate") return (await import("./gate.js")).gateCommand(rest, io);
  throw new UsageError(`unknown command '${command}'`);
}

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function parse(args: string[], options: OptionSpec, allowPositionals = false): Parsed {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals,
      strict: true,
    });
    return { values: parsed.values as Parsed["values"], positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(
      (error as Error).message.replace(/\. To specify a positional argument.*$/s, ""),
    );
  }
}

async function policies(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(POLICIES_HELP);
    return sub === undefined ? 2 : 0;
  }
  const command = POLICIES_COMMANDS.get(sub);
  if (command === undefined) throw new UsageError(`unknown command 'policies ${sub}'`);
  return command(rest, io, await loadApp());
}

/**
 * `vigil policies docs [--out FILE] [--check]`: the controls reference as Markdown; `--check`
 * compares it with FILE instead and exits 1 when FILE is stale.
 */
async function policiesDocs(argv: string[], io: CliIo, app: App): Promise<number> {
  const { values } = parse(argv, { out: { type: "string" }, check: { type: "boolean" } });
  if (values.help === true) {
    io.stdout(POLICIES_DOCS_HELP);
    return 0;
  }
  const markdown = renderControlsMarkdown(app.documentedControls(app.loadCatalogue()));
  const out = values.out as string | undefined;
  if (values.check === true) {
    if (out === undefined) throw new UsageError("--check needs --out FILE to compare with");
    let current = "";
    try {
      current = readFileSync(out, "utf8");
    } catch (error) {
      io.stderr(`vigil: cannot read ${out}: ${(error as NodeJS.ErrnoException).code}\n`);
      return 1;
    }
    if (current === markdown) {
      io.stdout(`${out} is current\n`);
      return 0;
    }
    io.stderr(`vigil: ${out} is stale: run npm run docs\n`);
    return 1;
  }
  if (out === undefined) io.stdout(markdown);
  else {
    (await import("./io.js")).writeAtomically(out, markdown);
    io.stdout(`wrote ${out}\n`);
  }
  return 0;
}

function policiesValidate(argv: string[], io: CliIo, app: App): number {
  const { values, positionals } = parse(argv, {}, true);
  if (values.help === true) {
    io.stdout(POLICIES_VALIDATE_HELP);
    return 0;
  }
  const catalogue = positionals.length === 0 ? app.loadCatalogue() : app.loadCatalogue(positionals);
  io.stdout(`${catalogue.controls.length} controls valid\n`);
  return 0;
}

function policiesTest(argv: string[], io: CliIo, app: App): number {
  const { values } = parse(argv, { controls: { type: "string" }, verbose: { type: "boolean" } });
  if (values.help === true) {
    io.stdout(POLICIES_TEST_HELP);
    return 0;
  }
  const catalogue = app.loadCatalogue(
    values.controls === undefined ? undefined : [values.controls as string],
  );
  const { results, coverage } = app.runFixtures(catalogue);
  const lines: string[] = [];
  lines.push(
    `${"RESULT".padEnd(6)} ${"CONTROL".padEnd(48)} ${"EXPECTED".padEnd(15)} ${"ACTUAL".padEnd(15)} FIXTURE`,
  );
  for (const r of results) {
    if (r.ok && values.verbose !== true) continue;
    lines.push(
      `${(r.ok ? "ok" : "MISS").padEnd(6)} ${r.controlId.padEnd(48)} ${String(r.expected ?? "-").padEnd(15)} ${String(r.actual ?? "-").padEnd(15)} ${basename(r.file)}`,
    );
    if (!r.ok || values.verbose === true) lines.push(`       ${terminalSafe(r.detail)}`);
  }
  const misses = results.filter((r) => !r.ok).length;
  const families = new Set(catalogue.controls.map((c) => c.control.family));
  lines.push("");
  lines.push(`${"CONTROL".padEnd(48)} PASS FAIL ERROR N/A`);
  for (const c of coverage) {
    lines.push(
      `${c.controlId.padEnd(48)} ${String(c.counts.pass).padStart(4)} ${String(c.counts.fail).padStart(4)} ${String(c.counts.error).padStart(5)} ${String(c.counts.not_applicable).padStart(3)}`,
    );
  }
  lines.push("");
  lines.push(
    `${catalogue.controls.length} controls in ${families.size} families (${FAMILIES.filter((f) => !families.has(f)).join(", ") || "all present"}${FAMILIES.every((f) => families.has(f)) ? "" : " missing"})`,
  );
  lines.push(`${results.length - misses} passed, ${misses} failed`);
  io.stdout(`${lines.join("\n")}\n`);
  return misses === 0 ? 0 : 1;
}

function policiesList(argv: string[], io: CliIo, app: App): number {
  const { values } = parse(argv, {
    family: { type: "string" },
    framework: { type: "string" },
    controls: { type: "string" },
    format: { type: "string" },
  });
  if (values.help === true) {
    io.stdout(POLICIES_LIST_HELP);
    return 0;
  }
  const family = values.family as string | undefined;
  const framework = values.framework as string | undefined;
  if (family !== undefined && !(FAMILIES as readonly string[]).includes(family))
    throw new UsageError(`--family must be one of ${FAMILIES.join(", ")}`);
  if (framework !== undefined && !(FRAMEWORKS as readonly string[]).includes(framework))
    throw new UsageError(`--framework must be one of ${FRAMEWORKS.join(", ")}`);
  const format = (values.format as string | undefined) ?? "table";
  if (format !== "table" && format !== "json")
    throw new UsageError("--format must be table or json");
  const catalogue = app.loadCatalogue(
    values.controls === undefined ? undefined : [values.controls as string],
  );
  const selected = catalogue.controls
    .map((c) => c.control)
    .filter((c) => family === undefined || c.family === family)
    .filter(
      (c) =>
        framework === undefined ||
        (c.frameworks[framework as keyof typeof c.frameworks]?.length ?? 0) > 0,
    );
  if (format === "json") {
    io.stdout(
      `${JSON.stringify(
        selected.map((c) => ({
          id: c.id,
          family: c.family,
          severity: c.severity,
          title: c.title,
          appliesTo: c.appliesTo,
          frameworks: c.frameworks,
        })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const lines = [
    `${"CONTROL".padEnd(48)} ${"FAMILY".padEnd(18)} ${"SEVERITY".padEnd(9)} ${framework === undefined ? "TITLE" : framework.toUpperCase()}`,
  ];
  for (const c of selected) {
    const tail =
      framework === undefined
        ? c.title
        : (c.frameworks[framework as keyof typeof c.frameworks] ?? []).join(", ");
    lines.push(`${c.id.padEnd(48)} ${c.family.padEnd(18)} ${c.severity.padEnd(9)} ${tail}`);
  }
  lines.push(`${selected.length} controls`);
  io.stdout(`${lines.join("\n")}\n`);
  return 0;
}

/** The `policies` subcommands; each reads the catalogue through the use cases. */
const POLICIES_COMMANDS = new Map<
  string,
  (argv: string[], io: CliIo, app: App) => number | Promise<number>
>([
  ["validate", policiesValidate],
  ["test", policiesTest],
  ["list", policiesList],
  ["docs", policiesDocs],
]);

async function scan(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, {
    snapshot: { type: "string" },
    emulate: { type: "string" },
    faults: { type: "string" },
    throttle: { type: "boolean" },
    latency: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    verbose: { type: "boolean" },
    store: { type: "boolean" },
    "store-dir": { type: "string" },
    format: { type: "string" },
    out: { type: "string" },
    "fail-on": { type: "string" },
    now: { type: "string" },
    config: { type: "string" },
    waivers: { type: "string" },
    controls: { type: "string" },
    all: { type: "boolean" },
  });
  if (values.help === true) {
    io.stdout(SCAN_HELP);
    return 0;
  }
  const snapshot = values.snapshot as string | undefined;
  const emulated = values.emulate as string | undefined;
  if (snapshot !== undefined && emulated !== undefined)
    throw new UsageError("scan takes --snapshot DIR or --emulate DIR, not both");
  if (
    emulated === undefined &&
    (values.faults !== undefined || values.throttle !== undefined || values.latency !== undefined)
  )
    throw new UsageError("--faults, --throttle and --latency need --emulate DIR");
  const format = (values.format as string | undefined) ?? "table";
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  const failOn = (values["fail-on"] as string | undefined) ?? "high";
  if (!(FAIL_ON as readonly string[]).includes(failOn))
    throw new UsageError(`--fail-on must be one of ${FAIL_ON.join(", ")}`);
  let nowMs: number | undefined;
  if (values.now !== undefined) {
    const parsed = parseInstant(values.now as string);
    if (parsed === undefined)
      throw new UsageError(`--now must be an ISO 8601 date-time, got '${values.now}'`);
    nowMs = parsed;
  }
  const app = await loadApp();
  const { storeLocation, writeAtomically } = await import("./io.js");
  const catalogue = app.loadCatalogue(
    values.controls === undefined ? undefined : [values.controls as string],
  );
  const configPath = values.config as string | undefined;
  const loaded = app.loadConfig(catalogue, configPath, values.waivers as string | undefined, {
    env: io.env ?? {},
  });
  let result: ScanResult;
  let failedTargets: FailedTarget[] = [];
  const storeWanted = values.store === true || values["store-dir"] !== undefined;
  if (storeWanted && snapshot !== undefined)
    throw new UsageError(
      "--store records a collected estate: use it with --emulate or a live scan",
    );
  if (snapshot !== undefined) {
    result = app.scanObservations(catalogue, app.readSnapshot(snapshot), {
      nowMs: nowMs ?? io.now(),
      clock: io.now,
      loaded,
      snapshot,
      vigilVersion: app.vigilVersion(),
      ...(configPath !== undefined ? { configPath } : {}),
    });
  } else {
    const {
      emulatorFaultOptions,
      namesSources,
      openEmulatedEstate,
      openLiveEstate,
      progressPrinter,
    } = await import("./estate.js");
    if (emulated === undefined && !namesSources(loaded.config))
      throw new UsageError(
        "scan needs --snapshot DIR, --emulate DIR, or a config naming what to read (subscriptions, tenantId, clusters.kubeconfig or tls.targets)",
      );
    const session =
      emulated !== undefined
        ? await openEmulatedEstate(emulated, loaded.config, {
            ...(configPath !== undefined ? { configPath } : {}),
            emulator: emulatorFaultOptions(values),
          })
        : openLiveEstate(loaded.config ?? {}, {
            ...(configPath !== undefined ? { configPath } : {}),
            env: io.env ?? {},
          });
    try {
      const sessionNow = session.now !== undefined ? parseInstant(session.now) : undefined;
      const estate = await app.scanEstate(catalogue, session.config, session.deps, {
        nowMs: nowMs ?? sessionNow ?? io.now(),
        clock: io.now,
        loaded: { ...loaded, config: session.config },
        vigilVersion: app.vigilVersion(),
        ...(configPath !== undefined ? { configPath } : {}),
        ...(values.quiet === true
          ? {}
          : { onProgress: progressPrinter(io.stderr, values.verbose === true) }),
      });
      result = estate;
      failedTargets = estate.failedTargets;
      if (storeWanted) {
        const store = await app.openEvidenceStore(storeLocation(values["store-dir"], io));
        try {
          const recorded = await app.recordScan(
            store,
            catalogue,
            estate.byTarget,
            estate.findings,
            {
              runId: estate.run.id,
              trigger: estate.run.trigger,
              recordedAt: estate.run.completedAt,
              now: estate.run.now,
              vigilVersion: estate.run.vigilVersion,
              config: session.config,
            },
          );
          const seqs = recorded.records.map((r) => r.seq);
          const kinds = new Map<string, number>();
          for (const t of recorded.transitions) kinds.set(t.kind, (kinds.get(t.kind) ?? 0) + 1);
          const changes = [...kinds].map(([kind, n]) => `${n} ${kind}`).join(", ") || "no change";
          io.stderr(
            `vigil: recorded run ${estate.run.id}: ${recorded.records.length} evidence record(s) (seq ${Math.min(...seqs)}–${Math.max(...seqs)}), ${recorded.snapshotsCreated} new snapshot(s); ${changes}\n`,
          );
        } finally {
          await store.close();
        }
      }
    } finally {
      await session.close();
    }
  }
  let output: string;
  if (format === "json") output = renderJson(result);
  else if (format === "csv") output = renderCsv(result.findings);
  else if (format === "sarif") {
    output = renderSarif(result.findings, {
      vigilVersion: result.run.vigilVersion,
      controls: catalogue.controls.map((c) => c.control),
      completedAt: result.run.completedAt,
    });
  } else if (format === "ocsf") {
    output = renderOcsf(result.findings, {
      vigilVersion: app.vigilVersion(),
      controls: catalogue.controls.map((c) => c.control),
    });
  } else output = renderTable(result.findings, result.summary, { all: values.all === true });
  if (values.out !== undefined) {
    writeAtomically(values.out as string, output);
    io.stderr(`vigil: wrote ${result.findings.length} findings (${format}) to ${values.out}\n`);
  } else {
    io.stdout(output);
  }
  for (const failed of failedTargets)
    io.stderr(
      `vigil: ${terminalSafe(failed.label)} could not be collected: ${terminalSafe(failed.message)}\n`,
    );
  if (failedTargets.length > 0) return 2;
  if (failOn === "none") return 0;
  const threshold = failOn as Severity;
  if (atOrAbove(result.findings, "error", threshold).length > 0) {
    io.stderr(
      `vigil: ${atOrAbove(result.findings, "error", threshold).length} finding(s) at or above ${threshold} could not be evaluated (error): failing closed\n`,
    );
    return 2;
  }
  return atOrAbove(result.findings, "fail", threshold).length > 0 ? 1 : 0;
}

async function verify(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, {
    "store-dir": { type: "string" },
    format: { type: "string" },
    pack: { type: "string" },
  });
  if (values.help === true) {
    io.stdout(VERIFY_HELP);
    return 0;
  }
  const format = (values.format as string | undefined) ?? "text";
  if (format !== "text" && format !== "json") throw new UsageError("--format must be text or json");
  if (typeof values.pack === "string")
    return (await import("./pack.js")).verifyPack(values.pack, io, { format });
  let verification: LedgerVerification;
  try {
    const app = await loadApp();
    const { storeLocation } = await import("./io.js");
    const store = await app.openEvidenceStore(storeLocation(values["store-dir"], io));
    try {
      verification = await store.verify();
    } finally {
      await store.close();
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    io.stderr(
      `vigil verify: cannot read the evidence store: ${terminalSafe(error instanceof Error ? error.message : String(error))}\n`,
    );
    return 2;
  }
  if (format === "json") io.stdout(`${JSON.stringify(verification, null, 2)}\n`);
  else {
    const lines = verification.problems.map(
      (p) =>
        `  ${p.kind.padEnd(17)} ${p.seq !== undefined ? `#${p.seq} ` : ""}${p.name}: ${terminalSafe(p.message)}`,
    );
    const head =
      verification.head === null
        ? "empty"
        : `head #${verification.head.seq} ${verification.head.hash}`;
    io.stdout(
      verification.ok
        ? `ledger intact: ${verification.records} record(s), ${verification.snapshots} snapshot(s), ${head}\n`
        : `ledger TAMPERED: ${verification.problems.length} problem(s) in ${verification.records} record(s):\n${lines.join("\n")}\n`,
    );
  }
  return verification.ok ? 0 : 1;
}

async function emulate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      port: { type: "string" },
      log: { type: "boolean" },
      "no-watch": { type: "boolean" },
      faults: { type: "string" },
      throttle: { type: "boolean" },
      latency: { type: "string" },
    },
    true,
  );
  if (values.help === true) {
    io.stdout(EMULATE_HELP);
    return 0;
  }
  const [seedDir, ...extra] = positionals;
  if (seedDir === undefined) throw new UsageError("emulate needs a seed folder: vigil emulate DIR");
  if (extra.length > 0)
    throw new UsageError(`emulate takes one seed folder, got ${positionals.length}`);
  let port = 0;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new UsageError(`--port must be a port number, got '${values.port}'`);
  }
  const { formatRequestLogEntry, startEmulator } = await import("../emulator/index.js");
  const { emulatorFaultOptions } = await import("./estate.js");
  const emulator = await startEmulator({
    seedDir: resolve(seedDir),
    port,
    watch: values["no-watch"] !== true,
    ...emulatorFaultOptions(values),
    ...(values.log === true
      ? { onRequest: (entry) => io.stderr(`${formatRequestLogEntry(entry)}\n`) }
      : {}),
  });
  try {
    io.stdout(describeEmulator(emulator, seedDir));
    await (io.untilStopped ?? (() => Promise.resolve()))();
  } finally {
    await emulator.close();
  }
  return 0;
}

function describeEmulator(emulator: RunningEmulator, seedDir: string): string {
  const lines = [
    `vigil emulate: serving ${seedDir} (now ${emulator.estate.now}, tenant ${emulator.estate.tenantId})`,
    `  ARM and Resource Graph  ${emulator.armEndpoint}`,
    `  Microsoft Graph         ${emulator.graphEndpoint}`,
    ...Object.entries(emulator.kubernetes).map(
      ([name, cluster]) => `  Kubernetes ${name.padEnd(12)} ${cluster.server}`,
    ),
    ...(emulator.blobEndpointTemplate !== undefined
      ? [`  Blob (Azurite)          ${emulator.blobEndpointTemplate}`]
      : []),
    ...emulator.tlsEndpoints.map(
      (e) =>
        `  TLS ${e.name.padEnd(19)} ${e.host}:${e.port} (${e.hosts.join(", ")}; ${e.protocols.join(", ")})`,
    ),
    ...(Object.keys(emulator.connectTo).length > 0
      ? [
          "  tls.connectTo (the addresses the Services publish, and where they really listen):",
          ...Object.entries(emulator.connectTo)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([from, to]) => `    ${from.padEnd(26)} -> ${to}`),
        ]
      : []),
    `  bearer token            ${emulator.token}`,
    "  CA certificate (trust it for HTTPS to the endpoints above):",
    emulator.caPem.trimEnd(),
    "Press Ctrl-C to stop.",
  ];
  return `${lines.join("\n")}\n`;
}
