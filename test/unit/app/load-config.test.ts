/**
 * `tls.connectTo` through loadConfig and createEstateDeps: a malformed key or value is reported
 * with the file or variable and the JSON pointer of the entry, and a good one reaches the TLS
 * collector's settings.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createEstateDeps, loadConfig, staticTokenCredential } from "../../../src/app/index.js";
import { InputErrors } from "../../../src/core/index.js";
import { makeCatalogue } from "../../support/builders.js";
import { tempDir } from "../../support/cli.js";

const catalogue = makeCatalogue();
const dir = tempDir("vigil-load-config-");

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function messagesOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof InputErrors) return error.errors.map((e) => e.message);
    throw error;
  }
  return [];
}

describe("tls.connectTo in loadConfig", () => {
  it("accepts host:port keys and values and hands them to the collectors", () => {
    const path = configFile("good.json", {
      tls: { connectTo: { "10.61.4.10:443": "127.0.0.1:37999", "[2001:db8::1]:443": "[::1]:1" } },
    });

    const { config } = loadConfig(catalogue, path);
    const deps = createEstateDeps(config ?? {}, {
      credential: staticTokenCredential("t"),
      configPath: path,
    });

    expect([...(deps.settings.tlsConnectTo ?? [])]).toEqual([
      ["10.61.4.10:443", { host: "127.0.0.1", port: 37999 }],
      ["[2001:db8::1]:443", { host: "::1", port: 1 }],
    ]);
  });

  it("names the entry whose key or value is not host:port", () => {
    const path = configFile("bad.json", {
      tls: { connectTo: { "10.61.4.10": "127.0.0.1:1", "erp.example.com:443": "127.0.0.1:0" } },
    });

    const messages = messagesOf(() => loadConfig(catalogue, path));

    expect(messages).toEqual([
      expect.stringMatching(
        /bad\.json #\/tls\/connectTo\/10\.61\.4\.10: expected the key to be a probed host:port/,
      ),
      expect.stringMatching(
        /bad\.json #\/tls\/connectTo\/erp\.example\.com:443: expected the address to connect to as host:port .*found '127\.0\.0\.1:0'/,
      ),
    ]);
  });

  it("names the entry whose value is not a string (schema)", () => {
    const path = configFile("type.json", { tls: { connectTo: { "erp.example.com:443": 443 } } });

    const messages = messagesOf(() => loadConfig(catalogue, path));

    expect(messages).toEqual([
      expect.stringMatching(/type\.json #\/tls\/connectTo\/erp\.example\.com:443: expected string/),
    ]);
  });

  it("reads VIGIL_TLS_CONNECT_TO over the file's tls settings and names it when malformed", () => {
    const path = configFile("env.json", { tls: { caFile: "ca.pem" } });

    const { config } = loadConfig(catalogue, path, undefined, {
      env: { VIGIL_TLS_CONNECT_TO: "10.61.4.10:443=127.0.0.1:37999, [::1]:443=[::1]:8443" },
    });
    const messages = messagesOf(() =>
      loadConfig(catalogue, undefined, undefined, { env: { VIGIL_TLS_CONNECT_TO: "a:443=b" } }),
    );

    expect(config?.tls).toEqual({
      caFile: "ca.pem",
      connectTo: { "10.61.4.10:443": "127.0.0.1:37999", "[::1]:443": "[::1]:8443" },
    });
    expect(messages).toEqual([
      expect.stringMatching(
        /^environment variable VIGIL_TLS_CONNECT_TO #\/tls\/connectTo\/a:443: expected the address to connect to/,
      ),
    ]);
  });

  it("rejects a malformed table given to createEstateDeps directly", () => {
    expect(() =>
      createEstateDeps(
        { tls: { connectTo: { "erp.example.com:443": "nowhere" } } },
        { credential: staticTokenCredential("t") },
      ),
    ).toThrow(/config #\/tls\/connectTo\/erp\.example\.com:443: expected the address/);
  });
});
