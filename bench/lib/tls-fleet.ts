/**
 * A fleet of loopback TLS servers with mixed configurations for the TLS probe benchmark: protocol
 * ranges from TLS 1.0-only to TLS 1.3-only, weak and unusual cipher suites, and valid, expired,
 * self-signed, wrong-name, short-key and EC certificates, on Node's `tls` and `openssl s_server`.
 * Run as a script it starts the fleet in its own process (so that server handshakes do not share
 * the probing process's event loop), prints one `@@fleet` JSON line and stops when stdin closes.
 */

import { parseArgs } from "node:util";
import { createCertificateAuthority } from "../../src/emulator/certificates.js";
import {
  closeAllTestServers,
  hasOpenssl,
  opensslSelfSignedCertificate,
  type ServerCertificate,
  startNodeTlsServer,
  startOpensslServer,
  type TestServer,
} from "../../test/support/tls-servers.js";

/** The versions a fleet server can be configured with, oldest first. */
export const FLEET_VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;
type FleetVersion = (typeof FLEET_VERSIONS)[number];

/** The name every fleet certificate that is meant to match is issued for. */
export const FLEET_DOMAIN = "fleet.vigil.test";

type CertificateKind = "valid" | "expired" | "self-signed" | "wrong-name" | "rsa-1024" | "ec";

/** One kind of server of the fleet; the first endpoints are one of each, in this order. */
interface Archetype {
  label: string;
  min: FleetVersion;
  max: FleetVersion;
  /** Node cipher list (TLS 1.3 suites included); absent: `DEFAULT:@SECLEVEL=0`. */
  ciphers?: string;
  /** Serve with `openssl s_server` (where installed) instead of Node. */
  openssl?: boolean;
  /** Demand a client certificate (mutual TLS). */
  mutualTls?: boolean;
}

const ARCHETYPES: readonly Archetype[] = [
  { label: "1.0 only", min: "TLSv1", max: "TLSv1" },
  { label: "1.1 only, openssl s_server", min: "TLSv1.1", max: "TLSv1.1", openssl: true },
  {
    label: "1.0-1.1, AES128-SHA only",
    min: "TLSv1",
    max: "TLSv1.1",
    ciphers: "AES128-SHA:@SECLEVEL=0",
  },
  {
    label: "1.0-1.2, CAMELLIA only",
    min: "TLSv1",
    max: "TLSv1.2",
    ciphers: "CAMELLIA128-SHA:CAMELLIA256-SHA:@SECLEVEL=0",
  },
  { label: "1.0-1.3", min: "TLSv1", max: "TLSv1.3" },
  { label: "1.1-1.2, openssl s_server", min: "TLSv1.1", max: "TLSv1.2", openssl: true },
  {
    label: "1.1-1.3, NULL-SHA only below 1.3",
    min: "TLSv1.1",
    max: "TLSv1.3",
    ciphers: "NULL-SHA:@SECLEVEL=0",
  },
  {
    label: "1.2 only, anonymous ECDH only",
    min: "TLSv1.2",
    max: "TLSv1.2",
    ciphers: "AECDH-AES128-SHA:@SECLEVEL=0",
  },
  { label: "1.2-1.3", min: "TLSv1.2", max: "TLSv1.3" },
  {
    label: "1.3 only, AES-128-CCM only",
    min: "TLSv1.3",
    max: "TLSv1.3",
    ciphers: "TLS_AES_128_CCM_SHA256",
  },
  {
    label: "1.2-1.3, client certificate required",
    min: "TLSv1.2",
    max: "TLSv1.3",
    mutualTls: true,
  },
  { label: "1.0-1.3, openssl s_server", min: "TLSv1", max: "TLSv1.3", openssl: true },
];

/** The certificate kinds of the first archetypes; later endpoints take them round-robin. */
const CERTIFICATE_KINDS: readonly CertificateKind[] = [
  "valid",
  "valid",
  "expired",
  "self-signed",
  "wrong-name",
  "rsa-1024",
  "valid",
  "valid",
  "ec",
  "valid",
  "valid",
  "valid",
];

/** One endpoint of the fleet, as the benchmark sees it. */
export interface FleetEndpoint {
  /** The DNS name probed (SNI and id); the socket goes to `host`:`port`. */
  name: string;
  host: string;
  port: number;
  label: string;
  server: "node" | "openssl";
  certificate: CertificateKind;
  /** Versions the server was configured to accept: the ground truth. */
  configured: Record<FleetVersion, boolean>;
}

/** A running fleet. */
export interface TlsFleet {
  endpoints: FleetEndpoint[];
  /** The CA the valid, expired, wrong-name and short-key certificates chain to (PEM). */
  caPem: string;
  close(): Promise<void>;
}

/** Options of {@link startTlsFleet}. */
export interface StartTlsFleetOptions {
  count: number;
  /** How many of the endpoints (at most) run `openssl s_server`; default 3. */
  opensslServers?: number;
}

const DAY_IN_MS = 24 * 60 * 60 * 1000;

/**
 * Start `count` servers. The first twelve are one of each archetype, later ones repeat the
 * archetypes on Node with the certificate kinds round-robin.
 * @throws Error when a server does not start.
 */
export async function startTlsFleet(options: StartTlsFleetOptions): Promise<TlsFleet> {
  const ca = createCertificateAuthority({ commonName: "vigil bench fleet CA" });
  const clientCa = createCertificateAuthority({ commonName: "vigil bench client CA" });
  const now = Date.now();
  const window = {
    notBefore: new Date(now - 30 * DAY_IN_MS),
    notAfter: new Date(now + 90 * DAY_IN_MS),
  };
  const names = [`*.${FLEET_DOMAIN}`];
  const certificates: Record<CertificateKind, ServerCertificate> = {
    valid: ca.issue({ names, ...window }),
    expired: ca.issue({
      names,
      notBefore: new Date(now - 400 * DAY_IN_MS),
      notAfter: new Date(now - 35 * DAY_IN_MS),
    }),
    "self-signed": ca.issue({ names, ...window, selfSigned: true }),
    "wrong-name": ca.issue({ names: ["intranet.other.test"], ...window }),
    "rsa-1024": ca.issue({ names, ...window, keySize: 1024 }),
    ec: hasOpenssl
      ? opensslSelfSignedCertificate("ec", names)
      : ca.issue({ names, ...window, selfSigned: true }),
  };
  let opensslLeft = hasOpenssl ? (options.opensslServers ?? 3) : 0;
  const endpoints: FleetEndpoint[] = [];
  const servers: TestServer[] = [];
  try {
    for (let index = 0; index < options.count; index++) {
      const archetype = ARCHETYPES[index % ARCHETYPES.length] as Archetype;
      const certificateKind = CERTIFICATE_KINDS[
        index < ARCHETYPES.length ? index : index % CERTIFICATE_KINDS.length
      ] as CertificateKind;
      const certificate = certificates[certificateKind];
      const useOpenssl = archetype.openssl === true && opensslLeft > 0;
      let server: TestServer;
      if (useOpenssl) {
        opensslLeft -= 1;
        server = await startOpensslServer({
          certificate,
          protocolArgs: ["-min_protocol", archetype.min, "-max_protocol", archetype.max],
        });
      } else {
        server = await startNodeTlsServer({
          certificate,
          minVersion: archetype.min,
          maxVersion: archetype.max,
          ...(archetype.ciphers !== undefined ? { ciphers: archetype.ciphers } : {}),
          ...(archetype.mutualTls ? { requireClientCertificateFrom: clientCa.caPem } : {}),
        });
      }
      servers.push(server);
      const low = FLEET_VERSIONS.indexOf(archetype.min);
      const high = FLEET_VERSIONS.indexOf(archetype.max);
      const configured = Object.fromEntries(
        FLEET_VERSIONS.map((version, at) => [version, at >= low && at <= high]),
      ) as Record<FleetVersion, boolean>;
      endpoints.push({
        name: `ep-${String(index + 1).padStart(3, "0")}.${FLEET_DOMAIN}`,
        host: server.host,
        port: server.port,
        label: archetype.label,
        server: useOpenssl ? "openssl" : "node",
        certificate: certificateKind,
        configured,
      });
    }
  } catch (error) {
    await closeAllTestServers();
    throw error;
  }
  return { endpoints, caPem: ca.caPem, close: () => closeAllTestServers() };
}

/** The line prefix the script prints its endpoints after. */
export const FLEET_MARKER = "@@fleet ";

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { count: { type: "string", default: "200" } } });
  const fleet = await startTlsFleet({ count: Number(values.count) });
  process.stdout.write(
    `${FLEET_MARKER}${JSON.stringify({ endpoints: fleet.endpoints, caPem: fleet.caPem })}\n`,
  );
  process.stdin.resume();
  process.stdin.once("end", () => {
    void fleet.close().then(() => process.exit(0));
  });
}
