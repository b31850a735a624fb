/** Parsing of the Strict-Transport-Security header (RFC 6797 §6.1). */

import { describe, expect, it } from "vitest";
import { parseHsts } from "../../../../src/collectors/tls/hsts.js";

describe("parseHsts", () => {
  it("reports HSTS absent when there is no header", () => {
    expect(parseHsts(undefined)).toEqual({
      present: false,
      maxAgeSeconds: null,
      includeSubDomains: false,
    });
  });

  it.each([
    ["max-age=31536000; includeSubDomains", 31536000, true],
    ["max-age=31536000; includeSubDomains; preload", 31536000, true],
    ["max-age=300", 300, false],
    ["max-age=0", 0, false],
    ['max-age="600"', 600, false],
    ["MAX-AGE=600; INCLUDESUBDOMAINS", 600, true],
    ["  includeSubDomains ;max-age = 600 ;", 600, true],
    ["max-age=600; unknown-directive=x", 600, false],
  ])("parses %j", (value, maxAgeSeconds, includeSubDomains) => {
    expect(parseHsts(value)).toEqual({ present: true, maxAgeSeconds, includeSubDomains });
  });

  it.each([
    ["no max-age", "includeSubDomains", true],
    ["an empty header", "", false],
    ["a non-numeric max-age", "max-age=one-year", false],
    ["a negative max-age", "max-age=-1", false],
    ["a max-age without value", "max-age", false],
    ["a repeated directive", "max-age=600; max-age=700", false],
    ["a repeated includeSubDomains", "max-age=600; includeSubDomains; includeSubDomains", true],
  ])(
    "keeps maxAgeSeconds null for an invalid header (%s), which browsers ignore",
    (_name, value, includeSubDomains) => {
      expect(parseHsts(value)).toEqual({ present: true, maxAgeSeconds: null, includeSubDomains });
    },
  );
});
