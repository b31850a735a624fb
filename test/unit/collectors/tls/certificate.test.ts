/** Chain verification without the clock, names, keys and host name matching of certificates. */

import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  certificateFacts,
  createTrustStore,
  hostnameMatches,
  keyFacts,
  subjectAltNames,
  type TrustStore,
  verifyChain,
} from "../../../../src/collectors/tls/certificate.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssueOptions,
} from "../../../../src/emulator/certificates.js";

let ca: CertificateAuthority;
let other: CertificateAuthority;
let store: TrustStore;

function leaf(authority: CertificateAuthority, overrides: Partial<IssueOptions> = {}) {
  const { certPem } = authority.issue({
    names: ["erp.hollinsford.example"],
    notBefore: new Date("2026-09-01T00:00:00Z"),
    notAfter: new Date("2027-03-01T00:00:00Z"),
    ...overrides,
  });
  return new X509Certificate(certPem);
}

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: "trusted CA" });
  other = createCertificateAuthority({ commonName: "other CA" });
  store = createTrustStore([ca.caPem]);
});

describe("verifyChain", () => {
  it("accepts a leaf issued by a trusted CA, whatever its validity dates", () => {
    const expired = leaf(ca, {
      notBefore: new Date("2001-01-01T00:00:00Z"),
      notAfter: new Date("2002-01-01T00:00:00Z"),
    });

    expect(verifyChain([expired], store)).toEqual({ chainValid: true, chainError: null });
  });

  it("accepts a chain that also carries the trusted root", () => {
    expect(verifyChain([leaf(ca), new X509Certificate(ca.caPem)], store)).toEqual({
      chainValid: true,
      chainError: null,
    });
  });

  it("accepts a self-signed leaf that is itself in the store", () => {
    const self = leaf(ca, { selfSigned: true });

    expect(verifyChain([self], createTrustStore([self.toString()]))).toEqual({
      chainValid: true,
      chainError: null,
    });
  });

  it("reports SELF_SIGNED for a self-signed leaf", () => {
    expect(verifyChain([leaf(ca, { selfSigned: true })], store)).toEqual({
      chainValid: false,
      chainError: "SELF_SIGNED",
    });
  });

  it("reports ISSUER_NOT_FOUND when no certificate issues the leaf", () => {
    expect(verifyChain([leaf(other)], store)).toEqual({
      chainValid: false,
      chainError: "ISSUER_NOT_FOUND",
    });
  });

  it("reports UNTRUSTED_ROOT when the chain ends at a self-signed root outside the store", () => {
    expect(verifyChain([leaf(other), new X509Certificate(other.caPem)], store)).toEqual({
      chainValid: false,
      chainError: "UNTRUSTED_ROOT",
    });
  });

  it("reports BAD_SIGNATURE when the issuer's key does not verify the leaf", () => {
    const genuine = leaf(other);
    const tampered = Buffer.from(genuine.raw);
    // The last byte belongs to the signature BIT STRING: names and key ids stay intact.
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0xff;

    const chain = [new X509Certificate(tampered), new X509Certificate(other.caPem)];

    expect(verifyChain(chain, store)).toEqual({ chainValid: false, chainError: "BAD_SIGNATURE" });
  });

  it("reports BAD_SIGNATURE when a leaf names a trusted CA that did not sign it", () => {
    const tampered = Buffer.from(leaf(ca).raw);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0xff;

    expect(verifyChain([new X509Certificate(tampered)], store)).toEqual({
      chainValid: false,
      chainError: "BAD_SIGNATURE",
    });
  });

  it("reports NO_CERTIFICATE for an empty chain", () => {
    expect(verifyChain([], store)).toEqual({ chainValid: false, chainError: "NO_CERTIFICATE" });
  });
});

describe("createTrustStore", () => {
  it("holds Node's bundled roots plus every certificate of the given PEM bundles", () => {
    const bundle = `${ca.caPem}\n${other.caPem}`;

    const withBundle = createTrustStore([bundle]);
    const plain = createTrustStore();

    expect(withBundle.anchors.length).toBe(plain.anchors.length + 2);
    expect(plain.anchors.length).toBeGreaterThan(50);
  });

  it.each([
    ["no certificate", "not a certificate"],
    [
      "a certificate that does not parse",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    ],
  ])("throws TypeError for a bundle with %s", (_name, bundle) => {
    expect(() => createTrustStore([bundle])).toThrow(TypeError);
  });
});

describe("subjectAltNames", () => {
  it.each([
    [undefined, []],
    ["", []],
    ["DNS:a.example", ["DNS:a.example"]],
    ["DNS:a.example, DNS:*.b.example", ["DNS:a.example", "DNS:*.b.example"]],
    ["DNS:a.example, IP Address:127.0.0.1", ["DNS:a.example", "IP:127.0.0.1"]],
    ["IP Address:0:0:0:0:0:0:0:1", ["IP:0:0:0:0:0:0:0:1"]],
    ['DNS:"a,b.example", DNS:c.example', ["DNS:a,b.example", "DNS:c.example"]],
    [
      "URI:https://a.example/x, email:x@a.example",
      ["URI:https://a.example/x", "email:x@a.example"],
    ],
  ])("splits %j", (text, entries) => {
    expect(subjectAltNames(text)).toEqual(entries);
  });
});

describe("keyFacts", () => {
  it.each([
    ["rsa", { modulusLength: 2048 }, { keyType: "RSA", keySize: 2048 }],
    ["ec", { namedCurve: "prime256v1" }, { keyType: "EC", keySize: 256 }],
    ["ec", { namedCurve: "secp384r1" }, { keyType: "EC", keySize: 384 }],
    ["ed25519", {}, { keyType: "Ed25519", keySize: 256 }],
    ["ed448", {}, { keyType: "Ed448", keySize: 448 }],
  ] as const)("reports a %s key %j as %j", (type, options, expected) => {
    const { publicKey } = generateKeyPairSync(type as "rsa", options as { modulusLength: number });

    expect(keyFacts(publicKey)).toEqual(expected);
  });
});

describe("hostnameMatches", () => {
  it.each([
    [["erp.hollinsford.example"], "erp.hollinsford.example", true],
    [["ERP.Hollinsford.Example"], "erp.hollinsford.example", true],
    [["other.example"], "erp.hollinsford.example", false],
    [["*.hollinsford.example"], "erp.hollinsford.example", true],
    [["*.hollinsford.example"], "a.erp.hollinsford.example", false],
    [["*.hollinsford.example"], "hollinsford.example", false],
    [["127.0.0.1"], "127.0.0.1", true],
    [["erp.hollinsford.example"], "127.0.0.1", false],
  ])("certificate for %j matches %s: %s", (names, host, expected) => {
    expect(hostnameMatches(leaf(ca, { names }), host)).toBe(expected);
  });

  it("ignores the subject CN when the certificate has no subjectAltName (as browsers do)", () => {
    const cnOnly = leaf(ca, { names: [], commonName: "erp.hollinsford.example" });

    expect(hostnameMatches(cnOnly, "erp.hollinsford.example")).toBe(false);
  });
});

describe("certificateFacts", () => {
  it("collects the document's certificate fields from the chain", () => {
    const certificate = leaf(ca);

    expect(certificateFacts([certificate], "erp.hollinsford.example", store)).toEqual({
      subject: "CN=erp.hollinsford.example",
      issuer: "CN=trusted CA",
      subjectAltNames: ["DNS:erp.hollinsford.example"],
      notBefore: "2026-09-01T00:00:00Z",
      notAfter: "2027-03-01T00:00:00Z",
      keyType: "RSA",
      keySize: 2048,
      signatureAlgorithm: "sha256WithRSAEncryption",
      chainValid: true,
      chainError: null,
      hostnameMatch: true,
    });
  });

  it("returns undefined for an empty chain", () => {
    expect(certificateFacts([], "erp.hollinsford.example", store)).toBeUndefined();
  });
});
