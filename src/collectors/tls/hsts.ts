/**
 * HTTP Strict Transport Security as the probe reports it: one HTTPS GET / over the probed address,
 * and the `Strict-Transport-Security` header parsed by RFC 6797 §6.1.
 */

import https from "node:https";
import { LEGACY_CIPHERS } from "./handshake.js";

/** What the endpoint's HSTS header says (`document.hsts` of a `vigil/TlsProbe`). */
export interface HstsFacts {
  /** Whether the response carried a `Strict-Transport-Security` header at all. */
  present: boolean;
  /**
   * The `max-age` directive in seconds; `null` when the header is absent or invalid (no or a
   * malformed `max-age`, a repeated directive), which browsers ignore (RFC 6797 §8.1).
   */
  maxAgeSeconds: number | null;
  includeSubDomains: boolean;
}

const ABSENT: HstsFacts = { present: false, maxAgeSeconds: null, includeSubDomains: false };

/**
 * Parse one `Strict-Transport-Security` header value (RFC 6797 §6.1): `;`-separated directives,
 * names case-insensitive, values a token or quoted string. A header that repeats a directive or
 * lacks a valid `max-age` is invalid and keeps `maxAgeSeconds: null`.
 */
export function parseHsts(value: string | undefined): HstsFacts {
  if (value === undefined) return ABSENT;
  const seen = new Set<string>();
  let maxAgeSeconds: number | null = null;
  let includeSubDomains = false;
  let valid = true;
  for (const part of value.split(";")) {
    const directive = part.trim();
    if (directive === "") continue;
    const equals = directive.indexOf("=");
    const name = (equals === -1 ? directive : directive.slice(0, equals)).trim().toLowerCase();
    let argument = equals === -1 ? undefined : directive.slice(equals + 1).trim();
    if (argument?.startsWith('"') && argument.endsWith('"') && argument.length >= 2) {
      argument = argument.slice(1, -1);
    }
    if (seen.has(name)) valid = false;
    seen.add(name);
    if (name === "max-age") {
      if (argument !== undefined && /^\d+$/.test(argument)) maxAgeSeconds = Number(argument);
      else valid = false;
    } else if (name === "includesubdomains") {
      includeSubDomains = true;
    }
  }
  if (!seen.has("max-age")) valid = false;
  return { present: true, maxAgeSeconds: valid ? maxAgeSeconds : null, includeSubDomains };
}

/** Options of {@link readHsts}. */
export interface ReadHstsOptions {
  timeoutInMs: number;
  /** Where to connect instead of `host`:`port`, which the Host header still names. */
  connect?: { host: string; port: number };
  abortSignal?: AbortSignal;
}

/**
 * GET / over HTTPS from `host`:`port` (connecting to `options.connect` when given) with
 * `servername` as SNI and Host header, and parse the
 * first `Strict-Transport-Security` header of the response, whatever its status. Certificate
 * errors are ignored: the header is what the server sends, trust is reported elsewhere.
 * Resolves `null` when no HTTP response could be read (not HTTP, reset, timeout).
 * @throws the abort reason when `abortSignal` aborts.
 */
export function readHsts(
  host: string,
  port: number,
  servername: string | undefined,
  options: ReadHstsOptions,
): Promise<HstsFacts | null> {
  const { abortSignal, timeoutInMs } = options;
  abortSignal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const hostHeader = `${servername ?? (host.includes(":") ? `[${host}]` : host)}${port === 443 ? "" : `:${port}`}`;
    const request = https.request({
      host: options.connect?.host ?? host,
      port: options.connect?.port ?? port,
      method: "GET",
      path: "/",
      agent: false,
      rejectUnauthorized: false,
      // Same reach as the protocol probes: a legacy-only server still answers.
      minVersion: "TLSv1",
      ciphers: LEGACY_CIPHERS,
      ...(servername !== undefined ? { servername } : {}),
      headers: { host: hostHeader, "user-agent": "vigil-tls-probe", accept: "*/*" },
    });
    let settled = false;
    const finish = (result: HstsFacts | null, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abortSignal?.removeEventListener("abort", onAbort);
      request.destroy();
      if (error !== undefined) reject(error);
      else resolve(result);
    };
    const onAbort = (): void => finish(null, abortSignal?.reason);
    const timer = setTimeout(() => finish(null), timeoutInMs);
    abortSignal?.addEventListener("abort", onAbort, { once: true });
    request.on("response", (response) => {
      const raw = response.rawHeaders;
      let value: string | undefined;
      // rawHeaders keeps each header line; a browser processes only the first STS header (RFC 6797 §8.1).
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (raw[i]?.toLowerCase() === "strict-transport-security") {
          value = raw[i + 1];
          break;
        }
      }
      response.destroy();
      finish(parseHsts(value));
    });
    // Any failure to read a response means "no HTTP response", which the document records as null.
    request.on("error", () => finish(null));
    request.end();
  });
}
