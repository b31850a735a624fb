/**
 * The Microsoft Graph collector: for a `tenant` target, every Conditional Access policy
 * (`/v1.0/identity/conditionalAccess/policies`, all pages) as one observation. Graph allows about
 * one Conditional Access read per second per tenant for all apps together (PLATFORM.md Gotchas),
 * so a tenant's result is cached for the process.
 */

import { rootCertificates } from "node:tls";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import type { CollectOptions, Collector, Gap, Observation, Target } from "../../core/index.js";
import { runWithCallOptions } from "../call-policy.js";
import { CollectionError, isCollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";

/** The observation type of the Conditional Access policy list. */
export const CONDITIONAL_ACCESS_TYPE = "microsoft.graph/conditionalAccessPolicies";

const POLICIES_PATH = "/v1.0/identity/conditionalAccess/policies";

/** Options of {@link createGraphCollector}. */
export interface GraphCollectorOptions {
  /** How long a tenant's policies are reused, in milliseconds (default 5 minutes; 0 = never). */
  cacheTtlInMs?: number;
  /** Clock for `observedAt` and the cache (default: the system clock). */
  clock?: () => Date;
  /** HTTP client (default: core-rest-pipeline's default client). */
  httpClient?: HttpClient;
}

interface GraphListPage {
  "@odata.context"?: string;
  "@odata.nextLink"?: string;
  value?: unknown[];
  [key: string]: unknown;
}

function seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Gaps for policies whose grant could not be read fully: Graph may leave
 * `grantControls.authenticationStrength` out when reading a policy, and whether such a grant
 * requires MFA is then unknown (DESIGN.md "MFA in Conditional Access"). A policy without
 * `grantControls` (session controls only) grants nothing and has no gap.
 */
export function conditionalAccessGaps(policies: readonly unknown[]): Gap[] {
  const gaps: Gap[] = [];
  policies.forEach((policy, index) => {
    const grant = isRecord(policy) ? policy.grantControls : undefined;
    if (isRecord(grant) && !("authenticationStrength" in grant))
      gaps.push({
        path: `value[${index}].grantControls.authenticationStrength`,
        code: "NotReturned",
        message: "Graph v1.0 returned the policy without grantControls.authenticationStrength",
      });
  });
  return gaps;
}

function parseJson(response: PipelineResponse, url: string): GraphListPage {
  try {
    const body = JSON.parse(response.bodyAsText ?? "") as unknown;
    if (isRecord(body)) return body as GraphListPage;
  } catch (cause) {
    throw new CollectionError(
      `GET ${url}: the response is not JSON`,
      {
        source: "graph",
        statusCode: response.status,
        code: "UnexpectedResponse",
      },
      { cause },
    );
  }
  throw new CollectionError(`GET ${url}: the response is not a JSON object`, {
    source: "graph",
    statusCode: response.status,
    code: "UnexpectedResponse",
  });
}

/**
 * The Graph collector for `tenant` targets: one `microsoft.graph/conditionalAccessPolicies`
 * observation per tenant (`graph://<tenant>/identity/conditionalAccess/policies`, document
 * `{ value: [...] }` over all pages), with a gap for each policy whose authentication strength
 * Graph did not return. A failed read is an `error` observation; only successful reads are cached.
 */
export function createGraphCollector(
  settings: CollectorSettings,
  options: GraphCollectorOptions = {},
): Collector {
  const clock = options.clock ?? (() => new Date());
  const ttl = options.cacheTtlInMs ?? 5 * 60_000;
  const httpClient = options.httpClient ?? createDefaultHttpClient();
  const ca =
    settings.apiCaPem !== undefined && settings.apiCaPem.length > 0
      ? [...rootCertificates, ...settings.apiCaPem]
      : undefined;
  const pipelines = new Map<string, Pipeline>();
  const cache = new Map<string, { expiresAtMs: number; result: Promise<Observation> }>();

  function pipelineFor(tenantId: string): Pipeline {
    let pipeline = pipelines.get(tenantId);
    if (pipeline === undefined) {
      // The call policy retries; the pipeline's own retry policies are turned off.
      pipeline = createPipelineFromOptions({
        retryOptions: { maxRetries: 0 },
        ...(ca !== undefined ? { tlsOptions: { ca } } : {}),
      });
      pipeline.addPolicy(settings.callPolicy.pipelinePolicy({ api: "graph", partition: tenantId }));
      pipeline.addPolicy(
        bearerTokenAuthenticationPolicy({
          credential: settings.credential,
          scopes: settings.cloud.graphScope,
        }),
        { phase: "Sign" },
      );
      pipelines.set(tenantId, pipeline);
    }
    return pipeline;
  }

  async function readPolicies(tenantId: string, abortSignal: AbortSignal | undefined) {
    const pipeline = pipelineFor(tenantId);
    let url: string | undefined = `${settings.cloud.graphEndpoint}${POLICIES_PATH}`;
    let first: GraphListPage | undefined;
    const value: unknown[] = [];
    while (url !== undefined) {
      const request = createPipelineRequest({
        url,
        method: "GET",
        headers: createHttpHeaders({ accept: "application/json" }),
        ...(abortSignal !== undefined ? { abortSignal } : {}),
      });
      const response = await pipeline.sendRequest(httpClient, request);
      const page = parseJson(response, url);
      // A 2xx list without a value array (a proxy's `{}`) is not an empty list.
      if (!Array.isArray(page.value)) {
        throw new CollectionError(`GET ${url}: the response has no value array`, {
          source: "graph",
          statusCode: response.status,
          code: "UnexpectedResponse",
        });
      }
      first ??= page;
      value.push(...page.value);
      url = typeof page["@odata.nextLink"] === "string" ? page["@odata.nextLink"] : undefined;
    }
    const { "@odata.nextLink": _next, value: _value, ...rest } = first ?? {};
    return { ...rest, value };
  }

  async function observe(tenantId: string, collectOptions: CollectOptions): Promise<Observation> {
    const id = `graph://${tenantId}/identity/conditionalAccess/policies`;
    const source = () => ({ api: "graph", apiVersion: "v1.0", observedAt: seconds(clock()) });
    try {
      const document = await runWithCallOptions(
        {
          ...(collectOptions.abortSignal !== undefined
            ? { abortSignal: collectOptions.abortSignal }
            : {}),
          ...(collectOptions.deadlineMs !== undefined
            ? { deadlineMs: collectOptions.deadlineMs }
            : {}),
        },
        () => readPolicies(tenantId, collectOptions.abortSignal),
      );
      const gaps = conditionalAccessGaps(document.value);
      return {
        id,
        type: CONDITIONAL_ACCESS_TYPE,
        scope: tenantId,
        document,
        source: source(),
        ...(gaps.length > 0 ? { gaps } : {}),
      };
    } catch (error) {
      if (!isCollectionError(error) || collectOptions.abortSignal?.aborted === true) throw error;
      return {
        id,
        type: CONDITIONAL_ACCESS_TYPE,
        scope: tenantId,
        source: source(),
        error: error.toFailure(),
      };
    }
  }

  return {
    name: "graph",
    handles: (target: Target) => target.kind === "tenant",
    async collect(target: Target, collectOptions: CollectOptions): Promise<Observation[]> {
      if (target.kind !== "tenant") return [];
      const key = target.tenantId.toLowerCase();
      const nowMs = clock().getTime();
      const cached = cache.get(key);
      if (cached !== undefined && cached.expiresAtMs > nowMs) return [await cached.result];
      const result = observe(target.tenantId, collectOptions);
      if (ttl > 0) {
        cache.set(key, { expiresAtMs: nowMs + ttl, result });
        // Keep only successful reads: a failure is retried by the next collect.
        result.then(
          (o) => {
            if (o.error !== undefined && cache.get(key)?.result === result) cache.delete(key);
          },
          () => {
            if (cache.get(key)?.result === result) cache.delete(key);
          },
        );
      }
      return [await result];
    },
  };
}
