/** Certificates from the emulator's CA as Node's TLS stack sees them: chain, SANs, validity window. */

import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
} from "../../../src/emulator/certificates.js";

const DAY_IN_MS = 24 * 60 * 60 * 1000;
const servers: tls.Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server)));
});

describe("createCertificateAuthority", () => {
  const ca = createCertificateAuthority({ commonName: "test CA" });
  const now = new Date();

  it("issues a CA certificate with basicConstraints CA:TRUE", () => {
    const caCert = new X509Certificate(ca.caPem);

    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toContain("CN=test CA");
  });

  it("puts DNS names and IP addresses into subjectAltName", () => {
    const leaf = ca.issue({ names: ["localhost", "127.0.0.1"], notBefore: now, notAfter: now });

    const cert = new X509Certificate(leaf.certPem);

    expect(cert.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(ca.caPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.caPem).publicKey)).toBe(true);
  });

  it("takes notBefore and notAfter exactly as given", () => {
    const notBefore = new Date("2020-01-02T03:04:05Z");
    const notAfter = new Date("2021-06-07T08:09:10Z");

    const cert = new X509Certificate(
      ca.issue({ names: ["a.example"], notBefore, notAfter }).certPem,
    );

    expect(new Date(cert.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(cert.validTo).toISOString()).toBe(notAfter.toISOString());
  });

  it("gives every certificate its own serial number", () => {
    const serials = Array.from({ length: 5 }, () => {
      const leaf = ca.issue({ names: ["a.example"], notBefore: now, notAfter: now, keySize: 1024 });
      return new X509Certificate(leaf.certPem).serialNumber;
    });

    expect(new Set([...serials, new X509Certificate(ca.caPem).serialNumber]).size).toBe(6);
  });

  it("honours keySize", () => {
    const leaf = ca.issue({ names: ["a.example"], notBefore: now, notAfter: now, keySize: 1024 });

    const key = new X509Certificate(leaf.certPem).publicKey;

    expect(key.asymmetricKeyDetails?.modulusLength).toBe(1024);
  });

  it.each([
    ["valid", -1, 10, null],
    ["expired", -90, -1, "CERT_HAS_EXPIRED"],
    ["not yet valid", 1, 90, "CERT_NOT_YET_VALID"],
  ])("a %s leaf verifies against the CA as %s", async (_case, fromDays, toDays, expected) => {
    const leaf = ca.issue({
      names: ["svc.example", "127.0.0.1"],
      notBefore: new Date(now.getTime() + fromDays * DAY_IN_MS),
      notAfter: new Date(now.getTime() + toDays * DAY_IN_MS),
    });

    const result = await handshake(leaf, ca, "svc.example");

    expect(result).toBe(expected);
  });

  it("a self-signed leaf does not verify against the CA", async () => {
    const leaf = ca.issue({
      names: ["self.example"],
      notBefore: new Date(now.getTime() - DAY_IN_MS),
      notAfter: new Date(now.getTime() + DAY_IN_MS),
      selfSigned: true,
    });

    const cert = new X509Certificate(leaf.certPem);

    expect(cert.issuer).toBe(cert.subject);
    expect(await handshake(leaf, ca, "self.example")).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
  });

  it("a leaf of another CA does not verify against this CA", async () => {
    const other = createCertificateAuthority({ commonName: "other CA" });
    const leaf = other.issue({
      names: ["other.example"],
      notBefore: new Date(now.getTime() - DAY_IN_MS),
      notAfter: new Date(now.getTime() + DAY_IN_MS),
    });

    expect(await handshake(leaf, other, "other.example")).toBeNull();
    expect(await handshake(leaf, ca, "other.example")).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("rejects an empty name", () => {
    expect(() => ca.issue({ names: [""], notBefore: now, notAfter: now })).toThrow(RangeError);
  });
});

/** Serves `leaf` on loopback and returns the client's authorization error code (null = trusted). */
async function handshake(
  leaf: IssuedCertificate,
  trust: CertificateAuthority,
  servername: string,
): Promise<string | null> {
  const server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (socket) => {
    socket.end();
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    servername,
    ca: trust.caPem,
    rejectUnauthorized: false,
  });
  await once(socket, "secureConnect");
  const error = socket.authorizationError;
  socket.destroy();
  if (error === null || error === undefined) return null;
  return typeof error === "string"
    ? error
    : ((error as NodeJS.ErrnoException).code ?? error.message);
}

function closeServer(server: tls.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
