/** The DER reader: signature algorithm OIDs and names, validity times, malformed input. */

import { X509Certificate } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  decodeObjectIdentifier,
  decodeTime,
  signatureAlgorithmName,
  signatureAlgorithmOid,
  validityOf,
} from "../../../../src/collectors/tls/der.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
} from "../../../../src/emulator/certificates.js";

/** DER length octets (short form below 128, long form above). */
function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, content: number[]): number[] {
  return [tag, ...length(content.length), ...content];
}

/** Encode a dotted OID's content octets (X.690 §8.19), the reference the decoder is checked against. */
function oidContent(dotted: string): number[] {
  const arcs = dotted.split(".").map(BigInt);
  const values = [(arcs[0] as bigint) * 40n + (arcs[1] as bigint), ...arcs.slice(2)];
  const out: number[] = [];
  for (const value of values) {
    const septets: number[] = [];
    let rest = value;
    do {
      septets.unshift(Number(rest & 0x7fn));
      rest >>= 7n;
    } while (rest > 0n);
    out.push(...septets.map((septet, i) => (i < septets.length - 1 ? septet | 0x80 : septet)));
  }
  return out;
}

/** A Certificate SEQUENCE whose TBSCertificate holds `fillerSize` filler bytes, with the given algorithm. */
function certificateWith(oid: string, fillerSize = 2): Uint8Array {
  const tbs = tlv(0x30, tlv(0x04, new Array<number>(fillerSize).fill(0x41)));
  const algorithm = tlv(0x30, [...tlv(0x06, oidContent(oid)), 0x05, 0x00]);
  const signature = tlv(0x03, [0x00, 0x01, 0x02]);
  return Uint8Array.from(tlv(0x30, [...tbs, ...algorithm, ...signature]));
}

let ca: CertificateAuthority;

beforeAll(() => {
  ca = createCertificateAuthority({ commonName: "der test CA" });
});

describe("signatureAlgorithmName", () => {
  it.each([
    ["1.2.840.113549.1.1.11", "sha256WithRSAEncryption"],
    ["1.2.840.113549.1.1.12", "sha384WithRSAEncryption"],
    ["1.2.840.113549.1.1.13", "sha512WithRSAEncryption"],
    ["1.2.840.113549.1.1.5", "sha1WithRSAEncryption"],
    ["1.2.840.113549.1.1.4", "md5WithRSAEncryption"],
    ["1.2.840.113549.1.1.10", "rsassaPss"],
    ["1.2.840.10045.4.3.2", "ecdsa-with-SHA256"],
    ["1.2.840.10045.4.3.3", "ecdsa-with-SHA384"],
    ["1.2.840.10045.4.1", "ecdsa-with-SHA1"],
    ["1.3.101.112", "ED25519"],
    ["2.16.840.1.101.3.4.3.2", "dsa_with_SHA256"],
  ])("names %s as %s", (oid, name) => {
    const der = certificateWith(oid);

    expect(signatureAlgorithmName(der)).toBe(name);
  });

  it("returns the dotted OID of an algorithm it has no name for", () => {
    const der = certificateWith("1.2.3.4.5.99999");

    expect(signatureAlgorithmName(der)).toBe("1.2.3.4.5.99999");
  });

  it("reads past a TBSCertificate with a long-form length", () => {
    const der = certificateWith("1.2.840.10045.4.3.2", 1000);

    expect(signatureAlgorithmName(der)).toBe("ecdsa-with-SHA256");
  });

  it("names the algorithm of a certificate signed by the emulator CA", () => {
    const { certPem } = ca.issue({
      names: ["a.example"],
      notBefore: new Date("2026-01-01T00:00:00Z"),
      notAfter: new Date("2027-01-01T00:00:00Z"),
    });

    expect(signatureAlgorithmName(new X509Certificate(certPem).raw)).toBe(
      "sha256WithRSAEncryption",
    );
  });

  it.each([
    ["an empty buffer", []],
    ["a truncated SEQUENCE", [0x30, 0x10, 0x30]],
    ["an indefinite length", [0x30, 0x80, 0x00, 0x00]],
    ["a non-SEQUENCE", [0x04, 0x01, 0x00]],
    ["a Certificate without algorithm", tlv(0x30, tlv(0x30, []))],
    ["an algorithm that is not an OID", tlv(0x30, [...tlv(0x30, []), ...tlv(0x30, tlv(0x05, []))])],
  ])("throws RangeError for %s", (_name, bytes) => {
    expect(() => signatureAlgorithmOid(Uint8Array.from(bytes))).toThrow(RangeError);
  });
});

describe("decodeObjectIdentifier", () => {
  it.each([
    [[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b], "1.2.840.113549.1.1.11"],
    [[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02], "2.16.840.1.101.3.4.3.2"],
    [[0x2b, 0x65, 0x70], "1.3.101.112"],
    [[0x00], "0.0"],
  ])("decodes %j as %s", (bytes, dotted) => {
    expect(decodeObjectIdentifier(Uint8Array.from(bytes))).toBe(dotted);
  });

  it("decodes what the reference encoder encodes", () => {
    const oid = fc
      .tuple(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 39 }),
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 70n }), { maxLength: 8 }),
      )
      .map(([a, b, rest]) => [a, b, ...rest].join("."));

    fc.assert(
      fc.property(
        oid,
        (dotted) => decodeObjectIdentifier(Uint8Array.from(oidContent(dotted))) === dotted,
      ),
    );
  });

  it.each([
    ["empty", []],
    ["truncated", [0x2a, 0x86]],
  ])("throws RangeError when %s", (_name, bytes) => {
    expect(() => decodeObjectIdentifier(Uint8Array.from(bytes))).toThrow(RangeError);
  });
});

describe("decodeTime", () => {
  it.each([
    [0x17, "261102064051Z", "2026-11-02T06:40:51Z"],
    [0x17, "491231235959Z", "2049-12-31T23:59:59Z"],
    [0x17, "500101000000Z", "1950-01-01T00:00:00Z"],
    [0x18, "20510101000000Z", "2051-01-01T00:00:00Z"],
  ])("decodes tag 0x%s %s as %s (RFC 5280 §4.1.2.5)", (tag, text, iso) => {
    expect(decodeTime(tag, text)).toBe(iso);
  });

  it.each([
    [0x17, "2611020640Z"],
    [0x17, "261102064051+0100"],
    [0x18, "20261102064051.5Z"],
    [0x04, "261102064051Z"],
  ])("throws RangeError for tag 0x%s %s", (tag, text) => {
    expect(() => decodeTime(tag, text)).toThrow(RangeError);
  });
});

describe("validityOf", () => {
  it("reads notBefore and notAfter, UTCTime and GeneralizedTime alike", () => {
    const { certPem } = ca.issue({
      names: ["a.example"],
      notBefore: new Date("2026-09-01T12:30:00Z"),
      notAfter: new Date("2051-03-01T00:00:00Z"),
    });

    expect(validityOf(new X509Certificate(certPem).raw)).toEqual({
      notBefore: "2026-09-01T12:30:00Z",
      notAfter: "2051-03-01T00:00:00Z",
    });
  });

  it("reads the CA certificate's validity too", () => {
    const certificate = new X509Certificate(ca.caPem);

    const { notBefore, notAfter } = validityOf(certificate.raw);

    expect(new Date(notBefore).getTime()).toBe(new Date(certificate.validFrom).getTime());
    expect(new Date(notAfter).getTime()).toBe(new Date(certificate.validTo).getTime());
  });
});
