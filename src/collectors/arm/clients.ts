/**
 * The ARM SDK clients, built once per subscription per process with the cloud's endpoint and
 * token scope, the API CA, the SDKs' own retries off and the call policy in their pipelines; and
 * the capture of raw response bodies, because controls read the ARM wire shape, not SDK models.
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { ContainerServiceClient } from "@azure/arm-containerservice";
import { MonitorClient } from "@azure/arm-monitor";
import { PostgreSQLManagementFlexibleServerClient } from "@azure/arm-postgresql-flexible";
import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { StorageManagementClient } from "@azure/arm-storage";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { classifyError } from "../call-policy.js";
import { type ApiName, CollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";

/** The api-versions these SDK versions send (the observations' `source.apiVersion`). */
export const API_VERSIONS = {
  containerService: "2026-04-01",
  storage: "2025-08-01",
  postgresql: "2025-08-01",
  activityLog: "2015-04-01",
  resourceGraph: "2021-03-01",
  subscriptions: "2022-12-01",
} as const;

/** One subscription's clients. */
export interface SubscriptionClients {
  containerService: ContainerServiceClient;
  storage: StorageManagementClient;
  postgresql: PostgreSQLManagementFlexibleServerClient;
  monitor: MonitorClient;
}

/** One captured response: the final 2xx body of one request, parsed when it is JSON. */
interface CapturedBody {
  url: string;
  body: unknown;
}

/** The captured body of a 2xx response that is not JSON (a proxy's page, an empty body). */
const NOT_JSON: unique symbol = Symbol("not JSON");

const captureStore = new AsyncLocalStorage<CapturedBody[]>();

/**
 * Records the body of every successful response made inside {@link captureBodies}: parsed JSON,
 * or {@link NOT_JSON}. It sits outside the call policy, so it sees only the response the policy
 * finally accepted.
 */
const capturePolicy: PipelinePolicy = {
  name: "vigilCaptureRawBody",
  async sendRequest(request, next) {
    const response = await next(request);
    const sink = captureStore.getStore();
    if (sink !== undefined && response.status >= 200 && response.status < 300) {
      sink.push({ url: request.url, body: parseJsonBody(response) });
    }
    return response;
  },
};

function parseJsonBody(response: PipelineResponse): unknown {
  const text = response.bodyAsText;
  if (typeof text !== "string" || text === "") return NOT_JSON;
  if (!/json/i.test(response.headers.get("content-type") ?? "")) return NOT_JSON;
  // The call policy has already proved that a JSON body parses.
  return JSON.parse(text) as unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A 2xx response that is not what the API answers (a proxy's `{}`, an HTML page). */
function unexpectedResponse(source: ApiName, url: string, expected: string): CollectionError {
  return new CollectionError(`${new URL(url).pathname}: the 2xx response is not ${expected}`, {
    source,
    code: "UnexpectedResponse",
    retryable: false,
  });
}

/**
 * Run `fn` and return the raw bodies of the 2xx responses it received, in order (one per page):
 * parsed JSON, or {@link NOT_JSON}.
 * @throws CollectionError when the call finally failed (other errors pass through as they are).
 */
async function captureRaw(source: ApiName, fn: () => Promise<unknown>): Promise<CapturedBody[]> {
  const sink: CapturedBody[] = [];
  try {
    await captureStore.run(sink, fn);
  } catch (error) {
    throw asCollectionError(source, error);
  }
  return sink;
}

/**
 * Run `fn` and return the raw JSON bodies of the responses it received, in order (one per page).
 * @throws CollectionError when the call finally failed, or `UnexpectedResponse` when a 2xx
 * response had no JSON body (other errors pass through as they are)
 */
export async function captureBodies(
  source: ApiName,
  fn: () => Promise<unknown>,
): Promise<unknown[]> {
  const captured = await captureRaw(source, fn);
  const bad = captured.find((entry) => entry.body === NOT_JSON);
  if (bad !== undefined) throw unexpectedResponse(source, bad.url, "JSON");
  return captured.map((entry) => entry.body);
}

/**
 * Run `fn`, which reads every page of an ARM list, and return the pages' raw JSON bodies. Each
 * page must be an object with a `value` array: a 2xx page without one (a proxy's `{}`, an HTML
 * page) is not an empty list.
 * @throws CollectionError `UnexpectedResponse` for such a page, or the call's final failure
 */
export async function captureListPages(
  source: ApiName,
  fn: () => Promise<unknown>,
): Promise<Record<string, unknown>[]> {
  const sink: CapturedBody[] = [];
  let failure: CollectionError | undefined;
  try {
    await captureStore.run(sink, fn);
  } catch (error) {
    // An abort is rethrown here; any other failure waits: an SDK may trip over the odd page.
    failure = asCollectionError(source, error);
  }
  const bad = sink.find((entry) => !isRecord(entry.body) || !Array.isArray(entry.body.value));
  if (bad !== undefined) throw unexpectedResponse(source, bad.url, "a list with a value array");
  if (failure !== undefined) throw failure;
  if (sink.length === 0) {
    throw new CollectionError("the list received no response body", {
      source,
      code: "UnexpectedResponse",
      retryable: false,
    });
  }
  return sink.map((entry) => entry.body as Record<string, unknown>);
}

/**
 * The `value` items of every captured page of a list, in order.
 * @throws CollectionError `UnexpectedResponse` for a 2xx page without a `value` array, or the
 * list's final failure
 */
export async function captureList(
  source: ApiName,
  pages: () => AsyncIterable<unknown>,
): Promise<Record<string, unknown>[]> {
  const bodies = await captureListPages(source, async () => {
    for await (const _page of pages()) {
      // Pages are read for their raw bodies; the SDK's renamed models are not used.
    }
  });
  return bodies.flatMap((body) => body.value as Record<string, unknown>[]);
}

/**
 * Like {@link captureList} for a child collection (`…/backups`, `…/containers`): a 404 means the
 * parent is gone since it was listed, so it has no children, not unknown ones.
 */
export async function captureChildList(
  source: ApiName,
  pages: () => AsyncIterable<unknown>,
): Promise<Record<string, unknown>[]> {
  try {
    return await captureList(source, pages);
  } catch (error) {
    if (error instanceof CollectionError && error.statusCode === 404) return [];
    throw error;
  }
}

/** The raw body of a single GET (the last response captured). */
export async function captureGet(
  source: ApiName,
  fn: () => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const captured = await captureRaw(source, fn);
  const last = captured.at(-1);
  if (last !== undefined && !isRecord(last.body)) {
    throw unexpectedResponse(source, last.url, "a JSON object");
  }
  const body = last?.body;
  if (!isRecord(body)) {
    throw new CollectionError("the response had no JSON body", {
      source,
      code: "EmptyBody",
      retryable: false,
    });
  }
  return body as Record<string, unknown>;
}

/**
 * A failure as a CollectionError; aborts are rethrown unchanged (a collector throws when aborted).
 * @throws the error itself when it is an abort
 */
export function asCollectionError(source: ApiName, error: unknown): CollectionError {
  if (error instanceof CollectionError) return error;
  const classified = classifyError(error);
  if (classified.kind === "aborted") throw error;
  return new CollectionError(
    classified.message,
    {
      source,
      ...(classified.statusCode !== undefined ? { statusCode: classified.statusCode } : {}),
      code: classified.code,
      ...(classified.requestId !== undefined ? { requestId: classified.requestId } : {}),
      retryable: classified.retryable,
    },
    { cause: error },
  );
}

/**
 * A credential that always asks for the cloud's ARM scope, whatever scope the client derived:
 * arm-resourcegraph 4.2.1 falls back to the public scope for any endpoint it does not know
 * (PLATFORM.md "Sovereign clouds"), and arm-monitor defaults to it.
 */
function armScopedCredential(settings: CollectorSettings): TokenCredential {
  return {
    getToken(_scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      return settings.credential.getToken(settings.cloud.armScope, options);
    },
  };
}

function pipelineOptions(settings: CollectorSettings, partition: string) {
  const ca = settings.apiCaPem?.length ? settings.apiCaPem.join("\n") : undefined;
  return {
    endpoint: settings.cloud.armEndpoint,
    // The SDKs' retry policies wait any Retry-After uncapped; the call policy retries instead.
    retryOptions: { maxRetries: 0 },
    ...(ca !== undefined ? { tlsOptions: { ca } } : {}),
    additionalPolicies: [
      { policy: capturePolicy, position: "perCall" as const },
      {
        policy: settings.callPolicy.pipelinePolicy({ api: "arm", partition }),
        position: "perCall" as const,
      },
    ],
  };
}

const clientCache = new WeakMap<CollectorSettings, Map<string, SubscriptionClients>>();

/** The clients of one subscription, built on first use and kept for the process. */
export function clientsFor(
  settings: CollectorSettings,
  subscriptionId: string,
): SubscriptionClients {
  let bySubscription = clientCache.get(settings);
  if (bySubscription === undefined) {
    bySubscription = new Map();
    clientCache.set(settings, bySubscription);
  }
  const key = subscriptionId.toLowerCase();
  const cached = bySubscription.get(key);
  if (cached !== undefined) return cached;
  const credential = armScopedCredential(settings);
  const common = pipelineOptions(settings, key);
  const scopes = [settings.cloud.armScope];
  const clients: SubscriptionClients = {
    // Modular clients take `credentials.scopes`; HLC clients take `credentialScopes`.
    containerService: new ContainerServiceClient(credential, subscriptionId, {
      ...common,
      credentials: { scopes },
    }),
    storage: new StorageManagementClient(credential, subscriptionId, {
      ...common,
      credentials: { scopes },
    }),
    postgresql: new PostgreSQLManagementFlexibleServerClient(credential, subscriptionId, {
      ...common,
      credentialScopes: scopes,
    }),
    monitor: new MonitorClient(credential, subscriptionId, { ...common, credentialScopes: scopes }),
  };
  bySubscription.set(key, clients);
  return clients;
}

const graphCache = new WeakMap<CollectorSettings, ResourceGraphClient>();

type ResourceGraphOptions = NonNullable<ConstructorParameters<typeof ResourceGraphClient>[1]>;
type PolicyFactories = Parameters<
  Extract<NonNullable<ResourceGraphOptions["requestPolicyFactories"]>, (...args: never) => unknown>
>[0];

/**
 * The Resource Graph client (ms-rest-js generation). Its retry policies are off (`noRetryPolicy`;
 * callers wrap it in `callPolicy.call`), and the resource-provider registration policy is
 * dropped: on a 409 it would POST a registration, a write.
 */
export function resourceGraphClient(settings: CollectorSettings): ResourceGraphClient {
  const cached = graphCache.get(settings);
  if (cached !== undefined) return cached;
  const ca = settings.apiCaPem?.length ? settings.apiCaPem.join("\n") : undefined;
  const client = new ResourceGraphClient(armScopedCredential(settings), {
    baseUri: settings.cloud.armEndpoint,
    noRetryPolicy: true,
    ...(ca !== undefined
      ? { agentSettings: { http: new HttpAgent(), https: new HttpsAgent({ ca, keepAlive: true }) } }
      : {}),
    requestPolicyFactories: (defaults: PolicyFactories) =>
      defaults.filter((factory) => policyName(factory) !== "RPRegistrationPolicy"),
  });
  graphCache.set(settings, client);
  return client;
}

function policyName(factory: PolicyFactories[number]): string {
  const dummyNext = {
    sendRequest: () => Promise.reject(new Error("not sent: policy probe")),
  } as unknown as Parameters<PolicyFactories[number]["create"]>[0];
  const dummyOptions = {
    shouldLog: () => false,
    log: () => undefined,
  } as unknown as Parameters<PolicyFactories[number]["create"]>[1];
  return factory.create(dummyNext, dummyOptions).constructor.name;
}

const tenantPipelines = new WeakMap<CollectorSettings, { pipeline: Pipeline; http: HttpClient }>();

/**
 * A plain core-rest-pipeline for tenant-level ARM reads that no installed SDK covers
 * (`GET /subscriptions`), with the same auth, CA, call policy and capture as the clients.
 */
export function tenantPipeline(settings: CollectorSettings): {
  pipeline: Pipeline;
  http: HttpClient;
} {
  const cached = tenantPipelines.get(settings);
  if (cached !== undefined) return cached;
  const { additionalPolicies, ...options } = pipelineOptions(settings, "tenant");
  const pipeline = createPipelineFromOptions(options);
  for (const { policy } of additionalPolicies) pipeline.addPolicy(policy);
  pipeline.addPolicy(
    bearerTokenAuthenticationPolicy({
      credential: settings.credential,
      scopes: settings.cloud.armScope,
    }),
    { phase: "Sign" },
  );
  const built = { pipeline, http: createDefaultHttpClient() };
  tenantPipelines.set(settings, built);
  return built;
}

/** GET a tenant-level ARM URL through {@link tenantPipeline} (within a capture). */
export async function sendTenantGet(
  settings: CollectorSettings,
  url: string,
  abortSignal?: AbortSignal,
): Promise<void> {
  const { pipeline, http } = tenantPipeline(settings);
  const request = createPipelineRequest({
    url,
    method: "GET",
    headers: undefined,
    ...(abortSignal !== undefined ? { abortSignal } : {}),
  });
  request.headers.set("accept", "application/json");
  await pipeline.sendRequest(http, request);
}
