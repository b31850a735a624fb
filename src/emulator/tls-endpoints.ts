/**
 * The estate's public TLS endpoints (`<seed>/tls/endpoints.json`): one real HTTPS server per
 * endpoint with exactly the seeded protocol versions and certificate, behind one SNI router per
 * Kubernetes Service.
 */

import { once } from "node:events";
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { SecureVersion } from "node:tls";
import { type CertificateAuthority, createCertificateAuthority } from "./certificates.js";
import { SeedError } from "./errors.js";
import type { ServiceOverride } from "./http-types.js";
import { parseSeedTime } from "./seed-time.js";
import { type SniRouterHandle, startSniRouter } from "./sni-router.js";

/** One started endpoint, reachable directly on `host:port`. */
export interface TlsEndpoint {
  name: string;
  /** The loopback address it listens on (a free port chosen at start). */
  host: string;
  port: number;
  hosts: string[];
  /** As seeded, e.g. `["TLSv1.2", "TLSv1.3"]`. */
  protocols: string[];
  /** The Kubernetes Service whose SNI router also reaches this endpoint, if any. */
  service?: { cluster: string; namespace: string; name: string };
  /**
   * Without a `service`: the stable address the estate names it by, its first host and port 443
   * (`connectTo` maps it to `host:port`). Endpoints behind a Service are named by the Service.
   */
  publicAddress?: { host: string; port: number };
}

/** The running endpoints and routers. */
export interface TlsEndpointsHandle {
  endpoints: TlsEndpoint[];
  /**
   * One per distinct `service`, sorted by cluster, namespace and name: the documentation address
   * its load balancer gets when the seed declares none (`192.0.2.1`, `192.0.2.2`, … in that order)
   * and the address of the Service's SNI router.
   */
  serviceOverrides: ServiceOverride[];
  /** `publicAddress` → `host:port` of each endpoint without a `service`, as `"name:443"` keys. */
  connectTo: Record<string, string>;
  /** Stops every endpoint and router and destroys their open connections. */
  close(): Promise<void>;
}

/** Options of {@link startTlsEndpoints}. */
export interface StartTlsEndpointsOptions {
  /** Issues certificates whose issuer is `emulator-ca`. */
  ca: CertificateAuthority;
  /** The estate's "now": relative times (`+10d`, `-90d`, `+12h`) count from it. */
  now: Date;
  /** Address every endpoint and router listens on (port 0 each). */
  host: string;
}

/** Protocol names in order; `TLSv1.0` is accepted as a spelling of Node's `TLSv1`. */
const PROTOCOLS: readonly SecureVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const ISSUERS = ["emulator-ca", "self-signed", "untrusted-ca"] as const;
const DEFAULT_NOT_BEFORE = "-30d";
const DEFAULT_NOT_AFTER = "+365d";
/** The port an endpoint without a `service` is named by (HTTPS). */
const PUBLIC_PORT = 443;
/** The documentation networks of RFC 5737, handed out to Services in order. */
const DOCUMENTATION_NETWORKS = ["192.0.2", "198.51.100", "203.0.113"];

/** The n-th (from 1) documentation address: 192.0.2.1 … 192.0.2.254, then 198.51.100.1, … */
export function documentationAddress(n: number): string {
  const network = DOCUMENTATION_NETWORKS[Math.floor((n - 1) / 254)];
  if (network === undefined || n < 1) throw new RangeError(`no documentation address number ${n}`);
  return `${network}.${((n - 1) % 254) + 1}`;
}

/** `host:port`, an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

interface ServiceRef {
  cluster: string;
  namespace: string;
  name: string;
}

interface EndpointSpec {
  name: string;
  hosts: string[];
  protocols: string[];
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  certificate: {
    issuer: (typeof ISSUERS)[number];
    names: string[];
    notBefore: Date;
    notAfter: Date;
    keySize: number | undefined;
  };
  hsts: string | undefined;
  service: ServiceRef | undefined;
}

/**
 * Validates `endpoints.json`, issues each endpoint's certificate and starts its HTTPS server
 * (answering every request with 200, plus `Strict-Transport-Security` when `hsts` is set), then
 * one SNI router per distinct `service` (in the order of cluster, namespace and name, each with the
 * next documentation address for its load balancer).
 *
 * `protocols` must be a contiguous range of versions (Node's TLS stack takes only a minimum and a
 * maximum), so `["TLSv1", "TLSv1.2"]` without `TLSv1.1` is refused. `certificate` and each of
 * its fields are optional: issuer `emulator-ca`, names = hosts, notBefore `-30d`, notAfter
 * `+365d`, keySize 2048. Times are ISO 8601 or `±<n>d` / `±<n>h` relative to `now`.
 *
 * @throws SeedError when the file is missing, not JSON or not in the format above; the message
 *   names the file and the JSON pointer of the offending value.
 */
export async function startTlsEndpoints(
  file: string,
  options: StartTlsEndpointsOptions,
): Promise<TlsEndpointsHandle> {
  const specs = parseEndpointsFile(file, options.now);
  let untrustedCa: CertificateAuthority | undefined;
  const servers: https.Server[] = [];
  const routers: SniRouterHandle[] = [];
  const close = async (): Promise<void> => {
    await Promise.all([
      ...routers.map((router) => router.close()),
      ...servers.map((server) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        return closed;
      }),
    ]);
  };

  try {
    const endpoints: TlsEndpoint[] = [];
    for (const spec of specs) {
      const { certificate } = spec;
      const issueOptions = {
        names: certificate.names,
        notBefore: certificate.notBefore,
        notAfter: certificate.notAfter,
        ...(certificate.keySize === undefined ? {} : { keySize: certificate.keySize }),
      };
      let issued: { certPem: string; keyPem: string };
      if (certificate.issuer === "emulator-ca") {
        issued = options.ca.issue(issueOptions);
      } else if (certificate.issuer === "self-signed") {
        issued = options.ca.issue({ ...issueOptions, selfSigned: true });
      } else {
        untrustedCa ??= createCertificateAuthority({
          commonName: "untrusted throwaway CA",
          now: options.now,
        });
        issued = untrustedCa.issue(issueOptions);
      }
      const server = https.createServer(
        {
          cert: issued.certPem,
          key: issued.keyPem,
          minVersion: spec.minVersion,
          maxVersion: spec.maxVersion,
          // Without SECLEVEL=0 OpenSSL 3 refuses the TLS 1.0/1.1 handshake signatures.
          ciphers: "DEFAULT:@SECLEVEL=0",
        },
        (request, response) => {
          request.resume();
          const headers: Record<string, string> = {
            "content-type": "text/plain; charset=utf-8",
            "x-emulator-endpoint": spec.name,
          };
          if (spec.hsts !== undefined) headers["strict-transport-security"] = spec.hsts;
          response.writeHead(200, headers);
          response.end(`${spec.name}\n`);
        },
      );
      // A client that gives up mid-handshake is the probe's business, not a server failure.
      server.on("tlsClientError", () => {});
      servers.push(server);
      server.listen(0, options.host);
      await once(server, "listening");
      endpoints.push({
        name: spec.name,
        host: options.host,
        port: (server.address() as AddressInfo).port,
        hosts: spec.hosts,
        protocols: spec.protocols,
        ...(spec.service !== undefined
          ? { service: { ...spec.service } }
          : { publicAddress: { host: spec.hosts[0] ?? "", port: PUBLIC_PORT } }),
      });
    }
    const connectTo: Record<string, string> = {};
    for (const endpoint of endpoints) {
      if (endpoint.publicAddress === undefined) continue;
      const { host, port } = endpoint.publicAddress;
      connectTo[hostPort(host, port)] = hostPort(endpoint.host, endpoint.port);
    }

    const serviceOverrides: ServiceOverride[] = [];
    const byService = new Map<
      string,
      { service: ServiceRef; ports: number[]; hosts: string[][] }
    >();
    specs.forEach((spec, index) => {
      if (spec.service === undefined) return;
      const key = JSON.stringify([spec.service.cluster, spec.service.namespace, spec.service.name]);
      const group = byService.get(key) ?? { service: spec.service, ports: [], hosts: [] };
      group.ports.push(endpoints[index]?.port ?? 0);
      group.hosts.push(spec.hosts);
      byService.set(key, group);
    });
    // Sorted, so that a Service's documentation address does not depend on the file's order.
    const order = (g: { service: ServiceRef }) => [
      g.service.cluster,
      g.service.namespace,
      g.service.name,
    ];
    const groups = [...byService.values()].sort((a, b) => {
      const [x, y] = [order(a), order(b)];
      const i = x.findIndex((part, n) => part !== y[n]);
      return i < 0 ? 0 : (x[i] as string) < (y[i] as string) ? -1 : 1;
    });
    for (const [index, group] of groups.entries()) {
      const router = await startSniRouter({
        host: options.host,
        routes: group.ports.map((port, i) => ({ port, hosts: group.hosts[i] ?? [] })),
      });
      routers.push(router);
      serviceOverrides.push({
        ...group.service,
        ip: documentationAddress(index + 1),
        connect: { host: options.host, port: router.port },
      });
    }
    return { endpoints, serviceOverrides, connectTo, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function parseEndpointsFile(file: string, now: Date): EndpointSpec[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new SeedError("cannot read the TLS endpoints file", file, { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new SeedError(`is not valid JSON (${(error as Error).message})`, file, { cause: error });
  }
  const fail = (pointer: string, expected: string): never => {
    throw new SeedError(`${pointer || "/"}: expected ${expected}`, file);
  };
  if (!isRecord(document)) return fail("", "an object with an `endpoints` array");
  const list = document.endpoints;
  if (!Array.isArray(list)) return fail("/endpoints", "an array");

  const names = new Set<string>();
  /** First host (lower-cased) → name, of the endpoints without a service. */
  const publicHosts = new Map<string, string>();
  return list.map((raw, index): EndpointSpec => {
    const at = `/endpoints/${index}`;
    if (!isRecord(raw)) return fail(at, "an object");
    const name = raw.name;
    if (typeof name !== "string" || name.length === 0) return fail(`${at}/name`, "a string");
    if (names.has(name)) return fail(`${at}/name`, `a unique name ("${name}" is repeated)`);
    names.add(name);
    const hosts = stringList(raw.hosts, `${at}/hosts`, fail);

    const protocols = stringList(raw.protocols, `${at}/protocols`, fail);
    const versions = protocols.map((protocol, i) => {
      const version = PROTOCOLS.indexOf((protocol === "TLSv1.0" ? "TLSv1" : protocol) as never);
      if (version < 0) fail(`${at}/protocols/${i}`, `one of ${PROTOCOLS.join(", ")}, TLSv1.0`);
      return version;
    });
    const lowest = Math.min(...versions);
    const highest = Math.max(...versions);
    if (new Set(versions).size !== highest - lowest + 1) {
      fail(`${at}/protocols`, "a contiguous range of versions (Node sets only a min and a max)");
    }

    const cert = raw.certificate ?? {};
    if (!isRecord(cert)) return fail(`${at}/certificate`, "an object");
    const issuer = cert.issuer ?? "emulator-ca";
    if (!ISSUERS.includes(issuer as never)) {
      return fail(`${at}/certificate/issuer`, `one of ${ISSUERS.join(", ")}`);
    }
    const certNames =
      cert.names === undefined ? hosts : stringList(cert.names, `${at}/certificate/names`, fail);
    const keySize = cert.keySize;
    if (
      keySize !== undefined &&
      (typeof keySize !== "number" || !Number.isInteger(keySize) || keySize < 512 || keySize > 8192)
    ) {
      return fail(`${at}/certificate/keySize`, "an integer from 512 to 8192");
    }

    const hsts = raw.hsts;
    if (hsts !== undefined && hsts !== null && (typeof hsts !== "string" || hsts.length === 0)) {
      return fail(`${at}/hsts`, "a header value or null");
    }

    let service: ServiceRef | undefined;
    if (raw.service !== undefined && raw.service !== null) {
      const s = raw.service;
      if (!isRecord(s)) return fail(`${at}/service`, "an object { cluster, namespace, name }");
      for (const field of ["cluster", "namespace", "name"] as const) {
        const value = s[field];
        if (typeof value !== "string" || value.length === 0) {
          fail(`${at}/service/${field}`, "a string");
        }
      }
      service = {
        cluster: String(s.cluster),
        namespace: String(s.namespace),
        name: String(s.name),
      };
    } else {
      // Without a Service the endpoint is named by its first host on port 443: one per name.
      const first = (hosts[0] ?? "").toLowerCase();
      const other = publicHosts.get(first);
      if (other !== undefined) {
        fail(
          `${at}/hosts/0`,
          `a first host no other endpoint without a service has ("${hosts[0]}" is that of "${other}")`,
        );
      }
      publicHosts.set(first, name);
    }

    return {
      name,
      hosts,
      protocols,
      minVersion: PROTOCOLS[lowest] ?? "TLSv1.2",
      maxVersion: PROTOCOLS[highest] ?? "TLSv1.3",
      certificate: {
        issuer: issuer as (typeof ISSUERS)[number],
        names: certNames,
        notBefore: parseTime(
          cert.notBefore ?? DEFAULT_NOT_BEFORE,
          now,
          `${at}/certificate/notBefore`,
          fail,
        ),
        notAfter: parseTime(
          cert.notAfter ?? DEFAULT_NOT_AFTER,
          now,
          `${at}/certificate/notAfter`,
          fail,
        ),
        keySize,
      },
      hsts: typeof hsts === "string" ? hsts : undefined,
      service,
    };
  });
}

type Fail = (pointer: string, expected: string) => never;

function stringList(value: unknown, pointer: string, fail: Fail): string[] {
  if (!Array.isArray(value) || value.length === 0) return fail(pointer, "a non-empty array");
  value.forEach((item, index) => {
    if (typeof item !== "string" || item.length === 0) fail(`${pointer}/${index}`, "a string");
  });
  return value as string[];
}

/** `±<n>d` or `±<n>h` relative to `now`, or an ISO 8601 date-time. */
function parseTime(value: unknown, now: Date, pointer: string, fail: Fail): Date {
  const time = typeof value === "string" ? parseSeedTime(value, now) : undefined;
  return time ?? fail(pointer, 'a time such as "+10d", "-90d", "+12h" or an ISO 8601 date-time');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
