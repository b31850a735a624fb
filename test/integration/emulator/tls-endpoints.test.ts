/** The seeded TLS endpoints as a client sees them: protocol versions, certificates, SNI, HSTS. */

import { execFile } from "node:child_process";
import type { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls, { type SecureVersion } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority } from "../../../src/emulator/certificates.js";
import { SeedError } from "../../../src/emulator/errors.js";
import { readClientHello } from "../../../src/emulator/sni-router.js";
import {
  documentationAddress,
  startTlsEndpoints,
  type TlsEndpointsHandle,
} from "../../../src/emulator/tls-endpoints.js";

const NOW = new Date("2026-11-23T06:00:00Z");
const VERSIONS: SecureVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const SERVICE = { cluster: "aks-test", namespace: "traefik", name: "traefik" };
const ALWAYS = { notBefore: "2000-01-01T00:00:00Z", notAfter: "2099-01-01T00:00:00Z" };

const ca = createCertificateAuthority({ now: NOW });
const dir = mkdtempSync(join(tmpdir(), "vigil-tls-endpoints-"));
let handle: TlsEndpointsHandle;

const seed = {
  endpoints: [
    {
      name: "legacy",
      hosts: ["legacy.example"],
      protocols: ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
      certificate: { issuer: "emulator-ca", ...ALWAYS, keySize: 1024 },
      hsts: null,
      service: SERVICE,
    },
    {
      name: "portal",
      hosts: ["portal.example", "www.portal.example"],
      protocols: ["TLSv1.2", "TLSv1.3"],
      certificate: { issuer: "emulator-ca", ...ALWAYS, keySize: 1024 },
      hsts: "max-age=31536000; includeSubDomains",
      service: SERVICE,
    },
    {
      name: "mid",
      hosts: ["mid.example"],
      protocols: ["TLSv1.0", "TLSv1.1"],
      certificate: { notBefore: "-90d", notAfter: "+12h", keySize: 1024 },
    },
    { name: "modern", hosts: ["modern.example"], protocols: ["TLSv1.3"] },
    {
      name: "expired",
      hosts: ["expired.example"],
      protocols: ["TLSv1.2"],
      certificate: { notBefore: "2001-01-01T00:00:00Z", notAfter: "2002-01-01T00:00:00Z" },
    },
    {
      name: "future",
      hosts: ["future.example"],
      protocols: ["TLSv1.2"],
      certificate: { notBefore: "2090-01-01T00:00:00Z", notAfter: "2091-01-01T00:00:00Z" },
    },
    {
      name: "self",
      hosts: ["self.example"],
      protocols: ["TLSv1.2"],
      certificate: { issuer: "self-signed", ...ALWAYS },
    },
    {
      name: "stranger",
      hosts: ["stranger.example"],
      protocols: ["TLSv1.2"],
      certificate: { issuer: "untrusted-ca", ...ALWAYS },
    },
  ],
};

beforeAll(async () => {
  writeFileSync(join(dir, "endpoints.json"), JSON.stringify(seed));
  handle = await startTlsEndpoints(join(dir, "endpoints.json"), {
    ca,
    now: NOW,
    host: "127.0.0.1",
  });
});

afterAll(async () => {
  await handle?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("startTlsEndpoints", () => {
  it("lists every endpoint on its own loopback port", () => {
    expect(handle.endpoints.map((e) => e.name)).toEqual(seed.endpoints.map((e) => e.name));
    expect(new Set(handle.endpoints.map((e) => e.port)).size).toBe(seed.endpoints.length);
    expect(handle.endpoints[1]).toMatchObject({
      host: "127.0.0.1",
      hosts: ["portal.example", "www.portal.example"],
      protocols: ["TLSv1.2", "TLSv1.3"],
    });
  });

  it.each(["legacy", "portal", "mid", "modern"].flatMap((name) => VERSIONS.map((v) => [name, v])))(
    "%s answers a %s-only client exactly as its protocols say",
    async (name, version) => {
      const endpoint = endpointNamed(name);
      const accepts = endpoint.protocols.map((p) => (p === "TLSv1.0" ? "TLSv1" : p));

      const result = await connect(endpoint.port, `${name}.example`, {
        minVersion: version as SecureVersion,
        maxVersion: version as SecureVersion,
      });

      expect(result.protocol).toBe(accepts.includes(version) ? version : undefined);
    },
  );

  it.each([
    ["legacy", null],
    ["expired", "CERT_HAS_EXPIRED"],
    ["future", "CERT_NOT_YET_VALID"],
    ["self", "DEPTH_ZERO_SELF_SIGNED_CERT"],
    ["stranger", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
  ])("the %s certificate verifies against the emulator CA as %s", async (name, expected) => {
    const result = await connect(endpointNamed(name).port, `${name}.example`);

    expect(result.authorizationError).toBe(expected);
  });

  it("counts relative certificate times from the estate's now", async () => {
    const result = await connect(endpointNamed("mid").port, "mid.example", {
      minVersion: "TLSv1",
    });

    expect(new Date(result.certificate?.validFrom ?? "").toISOString()).toBe(
      "2026-08-25T06:00:00.000Z",
    );
    expect(new Date(result.certificate?.validTo ?? "").toISOString()).toBe(
      "2026-11-23T18:00:00.000Z",
    );
  });

  it("puts the hosts into the certificate's SANs by default", async () => {
    const result = await connect(endpointNamed("portal").port, "portal.example");

    expect(result.certificate?.subjectAltName).toBe("DNS:portal.example, DNS:www.portal.example");
  });

  it("returns one service override per Service: a documentation address and its SNI router", () => {
    expect(handle.serviceOverrides).toEqual([
      { ...SERVICE, ip: "192.0.2.1", connect: { host: "127.0.0.1", port: expect.any(Number) } },
    ]);
    expect(handle.endpoints.map((e) => e.port)).not.toContain(
      handle.serviceOverrides[0]?.connect.port,
    );
  });

  it("names each endpoint without a service by its first host on port 443, mapped to its port", () => {
    const mid = endpointNamed("mid");

    expect(mid.publicAddress).toEqual({ host: "mid.example", port: 443 });
    expect(endpointNamed("legacy").publicAddress).toBeUndefined();
    expect(handle.connectTo["mid.example:443"]).toBe(`127.0.0.1:${mid.port}`);
    expect(Object.keys(handle.connectTo).sort()).toEqual(
      ["expired", "future", "mid", "modern", "self", "stranger"].map((n) => `${n}.example:443`),
    );
  });

  it("hands out documentation addresses in order 192.0.2.1–254, then 198.51.100.x, 203.0.113.x", () => {
    expect([1, 2, 254, 255, 508, 509, 762].map(documentationAddress)).toEqual([
      "192.0.2.1",
      "192.0.2.2",
      "192.0.2.254",
      "198.51.100.1",
      "198.51.100.254",
      "203.0.113.1",
      "203.0.113.254",
    ]);
    expect(() => documentationAddress(763)).toThrow(RangeError);
    expect(() => documentationAddress(0)).toThrow(RangeError);
  });

  it.each([
    ["legacy.example", "legacy"],
    ["portal.example", "portal"],
    ["WWW.Portal.Example", "portal"],
    ["unknown.example", "legacy"],
  ])("the SNI router sends %s to the %s endpoint", async (servername, expected) => {
    const routerPort = handle.serviceOverrides[0]?.connect.port ?? 0;
    const direct = await connect(endpointNamed(expected).port, servername);

    const routed = await connect(routerPort, servername);
    const response = await get(routerPort, servername);

    expect(routed.certificate?.fingerprint256).toBe(direct.certificate?.fingerprint256);
    expect(response.headers["x-emulator-endpoint"]).toBe(expected);
  });

  it("gives the endpoints behind one router distinct certificates", async () => {
    const routerPort = handle.serviceOverrides[0]?.connect.port ?? 0;

    const legacy = await connect(routerPort, "legacy.example");
    const portal = await connect(routerPort, "portal.example");

    expect(legacy.certificate?.fingerprint256).not.toBe(portal.certificate?.fingerprint256);
    expect(legacy.certificate?.subjectAltName).toBe("DNS:legacy.example");
  });

  it("answers with 200 and Strict-Transport-Security when hsts is set", async () => {
    const response = await get(endpointNamed("portal").port, "portal.example");

    expect(response.status).toBe(200);
    expect(response.headers["strict-transport-security"]).toBe(
      "max-age=31536000; includeSubDomains",
    );
  });

  it("answers with 200 and no Strict-Transport-Security when hsts is null", async () => {
    const response = await get(endpointNamed("legacy").port, "legacy.example");

    expect(response.status).toBe(200);
    expect(response.headers["strict-transport-security"]).toBeUndefined();
  });

  it("negotiates TLS 1.1 with openssl s_client as well", async (context) => {
    const output = await opensslSClient(endpointNamed("mid").port, "mid.example");
    if (output === undefined) {
      context.skip("openssl is not on PATH");
      return;
    }

    expect(output).toMatch(/Protocol\s*:\s*TLSv1\.1/);
    expect(output).toMatch(/Cipher is (?!\(NONE\))/);
  });

  it("refuses a TLS 1.1 openssl s_client on a TLS 1.2+ endpoint", async (context) => {
    const output = await opensslSClient(endpointNamed("portal").port, "portal.example");
    if (output === undefined) {
      context.skip("openssl is not on PATH");
      return;
    }

    expect(output).toMatch(/Cipher is \(NONE\)/);
    expect(output).toContain("alert protocol version");
  });
});

describe("startTlsEndpoints with several Services", () => {
  it("assigns documentation addresses in the order of cluster, namespace and name", async () => {
    const file = join(dir, "services.json");
    const endpoint = (name: string, cluster: string, namespace: string) => ({
      name,
      hosts: [`${name}.example`],
      protocols: ["TLSv1.3"],
      service: { cluster, namespace, name: "traefik" },
    });
    writeFileSync(
      file,
      JSON.stringify({
        endpoints: [
          endpoint("z", "aks-b", "traefik"),
          endpoint("y", "aks-a", "traefik"),
          endpoint("x", "aks-a", "ingress"),
          endpoint("w", "aks-b", "traefik"),
        ],
      }),
    );

    const started = await startTlsEndpoints(file, { ca, now: NOW, host: "127.0.0.1" });
    try {
      expect(
        started.serviceOverrides.map((o) => [`${o.cluster}/${o.namespace}/${o.name}`, o.ip]),
      ).toEqual([
        ["aks-a/ingress/traefik", "192.0.2.1"],
        ["aks-a/traefik/traefik", "192.0.2.2"],
        ["aks-b/traefik/traefik", "192.0.2.3"],
      ]);
      expect(started.connectTo).toEqual({});
    } finally {
      await started.close();
    }
  });
});

describe("startTlsEndpoints with a bad seed", () => {
  it.each([
    [{ endpoints: {} }, "/endpoints: expected an array"],
    [
      { endpoints: [{ name: "a", hosts: ["a"], protocols: ["TLSv1", "TLSv1.2"] }] },
      "/endpoints/0/protocols: expected a contiguous range",
    ],
    [
      { endpoints: [{ name: "a", hosts: ["a"], protocols: ["TLSv1.2", "SSLv3"] }] },
      "/endpoints/0/protocols/1: expected one of",
    ],
    [
      { endpoints: [{ name: "a", hosts: [], protocols: ["TLSv1.2"] }] },
      "/endpoints/0/hosts: expected a non-empty array",
    ],
    [
      {
        endpoints: [
          { name: "a", hosts: ["a"], protocols: ["TLSv1.2"], certificate: { notAfter: "+10w" } },
        ],
      },
      "/endpoints/0/certificate/notAfter: expected a time",
    ],
    [
      {
        endpoints: [
          { name: "a", hosts: ["a"], protocols: ["TLSv1.2"], certificate: { issuer: "acme" } },
        ],
      },
      "/endpoints/0/certificate/issuer: expected one of",
    ],
    [
      {
        endpoints: [
          { name: "a", hosts: ["a"], protocols: ["TLSv1.2"] },
          { name: "a", hosts: ["b"], protocols: ["TLSv1.2"] },
        ],
      },
      "/endpoints/1/name: expected a unique name",
    ],
    [
      {
        endpoints: [
          { name: "a", hosts: ["a"], protocols: ["TLSv1.2"], service: { cluster: "c", name: "n" } },
        ],
      },
      "/endpoints/0/service/namespace: expected a string",
    ],
    [
      {
        endpoints: [
          { name: "a", hosts: ["a.example"], protocols: ["TLSv1.2"] },
          { name: "b", hosts: ["A.Example", "b.example"], protocols: ["TLSv1.2"] },
        ],
      },
      '/endpoints/1/hosts/0: expected a first host no other endpoint without a service has ("A.Example" is that of "a")',
    ],
  ])("throws SeedError naming the file and pointer (%#)", async (content, message) => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify(content));

    const started = startTlsEndpoints(file, { ca, now: NOW, host: "127.0.0.1" });

    await expect(started).rejects.toThrow(SeedError);
    await expect(started).rejects.toThrow(`${file}: ${message}`);
  });

  it("throws SeedError for a file that is not JSON", async () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ endpoints: ");

    await expect(startTlsEndpoints(file, { ca, now: NOW, host: "127.0.0.1" })).rejects.toThrow(
      SeedError,
    );
  });

  it("throws SeedError for a missing file", async () => {
    await expect(
      startTlsEndpoints(join(dir, "absent.json"), { ca, now: NOW, host: "127.0.0.1" }),
    ).rejects.toThrow(SeedError);
  });
});

describe("readClientHello", () => {
  it("waits for a ClientHello split across records and segments", () => {
    const hello = clientHelloRecord("split.example");
    const body = hello.subarray(5);
    const half = Math.floor(body.length / 2);
    const record = (fragment: Buffer): Buffer =>
      Buffer.concat([
        Buffer.from([22, 3, 1, fragment.length >> 8, fragment.length & 0xff]),
        fragment,
      ]);
    const split = Buffer.concat([record(body.subarray(0, half)), record(body.subarray(half))]);

    expect(readClientHello(split.subarray(0, split.length - 1))).toEqual({ kind: "incomplete" });
    expect(readClientHello(split)).toEqual({ kind: "complete", serverName: "split.example" });
  });

  it("reports a connection that does not start with a handshake", () => {
    expect(readClientHello(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "not-tls" });
  });
});

function endpointNamed(name: string): TlsEndpointsHandle["endpoints"][number] {
  const endpoint = handle.endpoints.find((e) => e.name === name);
  if (endpoint === undefined) throw new Error(`no endpoint ${name}`);
  return endpoint;
}

interface ConnectResult {
  protocol: string | undefined;
  authorizationError: string | null;
  certificate: X509Certificate | undefined;
}

/** Handshakes with the CA trusted; a refused handshake yields protocol undefined. */
async function connect(
  port: number,
  servername: string,
  versions: { minVersion?: SecureVersion; maxVersion?: SecureVersion } = {},
): Promise<ConnectResult> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    servername,
    ca: ca.caPem,
    rejectUnauthorized: false,
    ciphers: "DEFAULT:@SECLEVEL=0",
    ...versions,
  });
  const outcome = await new Promise<"connected" | "refused">((resolve) => {
    socket.once("secureConnect", () => resolve("connected"));
    socket.once("error", () => resolve("refused"));
  });
  if (outcome === "refused") {
    socket.destroy();
    return { protocol: undefined, authorizationError: null, certificate: undefined };
  }
  const error = socket.authorizationError as (Error & { code?: string }) | null;
  const raw = socket.getPeerX509Certificate();
  const result = {
    protocol: socket.getProtocol() ?? undefined,
    authorizationError: error === null ? null : (error.code ?? String(error)),
    certificate: raw,
  };
  socket.destroy();
  return result;
}

function get(
  port: number,
  servername: string,
): Promise<{ status: number | undefined; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      {
        host: "127.0.0.1",
        port,
        servername,
        ca: ca.caPem,
        path: "/",
        agent: false,
        // The fallback route serves a certificate for another name on purpose.
        checkServerIdentity: () => undefined,
      },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({ status: response.statusCode, headers: response.headers }),
        );
      },
    );
    request.on("error", reject);
  });
}

/** Runs `openssl s_client -tls1_1`; undefined when openssl is not installed. */
function opensslSClient(port: number, servername: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile(
      "openssl",
      [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-servername",
        servername,
        "-tls1_1",
        "-cipher",
        "DEFAULT:@SECLEVEL=0",
      ],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === "ENOENT") resolve(undefined);
        else resolve(`${stdout}\n${stderr}`);
      },
    );
    child.stdin?.end();
  });
}

/** A minimal TLS 1.2 ClientHello record carrying only the server_name extension. */
function clientHelloRecord(serverName: string): Buffer {
  const name = Buffer.from(serverName, "ascii");
  const sniEntry = Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 0xff]), name]);
  const sniList = Buffer.concat([u16(sniEntry.length), sniEntry]);
  const extension = Buffer.concat([u16(0), u16(sniList.length), sniList]);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32),
    Buffer.from([0]),
    u16(2),
    Buffer.from([0x00, 0x2f]),
    Buffer.from([1, 0]),
    u16(extension.length),
    extension,
  ]);
  const handshake = Buffer.concat([
    Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ]);
  return Buffer.concat([Buffer.from([22, 3, 1]), u16(handshake.length), handshake]);
}

function u16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}
