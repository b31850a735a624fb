/**
 * `vigil serve`: the Functions app in one local process. The same handlers as in Azure run behind
 * a small host: the HTTP routes on `http://localhost:7071/api/…` (function key required, as the
 * Functions host would; an Entra token too when configured), the Event Grid webhook
 * (`/runtime/webhooks/eventgrid?functionName=resource-changed`, with the validation handshake), an
 * Event Hubs stand-in for AKS audit records (`/runtime/webhooks/eventhub?functionName=cluster-changed`),
 * queue consumers on the store's Azurite queues (poison after the last attempt, as the host does),
 * and the sweep timer.
 */

import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import func, { type HttpResponseInit } from "@azure/functions";
import {
  type AppRuntime,
  type AppStore,
  authFailureResponse,
  authSettingsFromEnvironment,
  createAuthenticator,
  decideGate,
  InputError,
  loadCatalogue,
  loadConfig,
  openAppRuntime,
  parseResourceEvent,
  VALIDATION_EVENT_TYPE,
  withStateCache,
} from "../app/index.js";

import { parseInstant } from "../core/index.js";
import type { RunningEmulator } from "../emulator/index.js";
import { terminalSafe } from "../reports/index.js";
import { openEmulatedEstate, openLiveEstate } from "./estate.js";
import { storeLocation } from "./io.js";
import { type CliIo, UsageError } from "./main.js";

const { HttpRequest, InvocationContext } = func;

/**
 * The Functions app's modules. Imported lazily with the library's "test mode" notices held back:
 * outside the Functions host `app.*` registers nothing and says so once per function, which is
 * expected here, since this host calls the handlers itself.
 */
async function loadFunctions() {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('"@azure/functions" package')) warn(...args);
  };
  try {
    return {
      ...(await import("../../functions/index.js")),
      ...(await import("../../functions/host.js")),
    };
  } finally {
    console.warn = warn;
  }
}

type Queue = AppStore["queues"]["scanTargets"];

/** Options of {@link startLocalHost}. */
export interface LocalHostOptions {
  rt: AppRuntime;
  /** Port to listen on (0: any free port). Default 7071. */
  port?: number;
  host?: string;
  /** The function key clients send as `x-functions-key` or `?code=`. */
  functionKey: string;
  /** Messages handled at once per queue (default 4). */
  concurrency?: number;
  /** Minutes between sweeps; 0 sweeps only at start (default 30). */
  sweepEveryMinutes?: number;
  /** Sweep once when starting (default true). */
  sweepOnStart?: boolean;
  /** Seconds before a failed queue message is tried again (default 2; the host's visibilityTimeout). */
  retryDelaySeconds?: number;
  env?: Readonly<Record<string, string | undefined>>;
  log?: (line: string) => void;
}

/** A running local host. */
export interface LocalHost {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  /** Resolves when every message queued so far (and what they queued) has been handled. */
  idle(): Promise<void>;
  /** Run one sweep now (what the timer does). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** Largest request body accepted (Event Grid batches are at most 1 MB). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Start the local host: set the process's Functions host to `rt`, listen, consume the queues and
 * run the timer.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { rt } = options;
  const {
    clusterChangedHandler,
    HTTP_FUNCTIONS,
    notifyHandler,
    resourceChangedHandler,
    scanTargetHandler,
    setFunctionsHost,
    sweepHandler,
  } = await loadFunctions();
  const log = options.log ?? (() => {});
  const env = options.env ?? {};
  // As in Azure: the host checks the function key before a handler runs, and the handler checks
  // the Entra token (when configured). Both checks are the authenticator's.
  setFunctionsHost({ rt, authenticate: createAuthenticator(authSettingsFromEnvironment(env)) });
  const checkKey = createAuthenticator({ functionKeys: [options.functionKey] });
  /** Answers 401 and resolves to false when the request lacks this host's function key. */
  const keyAccepted = async (
    request: IncomingMessage,
    url: URL,
    response: ServerResponse,
  ): Promise<boolean> => {
    const result = await checkKey(
      {
        headers: { get: (name) => headerOf(request, name.toLowerCase()) ?? null },
        query: url.searchParams,
      },
      undefined,
    );
    if (result.ok) return true;
    const refused = authFailureResponse(result);
    response.statusCode = refused.status;
    for (const [name, value] of Object.entries(refused.headers)) response.setHeader(name, value);
    response.setHeader("content-type", "application/json; charset=utf-8");
    response.setHeader("cache-control", "no-store");
    response.end(JSON.stringify(refused.jsonBody));
    return false;
  };

  let stopping = false;
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work)).catch(() => {});
    return work;
  };

  const server: Server = createServer((request, response) => {
    void track(route(request, response)).catch((error: unknown) => {
      log(`vigil serve: request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) fail(response, 500, "internal", "see the log");
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A request target the URL parser refuses (`//`, `http://[`) is the client's error: 400.
    const url = URL.canParse(request.url ?? "/", "http://localhost")
      ? new URL(request.url ?? "/", "http://localhost")
      : undefined;
    if (url === undefined)
      return fail(response, 400, "bad_request", "the request URL is malformed");
    const path = url.pathname.replace(/\/+$/, "");
    if (path === "/runtime/webhooks/eventgrid" || path === "/runtime/webhooks/eventhub") {
      if (request.method !== "POST") return fail(response, 405, "method_not_allowed", "POST only");
      if (!(await keyAccepted(request, url, response))) return;
      // A body over the limit is refused unread (declared) or as soon as it passes the limit.
      const declared = Number(request.headers["content-length"]);
      const body = declared > MAX_BODY_BYTES ? undefined : await readBody(request);
      if (body === undefined) return tooLarge(request, response);
      if (path === "/runtime/webhooks/eventgrid") return eventGrid(url, request, body, response);
      return eventHub(url, body, response);
    }
    // The HTTP functions read no body: one sent anyway is not drained after the answer (a client
    // could stream without end); the connection closes instead.
    const length = request.headers["content-length"];
    if (
      (length !== undefined && length !== "0") ||
      request.headers["transfer-encoding"] !== undefined
    ) {
      closeAfterAnswer(request, response);
    }
    const fn = HTTP_FUNCTIONS.find(
      (f) =>
        `/api/${f.options.route}` === path &&
        (f.options.methods as readonly string[]).includes(request.method ?? ""),
    );
    if (fn === undefined) {
      const known = HTTP_FUNCTIONS.some((f) => `/api/${f.options.route}` === path);
      return known
        ? fail(response, 405, "method_not_allowed", "GET only")
        : fail(response, 404, "not_found", "no such route");
    }
    // The Functions host checks keys before the handler runs; so does this one.
    if (fn.options.authLevel !== "anonymous" && !(await keyAccepted(request, url, response)))
      return;
    const httpRequest = new HttpRequest({
      method: request.method ?? "GET",
      url: `http://localhost${request.url ?? "/"}`,
      headers: headersOf(request),
    });
    const result = await fn.options.handler(httpRequest, context(fn.name));
    await write(response, result as HttpResponseInit);
  }

  async function eventGrid(
    url: URL,
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
  ) {
    if (url.searchParams.get("functionName") !== "resource-changed")
      return fail(response, 404, "not_found", "functionName must be resource-changed");
    let events: unknown;
    try {
      events = JSON.parse(body.toString("utf8"));
    } catch {
      return fail(response, 400, "bad_request", "the body is not JSON");
    }
    if (!Array.isArray(events))
      return fail(response, 400, "bad_request", "Event Grid delivers a JSON array of events");
    const validation = events.find((e) => isObject(e) && e.eventType === VALIDATION_EVENT_TYPE);
    if (
      validation !== undefined ||
      headerOf(request, "aeg-event-type") === "SubscriptionValidation"
    ) {
      const code =
        isObject(validation) && isObject(validation.data)
          ? validation.data.validationCode
          : undefined;
      if (typeof code !== "string")
        return fail(response, 400, "bad_request", "a validation event needs data.validationCode");
      log("vigil serve: Event Grid subscription validated");
      return send(response, 200, { validationResponse: code });
    }
    // Every event is checked before any is handled: a malformed batch records nothing.
    const parsed = [];
    try {
      for (const [i, event] of events.entries()) parsed.push(parseResourceEvent(event, i));
    } catch (error) {
      return fail(response, 400, "bad_request", (error as InputError).message);
    }
    for (const event of parsed)
      await resourceChangedHandler(event as never, context("resource-changed"));
    return send(response, 200, { accepted: parsed.length });
  }

  async function eventHub(url: URL, body: Buffer, response: ServerResponse) {
    if (url.searchParams.get("functionName") !== "cluster-changed")
      return fail(response, 404, "not_found", "functionName must be cluster-changed");
    let messages: unknown;
    try {
      messages = JSON.parse(body.toString("utf8"));
    } catch {
      return fail(response, 400, "bad_request", "the body is not JSON");
    }
    const list = Array.isArray(messages) ? messages : [messages];
    if (!list.every((m) => isObject(m) && Array.isArray(m.records)))
      return fail(
        response,
        400,
        "bad_request",
        'each message must be a diagnostic-log batch { "records": [...] }',
      );
    await clusterChangedHandler(list, context("cluster-changed"));
    return send(response, 200, { accepted: list.length });
  }

  function context(functionName: string, triggerMetadata?: Record<string, unknown>) {
    return new InvocationContext({
      functionName,
      invocationId: randomUUID(),
      ...(triggerMetadata !== undefined ? { triggerMetadata } : {}),
      logHandler: (level, ...args) => {
        if (level === "trace" || level === "debug") return;
        log(`vigil serve: [${functionName}] ${args.map(String).join(" ")}`);
      },
    });
  }

  // Queue consumers: the host's storage-queue trigger, for Azurite.
  const consumers = [
    {
      queue: rt.store.queues.scanTargets,
      poison: rt.store.queues.scanTargetsPoison,
      name: "scan-target",
      handler: scanTargetHandler,
    },
    {
      queue: rt.store.queues.notifications,
      poison: rt.store.queues.notificationsPoison,
      name: "notify",
      handler: notifyHandler,
    },
  ];
  let busy = 0;
  const loops = consumers.map((c) => track(consume(c)));

  async function consume(c: {
    queue: Queue;
    poison: Queue;
    name: string;
    handler: (message: unknown, context: InstanceType<typeof InvocationContext>) => Promise<void>;
  }): Promise<void> {
    let wait = 25;
    while (!stopping) {
      let messages: Awaited<ReturnType<Queue["receive"]>>;
      try {
        messages = await c.queue.receive(options.concurrency ?? 4, 120);
      } catch (error) {
        log(
          `vigil serve: cannot read queue ${c.queue.name}: ${error instanceof Error ? error.message : String(error)}`,
        );
        await sleep(1000);
        continue;
      }
      if (messages.length === 0) {
        await sleep(wait);
        wait = Math.min(250, wait * 2);
        continue;
      }
      wait = 25;
      busy += messages.length;
      await Promise.all(
        messages.map(async (message) => {
          try {
            let body: unknown = message.text;
            try {
              body = JSON.parse(message.text);
            } catch {
              // The host hands a non-JSON message over as a string; so does this one.
            }
            await c.handler(
              body,
              context(c.name, { dequeueCount: message.dequeueCount, id: message.messageId }),
            );
            await c.queue.delete(message);
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            if (message.dequeueCount >= rt.maxDequeueCount) {
              log(
                `vigil serve: ${c.queue.name} message moved to ${c.poison.name} after ${message.dequeueCount} attempt(s): ${reason}`,
              );
              await c.poison.sendText(message.text);
              await c.queue.delete(message);
            } else await c.queue.release(message, options.retryDelaySeconds ?? 2).catch(() => {});
          } finally {
            busy -= 1;
          }
        }),
      );
    }
  }

  let timer: NodeJS.Timeout | undefined;
  const sweep = async () => {
    await sweepHandler(
      { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: undefined } as never,
      context("sweep"),
    );
  };
  const every = options.sweepEveryMinutes ?? 30;
  if (every > 0)
    timer = setInterval(() => {
      void track(sweep()).catch((error: unknown) =>
        log(`vigil serve: sweep failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }, every * 60_000);

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 7071, options.host ?? "127.0.0.1", () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  if (options.sweepOnStart !== false) await sweep();

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    sweep,
    async idle() {
      // Quiet when no handler runs and both queues stay empty over a short window.
      let quietSince = 0;
      for (;;) {
        const empty =
          busy === 0 &&
          (await rt.store.queues.scanTargets.length()) === 0 &&
          (await rt.store.queues.notifications.length()) === 0;
        if (!empty) quietSince = 0;
        else if (quietSince === 0) quietSince = Date.now();
        else if (Date.now() - quietSince > 300) return;
        await sleep(50);
      }
    },
    async close() {
      stopping = true;
      if (timer !== undefined) clearInterval(timer);
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await Promise.allSettled(loops);
      setFunctionsHost(undefined);
    },
  };
}

/**
 * The local function key: VIGIL_FUNCTION_KEY, else the one kept in `<dir>/function-key` (created
 * on first use, readable only by its owner), so that pipelines keep working across restarts.
 */
export function localFunctionKey(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const configured = env.VIGIL_FUNCTION_KEY;
  if (configured !== undefined && configured !== "") {
    if (configured.length < 16)
      throw new InputError("VIGIL_FUNCTION_KEY must be at least 16 characters", {
        pointer: "VIGIL_FUNCTION_KEY",
      });
    return configured;
  }
  const path = join(resolve(dir), "function-key");
  try {
    const kept = readFileSync(path, "utf8").trim();
    if (kept.length >= 16) return kept;
  } catch {
    // none yet
  }
  mkdirSync(resolve(dir), { recursive: true });
  const key = randomBytes(32).toString("base64url");
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return key;
}

/**
 * Rendered JSON bodies by body object: the gate hands out the same answer object while the state
 * it rests on is unchanged (answers are never modified once built), so it is rendered once.
 */
const renderedBodies = new WeakMap<object, Buffer>();

function rendered(body: unknown): Buffer {
  const known = typeof body === "object" && body !== null ? renderedBodies.get(body) : undefined;
  if (known !== undefined) return known;
  const bytes = Buffer.from(JSON.stringify(body), "utf8");
  if (typeof body === "object" && body !== null) renderedBodies.set(body, bytes);
  return bytes;
}

async function write(response: ServerResponse, result: HttpResponseInit): Promise<void> {
  const headers = new Headers(result.headers as ConstructorParameters<typeof Headers>[0]);
  let body: Uint8Array | undefined;
  if (result.jsonBody !== undefined) {
    body = rendered(result.jsonBody);
    if (!headers.has("content-type"))
      headers.set("content-type", "application/json; charset=utf-8");
  } else if (typeof result.body === "string") body = Buffer.from(result.body, "utf8");
  else if (result.body instanceof Uint8Array) body = result.body;
  else if (result.body !== undefined && result.body !== null)
    throw new Error("vigil serve writes only string and byte bodies");
  // With its length known the body goes out in one write, not as chunked transfer encoding.
  if (body !== undefined) headers.set("content-length", String(body.byteLength));
  response.writeHead(result.status ?? 200, Object.fromEntries(headers));
  response.end(body);
}

/** An error answer in the handlers' shape: `{ error: { code, message } }`. */
function fail(response: ServerResponse, status: number, code: string, message: string): void {
  send(response, status, { error: { code, message } });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader("content-type", "application/json; charset=utf-8");
  response.setHeader("cache-control", "no-store");
  response.end(JSON.stringify(body));
}

/** The body, or `undefined` once it passes the limit (reading then stops, paused). */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      request.off("data", onData);
      request.pause();
      chunks.length = 0;
      resolveBody(undefined);
    };
    request.on("data", onData);
    request.once("end", () => resolveBody(Buffer.concat(chunks)));
    request.once("error", reject);
  });
}

/** 413, then close the connection without taking in the rest of the body. */
function tooLarge(request: IncomingMessage, response: ServerResponse): void {
  closeAfterAnswer(request, response);
  fail(response, 413, "too_large", "the body is over 1 MB");
}

/** Bytes of an unwanted body discarded after the answer before the connection is cut. */
const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * Once the answer is out, close the connection's write side and discard what is left of an
 * unwanted body, up to {@link LINGER_BYTES} or two seconds, then cut the connection: never
 * buffered, never drained without end. (Cutting it at once, as `Connection: close` does, makes
 * the kernel answer the client's next bytes with a reset, which can destroy the answer before the
 * client reads it: HTTP servers call this a lingering close.)
 */
function closeAfterAnswer(request: IncomingMessage, response: ServerResponse): void {
  response.once("finish", () => {
    if (request.complete) return;
    const socket = request.socket;
    let discarded = 0;
    const timer = setTimeout(() => socket.destroy(), 2000);
    timer.unref();
    request.once("end", () => clearTimeout(timer));
    socket.once("close", () => clearTimeout(timer));
    request.on("data", (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) socket.destroy();
    });
    request.resume();
    // No further request on this connection: a FIN tells the client to stop sending.
    socket.end();
  });
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers))
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Options of {@link startServe}. */
export interface ServeOptions {
  /** A seed folder to emulate instead of the live estate. */
  emulate?: string;
  configPath?: string;
  /** The local store's folder (default .vigil), unless VIGIL_STORAGE_* name an account. */
  storeDir?: string;
  port?: number;
  concurrency?: number;
  sweepEveryMinutes?: number;
  sweepOnStart?: boolean;
  io: CliIo;
}

/** A running `vigil serve`. */
export interface Served {
  host: LocalHost;
  rt: AppRuntime;
  key: string;
  /** The estate's label: `emulated <dir>` or `live`. */
  label: string;
  /** The emulator behind an emulated estate. */
  emulator?: RunningEmulator;
  close(): Promise<void>;
}

/**
 * Open the estate (emulated or live), vigil's store and the runtime, and start the local host.
 * @throws InputErrors for a bad config; StoreError when the store cannot be opened
 */
export async function startServe(options: ServeOptions): Promise<Served> {
  const { io } = options;
  const env = io.env ?? {};
  const catalogue = loadCatalogue();
  const { configPath } = options;
  const loaded = loadConfig(catalogue, configPath, undefined, { env });
  const session =
    options.emulate !== undefined
      ? await openEmulatedEstate(options.emulate, loaded.config, {
          ...(configPath !== undefined ? { configPath } : {}),
        })
      : openLiveEstate(loaded.config ?? {}, {
          ...(configPath !== undefined ? { configPath } : {}),
          env,
        });
  const store = storeLocation(options.storeDir, io);
  const started = io.now();
  // An emulated estate keeps its seed's clock, running on from the seed's now.
  const seedNow = session.now !== undefined ? parseInstant(session.now) : undefined;
  let rt: AppRuntime | undefined;
  try {
    // The state cache (withStateCache) is the handlers' too: startLocalHost hands this runtime on.
    rt = withStateCache(
      await openAppRuntime({
        env,
        catalogue,
        ...(configPath !== undefined ? { configPath } : {}),
        store,
        estate: { config: session.config, deps: session.deps },
        clock: io.now,
        evaluationTime: () => (seedNow !== undefined ? seedNow + (io.now() - started) : io.now()),
      }),
    );
    const key = localFunctionKey("localDir" in store ? store.localDir : ".vigil", env);
    const host = await startLocalHost({
      rt,
      port: options.port ?? 7071,
      functionKey: key,
      concurrency: options.concurrency ?? 4,
      sweepEveryMinutes: options.sweepEveryMinutes ?? 30,
      sweepOnStart: options.sweepOnStart !== false,
      env,
      log: (line) => io.stderr(`${terminalSafe(line)}\n`),
    });
    const opened = rt;
    return {
      host,
      rt: opened,
      key,
      label: session.label,
      ...(session.emulator !== undefined ? { emulator: session.emulator } : {}),
      async close() {
        await host.close();
        await opened.store.close();
        await session.close();
      },
    };
  } catch (error) {
    await rt?.store.close();
    await session.close();
    throw error;
  }
}

/** Help for `vigil serve`. */
export const SERVE_HELP = `Usage: vigil serve [--emulate DIR] [options]

Run vigil's Functions app in this process: the sweep timer, the queue workers on the store's
queues, the Event Grid webhook, an Event Hubs stand-in for AKS audit records, and the HTTP routes
(gate, findings, evidence) with the same authentication as in Azure. Prints the base URL and the
local function key (send it as x-functions-key). Stops on Ctrl-C.

  --emulate DIR        read the estate emulated from a seed folder (estates/demo) instead of
                       the live one the config names
  --config FILE        the scan config (its environments name the gate's scopes)
  --port N             port of http://127.0.0.1 (default 7071; 0 picks a free one)
  --store-dir DIR      the local store (default .vigil); VIGIL_STORAGE_* select Azure Storage
  --concurrency N      queue messages handled at once per queue (default 4)
  --sweep-every MIN    minutes between sweeps (default 30; 0 sweeps only at start)
  --no-sweep           do not sweep at start

Routes:  GET  /api/gate?scope=|environment=&minSeverity=&maxAgeMinutes=
         GET  /api/findings?status=&severity=&family=&control=&resource=&scope=&format=&limit=&cursor=
         GET  /api/evidence/report?framework=&format=&from=&to=&scope=
         GET  /api/evidence/pack?from=&to=      GET /api/evidence/verify      GET /api/health
         POST /runtime/webhooks/eventgrid?functionName=resource-changed   (Event Grid schema)
         POST /runtime/webhooks/eventhub?functionName=cluster-changed     ({ "records": [...] })

The function key is VIGIL_FUNCTION_KEY, else one kept in <store-dir>/function-key.
`;

/**
 * `vigil serve ARGS`: resolves to the exit code when stopped.
 * @throws UsageError for a bad flag; InputErrors for a bad config
 */
export async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      emulate: { type: "string" },
      config: { type: "string" },
      port: { type: "string" },
      "store-dir": { type: "string" },
      concurrency: { type: "string" },
      "sweep-every": { type: "string" },
      "no-sweep": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help === true) {
    io.stdout(SERVE_HELP);
    return 0;
  }
  const number = (flag: string, text: string | undefined, fallback: number, max: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > max)
      throw new UsageError(`${flag} must be a whole number up to ${max}, got '${text}'`);
    return n;
  };
  const port = number("--port", values.port, 7071, 65_535);
  const concurrency = Math.max(1, number("--concurrency", values.concurrency, 4, 32));
  const sweepEvery = number("--sweep-every", values["sweep-every"], 30, 24 * 60);
  const served = await startServe({
    ...(values.emulate !== undefined ? { emulate: values.emulate } : {}),
    ...(values.config !== undefined ? { configPath: values.config } : {}),
    ...(values["store-dir"] !== undefined ? { storeDir: values["store-dir"] } : {}),
    port,
    concurrency,
    sweepEveryMinutes: sweepEvery,
    sweepOnStart: values["no-sweep"] !== true,
    io,
  });
  try {
    const { host, key, rt } = served;
    io.stdout(
      [
        `vigil serve: ${host.baseUrl}/api/ (estate: ${served.label})`,
        `  function key   ${key}   (send as x-functions-key)`,
        `  gate           ${host.baseUrl}/api/gate?environment=<name>  or  ?scope=<scope>`,
        `  report         ${host.baseUrl}/api/evidence/report?framework=all&code=${key}`,
        `  findings       ${host.baseUrl}/api/findings?status=fail`,
        `  Event Grid     POST ${host.baseUrl}/runtime/webhooks/eventgrid?functionName=resource-changed`,
        `  AKS audit      POST ${host.baseUrl}/runtime/webhooks/eventhub?functionName=cluster-changed`,
        "",
      ].join("\n"),
    );
    if (values["no-sweep"] !== true) {
      await host.idle();
      for (const environment of rt.config.environments ?? []) {
        if (environment.match.scopes === undefined) continue;
        const answer = await decideGate(rt, { environment: environment.name });
        io.stdout(
          `  gate ${environment.name.padEnd(12)} ${answer.decision.toUpperCase()} (${answer.failing.length} failing or erroring; ${terminalSafe(answer.reasons.join("; "))})\n`,
        );
      }
    }
    io.stdout("vigil serve: serving; Ctrl-C stops.\n");
    await (io.untilStopped ?? (() => Promise.resolve()))();
  } finally {
    await served.close();
  }
  return 0;
}
