/**
 * The CLI's bridge to estates: start the emulator on a seed folder (`vigil emulate`, `vigil scan
 * --emulate`) and build the collectors either for it or for live Azure, with progress lines.
 */

import { resolve } from "node:path";
import {
  createEstateDeps,
  type EstateDeps,
  readJsonFile,
  staticTokenCredential,
  targetLabel,
} from "../app/index.js";
import {
  type CollectProgress,
  formatHostPort,
  InputError,
  parseHostPort,
  type VigilConfig,
} from "../core/index.js";
import {
  parseFaultRules,
  type RunningEmulator,
  type StartEmulatorOptions,
  startEmulator,
} from "../emulator/index.js";
import { terminalSafe } from "../reports/index.js";

/** A collection setup: the effective config, the adapters, and what to close afterwards. */
export interface EstateSession {
  config: VigilConfig;
  deps: EstateDeps;
  /** The evaluation time the estate asks for (the seed's `now`), if any. */
  now?: string;
  /** Label for the run record. */
  label: string;
  emulator?: RunningEmulator;
  close(): Promise<void>;
}

/** ARM's documented public-cloud read bucket per subscription and principal. */
const ARM_THROTTLE = { capacity: 250, refillPerSecond: 25 } as const;

/**
 * Emulator options from the CLI's fault flags: `--faults FILE` (a JSON array of fault rules, or
 * `{ "faults": [...] }`), `--throttle` (ARM's read bucket: 250, refilled 25 per second) and
 * `--latency MIN-MAX` (milliseconds per request).
 * @throws InputError naming the flag or file when a value is malformed.
 */
export function emulatorFaultOptions(values: {
  faults?: string | boolean;
  throttle?: string | boolean;
  latency?: string | boolean;
}): Partial<StartEmulatorOptions> {
  const options: Partial<StartEmulatorOptions> = {};
  if (typeof values.faults === "string") {
    const data = readJsonFile(values.faults);
    const list =
      data !== null && typeof data === "object" && !Array.isArray(data)
        ? (data as { faults?: unknown }).faults
        : data;
    try {
      options.faults = parseFaultRules(list, "faults");
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new InputError(error.message, { file: values.faults, code: "InvalidFaults" });
    }
  }
  if (values.throttle === true) options.throttle = { ...ARM_THROTTLE };
  if (typeof values.latency === "string") {
    const match = /^(\d+)(?:-(\d+))?$/.exec(values.latency.trim());
    if (match === null)
      throw new InputError(`--latency must be MIN-MAX in milliseconds, got '${values.latency}'`, {
        code: "Usage",
      });
    const min = Number(match[1]);
    const max = match[2] !== undefined ? Number(match[2]) : min;
    if (max < min) throw new InputError(`--latency: ${max} is below ${min}`, { code: "Usage" });
    options.latencyInMs = { min, max };
  }
  return options;
}

/** Whether a config names anything to read from a live estate. */
export function namesSources(config: VigilConfig | undefined): boolean {
  if (config === undefined) return false;
  return (
    config.subscriptions !== undefined ||
    config.managementGroup !== undefined ||
    config.tenantId !== undefined ||
    (config.clusters?.kubeconfig?.length ?? 0) > 0 ||
    (config.tls?.targets?.length ?? 0) > 0
  );
}

/**
 * Start the emulator on a seed folder and point the collectors at it. The config's sources
 * default to the whole emulated estate (its tenant, all its subscriptions); explicit TLS
 * endpoints of the seed that sit behind no Service are probed at their public address (first
 * host, port 443) as a set named `emulator`. The TLS probe connects through the emulator's
 * `connectTo` (laid over the config's `tls.connectTo`), so probe ids name the estate's stable
 * addresses, never this run's loopback ports; that mapping stays out of the session's config,
 * whose hash the evidence record keeps.
 */
export async function openEmulatedEstate(
  seedDir: string,
  config: VigilConfig | undefined,
  options: { configPath?: string; emulator?: Partial<StartEmulatorOptions> } = {},
): Promise<EstateSession> {
  const emulator = await startEmulator({
    seedDir: resolve(seedDir),
    watch: false,
    ...options.emulator,
  });
  try {
    const base: VigilConfig = { ...(config ?? {}) };
    base.tenantId ??= emulator.estate.tenantId;
    base.subscriptions ??= "all";
    const explicit = emulator.tlsEndpoints.flatMap((endpoint) =>
      endpoint.publicAddress === undefined
        ? []
        : [
            {
              host: endpoint.publicAddress.host,
              port: endpoint.publicAddress.port,
              sni: endpoint.publicAddress.host,
              set: "emulator",
            },
          ],
    );
    if (explicit.length > 0)
      base.tls = { ...base.tls, targets: [...(base.tls?.targets ?? []), ...explicit] };
    const probed: VigilConfig = {
      ...base,
      tls: { ...base.tls, connectTo: mergeConnectTo(base.tls?.connectTo, emulator.connectTo) },
    };
    const deps = createEstateDeps(probed, {
      credential: staticTokenCredential(emulator.token),
      endpoints: {
        arm: emulator.armEndpoint,
        graph: emulator.graphEndpoint,
        ...(emulator.blobEndpointTemplate !== undefined
          ? { blob: emulator.blobEndpointTemplate }
          : {}),
      },
      apiCaPem: [emulator.caPem],
      probeCaPem: [emulator.caPem],
      ...(options.configPath !== undefined ? { configPath: options.configPath } : {}),
    });
    return {
      config: base,
      deps,
      now: emulator.estate.now,
      label: `emulated ${seedDir}`,
      emulator,
      close: () => emulator.close(),
    };
  } catch (error) {
    await emulator.close();
    throw error;
  }
}

/**
 * The config's `tls.connectTo` with the emulator's laid over it: an address the emulator serves
 * goes to the emulator, however the config spells it (host names are case-insensitive).
 */
function mergeConnectTo(
  configured: Readonly<Record<string, string>> | undefined,
  emulated: Readonly<Record<string, string>>,
): Record<string, string> {
  const served = new Set(
    Object.keys(emulated).map((key) => {
      const address = parseHostPort(key);
      return address === undefined ? key : formatHostPort(address.host, address.port);
    }),
  );
  const kept = Object.entries(configured ?? {}).filter(([key]) => {
    const address = parseHostPort(key);
    return address === undefined || !served.has(formatHostPort(address.host, address.port));
  });
  return { ...Object.fromEntries(kept), ...emulated };
}

/** Collectors for the live estate the config names, with the default Azure credential. */
export function openLiveEstate(
  config: VigilConfig,
  options: { configPath?: string; env?: Readonly<Record<string, string | undefined>> } = {},
): EstateSession {
  const deps = createEstateDeps(config, {
    ...(options.configPath !== undefined ? { configPath: options.configPath } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  return { config, deps, label: "live", close: async () => {} };
}

/**
 * A progress printer on stderr: the plan and one line per finished target; with `verbose`, also
 * every step the collectors report (each list read, each endpoint probed).
 */
export function progressPrinter(
  write: (text: string) => void,
  verbose = false,
): (progress: CollectProgress) => void {
  return (progress) => {
    const milestone = progress.target === "plan" || /^(done|failed) \(/.test(progress.message);
    if (!verbose && !milestone) return;
    const count =
      progress.observations !== undefined ? `, ${progress.observations} observation(s)` : "";
    write(`vigil: [${terminalSafe(progress.target)}] ${terminalSafe(progress.message)}${count}\n`);
  };
}

export { targetLabel };
