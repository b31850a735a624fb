/**
 * The emulator's own certificate authority: mints a CA and the leaf certificates its HTTPS server,
 * TLS endpoints and Azurite present, including expired, not-yet-valid and self-signed ones.
 */

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import forge from "node-forge";

/** A certificate and its private key, both PEM. */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

/** What to put into a leaf certificate. */
export interface IssueOptions {
  /** DNS names or IP addresses; each becomes a subjectAltName (IP addresses as iPAddress). */
  names: string[];
  /** Subject CN; defaults to the first name. */
  commonName?: string;
  /** Taken exactly as given, so certificates that are not yet valid are possible. */
  notBefore: Date;
  /** Taken exactly as given, so expired certificates are possible. */
  notAfter: Date;
  /** RSA modulus length in bits; default 2048. */
  keySize?: number;
  /** Sign the leaf with its own key instead of the CA's (issuer = subject, not a CA). */
  selfSigned?: boolean;
}

/** A CA held in memory only; nothing is cached on disk. */
export interface CertificateAuthority {
  /** The CA certificate to trust (PEM). */
  caPem: string;
  /** Issues a leaf certificate signed with SHA-256 by this CA (or by itself when `selfSigned`). */
  issue(options: IssueOptions): IssuedCertificate;
}

/** Options of {@link createCertificateAuthority}. */
export interface CreateCertificateAuthorityOptions {
  /** Subject CN of the CA; default "vigil emulator CA". */
  commonName?: string;
  /** Centre of the CA's validity (10 years before to 20 years after); default the current time. */
  now?: Date;
}

const DEFAULT_KEY_SIZE = 2048;
const YEAR_IN_MS = 365 * 24 * 60 * 60 * 1000;

/**
 * Creates a fresh certificate authority with a new RSA key. Keys come from node:crypto (forge's
 * own key generation is far slower); certificates are built and signed with node-forge.
 *
 * @throws RangeError when a name in `issue` is empty.
 */
export function createCertificateAuthority(
  options: CreateCertificateAuthorityOptions = {},
): CertificateAuthority {
  const now = options.now ?? new Date();
  const caKeys = generateKeys(DEFAULT_KEY_SIZE);
  const caSubject = [{ name: "commonName", value: options.commonName ?? "vigil emulator CA" }];
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = caKeys.publicKey;
  caCert.serialNumber = newSerialNumber();
  // The CA must cover both the estate's "now" (for chains built against it) and the real clock
  // (Node verifies chains against the wall clock), so its window is wide.
  caCert.validity.notBefore = new Date(now.getTime() - 10 * YEAR_IN_MS);
  caCert.validity.notAfter = new Date(now.getTime() + 20 * YEAR_IN_MS);
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(caKeys.privateKey, forge.md.sha256.create());
  const caKeyIdentifier = caCert.generateSubjectKeyIdentifier().getBytes();

  return {
    caPem: forge.pki.certificateToPem(caCert),
    issue(issue: IssueOptions): IssuedCertificate {
      for (const name of issue.names) {
        if (name.length === 0) throw new RangeError("certificate names must not be empty");
      }
      const keys = generateKeys(issue.keySize ?? DEFAULT_KEY_SIZE);
      const cert = forge.pki.createCertificate();
      cert.publicKey = keys.publicKey;
      cert.serialNumber = newSerialNumber();
      cert.validity.notBefore = issue.notBefore;
      cert.validity.notAfter = issue.notAfter;
      const subject = [
        { name: "commonName", value: issue.commonName ?? issue.names[0] ?? "vigil emulator" },
      ];
      cert.setSubject(subject);
      cert.setIssuer(issue.selfSigned ? subject : caSubject);
      const extensions: Record<string, unknown>[] = [
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true, clientAuth: true },
        { name: "subjectKeyIdentifier" },
      ];
      if (!issue.selfSigned) {
        extensions.push({ name: "authorityKeyIdentifier", keyIdentifier: caKeyIdentifier });
      }
      if (issue.names.length > 0) {
        extensions.push({ name: "subjectAltName", altNames: issue.names.map(altName) });
      }
      cert.setExtensions(extensions);
      cert.sign(issue.selfSigned ? keys.privateKey : caKeys.privateKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
    },
  };
}

interface GeneratedKeys {
  keyPem: string;
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
}

function generateKeys(modulusLength: number): GeneratedKeys {
  const { privateKey: keyPem } = generateKeyPairSync("rsa", {
    modulusLength,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  const privateKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  return { keyPem, privateKey, publicKey };
}

/** 128 random bits, positive and DER-minimal (first byte in 0x01..0x7f), so serials never repeat. */
function newSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString("hex");
}

function altName(name: string): { type: number; value?: string; ip?: string } {
  // RFC 5280 GeneralName: 2 = dNSName, 7 = iPAddress.
  return isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name };
}
