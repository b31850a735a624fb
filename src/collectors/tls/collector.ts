/**
 * The TLS collector: turns a `tls` target into one `vigil/TlsProbe` observation per endpoint,
 * probing endpoints concurrently under the call policy (bounded per host).
 */

import {
  type CollectOptions,
  type Collector,
  formatHostPort,
  type Observation,
  type Target,
  type TlsTargetConfig,
} from "../../core/index.js";
import { isCollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";
import { createTrustStore } from "./certificate.js";
import { probeTlsEndpoint, TLS_PROBE_TYPE, tlsObservationId } from "./probe.js";

/** Options of {@link createTlsCollector}. */
export interface CreateTlsCollectorOptions {
  /** Limit of each connection attempt of a probe, default 10 000. */
  timeoutInMs?: number;
}

/**
 * A collector for `tls` targets. Trust for the chain check is Node's bundled roots plus
 * `settings.probeCaPem`; an endpoint whose address `settings.tlsConnectTo` maps is connected to
 * at the mapped address and reported under its own. Each endpoint is one call `{ api: "tls", partition: host }` of
 * `settings.callPolicy`; a call the policy gives up on (deadline, budget) becomes an `error`
 * observation for that endpoint, the others go on.
 * @throws TypeError from `collect` when a `settings.probeCaPem` entry is not a PEM certificate.
 */
export function createTlsCollector(
  settings: CollectorSettings,
  options: CreateTlsCollectorOptions = {},
): Collector {
  return {
    name: "tls",
    handles(target: Target): boolean {
      return target.kind === "tls";
    },
    async collect(target: Target, collectOptions: CollectOptions): Promise<Observation[]> {
      if (target.kind !== "tls") return [];
      const store = createTrustStore(settings.probeCaPem);
      const { abortSignal, deadlineMs, onProgress, now } = collectOptions;
      const callOptions = {
        ...(abortSignal !== undefined ? { abortSignal } : {}),
        ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      };
      const targetName = `tls:${target.set}`;
      let done = 0;
      const probeOne = async (endpoint: TlsTargetConfig): Promise<Observation> => {
        const config: TlsTargetConfig = { ...endpoint, set: endpoint.set ?? target.set };
        const connect = settings.tlsConnectTo?.get(formatHostPort(endpoint.host, endpoint.port));
        const observation = await settings.callPolicy
          .call(
            { api: "tls", partition: endpoint.host },
            "probe",
            (signal) =>
              probeTlsEndpoint(config, {
                trustStore: store,
                abortSignal: signal,
                now,
                ...(connect !== undefined ? { connect } : {}),
                ...(options.timeoutInMs !== undefined ? { timeoutInMs: options.timeoutInMs } : {}),
              }),
            callOptions,
          )
          .catch((error: unknown): Observation => {
            // Only the policy's own verdict becomes an observation; an abort or a bug propagates.
            if (!isCollectionError(error) || abortSignal?.aborted) throw error;
            return {
              id: tlsObservationId(config),
              type: TLS_PROBE_TYPE,
              scope: config.set ?? "tls",
              document: { host: config.host, port: config.port, sni: config.sni ?? null },
              source: { api: "tls", apiVersion: "1", observedAt: now },
              error: error.toFailure(),
            };
          });
        done += 1;
        onProgress?.({
          target: targetName,
          message: `probed ${observation.id}`,
          observations: done,
        });
        return observation;
      };
      return Promise.all(target.endpoints.map(probeOne));
    },
  };
}
