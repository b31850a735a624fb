/**
 * The estate emulator's public surface: {@link startEmulator} serves a seed folder as ARM,
 * Resource Graph, Microsoft Graph and Kubernetes APIs over one HTTPS server with its own CA,
 * plus the seed's TLS endpoints and blob store. It imports nothing from vigil.
 */

import { existsSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { handleAdmin } from "./admin.js";
import { type BlobProxy, createBlobProxy } from "./blob-proxy.js";
import { type BlobStoreHandle, startBlobStore } from "./blob-store.js";
import { createCertificateAuthority } from "./certificates.js";
import { createRandom, FaultInjector, type FaultRule } from "./faults.js";
import { type KubernetesEstate, loadKubernetesEstate } from "./kubernetes.js";
import { LiveSeed, type SeedWatcher, watchSeed } from "./seed.js";
import { createRequestListener, type RequestLogEntry } from "./server.js";
import { ArmThrottle, type Clock, type ThrottleSettings } from "./throttle.js";
import { startTlsEndpoints, type TlsEndpoint, type TlsEndpointsHandle } from "./tls-endpoints.js";
import { createStaticToken } from "./token.js";

export { SeedError } from "./errors.js";
export { type EmulatorApi, type FaultRule, parseFaultRules } from "./faults.js";
export type { EmulatorRequest, EmulatorResponse, ServiceOverride } from "./http-types.js";
export type { EstateConfig } from "./seed.js";
export { formatRequestLogEntry, type RequestLogEntry } from "./server.js";
export type { ThrottleSettings } from "./throttle.js";

/** Options of {@link startEmulator}; those also in `estate.json` override it. */
export interface StartEmulatorOptions {
  /** The seed folder (see src/emulator/README.md). */
  seedDir: string;
  /** Listen address; default `127.0.0.1`. */
  host?: string;
  /** Listen port; default 0 (a free port). */
  port?: number;
  /** Replaces `estate.json` `faults`. */
  faults?: FaultRule[];
  /** Replaces `estate.json` `throttle`; default off. */
  throttle?: false | ThrottleSettings;
  /** Replaces `estate.json` `latencyInMs`: a delay drawn per request. */
  latencyInMs?: { min: number; max: number };
  /** Seed of the PRNG behind fault rates and latency; default 1. */
  randomSeed?: number;
  /** Reload the seed when its files change; default false. */
  watch?: boolean;
  /** Start Azurite for `<seed>/blob` when it exists; default true. */
  blob?: boolean;
  /** Called after each response with its log entry. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Extra: milliseconds clock of the throttle's token bucket (tests advance it by hand). */
  clock?: Clock;
  /** Extra: called when a watched reload fails (default: one `console.error` line). */
  onSeedError?: (error: Error) => void;
  /** Extra: called after a watched reload succeeded. */
  onReload?: () => void;
}

/** A started emulator. */
export interface RunningEmulator {
  estate: {
    tenantId: string;
    now: string;
    subscriptions: { subscriptionId: string; displayName: string }[];
  };
  /** The CA that signed the server, TLS endpoint and Azurite certificates (PEM). */
  caPem: string;
  /** The bearer token every request must carry. */
  token: string;
  /** `https://127.0.0.1:P`: ARM and Resource Graph. */
  armEndpoint: string;
  /** `https://127.0.0.1:P/graph`. */
  graphEndpoint: string;
  /** Cluster name → `{ server: "https://127.0.0.1:P/k8s/<cluster>" }`. */
  kubernetes: Record<string, { server: string }>;
  /**
   * `https://127.0.0.1:P/blob/{account}` when the seed has a `blob/` folder and `blob` is not false:
   * the emulator's read-only blob endpoint, which forwards to Azurite and reports seeded blob ages.
   */
  blobEndpointTemplate: string | undefined;
  tlsEndpoints: TlsEndpoint[];
  /**
   * Where the TLS addresses the estate names are really served, like curl's `--connect-to`:
   * `"<load-balancer address>:<TLS port>"` of each Service fronting seeded endpoints (as served
   * now) → `"127.0.0.1:<its SNI router's port>"`, and each endpoint's `publicAddress`
   * (`"<first host>:443"`, endpoints without a service) → its own loopback address. The keys are
   * the same on every run; the values are this run's loopback ports.
   */
  readonly connectTo: Record<string, string>;
  /** The live request log (the same array `GET /_emulator/requests` returns). */
  requests: RequestLogEntry[];
  /** Replaces every fault rule. */
  setFaults(rules: FaultRule[]): void;
  /** Extra: re-reads the seed folder now (what the watcher does on a change). @throws {SeedError} */
  reload(): void;
  /** Stops the server, TLS endpoints, Azurite and the watcher. */
  close(): Promise<void>;
}

/**
 * Loads the seed folder and starts the emulator's HTTPS server (and TLS endpoints and Azurite when
 * the seed has them).
 * @throws {SeedError} when a seed file is missing or malformed; nothing is left running
 */
export async function startEmulator(options: StartEmulatorOptions): Promise<RunningEmulator> {
  const seedDir = resolve(options.seedDir);
  const seed = new LiveSeed(seedDir);
  const estate = seed.state.estate;
  const host = options.host ?? "127.0.0.1";
  const ca = createCertificateAuthority();
  const realNow = new Date();
  const day = 24 * 60 * 60 * 1000;
  // The HTTPS server's certificate is checked against the wall clock, not the estate's "now".
  const serverCertificate = ca.issue({
    names: [...new Set([host, "127.0.0.1", "localhost"])],
    commonName: "vigil emulator",
    notBefore: new Date(realNow.getTime() - day),
    notAfter: new Date(realNow.getTime() + 365 * day),
  });
  const token = createStaticToken(estate.tenantId);

  const cleanups: (() => Promise<void> | void)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    let tls: TlsEndpointsHandle | undefined;
    const endpointsFile = join(seedDir, "tls", "endpoints.json");
    if (existsSync(endpointsFile)) {
      tls = await startTlsEndpoints(endpointsFile, { ca, now: new Date(estate.now), host });
      const handle = tls;
      cleanups.push(() => handle.close());
    }
    let kubernetes: KubernetesEstate | undefined;
    const kubernetesDir = join(seedDir, "kubernetes");
    if (existsSync(kubernetesDir)) {
      kubernetes = loadKubernetesEstate(kubernetesDir, {
        ...(estate.pageSize === undefined ? {} : { pageSize: estate.pageSize }),
        serviceOverrides: tls?.serviceOverrides ?? [],
      });
    }
    let blob: BlobStoreHandle | undefined;
    const blobDir = join(seedDir, "blob");
    if (options.blob !== false && existsSync(blobDir)) {
      blob = await startBlobStore(blobDir, { ca, host });
      const handle = blob;
      cleanups.push(() => handle.close());
    }
    // Served under /blob so that seeded blob ages (sidecars) apply; Azurite stays behind it.
    const blobProxy: BlobProxy | undefined =
      blob === undefined
        ? undefined
        : createBlobProxy({
            store: blob,
            seedBlobDir: blobDir,
            now: new Date(estate.now),
            caPem: ca.caPem,
          });

    const random = createRandom(options.randomSeed ?? 1);
    const faults = new FaultInjector(options.faults ?? estate.faults ?? [], random);
    const throttleSettings = options.throttle ?? estate.throttle ?? false;
    const throttle =
      throttleSettings === false ? undefined : new ArmThrottle(throttleSettings, options.clock);
    const log: RequestLogEntry[] = [];
    let origin = "";
    const listener = createRequestListener({
      token,
      state: () => seed.state,
      origin: () => origin,
      caPem: ca.caPem,
      kubernetes,
      blob: blobProxy,
      admin: (request) => handleAdmin(request, { seed, kubernetes, faults, log }),
      faults,
      throttle,
      latencyInMs: options.latencyInMs ?? estate.latencyInMs,
      random,
      log,
      ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
    });
    const server: Server = createServer(
      { key: serverCertificate.keyPem, cert: serverCertificate.certPem },
      listener,
    );
    await new Promise<void>((resolveListen, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolveListen();
      });
    });
    cleanups.push(
      () =>
        new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        }),
    );
    const { port } = server.address() as AddressInfo;
    origin = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;

    const reload = (): void => {
      seed.reload();
      kubernetes?.reload();
    };
    if (options.watch === true) {
      const watcher: SeedWatcher = watchSeed(seedDir, () => {
        try {
          reload();
          options.onReload?.();
        } catch (error) {
          const report =
            options.onSeedError ??
            ((e: Error) =>
              console.error(
                `emulator: seed reload failed, keeping the previous state: ${e.message}`,
              ));
          report(error as Error);
        }
      });
      cleanups.push(() => watcher.close());
    }

    const clusters: Record<string, { server: string }> = {};
    for (const name of kubernetes?.clusters() ?? [])
      clusters[name] = { server: `${origin}/k8s/${name}` };
    return {
      estate: {
        tenantId: estate.tenantId,
        now: estate.now,
        subscriptions: estate.subscriptions.map((s) => ({ ...s })),
      },
      caPem: ca.caPem,
      token,
      armEndpoint: origin,
      graphEndpoint: `${origin}/graph`,
      kubernetes: clusters,
      blobEndpointTemplate: blob === undefined ? undefined : `${origin}/blob/{account}`,
      tlsEndpoints: tls?.endpoints.map((e) => ({ ...e })) ?? [],
      get connectTo() {
        return { ...(tls?.connectTo ?? {}), ...(kubernetes?.connectTo() ?? {}) };
      },
      requests: log,
      setFaults: (rules) => faults.set(rules),
      reload,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
