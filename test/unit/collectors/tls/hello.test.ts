/** The hand-built ClientHello of the protocol test, and reading the server's first answer. */

import { describe, expect, it } from "vitest";
import {
  buildClientHello,
  readServerAnswer,
  versionName,
} from "../../../../src/collectors/tls/hello.js";

/** The parts of a ClientHello record the tests look at (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). */
function parseClientHello(record: Buffer) {
  expect(record[0]).toBe(0x16);
  expect(record.readUInt16BE(3)).toBe(record.length - 5);
  const body = record.subarray(9);
  expect(record[5]).toBe(0x01);
  expect(record.readUIntBE(6, 3)).toBe(body.length);
  let at = 34;
  const sessionId = body.subarray(at + 1, at + 1 + (body[at] as number));
  at += 1 + sessionId.length;
  const suitesLength = body.readUInt16BE(at);
  const suites: number[] = [];
  for (let i = 0; i < suitesLength; i += 2) suites.push(body.readUInt16BE(at + 2 + i));
  at += 2 + suitesLength;
  at += 1 + (body[at] as number);
  const extensions = new Map<number, Buffer>();
  const end = at + 2 + body.readUInt16BE(at);
  at += 2;
  while (at < end) {
    const length = body.readUInt16BE(at + 2);
    extensions.set(body.readUInt16BE(at), body.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  expect(at).toBe(body.length);
  return { clientVersion: body.readUInt16BE(0), sessionId, suites, extensions };
}

/** A ServerHello handshake message choosing `serverVersion`, with extensions when given. */
function serverHello(serverVersion: number, extensions?: Buffer): Buffer {
  const parts: Buffer[] = [
    Buffer.from([serverVersion >> 8, serverVersion & 0xff]),
    Buffer.alloc(32, 7),
  ];
  parts.push(Buffer.from([0]), Buffer.from([0x13, 0x01]), Buffer.from([0]));
  if (extensions !== undefined) {
    parts.push(Buffer.from([extensions.length >> 8, extensions.length & 0xff]), extensions);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x02, 0, body.length >> 8, body.length & 0xff]), body]);
}

function record(type: number, fragment: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([type, 0x03, 0x03, fragment.length >> 8, fragment.length & 0xff]),
    fragment,
  ]);
}

const SUPPORTED_VERSIONS_13 = Buffer.from([0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);

describe("buildClientHello", () => {
  it.each([
    { version: "TLSv1", clientVersion: 0x0301 },
    { version: "TLSv1.1", clientVersion: 0x0302 },
    { version: "TLSv1.2", clientVersion: 0x0303 },
  ] as const)("offers $version by client_version alone", ({ version, clientVersion }) => {
    const hello = parseClientHello(buildClientHello(version, "erp.example"));

    expect(hello.clientVersion).toBe(clientVersion);
    expect(hello.extensions.has(0x002b)).toBe(false);
    expect(hello.extensions.has(0x0033)).toBe(false);
  });

  it("offers TLS 1.3 in supported_versions only, with an X25519 key share, over a 1.2 legacy version", () => {
    const hello = parseClientHello(buildClientHello("TLSv1.3", "erp.example"));

    expect(hello.clientVersion).toBe(0x0303);
    expect(hello.extensions.get(0x002b)).toEqual(Buffer.from([2, 0x03, 0x04]));
    const share = hello.extensions.get(0x0033) as Buffer;
    expect(share.readUInt16BE(2)).toBe(0x001d);
    expect(share.readUInt16BE(4)).toBe(32);
    expect(hello.suites).toEqual([0x1301, 0x1302, 0x1303, 0x1304, 0x1305]);
    expect(hello.sessionId).toHaveLength(32);
  });

  it("offers every legacy suite block but never TLS_NULL_WITH_NULL_NULL or TLS_FALLBACK_SCSV", () => {
    const { suites } = parseClientHello(buildClientHello("TLSv1.2", undefined));

    // CAMELLIA128-SHA, NULL-SHA, AECDH-AES128-SHA, ECDHE-RSA-CHACHA20-POLY1305, the renegotiation SCSV.
    expect(suites).toEqual(expect.arrayContaining([0x0041, 0x0002, 0xc018, 0xcca8, 0x00ff]));
    expect(suites).not.toContain(0x0000);
    expect(suites).not.toContain(0x5600);
  });

  it("sends the server name when given and none otherwise", () => {
    const named = parseClientHello(buildClientHello("TLSv1", "erp.example"));
    const unnamed = parseClientHello(buildClientHello("TLSv1", undefined));

    expect(named.extensions.get(0x0000)?.subarray(5).toString("ascii")).toBe("erp.example");
    expect(unnamed.extensions.has(0x0000)).toBe(false);
  });

  it("sends signature_algorithms from TLS 1.2 on only", () => {
    expect(parseClientHello(buildClientHello("TLSv1.1", undefined)).extensions.has(0x000d)).toBe(
      false,
    );
    expect(parseClientHello(buildClientHello("TLSv1.2", undefined)).extensions.has(0x000d)).toBe(
      true,
    );
  });
});

describe("readServerAnswer", () => {
  it("reads the version of a ServerHello without extensions from server_version", () => {
    expect(readServerAnswer(record(0x16, serverHello(0x0301)))).toEqual({
      kind: "serverHello",
      version: 0x0301,
    });
  });

  it("reads a TLS 1.3 ServerHello's version from supported_versions, not server_version", () => {
    const answer = readServerAnswer(record(0x16, serverHello(0x0303, SUPPORTED_VERSIONS_13)));

    expect(answer).toEqual({ kind: "serverHello", version: 0x0304 });
  });

  it("reads a ServerHello split over two records", () => {
    const message = serverHello(0x0302);
    const bytes = Buffer.concat([
      record(0x16, message.subarray(0, 10)),
      record(0x16, message.subarray(10)),
    ]);

    expect(readServerAnswer(bytes)).toEqual({ kind: "serverHello", version: 0x0302 });
  });

  it("waits for more bytes while the ServerHello is incomplete", () => {
    const bytes = record(0x16, serverHello(0x0303));

    expect(readServerAnswer(bytes.subarray(0, 3))).toEqual({ kind: "incomplete" });
    expect(readServerAnswer(bytes.subarray(0, bytes.length - 1))).toEqual({ kind: "incomplete" });
  });

  it("reports a fatal alert", () => {
    expect(readServerAnswer(record(0x15, Buffer.from([2, 70])))).toEqual({
      kind: "alert",
      level: 2,
      description: 70,
    });
  });

  it("reads past a warning alert to the ServerHello behind it", () => {
    const bytes = Buffer.concat([
      record(0x15, Buffer.from([1, 112])),
      record(0x16, serverHello(0x0303)),
    ]);

    expect(readServerAnswer(bytes)).toEqual({ kind: "serverHello", version: 0x0303 });
  });

  it.each([
    { name: "an HTTP response", bytes: Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n") },
    {
      name: "a handshake message other than ServerHello",
      bytes: record(0x16, Buffer.from([0x0b, 0, 0, 0])),
    },
  ])("reports $name as not TLS", ({ bytes }) => {
    expect(readServerAnswer(bytes).kind).toBe("notTls");
  });
});

describe("versionName", () => {
  it("names known versions and prints others in hex", () => {
    expect(versionName(0x0303)).toBe("TLSv1.2");
    expect(versionName(0x0300)).toBe("SSLv3");
    expect(versionName(0x7f1c)).toBe("0x7f1c");
  });
});
