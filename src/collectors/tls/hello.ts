/**
 * The protocol-version test of the probe: a hand-built ClientHello offering exactly one version and
 * every cipher suite, answered by a ServerHello (accepted), an alert (refused) or nothing in TLS
 * (not tested). Deciding on the ServerHello, as testssl and sslscan do, keeps the verdict free of
 * what the local TLS library can negotiate (cipher suites missing from OpenSSL's DEFAULT list,
 * TLS 1.3 CCM suites, anonymous suites) and of what happens later in the handshake (a client
 * certificate demanded).
 */

import { randomBytes } from "node:crypto";
import net from "node:net";
import type { TlsVersion } from "./handshake.js";

/** Wire version numbers of the versions the probe tests (RFC 8446 §4.2.1, RFC 5246 Appendix E). */
export const WIRE_VERSIONS: Readonly<Record<TlsVersion, number>> = {
  TLSv1: 0x0301,
  "TLSv1.1": 0x0302,
  "TLSv1.2": 0x0303,
  "TLSv1.3": 0x0304,
};

const VERSION_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0300, "SSLv3"],
  [0x0301, "TLSv1"],
  [0x0302, "TLSv1.1"],
  [0x0303, "TLSv1.2"],
  [0x0304, "TLSv1.3"],
]);

/** A wire version as `TLSv1.2`, or `0x7f1c` when it has no name. */
export function versionName(wire: number): string {
  return VERSION_NAMES.get(wire) ?? `0x${wire.toString(16).padStart(4, "0")}`;
}

/**
 * Every cipher suite code point of TLS 1.0–1.2 a server may still be configured with: the
 * original 0x00xx block, the ECC/PSK/ARIA/CCM block 0xC0xx and the ChaCha20 block 0xCCA8–0xCCAE.
 * Unassigned code points are ignored by servers (RFC 5246 §7.4.1.2). TLS_NULL_WITH_NULL_NULL
 * (0x0000) is never offered, nor TLS_FALLBACK_SCSV (0x5600), which would make a server that supports
 * a newer version abort the hello (RFC 7507); TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00FF) is offered
 * so that servers insisting on secure renegotiation (RFC 5746) answer.
 */
const LEGACY_SUITES: readonly number[] = [
  ...range(0x0001, 0x00ff),
  ...range(0xc001, 0xc0ff),
  ...range(0xcca8, 0xccae),
];

/** The five TLS 1.3 cipher suites (RFC 8446 Appendix B.4). */
const TLS13_SUITES: readonly number[] = range(0x1301, 0x1305);

/** Named groups offered: the X25519/X448 and NIST curves, brainpool, and the FFDHE groups. */
const GROUPS: readonly number[] = [
  0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0015, 0x0016, 0x001a, 0x001b, 0x001c, 0x0100, 0x0101,
  0x0102, 0x0103, 0x0104,
];

/** Signature schemes offered from TLS 1.2 on: ECDSA, RSA-PSS, EdDSA, PKCS#1 and the SHA-1/DSA ones. */
const SIGNATURE_SCHEMES: readonly number[] = [
  0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0401,
  0x0501, 0x0601, 0x0303, 0x0203, 0x0201, 0x0301, 0x0402, 0x0502, 0x0602, 0x0202,
];

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function u16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

/** `body` prefixed with its length in `size` bytes. */
function vector(size: 1 | 2 | 3, body: Buffer): Buffer {
  const length = Buffer.alloc(size);
  length.writeUIntBE(body.length, 0, size);
  return Buffer.concat([length, body]);
}

function u16List(values: readonly number[]): Buffer {
  return Buffer.concat(values.map(u16));
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vector(2, body)]);
}

/**
 * A ClientHello record offering only `version` with every cipher suite of that version, `servername`
 * as SNI when given. For TLS 1.3 the legacy version is 1.2 and the version goes into
 * supported_versions with an X25519 key share (a random point: the handshake stops at the
 * ServerHello, so no key is ever used); older versions are offered the classic way, by
 * client_version alone.
 */
export function buildClientHello(version: TlsVersion, servername: string | undefined): Buffer {
  const wire = WIRE_VERSIONS[version];
  const tls13 = version === "TLSv1.3";
  const extensions: Buffer[] = [];
  if (servername !== undefined) {
    const name = Buffer.from(servername, "ascii");
    // server_name (RFC 6066 §3): one host_name entry.
    extensions.push(
      extension(0x0000, vector(2, Buffer.concat([Buffer.from([0]), vector(2, name)]))),
    );
  }
  extensions.push(extension(0x000a, vector(2, u16List(GROUPS))));
  extensions.push(extension(0x000b, vector(1, Buffer.from([0]))));
  if (wire >= 0x0303) extensions.push(extension(0x000d, vector(2, u16List(SIGNATURE_SCHEMES))));
  if (tls13) {
    extensions.push(extension(0x002b, vector(1, u16(0x0304))));
    extensions.push(extension(0x002d, vector(1, Buffer.from([1]))));
    const share = Buffer.concat([u16(0x001d), vector(2, randomBytes(32))]);
    extensions.push(extension(0x0033, vector(2, share)));
  }
  const body = Buffer.concat([
    u16(tls13 ? 0x0303 : wire),
    randomBytes(32),
    // A 1.3 hello carries a legacy session id so that middleboxes see a resumption (RFC 8446 §D.4).
    vector(1, tls13 ? randomBytes(32) : Buffer.alloc(0)),
    vector(2, u16List(tls13 ? TLS13_SUITES : [...LEGACY_SUITES])),
    vector(1, Buffer.from([0])),
    vector(2, Buffer.concat(extensions)),
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01]), vector(3, body)]);
  // The record layer says TLS 1.0 for every hello, as common clients do, so that old servers read it.
  return Buffer.concat([Buffer.from([0x16]), u16(0x0301), vector(2, handshake)]);
}

/** What the first bytes a server sent back say, once they say enough. */
export type ServerAnswer =
  | { kind: "incomplete" }
  /** A ServerHello (or HelloRetryRequest) choosing `version` (supported_versions when present). */
  | { kind: "serverHello"; version: number }
  | { kind: "alert"; level: number; description: number }
  /** Bytes that are not a TLS handshake or alert record, or a malformed ServerHello. */
  | { kind: "notTls"; reason: string };

/** The selected version of a ServerHello body: supported_versions (RFC 8446 §4.2.1), else server_version. */
function serverHelloVersion(body: Buffer): number | undefined {
  if (body.length < 38) return undefined;
  const serverVersion = body.readUInt16BE(0);
  let at = 34;
  const sessionIdLength = body[at] as number;
  at += 1 + sessionIdLength + 2 + 1;
  if (at > body.length) return undefined;
  if (at === body.length) return serverVersion;
  if (at + 2 > body.length) return undefined;
  const end = at + 2 + body.readUInt16BE(at);
  if (end > body.length) return undefined;
  at += 2;
  while (at + 4 <= end) {
    const type = body.readUInt16BE(at);
    const length = body.readUInt16BE(at + 2);
    if (type === 0x002b && length === 2 && at + 6 <= end) return body.readUInt16BE(at + 4);
    at += 4 + length;
  }
  return serverVersion;
}

/**
 * Read the server's first answer from the bytes received so far: the first handshake message
 * (which may span records) or an alert record.
 */
export function readServerAnswer(received: Buffer): ServerAnswer {
  const handshake: Buffer[] = [];
  let at = 0;
  while (at + 5 <= received.length) {
    const type = received[at] as number;
    const major = received[at + 1] as number;
    const length = received.readUInt16BE(at + 3);
    if ((type !== 0x15 && type !== 0x16) || major !== 3 || length === 0 || length > 18_432) {
      return {
        kind: "notTls",
        reason: `not a TLS record (first bytes 0x${received.subarray(at, at + 5).toString("hex")})`,
      };
    }
    if (at + 5 + length > received.length) break;
    const fragment = received.subarray(at + 5, at + 5 + length);
    if (type === 0x15) {
      if (handshake.length > 0 || length < 2) return { kind: "notTls", reason: "malformed alert" };
      const level = fragment[0] as number;
      const description = fragment[1] as number;
      // A warning before the ServerHello (unrecognized_name, RFC 6066 §3) lets the handshake go
      // on; close_notify ends it.
      if (level !== 1 || description === 0) return { kind: "alert", level, description };
      at += 5 + length;
      continue;
    }
    handshake.push(fragment);
    const message = Buffer.concat(handshake);
    if (message.length >= 4) {
      if (message[0] !== 0x02) {
        return {
          kind: "notTls",
          reason: `first handshake message is type ${message[0]}, not ServerHello`,
        };
      }
      const bodyLength = message.readUIntBE(1, 3);
      if (message.length >= 4 + bodyLength) {
        const version = serverHelloVersion(message.subarray(4, 4 + bodyLength));
        if (version === undefined) return { kind: "notTls", reason: "malformed ServerHello" };
        return { kind: "serverHello", version };
      }
    }
    at += 5 + length;
  }
  return { kind: "incomplete" };
}

const ALERT_NAMES: ReadonlyMap<number, string> = new Map([
  [10, "unexpected_message"],
  [40, "handshake_failure"],
  [47, "illegal_parameter"],
  [50, "decode_error"],
  [70, "protocol_version"],
  [71, "insufficient_security"],
  [80, "internal_error"],
  [86, "inappropriate_fallback"],
  [109, "missing_extension"],
  [112, "unrecognized_name"],
]);

/** How a version test ended; `untested` is never a verdict (see the probe's gaps). */
export type VersionOutcome =
  | { kind: "accepted" }
  | { kind: "refused"; code: string; message: string }
  | { kind: "untested"; connected: boolean; code: string; message: string };

/** Options of {@link testVersion}. */
export interface TestVersionOptions {
  timeoutInMs: number;
  /** Where to open the socket instead of `host`:`port`, which messages still name. */
  connect?: { host: string; port: number };
  abortSignal?: AbortSignal;
}

/**
 * Send a ClientHello offering only `version` to `host`:`port` and classify the answer: a
 * ServerHello choosing that version is accepted; an alert or a ServerHello choosing another version
 * is refused; a reset, a close, a timeout or bytes that are not TLS leave it untested. The socket
 * is destroyed before the promise settles; nothing past the ServerHello is read.
 * @throws the abort reason when `abortSignal` aborts.
 */
export function testVersion(
  host: string,
  port: number,
  servername: string | undefined,
  version: TlsVersion,
  options: TestVersionOptions,
): Promise<VersionOutcome> {
  const { abortSignal, timeoutInMs } = options;
  abortSignal?.throwIfAborted();
  const address = `${host}:${port}`;
  const offered = WIRE_VERSIONS[version];
  return new Promise((resolve, reject) => {
    let connected = false;
    let settled = false;
    let received = Buffer.alloc(0);
    const socket = net.connect({
      host: options.connect?.host ?? host,
      port: options.connect?.port ?? port,
    });
    const finish = (outcome: VersionOutcome | undefined, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abortSignal?.removeEventListener("abort", onAbort);
      socket.destroy();
      if (outcome === undefined) reject(error);
      else resolve(outcome);
    };
    const onAbort = (): void => finish(undefined, abortSignal?.reason);
    const timer = setTimeout(() => {
      const phase = connected ? "TLS handshake" : "connect";
      const message = `${phase} with ${address} timed out after ${timeoutInMs} ms`;
      finish({ kind: "untested", connected, code: "ETIMEDOUT", message });
    }, timeoutInMs);
    abortSignal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      connected = true;
      socket.write(buildClientHello(version, servername));
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const answer = readServerAnswer(received);
      if (answer.kind === "incomplete") return;
      if (answer.kind === "serverHello") {
        if (answer.version === offered) finish({ kind: "accepted" });
        else {
          const message = `${address} answered a ${version} ClientHello choosing ${versionName(answer.version)}`;
          finish({ kind: "refused", code: "VersionNotSelected", message });
        }
      } else if (answer.kind === "alert") {
        const name = ALERT_NAMES.get(answer.description) ?? "alert";
        const message = `${address} answered a ${version} ClientHello with the ${name} alert (${answer.description})`;
        finish({ kind: "refused", code: `TlsAlert${answer.description}`, message });
      } else {
        const message = `${address} did not answer a ${version} ClientHello in TLS: ${answer.reason}`;
        finish({ kind: "untested", connected: true, code: "NotTls", message });
      }
    });
    socket.once("end", () => {
      const message = `${address} closed the connection before any TLS answer to a ${version} ClientHello`;
      finish({ kind: "untested", connected: true, code: "ECONNRESET", message });
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      const code = typeof error.code === "string" ? error.code : "ConnectionFailed";
      finish({ kind: "untested", connected, code, message: error.message });
    });
  });
}
