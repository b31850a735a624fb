/** signWebhook and verifyWebhookSignature: the HMAC scheme receivers check. */

import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhookSignature } from "../../../src/notify/index.js";

const SECRET = "test-secret";
const TIMESTAMP = 1_795_000_000;
const BODY = '{"hello":"world"}';
// openssl: printf '%s' '1795000000.{"hello":"world"}' | openssl dgst -sha256 -hmac 'test-secret'
const KNOWN_SIGNATURE = "sha256=230ba5a8aa7f1680d92c61a6fc643de2437ff11c7a08886f3dde8cf2961a8b9e";

function signedHeaders(signature = KNOWN_SIGNATURE, timestamp = String(TIMESTAMP)) {
  return { "x-vigil-timestamp": timestamp, "x-vigil-signature": signature };
}

describe("signWebhook", () => {
  it("is the hex HMAC-SHA256 of '<timestamp>.<body>' prefixed with sha256=", () => {
    expect(signWebhook(SECRET, TIMESTAMP, BODY)).toBe(KNOWN_SIGNATURE);
  });

  it("signs the UTF-8 bytes of a string body", () => {
    const text = '{"resource":"bücher-ü"}';

    expect(signWebhook(SECRET, TIMESTAMP, new TextEncoder().encode(text))).toBe(
      signWebhook(SECRET, TIMESTAMP, text),
    );
  });

  it.each([
    ["an empty secret", "", TIMESTAMP],
    ["a fractional timestamp", SECRET, 1.5],
    ["a negative timestamp", SECRET, -1],
  ])("refuses %s", (_case, secret, timestamp) => {
    expect(() => signWebhook(secret, timestamp, BODY)).toThrow(RangeError);
  });
});

describe("verifyWebhookSignature", () => {
  it("accepts a request signed with the secret within the tolerance", () => {
    const result = verifyWebhookSignature(SECRET, signedHeaders(), BODY, {
      nowInSeconds: TIMESTAMP + 299,
    });

    expect(result).toEqual({ valid: true, timestamp: TIMESTAMP });
  });

  it("rejects a request signed with another secret", () => {
    const result = verifyWebhookSignature("other-secret", signedHeaders(), BODY, {
      nowInSeconds: TIMESTAMP,
    });

    expect(result).toEqual({ valid: false, reason: "signature-mismatch" });
  });

  it("rejects a tampered body", () => {
    const result = verifyWebhookSignature(SECRET, signedHeaders(), '{"hello":"World"}', {
      nowInSeconds: TIMESTAMP,
    });

    expect(result).toEqual({ valid: false, reason: "signature-mismatch" });
  });

  it("rejects a timestamp changed after signing", () => {
    const result = verifyWebhookSignature(
      SECRET,
      signedHeaders(KNOWN_SIGNATURE, String(TIMESTAMP + 1)),
      BODY,
      { nowInSeconds: TIMESTAMP },
    );

    expect(result).toEqual({ valid: false, reason: "signature-mismatch" });
  });

  it.each([
    ["older", TIMESTAMP + 301],
    ["newer", TIMESTAMP - 301],
  ])(
    "rejects a correctly signed request whose timestamp is %s than the tolerance",
    (_case, now) => {
      const result = verifyWebhookSignature(SECRET, signedHeaders(), BODY, { nowInSeconds: now });

      expect(result).toEqual({ valid: false, reason: "stale-timestamp" });
    },
  );

  it("honours a narrower tolerance", () => {
    const result = verifyWebhookSignature(SECRET, signedHeaders(), BODY, {
      nowInSeconds: TIMESTAMP + 31,
      toleranceInSeconds: 30,
    });

    expect(result).toEqual({ valid: false, reason: "stale-timestamp" });
  });

  it("accepts any of several secrets while one is rotated", () => {
    const result = verifyWebhookSignature(["new-secret", SECRET], signedHeaders(), BODY, {
      nowInSeconds: TIMESTAMP,
    });

    expect(result.valid).toBe(true);
  });

  it("reads fetch Headers, case-insensitive records and byte bodies", () => {
    const fetchHeaders = new Headers(signedHeaders());
    const mixedCase = {
      "X-Vigil-Timestamp": String(TIMESTAMP),
      "X-Vigil-Signature": KNOWN_SIGNATURE,
    };
    const bytes = new TextEncoder().encode(BODY);

    const results = [
      verifyWebhookSignature(SECRET, fetchHeaders, bytes, { nowInSeconds: TIMESTAMP }),
      verifyWebhookSignature(SECRET, mixedCase, BODY, { nowInSeconds: TIMESTAMP }),
    ];

    expect(results.map((result) => result.valid)).toEqual([true, true]);
  });

  it.each([
    ["missing-timestamp", { "x-vigil-signature": KNOWN_SIGNATURE }],
    ["missing-signature", { "x-vigil-timestamp": String(TIMESTAMP) }],
    ["malformed-timestamp", signedHeaders(KNOWN_SIGNATURE, "2026-11-23T06:00:00Z")],
    ["malformed-signature", signedHeaders("sha1=abc")],
    ["malformed-signature", signedHeaders(KNOWN_SIGNATURE.slice(0, -2))],
    [
      "malformed-signature",
      { ...signedHeaders(), "x-vigil-signature": [KNOWN_SIGNATURE, KNOWN_SIGNATURE] },
    ],
  ])("reports %s", (reason, headers) => {
    const result = verifyWebhookSignature(SECRET, headers, BODY, { nowInSeconds: TIMESTAMP });

    expect(result).toEqual({ valid: false, reason });
  });

  it.each([
    ["no secret", []],
    ["an empty secret", [""]],
  ])("refuses to verify with %s", (_case, secrets) => {
    expect(() =>
      verifyWebhookSignature(secrets, signedHeaders(), BODY, { nowInSeconds: TIMESTAMP }),
    ).toThrow(RangeError);
  });
});
