/**
 * One TLS handshake attempt with `node:tls`, classified as accepted, refused by the server, or
 * not tested (no TCP connection, no TLS answer, or a limit of the local TLS library), so that a
 * version the probe could not try is never reported as refused.
 */

import { constants as cryptoConstants, X509Certificate } from "node:crypto";
import tls, { type DetailedPeerCertificate } from "node:tls";

/** The protocol versions the probe tries, oldest first. */
export const TLS_VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/**
 * OpenSSL 3 at its default security level will not sign or verify with SHA-1 and so cannot
 * complete a TLS 1.0/1.1 handshake at all; level 0 lets the probe see what the server accepts.
 */
export const LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0";

/**
 * Every suite the local library has, anonymous and NULL ones included, and all five TLS 1.3
 * suites: for reading the certificate of a server that shares no suite with {@link LEGACY_CIPHERS}.
 */
export const ALL_CIPHERS =
  "ALL:COMPLEMENTOFALL:@SECLEVEL=0:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:" +
  "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/** How one handshake attempt ended. */
export type HandshakeOutcome =
  | {
      kind: "accepted";
      protocol: string;
      cipher: string;
      /** The leaf first, then the other certificates of the peer chain, without duplicates. */
      chain: X509Certificate[];
    }
  | { kind: "refused"; code: string; message: string }
  | {
      kind: "untested";
      /** Whether a TCP connection was established (false: nothing answered at all). */
      connected: boolean;
      code: string;
      message: string;
    };

/** Options of {@link attemptHandshake}. */
export interface AttemptHandshakeOptions {
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  timeoutInMs: number;
  /** OpenSSL cipher list, TLS 1.3 suites included; default {@link LEGACY_CIPHERS}. */
  ciphers?: string;
  /** Where to open the socket instead of `host`:`port`, which messages still name. */
  connect?: { host: string; port: number };
  abortSignal?: AbortSignal;
}

/** The code a handshake failure carries when the local TLS library, not the server, stopped it. */
export const PROBE_UNSUPPORTED = "ProbeUnsupported";

/**
 * OpenSSL reasons raised by the local library's own limits or policy, not by the server refusing
 * the version: the server may well accept it, so the version counts as not tested.
 */
const LOCAL_LIMITS = new Set([
  "ERR_SSL_NO_PROTOCOLS_AVAILABLE",
  "ERR_SSL_NO_CIPHERS_AVAILABLE",
  "ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM",
  "ERR_SSL_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED",
  "ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
  "ERR_SSL_DH_KEY_TOO_SMALL",
  "ERR_SSL_EE_KEY_TOO_SMALL",
  "ERR_SSL_CA_KEY_TOO_SMALL",
  "ERR_SSL_CA_MD_TOO_WEAK",
]);

/**
 * OpenSSL reasons that mean the server answered in TLS and did not complete the handshake at the
 * offered version: a received alert (`…_ALERT_…`), a record or ServerHello of another version.
 */
const REFUSALS = new Set([
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_UNSUPPORTED_PROTOCOL",
  "ERR_SSL_VERSION_TOO_LOW",
  "ERR_SSL_VERSION_TOO_HIGH",
  "ERR_SSL_WRONG_SSL_VERSION",
  "ERR_SSL_BAD_PROTOCOL_VERSION_NUMBER",
  "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
  "ERR_SSL_TLSV1_UNRECOGNIZED_NAME",
]);

/** Classify a failed handshake; exported for the unit tests. */
export function classifyHandshakeError(
  error: { code?: unknown; message?: unknown },
  connected: boolean,
): Exclude<HandshakeOutcome, { kind: "accepted" }> {
  const code = typeof error.code === "string" ? error.code : "HandshakeFailed";
  const message = typeof error.message === "string" ? error.message.trim() : String(error);
  if (!connected) return { kind: "untested", connected: false, code, message };
  if (LOCAL_LIMITS.has(code)) {
    return {
      kind: "untested",
      connected: true,
      code: PROBE_UNSUPPORTED,
      message: `${code}: ${message}`,
    };
  }
  // OpenSSL ends the message of every alert received from the peer with "SSL alert number N".
  const alertReceived = /SSL alert number \d+/.test(message) || /^ERR_SSL_\w*_ALERT_/.test(code);
  if (REFUSALS.has(code) || alertReceived) {
    return { kind: "refused", code, message };
  }
  // A reset, a hang-up or an OpenSSL reason not known to be a refusal: fail closed, not "refused".
  return { kind: "untested", connected: true, code, message };
}

/** The leaf and every other certificate of the peer chain Node reports, without duplicates. */
function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  // Read the detailed chain only: on Node 20, calling getPeerX509Certificate() first leaves
  // getPeerCertificate(true) returning an empty object.
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  // Node links each certificate to its issuer, ending at a self-issued one that points to itself.
  for (let depth = 0; current?.raw !== undefined && depth < 16; depth++) {
    const certificate = new X509Certificate(current.raw);
    if (!seen.has(certificate.fingerprint256)) {
      seen.add(certificate.fingerprint256);
      chain.push(certificate);
    }
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (next === current) break;
    current = next;
  }
  return chain;
}

/**
 * Connect to `host`:`port` (or `options.connect`) and run one TLS handshake limited to
 * `minVersion`…`maxVersion`, sending `servername` as SNI when given. Never rejects for a server problem; the socket is
 * always destroyed before the promise settles.
 * @throws the abort reason when `abortSignal` aborts.
 */
export function attemptHandshake(
  host: string,
  port: number,
  servername: string | undefined,
  options: AttemptHandshakeOptions,
): Promise<HandshakeOutcome> {
  const { abortSignal, timeoutInMs } = options;
  abortSignal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    let connected = false;
    let settled = false;
    const socket = tls.connect({
      host: options.connect?.host ?? host,
      port: options.connect?.port ?? port,
      ...(servername !== undefined ? { servername } : {}),
      minVersion: options.minVersion,
      maxVersion: options.maxVersion,
      ciphers: options.ciphers ?? LEGACY_CIPHERS,
      // Trust is judged by the probe's own chain check; the handshake must not stop at it.
      rejectUnauthorized: false,
      // Servers without secure renegotiation (RFC 5746) are old, which is what the probe looks for.
      secureOptions: cryptoConstants.SSL_OP_LEGACY_SERVER_CONNECT,
    });
    const finish = (outcome: HandshakeOutcome | undefined, error?: unknown): void => {
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
      finish({
        kind: "untested",
        connected,
        code: "ETIMEDOUT",
        message: `${phase} with ${host}:${port} timed out after ${timeoutInMs} ms`,
      });
    }, timeoutInMs);
    abortSignal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      connected = true;
    });
    socket.once("secureConnect", () => {
      const cipher = socket.getCipher();
      finish({
        kind: "accepted",
        protocol: socket.getProtocol() ?? "unknown",
        cipher: cipher.standardName ?? cipher.name,
        chain: peerChain(socket),
      });
    });
    socket.on("error", (error: NodeJS.ErrnoException) =>
      finish(classifyHandshakeError(error, connected)),
    );
  });
}
