/**
 * The estate the resilience tests sweep: an emulator started once by the test (it outlives every
 * worker, as Azure does), described in a JSON file that worker processes read to build the same
 * collectors `scan --emulate` builds (src/cli/estate.ts `openEmulatedEstate`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import {
  type AppRuntime,
  createEstateDeps,
  type EstateDeps,
  loadCatalogue,
  loadConfig,
  openAppRuntime,
  staticTokenCredential,
} from "../../../src/app/index.js";
import { parseInstant, type VigilConfig } from "../../../src/core/index.js";
import type { RunningEmulator } from "../../../src/emulator/index.js";

/** What a worker needs to reach the emulator. */
export interface EstateDescription {
  configPath: string;
  tenantId: string;
  now: string;
  armEndpoint: string;
  graphEndpoint: string;
  blobEndpointTemplate?: string;
  caPem: string;
  token: string;
  connectTo: Record<string, string>;
  publicTls: { host: string; port: number }[];
}

export function describeEstate(emulator: RunningEmulator, configPath: string): EstateDescription {
  return {
    configPath,
    tenantId: emulator.estate.tenantId,
    now: emulator.estate.now,
    armEndpoint: emulator.armEndpoint,
    graphEndpoint: emulator.graphEndpoint,
    ...(emulator.blobEndpointTemplate !== undefined
      ? { blobEndpointTemplate: emulator.blobEndpointTemplate }
      : {}),
    caPem: emulator.caPem,
    token: emulator.token,
    connectTo: { ...emulator.connectTo },
    publicTls: emulator.tlsEndpoints.flatMap((e) =>
      e.publicAddress === undefined
        ? []
        : [{ host: e.publicAddress.host, port: e.publicAddress.port }],
    ),
  };
}

export function writeEstate(path: string, estate: EstateDescription): void {
  writeFileSync(path, JSON.stringify(estate));
}

export function readEstate(path: string): EstateDescription {
  return JSON.parse(readFileSync(path, "utf8")) as EstateDescription;
}

/** The config and collectors of the emulated estate (the same defaults as `scan --emulate`). */
export function emulatedEstate(estate: EstateDescription): {
  config: VigilConfig;
  deps: EstateDeps;
} {
  const loaded = loadConfig(loadCatalogue(), estate.configPath, undefined, { env: {} });
  const config: VigilConfig = { ...(loaded.config ?? {}) };
  config.tenantId ??= estate.tenantId;
  config.subscriptions ??= "all";
  if (estate.publicTls.length > 0)
    config.tls = {
      ...config.tls,
      targets: [
        ...(config.tls?.targets ?? []),
        ...estate.publicTls.map((t) => ({ ...t, sni: t.host, set: "emulator" })),
      ],
    };
  const probed: VigilConfig = {
    ...config,
    tls: { ...config.tls, connectTo: { ...(config.tls?.connectTo ?? {}), ...estate.connectTo } },
  };
  const deps = createEstateDeps(probed, {
    credential: staticTokenCredential(estate.token),
    endpoints: {
      arm: estate.armEndpoint,
      graph: estate.graphEndpoint,
      ...(estate.blobEndpointTemplate !== undefined ? { blob: estate.blobEndpointTemplate } : {}),
    },
    apiCaPem: [estate.caPem],
    probeCaPem: [estate.caPem],
    configPath: estate.configPath,
  });
  return { config, deps };
}

/** An app runtime over the emulated estate and the store the connection string names. */
export function openRuntime(
  estate: EstateDescription,
  connectionString: string,
  env: Record<string, string> = {},
): Promise<AppRuntime> {
  const now = parseInstant(estate.now) as number;
  return openAppRuntime({
    env,
    configPath: estate.configPath,
    store: { connectionString },
    estate: emulatedEstate(estate),
    evaluationTime: () => now,
  });
}
