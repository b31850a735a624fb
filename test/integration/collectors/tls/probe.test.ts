/**
 * probeTlsEndpoint against real Node TLS servers on loopback: accepted and refused protocol
 * versions, certificate facts and trust, HSTS, and endpoints that cannot be probed.
 */

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { probeTlsEndpoint, type TlsProbeDocument } from "../../../../src/collectors/tls/index.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from "../../../../src/emulator/certificates.js";
import {
  clientHelloVersion,
  closeAllTestServers,
  hasOpenssl,
  opensslSelfSignedCertificate,
  startNodeTlsServer,
  startResettingProxy,
  startResettingServer,
  startSilentServer,
  unusedPort,
} from "../../../support/tls-servers.js";

const NOW = "2026-11-23T06:00:00Z";
const HOST = "portal.hollinsford.example";

let ca: CertificateAuthority;
let valid: IssuedCertificate;

function issue(overrides: Partial<Parameters<CertificateAuthority["issue"]>[0]> = {}) {
  return ca.issue({
    names: [HOST],
    notBefore: new Date("2026-09-01T00:00:00Z"),
    notAfter: new Date("2027-03-01T00:00:00Z"),
    ...overrides,
  });
}

function documentOf(observation: { document?: unknown }): TlsProbeDocument {
  return observation.document as TlsProbeDocument;
}

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: "vigil test CA" });
  valid = issue();
});

afterEach(async () => {
  await closeAllTestServers();
});

afterAll(async () => {
  await closeAllTestServers();
});

describe("probeTlsEndpoint", () => {
  describe("protocols", () => {
    it("reports TLS 1.0 and 1.1 accepted when the server accepts them", async () => {
      const server = await startNodeTlsServer({
        certificate: valid,
        minVersion: "TLSv1",
        maxVersion: "TLSv1.1",
      });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).protocols).toEqual({
        TLSv1: true,
        "TLSv1.1": true,
        "TLSv1.2": false,
        "TLSv1.3": false,
      });
      expect(documentOf(observation).negotiated?.protocol).toBe("TLSv1.1");
      expect(observation.gaps).toBeUndefined();
      expect(observation.error).toBeUndefined();
    });

    it("reports only TLS 1.2 and 1.3 accepted for a server with Node's default range", async () => {
      const server = await startNodeTlsServer({ certificate: valid });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).protocols).toEqual({
        TLSv1: false,
        "TLSv1.1": false,
        "TLSv1.2": true,
        "TLSv1.3": true,
      });
      expect(documentOf(observation).negotiated).toEqual({
        protocol: "TLSv1.3",
        cipher: expect.stringMatching(/^TLS_AES_|^TLS_CHACHA20_/),
      });
    });

    it("reports only TLS 1.3 accepted for a TLS 1.3-only server", async () => {
      const server = await startNodeTlsServer({
        certificate: valid,
        minVersion: "TLSv1.3",
        maxVersion: "TLSv1.3",
      });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).protocols).toEqual({
        TLSv1: false,
        "TLSv1.1": false,
        "TLSv1.2": false,
        "TLSv1.3": true,
      });
    });

    it("produces the documented observation shape, id, scope and source", async () => {
      const server = await startNodeTlsServer({
        certificate: valid,
        hsts: "max-age=31536000; includeSubDomains",
      });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST, set: "tls-endpoints-prod" },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(observation).toEqual({
        id: `tls://${HOST}:${server.port}`,
        type: "vigil/TlsProbe",
        scope: "tls-endpoints-prod",
        document: {
          host: "127.0.0.1",
          port: server.port,
          sni: HOST,
          protocols: { TLSv1: false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": true },
          negotiated: { protocol: "TLSv1.3", cipher: expect.any(String) },
          certificate: {
            subject: `CN=${HOST}`,
            issuer: "CN=vigil test CA",
            subjectAltNames: [`DNS:${HOST}`],
            notBefore: "2026-09-01T00:00:00Z",
            notAfter: "2027-03-01T00:00:00Z",
            keyType: "RSA",
            keySize: 2048,
            signatureAlgorithm: "sha256WithRSAEncryption",
            chainValid: true,
            chainError: null,
            hostnameMatch: true,
          },
          hsts: { present: true, maxAgeSeconds: 31536000, includeSubDomains: true },
        },
        source: { api: "tls", apiVersion: "1", observedAt: NOW },
      });
    });
  });

  describe("certificate", () => {
    it("reports an expired certificate's notAfter and keeps chainValid about trust only", async () => {
      const expired = issue({
        notBefore: new Date("2024-01-01T00:00:00Z"),
        notAfter: new Date("2025-01-01T00:00:00Z"),
      });
      const server = await startNodeTlsServer({ certificate: expired });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).certificate).toMatchObject({
        notBefore: "2024-01-01T00:00:00Z",
        notAfter: "2025-01-01T00:00:00Z",
        chainValid: true,
        chainError: null,
        hostnameMatch: true,
      });
    });

    it("reports hostnameMatch false when the certificate names another host", async () => {
      const server = await startNodeTlsServer({ certificate: issue({ names: ["other.example"] }) });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).certificate).toMatchObject({
        subjectAltNames: ["DNS:other.example"],
        hostnameMatch: false,
        chainValid: true,
      });
    });

    it("matches a wildcard name for one label only", async () => {
      const server = await startNodeTlsServer({
        certificate: issue({ names: ["*.hollinsford.example"] }),
      });

      const direct = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );
      const deeper = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: `a.${HOST}` },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(direct).certificate?.hostnameMatch).toBe(true);
      expect(documentOf(deeper).certificate?.hostnameMatch).toBe(false);
    });

    it("matches an address target without SNI against the IP subjectAltName", async () => {
      const server = await startNodeTlsServer({ certificate: issue({ names: ["127.0.0.1"] }) });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(observation.id).toBe(`tls://127.0.0.1:${server.port}`);
      expect(documentOf(observation).sni).toBeNull();
      expect(documentOf(observation).certificate).toMatchObject({
        subjectAltNames: ["IP:127.0.0.1"],
        hostnameMatch: true,
      });
    });

    it("reports a self-signed certificate as chainValid false with SELF_SIGNED", async () => {
      const server = await startNodeTlsServer({ certificate: issue({ selfSigned: true }) });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).certificate).toMatchObject({
        subject: `CN=${HOST}`,
        issuer: `CN=${HOST}`,
        chainValid: false,
        chainError: "SELF_SIGNED",
        hostnameMatch: true,
      });
    });

    it("reports a certificate from an unknown CA as ISSUER_NOT_FOUND when only the leaf is sent", async () => {
      const unknown = createCertificateAuthority({ commonName: "unknown CA" });
      const server = await startNodeTlsServer({
        certificate: unknown.issue({
          names: [HOST],
          notBefore: new Date("2026-09-01T00:00:00Z"),
          notAfter: new Date("2027-03-01T00:00:00Z"),
        }),
      });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).certificate).toMatchObject({
        issuer: "CN=unknown CA",
        chainValid: false,
        chainError: "ISSUER_NOT_FOUND",
      });
    });

    it("reports a chain ending at an untrusted root the server sends as UNTRUSTED_ROOT", async () => {
      const unknown = createCertificateAuthority({ commonName: "unknown CA" });
      const server = await startNodeTlsServer({
        certificate: unknown.issue({
          names: [HOST],
          notBefore: new Date("2026-09-01T00:00:00Z"),
          notAfter: new Date("2027-03-01T00:00:00Z"),
        }),
        chainPem: [unknown.caPem],
      });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).certificate).toMatchObject({
        chainValid: false,
        chainError: "UNTRUSTED_ROOT",
      });
    });

    it("does not trust the test CA unless it is given", async () => {
      const server = await startNodeTlsServer({ certificate: valid });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { now: NOW },
      );

      expect(documentOf(observation).certificate).toMatchObject({
        chainValid: false,
        chainError: "ISSUER_NOT_FOUND",
      });
    });

    it("reports an RSA key's size", async () => {
      const server = await startNodeTlsServer({ certificate: issue({ keySize: 3072 }) });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).certificate).toMatchObject({
        keyType: "RSA",
        keySize: 3072,
        signatureAlgorithm: "sha256WithRSAEncryption",
      });
    });

    it.runIf(hasOpenssl)(
      "reports an EC P-256 key and ecdsa-with-SHA256 (openssl-made certificate)",
      async () => {
        const server = await startNodeTlsServer({
          certificate: opensslSelfSignedCertificate("ec", ["ec.example"]),
        });

        const observation = await probeTlsEndpoint(
          { host: server.host, port: server.port, sni: "ec.example" },
          { now: NOW },
        );

        expect(documentOf(observation).certificate).toMatchObject({
          subject: "CN=ec.example, O=vigil tests",
          keyType: "EC",
          keySize: 256,
          signatureAlgorithm: "ecdsa-with-SHA256",
          chainValid: false,
          chainError: "SELF_SIGNED",
        });
      },
    );

    it.runIf(hasOpenssl)(
      "reports an Ed25519 key and signature (openssl-made certificate)",
      async () => {
        const server = await startNodeTlsServer({
          certificate: opensslSelfSignedCertificate("ed25519", ["ed.example"]),
          minVersion: "TLSv1.3",
        });

        const observation = await probeTlsEndpoint(
          { host: server.host, port: server.port, sni: "ed.example" },
          { now: NOW },
        );

        expect(documentOf(observation).certificate).toMatchObject({
          keyType: "Ed25519",
          keySize: 256,
          signatureAlgorithm: "ED25519",
        });
      },
    );
  });

  describe("hsts", () => {
    it("parses the Strict-Transport-Security header", async () => {
      const server = await startNodeTlsServer({ certificate: valid, hsts: "max-age=300" });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).hsts).toEqual({
        present: true,
        maxAgeSeconds: 300,
        includeSubDomains: false,
      });
    });

    it("reports HSTS absent when the response has no such header", async () => {
      const server = await startNodeTlsServer({ certificate: valid });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).hsts).toEqual({
        present: false,
        maxAgeSeconds: null,
        includeSubDomains: false,
      });
    });

    it("reports hsts null when the server answers no HTTP", async () => {
      const server = await startNodeTlsServer({ certificate: valid, http: false });

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { caPem: [ca.caPem], now: NOW },
      );

      expect(documentOf(observation).hsts).toBeNull();
      expect(documentOf(observation).protocols?.["TLSv1.3"]).toBe(true);
    });
  });

  describe("connect (tls.connectTo)", () => {
    it("opens every socket at the mapped address yet reports the probed one", async () => {
      let connections = 0;
      const hosts: (string | undefined)[] = [];
      const server = await startNodeTlsServer({
        certificate: valid,
        minVersion: "TLSv1.2",
        hsts: "max-age=600",
        onConnection: () => {
          connections += 1;
        },
        onRequest: (host) => hosts.push(host),
      });

      // 192.0.2.10 is a documentation address: nothing answers there.
      const observation = await probeTlsEndpoint(
        { host: "192.0.2.10", port: 443, sni: HOST, set: "edge" },
        {
          caPem: [ca.caPem],
          now: NOW,
          timeoutInMs: 3000,
          connect: { host: server.host, port: server.port },
        },
      );

      expect(observation.id).toBe(`tls://${HOST}:443`);
      expect(observation.scope).toBe("edge");
      expect(observation.error).toBeUndefined();
      expect(observation.gaps).toBeUndefined();
      expect(documentOf(observation)).toMatchObject({
        host: "192.0.2.10",
        port: 443,
        sni: HOST,
        protocols: { TLSv1: false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": true },
        certificate: { subject: `CN=${HOST}`, chainValid: true, hostnameMatch: true },
        hsts: { present: true, maxAgeSeconds: 600, includeSubDomains: false },
      });
      // The open handshake, one per version and the HSTS GET all reached the mapped server, the
      // GET with the probed name in its Host header (port 443 left out).
      expect(connections).toBe(6);
      expect(hosts).toEqual([HOST]);
    });

    it("names the probed address, not the mapped one, when nothing answers there", async () => {
      const port = await unusedPort();

      const observation = await probeTlsEndpoint(
        { host: "192.0.2.10", port: 8443, sni: HOST },
        { now: NOW, timeoutInMs: 3000, connect: { host: "127.0.0.1", port } },
      );

      expect(observation.id).toBe(`tls://${HOST}:8443`);
      expect(observation.error?.code).toBe("ECONNREFUSED");
      expect(documentOf(observation)).toEqual({ host: "192.0.2.10", port: 8443, sni: HOST });
    });
  });

  describe("endpoints that cannot be probed", () => {
    it("reports an error observation, no protocols, when nothing listens", async () => {
      const port = await unusedPort();

      const observation = await probeTlsEndpoint(
        { host: "127.0.0.1", port, sni: HOST, set: "tls-endpoints-prod" },
        { now: NOW },
      );

      expect(observation).toEqual({
        id: `tls://${HOST}:${port}`,
        type: "vigil/TlsProbe",
        scope: "tls-endpoints-prod",
        document: { host: "127.0.0.1", port, sni: HOST },
        source: { api: "tls", apiVersion: "1", observedAt: NOW },
        error: { code: "ECONNREFUSED", message: expect.stringContaining("ECONNREFUSED") },
      });
    });

    it.each([
      { version: "TLSv1", clientVersion: 0x0301, path: "protocols.TLSv1" },
      { version: "TLSv1.1", clientVersion: 0x0302, path: "protocols['TLSv1.1']" },
    ] as const)(
      "leaves $version out of protocols and records a gap when its handshake is reset before any answer",
      async ({ version, clientVersion, path }) => {
        const upstream = await startNodeTlsServer({
          certificate: valid,
          minVersion: "TLSv1",
          maxVersion: "TLSv1.3",
        });
        const proxy = await startResettingProxy(
          upstream,
          (hello) => clientHelloVersion(hello) === clientVersion,
        );

        const observation = await probeTlsEndpoint(
          { host: proxy.host, port: proxy.port, sni: HOST },
          { caPem: [ca.caPem], now: NOW },
        );

        const protocols = documentOf(observation).protocols ?? {};
        expect(Object.keys(protocols)).not.toContain(version);
        expect(Object.values(protocols)).toEqual([true, true, true]);
        expect(observation.gaps).toEqual([
          { path, code: "ECONNRESET", message: expect.stringContaining("could not be tested") },
        ]);
        expect(observation.error).toBeUndefined();
        expect(documentOf(observation).certificate?.chainValid).toBe(true);
      },
    );

    it("reports an error observation when every connection is reset before any TLS answer", async () => {
      const server = await startResettingServer();

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { now: NOW },
      );

      expect(observation.error?.code).toBe("ECONNRESET");
      expect(documentOf(observation).protocols).toBeUndefined();
    });

    it("reports an error observation when the server never answers within the timeout", async () => {
      const server = await startSilentServer();

      const observation = await probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { now: NOW, timeoutInMs: 300 },
      );

      expect(observation.error).toEqual({
        code: "ETIMEDOUT",
        message: expect.stringContaining("TLS handshake"),
      });
      expect(documentOf(observation).protocols).toBeUndefined();
    });

    it("rejects with the abort reason when aborted, leaving no socket open", async () => {
      const server = await startSilentServer();
      const controller = new AbortController();
      const reason = new Error("stop");

      const probe = probeTlsEndpoint(
        { host: server.host, port: server.port, sni: HOST },
        { now: NOW, abortSignal: controller.signal },
      );
      controller.abort(reason);

      await expect(probe).rejects.toBe(reason);
    });
  });
});
