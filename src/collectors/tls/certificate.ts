/**
 * Certificate facts of a `vigil/TlsProbe` from the peer chain: names, validity, key, signature
 * algorithm, host name match, and a chain check against a trust store that ignores the clock
 * (time validity is for the controls to judge against the evaluation time).
 */

import { type KeyObject, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import { signatureAlgorithmName, validityOf } from "./der.js";

/** `document.certificate` of a `vigil/TlsProbe`. */
export interface CertificateFacts {
  /** Distinguished name, most specific first: `CN=R13, O=Let's Encrypt, C=US`. */
  subject: string;
  issuer: string;
  /** `DNS:name` and `IP:address` entries. */
  subjectAltNames: string[];
  /** ISO 8601 UTC without fractions. */
  notBefore: string;
  notAfter: string;
  /** `RSA`, `RSA-PSS`, `EC`, `Ed25519`, `Ed448`, `DSA` (else Node's key type name). */
  keyType: string;
  /** Modulus bits (RSA, DSA) or curve size (EC, EdDSA); `null` when unknown. */
  keySize: number | null;
  /** OpenSSL's name, `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, or the dotted OID. */
  signatureAlgorithm: string;
  chainValid: boolean;
  /** Why the chain is not valid (see {@link ChainError}); `null` when it is. */
  chainError: ChainError | null;
  hostnameMatch: boolean;
}

/**
 * Why a chain did not verify: the leaf is self-signed; the chain ends at a self-signed root not in
 * the store; no certificate issues the last one; a signature does not verify; an intermediate is
 * not a CA; the chain is longer than any real one; no certificate was presented.
 */
export type ChainError =
  | "SELF_SIGNED"
  | "UNTRUSTED_ROOT"
  | "ISSUER_NOT_FOUND"
  | "BAD_SIGNATURE"
  | "INVALID_CA"
  | "CHAIN_TOO_LONG"
  | "NO_CERTIFICATE";

/** A set of trust anchors, indexed by fingerprint for the "leaf is itself trusted" case. */
export interface TrustStore {
  anchors: readonly X509Certificate[];
  fingerprints: ReadonlySet<string>;
}

const MAX_CHAIN_LENGTH = 10;

/** Split a PEM bundle into its certificates. */
function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

let systemAnchors: X509Certificate[] | undefined;

/**
 * Node's bundled root store (`tls.rootCertificates`) plus the given PEM CAs (several per string
 * allowed).
 * @throws TypeError when a given bundle holds no PEM certificate or one that does not parse.
 */
export function createTrustStore(extraCaPem: readonly string[] = []): TrustStore {
  systemAnchors ??= rootCertificates.map((pem) => new X509Certificate(pem));
  const anchors = [...systemAnchors];
  extraCaPem.forEach((bundle, index) => {
    const pems = splitPem(bundle);
    // A CA the operator meant to trust but that is silently dropped would turn every chain it
    // anchors into a false "untrusted" finding, so a bundle without a certificate is an error.
    if (pems.length === 0) throw new TypeError(`probe CA bundle ${index} holds no PEM certificate`);
    for (const pem of pems) {
      try {
        anchors.push(new X509Certificate(pem));
      } catch (error) {
        throw new TypeError(`probe CA bundle ${index} holds a certificate that does not parse`, {
          cause: error,
        });
      }
    }
  });
  return { anchors, fingerprints: new Set(anchors.map((a) => a.fingerprint256)) };
}

/**
 * Whether the certificate names itself as issuer and its own key verifies it. By name and
 * signature only: a self-signed leaf usually lacks the keyCertSign usage `checkIssued` demands.
 */
function selfSigned(certificate: X509Certificate): boolean {
  return certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey);
}

/**
 * Verify that `chain[0]` leads to an anchor of `store` through certificates of `chain`, checking
 * issuer links (`checkIssued`) and signatures (`verify`), never validity dates.
 */
export function verifyChain(
  chain: readonly X509Certificate[],
  store: TrustStore,
): { chainValid: boolean; chainError: ChainError | null } {
  const invalid = (chainError: ChainError) => ({ chainValid: false, chainError });
  const leaf = chain[0];
  if (leaf === undefined) return invalid("NO_CERTIFICATE");
  const used = new Set<string>([leaf.fingerprint256]);
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    if (store.fingerprints.has(current.fingerprint256)) {
      return { chainValid: true, chainError: null };
    }
    const subject = current;
    const namedByAnchor = store.anchors.filter((anchor) => subject.checkIssued(anchor));
    if (namedByAnchor.some((anchor) => subject.verify(anchor.publicKey))) {
      return { chainValid: true, chainError: null };
    }
    const issuers = chain.filter(
      (candidate) => !used.has(candidate.fingerprint256) && subject.checkIssued(candidate),
    );
    const issuer = issuers.find((candidate) => subject.verify(candidate.publicKey));
    if (issuer === undefined) {
      // A certificate that names an issuer we hold but whose key does not verify it is forged or
      // corrupt, whether that issuer is a trust anchor or came with the chain.
      if (namedByAnchor.length > 0 || issuers.length > 0) return invalid("BAD_SIGNATURE");
      if (selfSigned(subject)) return invalid(subject === leaf ? "SELF_SIGNED" : "UNTRUSTED_ROOT");
      return invalid("ISSUER_NOT_FOUND");
    }
    if (!issuer.ca) return invalid("INVALID_CA");
    used.add(issuer.fingerprint256);
    current = issuer;
  }
  return invalid("CHAIN_TOO_LONG");
}

/** `CN=a\nO=b\nC=US` (Node, issuing order) → `C=US, O=b, CN=a` reversed to RFC 4514 order. */
function distinguishedName(multiline: string): string {
  return multiline
    .split("\n")
    .filter((line) => line !== "")
    .reverse()
    .join(", ");
}

/**
 * Split Node's `subjectAltName` text (`DNS:a, IP Address:1.2.3.4`; a value with a comma or quote is
 * JSON-quoted) into entries, naming addresses `IP:`.
 */
export function subjectAltNames(text: string | undefined): string[] {
  if (text === undefined || text === "") return [];
  const entries: string[] = [];
  const pattern = /([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/gy;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const type = (match[1] as string).trim();
    const raw = match[2] as string;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    entries.push(`${type === "IP Address" ? "IP" : type}:${value}`);
    if (pattern.lastIndex >= text.length) break;
  }
  return entries;
}

const KEY_TYPES: Readonly<Record<string, string>> = {
  rsa: "RSA",
  "rsa-pss": "RSA-PSS",
  ec: "EC",
  ed25519: "Ed25519",
  ed448: "Ed448",
  dsa: "DSA",
};

const CURVE_BITS: Readonly<Record<string, number>> = {
  prime256v1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
  prime192v1: 192,
};

/** Key type and size of a certificate's public key. */
export function keyFacts(key: KeyObject): { keyType: string; keySize: number | null } {
  const type = key.asymmetricKeyType ?? "unknown";
  const details = key.asymmetricKeyDetails ?? {};
  let keySize: number | null = null;
  if (details.modulusLength !== undefined) keySize = details.modulusLength;
  else if (details.namedCurve !== undefined) keySize = CURVE_BITS[details.namedCurve] ?? null;
  else if (type === "ed25519") keySize = 256;
  else if (type === "ed448") keySize = 448;
  return { keyType: KEY_TYPES[type] ?? type, keySize };
}

/**
 * Whether the certificate names `host`: an address is matched against IP entries, a name against
 * DNS entries (whole-label wildcards only), never the subject CN, as browsers do (CA/Browser Forum
 * Baseline Requirements §7.1.4.2: the CN only repeats a SAN).
 */
export function hostnameMatches(certificate: X509Certificate, host: string): boolean {
  if (isIP(host) !== 0) return certificate.checkIP(host) !== undefined;
  return certificate.checkHost(host, { subject: "never", partialWildcards: false }) !== undefined;
}

/**
 * Everything `document.certificate` holds, from the peer chain (leaf first) of a completed
 * handshake and the name the client asked for.
 * @throws RangeError when the leaf's DER is malformed (Node parsed it, so this cannot happen in practice).
 */
export function certificateFacts(
  chain: readonly X509Certificate[],
  expectedName: string,
  store: TrustStore,
): CertificateFacts | undefined {
  const leaf = chain[0];
  if (leaf === undefined) return undefined;
  const { notBefore, notAfter } = validityOf(leaf.raw);
  return {
    subject: distinguishedName(leaf.subject),
    issuer: distinguishedName(leaf.issuer),
    subjectAltNames: subjectAltNames(leaf.subjectAltName),
    notBefore,
    notAfter,
    ...keyFacts(leaf.publicKey),
    signatureAlgorithm: signatureAlgorithmName(leaf.raw),
    ...verifyChain(chain, store),
    hostnameMatch: hostnameMatches(leaf, expectedName),
  };
}
