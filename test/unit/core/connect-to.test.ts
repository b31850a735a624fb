import { describe, expect, it } from "vitest";
import {
  formatHostPort,
  InputErrors,
  parseConnectTo,
  parseHostPort,
} from "../../../src/core/index.js";

describe("parseHostPort", () => {
  it.each([
    ["erp.example.com:443", { host: "erp.example.com", port: 443 }],
    ["ERP.Example.com:8443", { host: "erp.example.com", port: 8443 }],
    ["10.61.4.10:443", { host: "10.61.4.10", port: 443 }],
    ["[2001:DB8::1]:443", { host: "2001:db8::1", port: 443 }],
    ["[::1]:65535", { host: "::1", port: 65535 }],
    [" localhost:1 ", { host: "localhost", port: 1 }],
  ])("reads %s", (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });

  it.each([
    "erp.example.com",
    "erp.example.com:",
    ":443",
    "erp.example.com:0",
    "erp.example.com:65536",
    "erp.example.com:-1",
    "2001:db8::1:443",
    "[erp.example.com]:443",
    "erp example:443",
    "https://erp.example.com:443",
    "erp.example.com:443/path",
  ])("refuses %s", (text) => {
    expect(parseHostPort(text)).toBeUndefined();
  });
});

describe("formatHostPort", () => {
  it("lower-cases the host and brackets an IPv6 address", () => {
    expect(formatHostPort("ERP.example.com", 443)).toBe("erp.example.com:443");
    expect(formatHostPort("2001:DB8::1", 443)).toBe("[2001:db8::1]:443");
  });
});

describe("parseConnectTo", () => {
  it("keys the table by the normalised probed address", () => {
    const table = parseConnectTo(
      { "ERP.example.com:443": "127.0.0.1:37999", "[2001:db8::1]:443": "[::1]:8443" },
      "vigil.config.json",
    );

    expect([...table]).toEqual([
      ["erp.example.com:443", { host: "127.0.0.1", port: 37999 }],
      ["[2001:db8::1]:443", { host: "::1", port: 8443 }],
    ]);
  });

  it("names the file and the entry of each malformed key, value or repeated key", () => {
    let thrown: unknown;
    try {
      parseConnectTo(
        {
          "erp.example.com": "127.0.0.1:1",
          "edi.example.com:443": "127.0.0.1",
          "a/b:443": "127.0.0.1:70000",
          "portal.example.com:443": "127.0.0.1:2",
          "Portal.Example.com:443": "127.0.0.1:3",
        },
        "vigil.config.json",
      );
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(InputErrors);
    const errors = (thrown as InputErrors).errors;
    expect(errors.map((e) => [e.pointer, e.code])).toEqual([
      ["/tls/connectTo/erp.example.com", "InvalidAddress"],
      ["/tls/connectTo/edi.example.com:443", "InvalidAddress"],
      ["/tls/connectTo/a~1b:443", "InvalidAddress"],
      ["/tls/connectTo/a~1b:443", "InvalidAddress"],
      ["/tls/connectTo/Portal.Example.com:443", "InvalidAddress"],
    ]);
    expect(errors[0]?.message).toBe(
      "vigil.config.json #/tls/connectTo/erp.example.com: expected the key to be a probed host:port (an IPv6 address in brackets, a port from 1 to 65535), found 'erp.example.com'",
    );
    expect(errors[1]?.message).toContain(
      "expected the address to connect to as host:port (an IPv6 address in brackets, a port from 1 to 65535), found '127.0.0.1'",
    );
    expect(errors[4]?.message).toContain(
      "'Portal.Example.com:443' repeats 'portal.example.com:443'",
    );
  });
});
