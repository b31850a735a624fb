/**
 * A minimal DER reader for the two certificate facts Node 20's `X509Certificate` does not expose:
 * the signature algorithm and the validity dates as instants (ITU-T X.690, RFC 5280 §4.1).
 */

/** One DER element: its tag byte, where its content starts and ends inside the buffer. */
interface DerElement {
  tag: number;
  start: number;
  end: number;
  /** Offset just after the element (start of the next sibling). */
  next: number;
}

const TAG_SEQUENCE = 0x30;
const TAG_OID = 0x06;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_EXPLICIT_VERSION = 0xa0;

/** Names OpenSSL prints (`openssl x509 -text`) for the signature algorithms seen on the web. */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.113549.1.1.10": "rsassaPss",
  "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
  "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
  "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
  "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
  "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
  "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
  "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
  "1.2.840.10040.4.3": "dsaWithSHA1",
  "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
  "1.3.101.112": "ED25519",
  "1.3.101.113": "ED448",
};

/**
 * Read the element at `offset`. Only definite lengths exist in DER.
 * @throws RangeError when the bytes are not well-formed DER.
 */
function readElement(der: Uint8Array, offset: number, limit: number): DerElement {
  if (offset + 2 > limit) throw new RangeError(`DER element truncated at offset ${offset}`);
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new RangeError(`DER high tag number at offset ${offset}`);
  let lengthByte = der[offset + 1] as number;
  let start = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    // 0x80 is BER's indefinite length, which DER forbids; four bytes are far beyond any certificate.
    if (count === 0 || count > 4)
      throw new RangeError(`DER length form 0x${lengthByte.toString(16)}`);
    if (start + count > limit) throw new RangeError(`DER length truncated at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = der[start + i] as number;
      length = length * 256 + lengthByte;
    }
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new RangeError(`DER element at offset ${offset} overruns its parent`);
  return { tag, start, end, next: end };
}

function expectTag(element: DerElement, tag: number, what: string): DerElement {
  if (element.tag !== tag) {
    throw new RangeError(
      `expected ${what} (tag 0x${tag.toString(16)}), got 0x${element.tag.toString(16)}`,
    );
  }
  return element;
}

/**
 * Decode an OBJECT IDENTIFIER's content to dotted form.
 * @throws RangeError on an empty or truncated identifier.
 */
export function decodeObjectIdentifier(content: Uint8Array): string {
  if (content.length === 0) throw new RangeError("empty OBJECT IDENTIFIER");
  const arcs: bigint[] = [];
  let value = 0n;
  let open = false;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    open = (byte & 0x80) !== 0;
    if (!open) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (open) throw new RangeError("truncated OBJECT IDENTIFIER");
  const first = arcs[0] as bigint;
  // The first subidentifier packs the first two arcs as 40 * X + Y, with X at most 2 (X.690 §8.19.4).
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}

/** The element children of a constructed element. */
function children(der: Uint8Array, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const child = readElement(der, offset, parent.end);
    out.push(child);
    offset = child.next;
  }
  return out;
}

/** The dotted OID of a certificate's outer `signatureAlgorithm` (RFC 5280 §4.1.1.2). */
export function signatureAlgorithmOid(der: Uint8Array): string {
  const certificate = expectTag(readElement(der, 0, der.length), TAG_SEQUENCE, "Certificate");
  const [, algorithmIdentifier] = children(der, certificate);
  if (algorithmIdentifier === undefined)
    throw new RangeError("Certificate has no signatureAlgorithm");
  expectTag(algorithmIdentifier, TAG_SEQUENCE, "AlgorithmIdentifier");
  const oid = expectTag(
    readElement(der, algorithmIdentifier.start, algorithmIdentifier.end),
    TAG_OID,
    "algorithm OBJECT IDENTIFIER",
  );
  return decodeObjectIdentifier(der.subarray(oid.start, oid.end));
}

/**
 * The certificate's signature algorithm by OpenSSL's name (`sha256WithRSAEncryption`,
 * `ecdsa-with-SHA256`), or the dotted OID when the name is not in the table.
 * @throws RangeError when the bytes are not a DER certificate.
 */
export function signatureAlgorithmName(der: Uint8Array): string {
  const oid = signatureAlgorithmOid(der);
  return SIGNATURE_ALGORITHMS[oid] ?? oid;
}

/**
 * Decode a UTCTime or GeneralizedTime as RFC 5280 §4.1.2.5 requires it in certificates
 * (`YYMMDDHHMMSSZ`, years 50–99 meaning 19xx; `YYYYMMDDHHMMSSZ`) to ISO 8601 UTC without
 * fractions (`2026-11-02T06:40:51Z`).
 * @throws RangeError on any other form.
 */
export function decodeTime(tag: number, text: string): string {
  let match: RegExpExecArray | null;
  let year: string;
  if (tag === TAG_UTC_TIME) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (match === null) throw new RangeError(`UTCTime not in RFC 5280 form: ${text}`);
    const yy = Number(match[1]);
    year = String(yy >= 50 ? 1900 + yy : 2000 + yy);
  } else if (tag === TAG_GENERALIZED_TIME) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (match === null) throw new RangeError(`GeneralizedTime not in RFC 5280 form: ${text}`);
    year = match[1] as string;
  } else {
    throw new RangeError(`expected a time (tag 0x17 or 0x18), got 0x${tag.toString(16)}`);
  }
  return `${year}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z`;
}

/**
 * The certificate's validity (`notBefore`, `notAfter`) as ISO 8601 UTC strings, read from the
 * TBSCertificate (RFC 5280 §4.1.2.5).
 * @throws RangeError when the bytes are not a DER certificate.
 */
export function validityOf(der: Uint8Array): { notBefore: string; notAfter: string } {
  const certificate = expectTag(readElement(der, 0, der.length), TAG_SEQUENCE, "Certificate");
  const [tbs] = children(der, certificate);
  if (tbs === undefined) throw new RangeError("Certificate has no TBSCertificate");
  const fields = children(der, expectTag(tbs, TAG_SEQUENCE, "TBSCertificate"));
  // version [0] EXPLICIT is optional (absent means v1); validity follows serial, signature, issuer.
  const skip = fields[0]?.tag === TAG_EXPLICIT_VERSION ? 1 : 0;
  const validity = fields[skip + 3];
  if (validity === undefined) throw new RangeError("TBSCertificate has no validity");
  const [notBefore, notAfter] = children(der, expectTag(validity, TAG_SEQUENCE, "Validity"));
  if (notBefore === undefined || notAfter === undefined) {
    throw new RangeError("Validity needs notBefore and notAfter");
  }
  const text = (element: DerElement): string =>
    String.fromCharCode(...der.subarray(element.start, element.end));
  return {
    notBefore: decodeTime(notBefore.tag, text(notBefore)),
    notAfter: decodeTime(notAfter.tag, text(notAfter)),
  };
}
