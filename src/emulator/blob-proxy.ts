/**
 * The emulator's read-only blob endpoint (`/blob/<account>/…`): forwards GET and HEAD to Azurite and
 * rewrites the `Last-Modified` (and creation time) of blobs whose seed sidecar says how old they are,
 * because Azurite stamps every blob with its real upload time while a seed is read at its own `now`.
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { join, relative, sep } from "node:path";
import { SIDECAR_SUFFIX } from "./blob-store.js";

export { parseSeedTime } from "./seed-time.js";

import { SeedError } from "./errors.js";
import type { EmulatorRequest, EmulatorResponse } from "./http-types.js";
import { parseSeedTime } from "./seed-time.js";

/** Options of {@link createBlobProxy}. */
export interface CreateBlobProxyOptions {
  /** The running Azurite (from `startBlobStore`): only its endpoint template is used. */
  store: { blobEndpointTemplate: string };
  /** `<seed>/blob`: where the `<blob path>.meta.json` sidecars are read from. */
  seedBlobDir: string;
  /** The estate's "now": relative sidecar times (`-3d`, `-26h`) count from it. */
  now: Date;
  /** The CA that issued Azurite's certificate (the emulator CA). */
  caPem: string;
  /** Answers 504 when Azurite has not answered within this time; default 30 000. */
  timeoutInMs?: number;
}

/** The blob endpoint as the emulator's server calls it. */
export interface BlobProxy {
  /** `request.path` is what follows `/blob` (`/<account>/<container>[/<blob>]`), still URL-encoded. */
  handle(request: EmulatorRequest): Promise<EmulatorResponse>;
}

/** What a sidecar file may say about its blob. */
interface Sidecar {
  lastModified: Date;
}

const SIDECAR_KEYS = new Set(["lastModified"]);
/** Request headers that reach Azurite besides `x-ms-*`: the bearer, ranges and conditions. */
const FORWARDED_HEADERS = new Set([
  "authorization",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
]);
/** Response headers that describe Azurite's connection, not the answer. */
const HOP_BY_HOP_HEADERS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
]);

/**
 * Reads the sidecars under `seedBlobDir` and returns the blob endpoint handler: GET and HEAD go
 * to Azurite over HTTPS (trusting `caPem`) with the caller's `Authorization` and `x-ms-*` headers
 * unchanged, so Azurite still decides who may read; the answer comes back as Azurite gave it
 * (status, headers, body), except that for a blob with a sidecar the `Last-Modified` and
 * `x-ms-creation-time` headers and, in List Blobs XML, its `<Last-Modified>` and
 * `<Creation-Time>` carry the sidecar's time, and `content-length` is recomputed. Any other verb
 * answers 405 `UnsupportedHttpVerb` without reaching Azurite; an unreachable Azurite answers 502,
 * a silent one 504.
 *
 * Sidecar times are truncated to whole seconds, the precision of the RFC 1123 dates Azure sends.
 *
 * @throws SeedError when a sidecar is not JSON, holds a key other than `lastModified`, has a time
 *   that is neither ISO 8601 nor `±<n>d`/`±<n>h`, or sits beside no blob file.
 */
export function createBlobProxy(options: CreateBlobProxyOptions): BlobProxy {
  const sidecars = readSidecars(options.seedBlobDir, options.now);
  const upstream = new URL(options.store.blobEndpointTemplate.replace("/{account}", "/"));
  const agent = new Agent({ ca: options.caPem, keepAlive: true });
  const timeoutInMs = options.timeoutInMs ?? 30_000;

  return {
    async handle(request) {
      const method = request.method.toUpperCase();
      if (method !== "GET" && method !== "HEAD") return unsupportedVerb();

      const search = request.query.toString();
      const answer = await forward({
        agent,
        url: new URL(`${request.path.replace(/^\/+/, "")}${search ? `?${search}` : ""}`, upstream),
        method,
        headers: forwardedHeaders(request.headers),
        timeoutInMs,
      });
      if (answer === undefined) {
        return storageError(502, "BadGateway", "The blob service (Azurite) is unreachable.");
      }
      if (answer === "timeout") {
        return storageError(504, "GatewayTimeout", "The blob service (Azurite) did not answer.");
      }
      return rewrite(answer, method, request, sidecars);
    },
  };
}

/** Sidecars keyed by `<account>/<container>/<blob name>`. */
function readSidecars(dir: string, now: Date): Map<string, Sidecar> {
  const sidecars = new Map<string, Sidecar>();
  for (const file of filesUnder(dir)) {
    if (!file.endsWith(SIDECAR_SUFFIX)) continue;
    const blobFile = file.slice(0, -SIDECAR_SUFFIX.length);
    if (!isFile(blobFile)) {
      throw new SeedError(`a sidecar needs its blob file beside it (${blobFile})`, file);
    }
    const key = relative(dir, blobFile).split(sep).join("/");
    sidecars.set(key, readSidecar(file, now));
  }
  return sidecars;
}

function readSidecar(file: string, now: Date): Sidecar {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new SeedError("expected a JSON sidecar", file, { cause: error });
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new SeedError('expected an object such as { "lastModified": "-3d" }', file);
  }
  const unknownKey = Object.keys(document).find((key) => !SIDECAR_KEYS.has(key));
  if (unknownKey !== undefined) {
    throw new SeedError(`/${unknownKey}: unknown key; expected only "lastModified"`, file);
  }
  const value = (document as Record<string, unknown>).lastModified;
  const time = typeof value === "string" ? parseSeedTime(value, now) : undefined;
  if (time === undefined) {
    throw new SeedError(
      '/lastModified: expected a time such as "-3d", "-26h" or an ISO 8601 date-time',
      file,
    );
  }
  return { lastModified: new Date(Math.floor(time.getTime() / 1000) * 1000) };
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw new SeedError("cannot read the folder", dir, { cause: error });
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined) continue;
    if (lower.startsWith("x-ms-") || FORWARDED_HEADERS.has(lower)) result[lower] = value;
  }
  return result;
}

interface UpstreamAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Azurite's answer; `undefined` when it cannot be reached, `"timeout"` when it stays silent. */
function forward(call: {
  agent: Agent;
  url: URL;
  method: string;
  headers: Record<string, string | string[]>;
  timeoutInMs: number;
}): Promise<UpstreamAnswer | "timeout" | undefined> {
  return new Promise((resolve) => {
    const outgoing = httpsRequest(
      call.url,
      { method: call.method, headers: call.headers, agent: call.agent },
      (incoming: IncomingMessage) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", () => resolve(undefined));
        incoming.on("end", () =>
          resolve({
            status: incoming.statusCode ?? 502,
            headers: responseHeaders(incoming),
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    outgoing.setTimeout(call.timeoutInMs, () => {
      outgoing.destroy();
      resolve("timeout");
    });
    outgoing.on("error", () => resolve(undefined));
    outgoing.end();
  });
}

/** Azurite's response headers as sent (original names; repeated ones joined by ", "). */
function responseHeaders(incoming: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = incoming.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index] ?? "";
    const value = raw[index + 1] ?? "";
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

function rewrite(
  answer: UpstreamAnswer,
  method: string,
  request: EmulatorRequest,
  sidecars: Map<string, Sidecar>,
): EmulatorResponse {
  const target = parseTarget(request.path);
  let body = answer.body;
  const headers: Record<string, string> = {};
  let upstreamLength: string | undefined;
  for (const [name, value] of Object.entries(answer.headers)) {
    const lower = name.toLowerCase();
    if (lower === "content-length") upstreamLength = value;
    if (HOP_BY_HOP_HEADERS.has(lower)) continue;
    headers[name] = value;
  }

  if (target?.blob !== undefined) {
    const sidecar = sidecars.get(`${target.account}/${target.container}/${target.blob}`);
    if (sidecar !== undefined) {
      const date = sidecar.lastModified.toUTCString();
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        if (lower === "last-modified" || lower === "x-ms-creation-time") headers[name] = date;
      }
    }
  } else if (
    target !== undefined &&
    method === "GET" &&
    answer.status === 200 &&
    request.query.get("restype") === "container" &&
    request.query.get("comp") === "list"
  ) {
    body = rewriteListing(body, `${target.account}/${target.container}/`, sidecars);
  }

  // A HEAD answer has no body but reports the blob's length, which Azure clients read.
  headers["content-length"] =
    method === "HEAD" && upstreamLength !== undefined ? upstreamLength : String(body.length);
  return { status: answer.status, headers, body };
}

/** Account, container and decoded blob name of a `/<account>/<container>[/<blob>]` path. */
function parseTarget(
  path: string,
): { account: string; container: string; blob: string | undefined } | undefined {
  const match = /^\/([^/?]+)\/([^/?]+)(?:\/(.+))?$/.exec(path);
  if (!match) return undefined;
  try {
    return {
      account: decodeURIComponent(match[1] ?? "").toLowerCase(),
      container: decodeURIComponent(match[2] ?? "").toLowerCase(),
      blob: match[3] === undefined ? undefined : decodeURIComponent(match[3]),
    };
  } catch (error) {
    // A malformed escape names no seeded blob; Azurite gives its own answer unchanged.
    if (error instanceof URIError) return undefined;
    throw error;
  }
}

/**
 * Replaces `<Last-Modified>` and `<Creation-Time>` inside each `<Blob>` of a List Blobs answer
 * whose `<Name>` has a sidecar; every other byte stays as Azurite wrote it.
 */
function rewriteListing(body: Buffer, prefix: string, sidecars: Map<string, Sidecar>): Buffer {
  const xml = body.toString("utf8");
  let changed = false;
  const rewritten = xml.replace(/<Blob>[\s\S]*?<\/Blob>/g, (element) => {
    const name = /<Name(\s+Encoded="true")?>([\s\S]*?)<\/Name>/.exec(element);
    if (!name) return element;
    const blobName = name[1] ? safeDecode(name[2] ?? "") : unescapeXml(name[2] ?? "");
    const sidecar = blobName === undefined ? undefined : sidecars.get(`${prefix}${blobName}`);
    if (sidecar === undefined) return element;
    changed = true;
    const date = sidecar.lastModified.toUTCString();
    return element.replace(
      /<(Last-Modified|Creation-Time)>[^<]*<\/\1>/g,
      (_match, tag: string) => `<${tag}>${date}</${tag}>`,
    );
  });
  return changed ? Buffer.from(rewritten, "utf8") : body;
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (entity, code: string) => {
    const lower = code.toLowerCase();
    if (lower.startsWith("#x")) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16));
    if (lower.startsWith("#")) return String.fromCodePoint(Number(lower.slice(1)));
    const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
    return named[lower] ?? entity;
  });
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (error instanceof URIError) return undefined;
    throw error;
  }
}

function unsupportedVerb(): EmulatorResponse {
  return storageError(
    405,
    "UnsupportedHttpVerb",
    "The emulator's blob endpoint is read-only: only GET and HEAD are served.",
  );
}

/** An error in Azure Storage's XML shape, which `@azure/storage-blob` turns into a RestError. */
function storageError(status: number, code: string, message: string): EmulatorResponse {
  return {
    status,
    headers: { "content-type": "application/xml", "x-ms-error-code": code },
    body: Buffer.from(
      `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
      "utf8",
    ),
  };
}
