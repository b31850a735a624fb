/**
 * The live TLS probe of one endpoint: which protocol versions it completes a handshake at, what
 * it negotiates when free to choose, the certificate it presents and its HSTS header, as one
 * `vigil/TlsProbe` observation (docs/observations.md).
 */

import { isIP } from "node:net";
import { formatPath, type Gap, type Observation, type TlsTargetConfig } from "../../core/index.js";
import {
  type CertificateFacts,
  certificateFacts,
  createTrustStore,
  type TrustStore,
} from "./certificate.js";
import {
  ALL_CIPHERS,
  attemptHandshake,
  type HandshakeOutcome,
  TLS_VERSIONS,
  type TlsVersion,
} from "./handshake.js";
import { testVersion, type VersionOutcome } from "./hello.js";
import { type HstsFacts, readHsts } from "./hsts.js";

/** The observation type the probe produces. */
export const TLS_PROBE_TYPE = "vigil/TlsProbe";

const DEFAULT_TIMEOUT_IN_MS = 10_000;

/** Options of {@link probeTlsEndpoint}. */
export interface ProbeTlsEndpointOptions {
  /** PEM CA certificates trusted besides Node's bundled roots (`tls.rootCertificates`). */
  caPem?: string[];
  /** A trust store built once by the caller; takes precedence over `caPem`. */
  trustStore?: TrustStore;
  /** Limit of each connection attempt (connect and handshake, or the HTTP read), default 10 000. */
  timeoutInMs?: number;
  /**
   * Where every socket goes instead of the target's `host`:`port`, like curl's `--connect-to`;
   * the id, the document, the SNI, the Host header and messages keep the target's address.
   */
  connect?: { host: string; port: number };
  abortSignal?: AbortSignal;
  /** The time the observation is recorded as observed at (ISO 8601). */
  now: string;
}

/** `document` of a `vigil/TlsProbe`. */
export interface TlsProbeDocument {
  host: string;
  port: number;
  /** The server name sent, or `null` when none was (an address without `sni`). */
  sni: string | null;
  /** Per version, whether a handshake offering only that version completed; untested ones are absent (and a gap). */
  protocols?: Partial<Record<TlsVersion, boolean>>;
  negotiated?: { protocol: string; cipher: string };
  certificate?: CertificateFacts;
  /** `null` when no HTTP response could be read. */
  hsts?: HstsFacts | null;
}

/** The `tls://` id of an endpoint: the server name (or host) and port. */
export function tlsObservationId(target: TlsTargetConfig): string {
  const name = target.sni ?? target.host;
  return `tls://${name.includes(":") ? `[${name}]` : name}:${target.port}`;
}

/** The SNI to send: `sni` when given, else the host when it is a name, none for an address. */
function serverNameOf(target: TlsTargetConfig): string | undefined {
  if (target.sni !== undefined) return target.sni;
  return isIP(target.host) === 0 ? target.host : undefined;
}

/** The certificate facts, or the gap that stands for them when the server sent none or a malformed one. */
function readCertificate(
  chain: Parameters<typeof certificateFacts>[0],
  expectedName: string,
  store: TrustStore,
  address: string,
): { certificate: CertificateFacts } | { gap: Gap } {
  let certificate: CertificateFacts | undefined;
  try {
    certificate = certificateFacts(chain, expectedName, store);
  } catch (error) {
    // The DER reader is stricter than Node's parser (RFC 5280 time forms); a certificate it cannot
    // read is the server's problem and must not fail the whole probe.
    if (!(error instanceof RangeError)) throw error;
    const message = `certificate of ${address} could not be read: ${error.message}`;
    return { gap: { path: "certificate", code: "CertificateUnreadable", message } };
  }
  if (certificate === undefined) {
    const message = `${address} presented no certificate`;
    return { gap: { path: "certificate", code: "NoCertificate", message } };
  }
  return { certificate };
}

/**
 * Probe one endpoint, all at once: a handshake offering every version with `DEFAULT:@SECLEVEL=0`
 * (what the server picks, and its certificate), one ClientHello per version from TLS 1.0 to 1.3
 * offering only that version and every cipher suite (accepted when the ServerHello chooses it; see
 * {@link testVersion}), and an HTTPS GET / for HSTS. When the open handshake fails but a version was
 * accepted, one more handshake at that version offering every local suite reads the certificate.
 * A version that could not be tried (reset, close or timeout before any TLS answer, an answer not
 * in TLS) is left out of `protocols` and recorded as a gap, never reported as refused; when
 * nothing connects or nothing answers in TLS the observation carries an `error`. Never rejects for
 * a server problem; every socket is destroyed before it resolves.
 * @throws the abort reason when `abortSignal` aborts.
 * @throws TypeError when a `caPem` entry is not a PEM certificate.
 */
export async function probeTlsEndpoint(
  target: TlsTargetConfig,
  options: ProbeTlsEndpointOptions,
): Promise<Observation> {
  const { host, port } = target;
  const timeoutInMs = options.timeoutInMs ?? DEFAULT_TIMEOUT_IN_MS;
  const abortSignal = options.abortSignal;
  const store = options.trustStore ?? createTrustStore(options.caPem);
  const servername = serverNameOf(target);
  const attemptOptions = {
    timeoutInMs,
    ...(options.connect !== undefined ? { connect: options.connect } : {}),
    ...(abortSignal !== undefined ? { abortSignal } : {}),
  };
  const base = {
    id: tlsObservationId(target),
    type: TLS_PROBE_TYPE,
    scope: target.set ?? "tls",
  };
  const source = { api: "tls", apiVersion: "1", observedAt: options.now };
  const document: TlsProbeDocument = { host, port, sni: servername ?? null };
  const address = `${host}:${port}`;

  // The open handshake, one ClientHello per version and the HSTS read are independent: run them
  // together, so that a probe takes about one handshake's time.
  const [open, perVersion, hsts] = await Promise.all([
    attemptHandshake(host, port, servername, {
      minVersion: "TLSv1",
      maxVersion: "TLSv1.3",
      ...attemptOptions,
    }),
    Promise.all(
      TLS_VERSIONS.map((version) => testVersion(host, port, servername, version, attemptOptions)),
    ),
    readHsts(host, port, servername, attemptOptions),
  ]);
  if (open.kind === "untested" && !open.connected) {
    return { ...base, document, source, error: { code: open.code, message: open.message } };
  }

  const answered = perVersion.some((outcome) => outcome.kind !== "untested");
  if (open.kind === "untested" && !answered) {
    return {
      ...base,
      document,
      source,
      error: { code: open.code, message: `no TLS answer from ${address}: ${open.message}` },
    };
  }

  const gaps: Gap[] = [];
  const protocols: Partial<Record<TlsVersion, boolean>> = {};
  TLS_VERSIONS.forEach((version, index) => {
    const outcome = perVersion[index] as VersionOutcome;
    if (outcome.kind === "untested") {
      gaps.push({
        path: formatPath([
          { kind: "prop", name: "protocols", lower: "protocols" },
          { kind: "prop", name: version, lower: version.toLowerCase() },
        ]),
        code: outcome.code,
        message: `${version} handshake with ${address} could not be tested: ${outcome.message}`,
      });
    } else {
      protocols[version] = outcome.kind === "accepted";
    }
  });
  document.protocols = protocols;

  // The open handshake offers OpenSSL's DEFAULT suites, as common clients do. A server that shares
  // none of them with it (only CAMELLIA, NULL or anonymous suites; TLS 1.3 with CCM only) still
  // has a certificate to report: one more handshake at the newest accepted version offers every
  // suite the local library has.
  let completed: HandshakeOutcome = open;
  const newest = [...TLS_VERSIONS].reverse().find((version) => protocols[version] === true);
  if (open.kind !== "accepted" && newest !== undefined) {
    completed = await attemptHandshake(host, port, servername, {
      minVersion: newest,
      maxVersion: newest,
      ciphers: ALL_CIPHERS,
      ...attemptOptions,
    });
  }
  if (completed.kind === "accepted") {
    document.negotiated = { protocol: completed.protocol, cipher: completed.cipher };
    const facts = readCertificate(completed.chain, servername ?? host, store, address);
    if ("gap" in facts) gaps.push(facts.gap);
    else document.certificate = facts.certificate;
  } else {
    const failure = completed;
    const message = `no handshake with ${address} completed: ${failure.message}`;
    const code = failure.code;
    gaps.push({ path: "negotiated", code, message }, { path: "certificate", code, message });
  }
  document.hsts = hsts;

  return { ...base, document, source, ...(gaps.length > 0 ? { gaps } : {}) };
}
