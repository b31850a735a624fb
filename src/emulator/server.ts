/**
 * The emulator's HTTPS request pipeline: routes by path prefix (ARM and Resource Graph at the
 * root, `/graph`, `/k8s/<cluster>`, `/_emulator`), checks the bearer token, applies injected
 * faults, latency and ARM read throttling, stamps `x-ms-request-id`, and logs every request.
 */

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { armError, handleArm, subscriptionOf } from "./arm.js";
import type { BlobProxy } from "./blob-proxy.js";
import type { EmulatorApi, FaultInjector, FaultRule } from "./faults.js";
import { graphError, handleGraph } from "./graph.js";
import type { EmulatorRequest, EmulatorResponse } from "./http-types.js";
import { type KubernetesEstate, kubernetesStatus } from "./kubernetes.js";
import { handleResourceGraph } from "./resource-graph.js";
import type { SeedState } from "./seed.js";
import type { ArmThrottle } from "./throttle.js";

/** One served request, in the order the responses were sent. */
export interface RequestLogEntry {
  /** When the response was sent (ISO 8601, wall clock). */
  time: string;
  api: EmulatorApi | "admin";
  method: string;
  /** Path with query, as requested. */
  path: string;
  /** Status sent; 0 when the connection was reset before any response. */
  status: number;
  /** Kinds of the fault rules that hit this request, comma-separated (also `throttle` from the bucket). */
  fault?: string;
  cluster?: string;
  subscriptionId?: string;
}

/** Formats a log entry as one line for `--log` output, e.g. `12:00:01.123 arm GET 200 /subscriptions?…`. */
export function formatRequestLogEntry(entry: RequestLogEntry): string {
  const time = entry.time.slice(11, 23);
  const fault = entry.fault === undefined ? "" : ` [${entry.fault}]`;
  return `${time} ${entry.api} ${entry.method} ${entry.status} ${entry.path}${fault}`;
}

/** Answers admin requests (`/_emulator/…`); see admin.ts. */
export type AdminHandler = (request: EmulatorRequest) => EmulatorResponse;

/** Everything the request pipeline reads; `state` is read per request so reloads take effect. */
export interface ServerContext {
  token: string;
  state(): SeedState;
  /** `https://127.0.0.1:P`, known once the server listens. */
  origin(): string;
  caPem: string;
  kubernetes: KubernetesEstate | undefined;
  /** The read-only blob endpoint under `/blob` (Azurite behind it), when the seed has `blob/`. */
  blob: BlobProxy | undefined;
  admin: AdminHandler;
  faults: FaultInjector;
  throttle: ArmThrottle | undefined;
  latencyInMs: { min: number; max: number } | undefined;
  random: () => number;
  log: RequestLogEntry[];
  onRequest?: (entry: RequestLogEntry) => void;
}

/** The largest request body read (1 MiB is far above any query or manifest the emulator takes). */
const MAX_BODY_BYTES = 1024 * 1024;
const RESOURCE_GRAPH_PATH = "/providers/microsoft.resourcegraph/resources";

interface Route {
  api: EmulatorApi | "admin";
  /** Path after the API prefix. */
  path: string;
  cluster?: string;
}

function route(path: string): Route {
  const lower = path.toLowerCase();
  if (lower === "/_emulator" || lower.startsWith("/_emulator/")) {
    return { api: "admin", path: path.slice("/_emulator".length) || "/" };
  }
  if (lower === "/blob" || lower.startsWith("/blob/")) {
    return { api: "blob", path: path.slice("/blob".length) || "/" };
  }
  if (lower === "/graph" || lower.startsWith("/graph/")) {
    return { api: "graph", path: path.slice("/graph".length) || "/" };
  }
  const k8s = /^\/k8s\/([^/]+)(\/.*)?$/i.exec(path);
  if (k8s !== null) {
    return {
      api: "kubernetes",
      cluster: decodeURIComponent(k8s[1] as string),
      path: k8s[2] ?? "/",
    };
  }
  if (lower === RESOURCE_GRAPH_PATH || lower === `${RESOURCE_GRAPH_PATH}/`) {
    return { api: "resource-graph", path };
  }
  return { api: "arm", path };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RangeError("request body too large"));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function errorFor(
  api: Route["api"],
  status: number,
  code: string,
  message: string,
  requestId: string,
): EmulatorResponse {
  if (api === "graph") return graphError(status, code, message, requestId);
  if (api === "blob") {
    // Azure Storage answers errors as XML with the code also in x-ms-error-code.
    return {
      status,
      headers: { "content-type": "application/xml", "x-ms-error-code": code },
      body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    };
  }
  if (api === "kubernetes") return kubernetesStatus(status, code, message);
  return armError(status, code, message);
}

const STATUS_CODES: Record<number, string> = {
  400: "BadRequest",
  403: "AuthorizationFailed",
  404: "NotFound",
  409: "Conflict",
  429: "TooManyRequests",
  500: "InternalServerError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

function failureResponse(rule: FaultRule, api: Route["api"], requestId: string): EmulatorResponse {
  if (rule.kind === "throttle") {
    const response = errorFor(
      api,
      429,
      "TooManyRequests",
      "Too many requests (injected fault).",
      requestId,
    );
    const headers: Record<string, string> = {};
    if (rule.retryAfterSeconds !== undefined)
      headers["retry-after"] = String(rule.retryAfterSeconds);
    if (rule.retryAfterMs !== undefined) {
      headers["retry-after-ms"] = String(rule.retryAfterMs);
      headers["x-ms-retry-after-ms"] = String(rule.retryAfterMs);
    }
    return { ...response, headers };
  }
  const status = rule.status ?? 503;
  return errorFor(
    api,
    status,
    STATUS_CODES[status] ?? "InjectedFault",
    `Injected fault: status ${status}.`,
    requestId,
  );
}

function serialise(response: EmulatorResponse): { body: Buffer; contentType: string | undefined } {
  const { body } = response;
  if (body === undefined) return { body: Buffer.alloc(0), contentType: undefined };
  if (Buffer.isBuffer(body)) return { body, contentType: "application/octet-stream" };
  if (typeof body === "string")
    return { body: Buffer.from(body), contentType: "text/plain; charset=utf-8" };
  return {
    body: Buffer.from(JSON.stringify(body)),
    contentType: "application/json; charset=utf-8",
  };
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds the `request` listener of the emulator's HTTPS server.
 */
export function createRequestListener(
  context: ServerContext,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    serve(context, request, response).catch((error: unknown) => {
      console.error(`emulator: request failed: ${(error as Error).message}`);
      if (!response.headersSent) {
        response.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        response.end(
          JSON.stringify({ error: { code: "InternalServerError", message: "emulator failure" } }),
        );
      } else {
        response.destroy();
      }
    });
  };
}

async function serve(
  context: ServerContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const requestId = randomUUID();
  const url = new URL(request.url ?? "/", "https://emulator.invalid");
  const method = (request.method ?? "GET").toUpperCase();
  const target = route(url.pathname);
  const entry: RequestLogEntry = {
    time: "",
    api: target.api,
    method,
    path: `${url.pathname}${url.search}`,
    status: 0,
  };
  if (target.cluster !== undefined) entry.cluster = target.cluster;
  const subscriptionId = target.api === "arm" ? subscriptionOf(url.pathname) : undefined;
  if (subscriptionId !== undefined) entry.subscriptionId = subscriptionId;
  const faults: string[] = [];
  const finish = (status: number): void => {
    entry.status = status;
    entry.time = new Date().toISOString();
    if (faults.length > 0) entry.fault = faults.join(",");
    context.log.push(entry);
    context.onRequest?.(entry);
  };

  let body: Buffer;
  try {
    body = await readBody(request);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    finish(0);
    return;
  }
  const headers: Record<string, string> = { "x-ms-request-id": requestId };
  if (target.api === "graph") {
    headers["request-id"] = requestId;
    headers["client-request-id"] = String(request.headers["client-request-id"] ?? requestId);
  }
  if (target.api === "arm" || target.api === "resource-graph") {
    headers["x-ms-correlation-request-id"] = String(
      request.headers["x-ms-correlation-request-id"] ?? requestId,
    );
  }
  if (target.api === "arm") {
    // ARM always reports the remaining reads; without a bucket, report the documented capacity.
    headers["x-ms-ratelimit-remaining-subscription-reads"] = "249";
  }
  const send = (result: EmulatorResponse, truncate = false): void => {
    const { body: payload, contentType } = serialise(result);
    const all: Record<string, string> = { ...headers, ...(result.headers ?? {}) };
    if (
      contentType !== undefined &&
      !Object.keys(all).some((key) => key.toLowerCase() === "content-type")
    ) {
      all["content-type"] = contentType;
    }
    // A handler may set the length itself (a HEAD answer reports the blob's size, not zero bytes).
    if (!Object.keys(all).some((key) => key.toLowerCase() === "content-length")) {
      all["content-length"] = String(payload.length);
    }
    response.writeHead(result.status, all);
    finish(result.status);
    if (truncate) {
      // Promise the whole body, send half, then cut the connection: the client sees a short read.
      response.write(payload.subarray(0, Math.floor(payload.length / 2)), () => response.destroy());
      return;
    }
    response.end(payload);
  };

  const authorization = request.headers.authorization ?? "";
  const match = /^bearer\s+(.+)$/i.exec(authorization);
  if (match === null || match[1] !== context.token) {
    const tenant = context.state().estate.tenantId;
    headers["www-authenticate"] =
      `Bearer authorization_uri="https://login.microsoftonline.com/${tenant}", error="invalid_token", error_description="The access token is missing or invalid."`;
    send(
      errorFor(
        target.api === "admin" ? "arm" : target.api,
        401,
        match === null ? "AuthenticationFailed" : "InvalidAuthenticationToken",
        match === null
          ? "Authentication failed. The 'Authorization' header is missing."
          : "The access token is invalid.",
        requestId,
      ),
    );
    return;
  }

  const emulatorRequest: EmulatorRequest = {
    method,
    path: target.path,
    query: url.searchParams,
    headers: request.headers,
    body,
  };
  if (target.api === "admin") {
    send(context.admin(emulatorRequest));
    return;
  }
  const api = target.api;

  const decision = context.faults.decide({
    api,
    method,
    path: target.path,
    fullPath: url.pathname,
  });
  faults.push(...decision.labels);
  let wait = decision.delayInMs;
  if (context.latencyInMs !== undefined) {
    const { min, max } = context.latencyInMs;
    wait += min + Math.floor(context.random() * (max - min + 1));
  }
  await delay(wait);

  const failure = decision.failure;
  if (failure?.kind === "reset") {
    finish(0);
    request.socket.destroy();
    return;
  }
  if (failure !== undefined && failure.kind !== "truncate") {
    send(failureResponse(failure, api, requestId));
    return;
  }

  if (api === "arm") {
    const throttled = takeReadToken(context, method, subscriptionId, headers);
    if (throttled !== undefined) {
      faults.push("throttle");
      send(throttled);
      return;
    }
  }

  let result: EmulatorResponse;
  const state = context.state();
  if (api === "arm") {
    result = handleArm(emulatorRequest, {
      state,
      origin: context.origin(),
      caPem: context.caPem,
      clusters: context.kubernetes?.clusters() ?? [],
    });
  } else if (api === "resource-graph") {
    result = handleResourceGraph(emulatorRequest, state);
  } else if (api === "blob") {
    result =
      context.blob === undefined
        ? errorFor("blob", 404, "ResourceNotFound", "The seed has no blob/ folder.", requestId)
        : await context.blob.handle(emulatorRequest);
  } else if (api === "graph") {
    result = handleGraph(emulatorRequest, state, `${context.origin()}/graph`, requestId);
  } else {
    result = handleKubernetes(context, target.cluster as string, emulatorRequest, requestId);
  }
  send(result, failure?.kind === "truncate");
}

function takeReadToken(
  context: ServerContext,
  method: string,
  subscriptionId: string | undefined,
  headers: Record<string, string>,
): EmulatorResponse | undefined {
  if (context.throttle === undefined || method !== "GET") return undefined;
  const result = context.throttle.take(subscriptionId ?? "tenant");
  headers["x-ms-ratelimit-remaining-subscription-reads"] = String(result.remaining);
  if (result.allowed) return undefined;
  const retryAfter = String(result.retryAfterSeconds ?? 1);
  return {
    ...armError(
      429,
      "SubscriptionRequestsThrottled",
      `Number of 'read' requests for subscription '${subscriptionId ?? "tenant"}' exceeded. Please try again after '${retryAfter}' seconds after additional tokens are available.`,
    ),
    headers: { "retry-after": retryAfter },
  };
}

function handleKubernetes(
  context: ServerContext,
  requested: string,
  request: EmulatorRequest,
  requestId: string,
): EmulatorResponse {
  const clusters = context.kubernetes?.clusters() ?? [];
  const cluster =
    clusters.find((name) => name === requested) ??
    clusters.find((name) => name.toLowerCase() === requested.toLowerCase());
  if (context.kubernetes === undefined || cluster === undefined) {
    return errorFor(
      "kubernetes",
      404,
      "NotFound",
      `cluster "${requested}" is not in the seed`,
      requestId,
    );
  }
  return context.kubernetes.handle(cluster, request);
}
