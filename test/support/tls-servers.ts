/**
 * Real TLS servers on loopback for the TLS probe's tests: Node servers with chosen protocol
 * versions and certificates, `openssl s_server` where `openssl` is installed, servers that reset or
 * never answer, and a `testssl` run to compare verdicts with.
 */

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls, { type SecureVersion } from "node:tls";

/** A certificate and its private key, both PEM (what `CertificateAuthority.issue` returns). */
export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

/** A running test server on 127.0.0.1. */
export interface TestServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** What TLS 1.0/1.1 need on both ends with OpenSSL 3 (TOOLCHAIN.md "TLS"). */
const LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0";

const running = new Set<TestServer>();

/** Close every server the starters of this module started and have not closed yet. */
export async function closeAllTestServers(): Promise<void> {
  const servers = [...running];
  running.clear();
  await Promise.all(servers.map((server) => server.close()));
}

function whichCommand(command: string): boolean {
  try {
    execFileSync("which", [command], { stdio: "ignore" });
    return true;
  } catch (error) {
    // `which` exits 1 when the command is not on PATH: that is the answer, not a failure.
    if ((error as { status?: unknown }).status === 1) return false;
    throw error;
  }
}

/** Whether `openssl` is on PATH. */
export const hasOpenssl = whichCommand("openssl");
/** Whether `testssl` (Debian package testssl.sh) is on PATH. */
export const hasTestssl = whichCommand("testssl");
/** Whether `sslscan` (Debian package sslscan) is on PATH. */
export const hasSslscan = whichCommand("sslscan");

/** Register a listening net/tls server, destroying its open sockets on close. */
function track(server: net.Server): TestServer {
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const address = server.address() as net.AddressInfo;
  const handle: TestServer = {
    host: "127.0.0.1",
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        running.delete(handle);
        for (const socket of sockets) socket.destroy();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  running.add(handle);
  return handle;
}

function listen(server: net.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Options of {@link startNodeTlsServer}. */
export interface StartNodeTlsServerOptions {
  certificate: ServerCertificate;
  /** PEM certificates sent after the leaf (intermediates, or a root to show an untrusted chain). */
  chainPem?: string[];
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** `Strict-Transport-Security` value sent with every HTTP response; none when absent. */
  hsts?: string;
  /** Answer HTTP GET / (default true); false: complete the handshake, then close. */
  http?: boolean;
  /** Called with the `Host` header of each HTTP request. */
  onRequest?: (host: string | undefined) => void;
  /** Called for each TCP connection accepted. */
  onConnection?: () => void;
  /**
   * OpenSSL cipher list, TLS 1.3 suites (`TLS_…`) included (default `DEFAULT:@SECLEVEL=0`); a
   * list without TLS 1.3 suites leaves Node's default ones.
   */
  ciphers?: string;
  /** Demand a client certificate signed by this CA (PEM) and end handshakes without one. */
  requireClientCertificateFrom?: string;
}

/** Start a Node TLS server accepting exactly `minVersion`…`maxVersion` (default 1.2…1.3). */
export async function startNodeTlsServer(options: StartNodeTlsServerOptions): Promise<TestServer> {
  const secure: tls.TlsOptions = {
    key: options.certificate.keyPem,
    cert: [options.certificate.certPem, ...(options.chainPem ?? [])].join("\n"),
    minVersion: options.minVersion ?? "TLSv1.2",
    maxVersion: options.maxVersion ?? "TLSv1.3",
    ciphers: options.ciphers ?? LEGACY_CIPHERS,
    ...(options.requireClientCertificateFrom !== undefined
      ? { requestCert: true, rejectUnauthorized: true, ca: options.requireClientCertificateFrom }
      : {}),
  };
  const server =
    options.http === false
      ? tls.createServer(secure, (socket) => socket.end())
      : https.createServer(secure, (request, response) => {
          options.onRequest?.(request.headers.host);
          if (options.hsts !== undefined)
            response.setHeader("Strict-Transport-Security", options.hsts);
          response.writeHead(200, { "content-type": "text/plain" });
          response.end("ok\n");
        });
  const onConnection = options.onConnection;
  if (onConnection !== undefined) server.on("connection", () => onConnection());
  await listen(server);
  return track(server);
}

/** Start a TCP server that accepts and immediately resets every connection (no TLS answer). */
export async function startResettingServer(): Promise<TestServer> {
  const server = net.createServer((socket) => socket.resetAndDestroy());
  await listen(server);
  return track(server);
}

/** Start a TCP server that accepts connections and never sends a byte. */
export async function startSilentServer(): Promise<TestServer> {
  const server = net.createServer(() => undefined);
  await listen(server);
  return track(server);
}

/**
 * Start a TCP proxy to `upstream` that resets a connection at once when `resetWhen` holds for its
 * first bytes (the ClientHello), before any TLS answer: a server that drops some handshakes.
 */
export async function startResettingProxy(
  upstream: TestServer,
  resetWhen: (firstBytes: Buffer) => boolean,
): Promise<TestServer> {
  const server = net.createServer((client) => {
    client.on("error", () => client.destroy());
    client.once("data", (firstBytes: Buffer) => {
      if (resetWhen(firstBytes)) {
        client.resetAndDestroy();
        return;
      }
      const upstreamSocket = net.connect(upstream.port, upstream.host);
      upstreamSocket.on("error", () => client.destroy());
      client.on("close", () => upstreamSocket.destroy());
      upstreamSocket.on("close", () => client.destroy());
      upstreamSocket.write(firstBytes);
      client.pipe(upstreamSocket);
      upstreamSocket.pipe(client);
    });
  });
  await listen(server);
  return track(server);
}

/** The legacy `client_version` of a ClientHello record (0x0301 for a TLS 1.0-only hello). */
export function clientHelloVersion(firstBytes: Buffer): number | undefined {
  // Record header (5 bytes), handshake type and length (4 bytes), then client_version (RFC 8446 §4.1.2).
  if (firstBytes.length < 11 || firstBytes[0] !== 0x16 || firstBytes[5] !== 0x01) return undefined;
  return firstBytes.readUInt16BE(9);
}

/** A loopback port nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await listen(server);
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A scratch folder removed by the returned function. */
function scratch(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "vigil-tls-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Options of {@link startOpensslServer}. */
export interface StartOpensslServerOptions {
  certificate: ServerCertificate;
  chainPem?: string[];
  /** Protocol flags, e.g. `["-tls1_1"]` or `["-min_protocol", "TLSv1", "-max_protocol", "TLSv1.1"]`. */
  protocolArgs: string[];
  /** Answer HTTP with `-www` (default true). */
  www?: boolean;
}

/**
 * Start `openssl s_server` on a free loopback port with `-cipher DEFAULT:@SECLEVEL=0`; resolves
 * once it prints `ACCEPT`. Only call when {@link hasOpenssl}.
 * @throws Error when the server exits or does not accept within 10 s.
 */
export async function startOpensslServer(options: StartOpensslServerOptions): Promise<TestServer> {
  const files = scratch();
  const certFile = join(files.dir, "cert.pem");
  const keyFile = join(files.dir, "key.pem");
  writeFileSync(certFile, options.certificate.certPem);
  writeFileSync(keyFile, options.certificate.keyPem);
  const chainArgs: string[] = [];
  if (options.chainPem !== undefined && options.chainPem.length > 0) {
    const chainFile = join(files.dir, "chain.pem");
    writeFileSync(chainFile, options.chainPem.join("\n"));
    chainArgs.push("-cert_chain", chainFile);
  }
  const child = spawn(
    "openssl",
    [
      "s_server",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      certFile,
      "-key",
      keyFile,
      ...chainArgs,
      "-cipher",
      LEGACY_CIPHERS,
      ...options.protocolArgs,
      ...(options.www === false ? [] : ["-www"]),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`openssl s_server did not start: ${output}`)),
        10_000,
      );
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const match = /ACCEPT\s+\S*:(\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`openssl s_server exited with ${code}: ${output}`));
      });
    });
    const handle: TestServer = {
      host: "127.0.0.1",
      port,
      close: async () => {
        running.delete(handle);
        child.kill();
        await exited;
        files.remove();
      },
    };
    running.add(handle);
    return handle;
  } catch (error) {
    child.kill();
    await exited;
    files.remove();
    throw error;
  }
}

/**
 * A self-signed certificate with an EC (P-256) or Ed25519 key made by `openssl req`, for the key
 * types the emulator's RSA-only CA cannot issue. Only call when {@link hasOpenssl}.
 */
export function opensslSelfSignedCertificate(
  keyType: "ec" | "ed25519",
  names: string[],
): ServerCertificate {
  const files = scratch();
  try {
    const keyFile = join(files.dir, "key.pem");
    const certFile = join(files.dir, "cert.pem");
    const keyArgs =
      keyType === "ec"
        ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        : ["-newkey", "ed25519"];
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        ...keyArgs,
        "-nodes",
        "-sha256",
        "-days",
        "30",
        "-subj",
        `/O=vigil tests/CN=${names[0]}`,
        "-addext",
        `subjectAltName=${names.map((name) => `DNS:${name}`).join(",")}`,
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      { stdio: "ignore" },
    );
    return { certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8") };
  } finally {
    files.remove();
  }
}

/** testssl's protocol finding ids for the versions vigil probes. */
export const TESTSSL_PROTOCOL_IDS = {
  TLSv1: "TLS1",
  "TLSv1.1": "TLS1_1",
  "TLSv1.2": "TLS1_2",
  "TLSv1.3": "TLS1_3",
} as const;

/** The protocol versions testssl and sslscan both report, by vigil's names (SSLv3 added). */
export const SCANNED_VERSIONS = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;
export type ScannedVersion = (typeof SCANNED_VERSIONS)[number];

/** One finding of testssl's JSON file. */
export interface TestsslFinding {
  id: string;
  severity: string;
  finding: string;
}

/** What one testssl run found. */
export interface TestsslScan {
  /** `true` for "offered…", `false` for "not offered" in any wording. */
  verdicts: Record<ScannedVersion, boolean>;
  findings: TestsslFinding[];
  /** Wall time of the testssl process. */
  elapsedInMs: number;
}

/** Options of {@link runTestsslScan}. */
export interface RunTestsslScanOptions {
  /** `-p`: protocols only (the fair comparison with vigil's probe); else testssl's default run. */
  protocolsOnly: boolean;
}

/**
 * An OpenSSL config for testssl's own `openssl` calls: security level 0, so that they reach TLS
 * 1.0/1.1, and every suite, so that its first connection succeeds on a server offering only suites
 * outside DEFAULT (CAMELLIA, anonymous, TLS 1.3 AES-CCM); it stops with "Your OpenSSL cannot
 * connect" otherwise.
 */
function legacyOpensslConfig(dir: string): string {
  const configFile = join(dir, "openssl.cnf");
  writeFileSync(
    configFile,
    [
      "openssl_conf = openssl_init",
      "[openssl_init]",
      "ssl_conf = ssl_sect",
      "[ssl_sect]",
      "system_default = system_default_sect",
      "[system_default_sect]",
      "CipherString = ALL:COMPLEMENTOFALL:@SECLEVEL=0",
      // OpenSSL's default TLS 1.3 list leaves out the two AES-CCM suites.
      "Ciphersuites = TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:" +
        "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256",
      "MinProtocol = TLSv1",
      "",
    ].join("\n"),
  );
  return configFile;
}

/** Run `command` with `args` to its exit, ignoring its output; resolves the wall time. */
function runToExit(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore", ...(env ? { env } : {}) });
    child.once("error", reject);
    // Both tools exit 0 (or with a count) even for bad servers; the verdicts are in their files.
    child.once("exit", () => resolve(performance.now() - started));
  });
}

/**
 * testssl's verdict from a protocol finding: it words "not offered" several ways ("not offered",
 * "not offered and downgraded to a weaker protocol", "TLSv1.1 is not offered, and downgraded…").
 * @throws Error when the finding is missing or says neither.
 */
function testsslVerdict(findings: readonly TestsslFinding[], id: string): boolean {
  const finding = findings.find((entry) => entry.id === id)?.finding;
  if (finding === undefined) {
    throw new Error(`testssl reported no ${id}: ${JSON.stringify(findings)}`);
  }
  if (/\bnot offered\b/.test(finding)) return false;
  if (finding.startsWith("offered")) return true;
  throw new Error(`testssl's ${id} finding is neither offered nor not offered: ${finding}`);
}

/**
 * Run `testssl --quiet --warnings batch --color 0 --jsonfile <tmp> [-p] HOST:PORT` and read its
 * protocol verdicts. testssl's own `openssl` calls get an OpenSSL config at security level 0 so
 * that it can connect to a TLS 1.0/1.1-only server at all (it stops with "Your OpenSSL cannot
 * connect" otherwise). Only call when {@link hasTestssl}.
 * @throws Error when testssl reports no verdict for a version.
 */
export async function runTestsslScan(
  host: string,
  port: number,
  options: RunTestsslScanOptions,
): Promise<TestsslScan> {
  const files = scratch();
  try {
    const jsonFile = join(files.dir, "testssl.json");
    const configFile = legacyOpensslConfig(files.dir);
    const elapsedInMs = await runToExit(
      "testssl",
      [
        "--quiet",
        "--warnings",
        "batch",
        "--color",
        "0",
        "--jsonfile",
        jsonFile,
        ...(options.protocolsOnly ? ["-p"] : []),
        `${host}:${port}`,
      ],
      { ...process.env, OPENSSL_CONF: configFile },
    );
    const findings = JSON.parse(readFileSync(jsonFile, "utf8")) as TestsslFinding[];
    const verdicts = {
      SSLv3: testsslVerdict(findings, "SSLv3"),
      TLSv1: testsslVerdict(findings, TESTSSL_PROTOCOL_IDS.TLSv1),
      "TLSv1.1": testsslVerdict(findings, TESTSSL_PROTOCOL_IDS["TLSv1.1"]),
      "TLSv1.2": testsslVerdict(findings, TESTSSL_PROTOCOL_IDS["TLSv1.2"]),
      "TLSv1.3": testsslVerdict(findings, TESTSSL_PROTOCOL_IDS["TLSv1.3"]),
    };
    return { verdicts, findings, elapsedInMs };
  } finally {
    files.remove();
  }
}

/**
 * testssl's `-p` verdicts for TLS 1.0 to 1.3 by vigil's version names (see {@link runTestsslScan}).
 * Only call when {@link hasTestssl}.
 * @throws Error when testssl reports no verdict for a version.
 */
export async function runTestssl(
  host: string,
  port: number,
): Promise<Record<keyof typeof TESTSSL_PROTOCOL_IDS, boolean>> {
  const { verdicts } = await runTestsslScan(host, port, { protocolsOnly: true });
  const { SSLv3: _sslv3, ...tls } = verdicts;
  return tls;
}

/** What one sslscan run found. */
export interface SslscanScan {
  verdicts: Record<ScannedVersion, boolean>;
  elapsedInMs: number;
}

const SSLSCAN_VERSIONS: Readonly<Record<string, ScannedVersion>> = {
  "ssl 3": "SSLv3",
  "tls 1.0": "TLSv1",
  "tls 1.1": "TLSv1.1",
  "tls 1.2": "TLSv1.2",
  "tls 1.3": "TLSv1.3",
};

/**
 * Run `sslscan --no-colour --xml=<tmp> HOST:PORT` (with `protocolsOnly`, every check but the
 * protocol one switched off) and read `<protocol type version enabled>` of its XML.
 * Only call when {@link hasSslscan}.
 * @throws Error when the XML lacks a version.
 */
export async function runSslscan(
  host: string,
  port: number,
  options: RunTestsslScanOptions,
): Promise<SslscanScan> {
  const files = scratch();
  try {
    const xmlFile = join(files.dir, "sslscan.xml");
    const skips = [
      "--no-ciphersuites",
      "--no-compression",
      "--no-fallback",
      "--no-groups",
      "--no-heartbleed",
      "--no-renegotiation",
      "--no-check-certificate",
    ];
    const elapsedInMs = await runToExit("sslscan", [
      "--no-colour",
      `--xml=${xmlFile}`,
      ...(options.protocolsOnly ? skips : []),
      `${host}:${port}`,
    ]);
    const xml = readFileSync(xmlFile, "utf8");
    const verdicts: Partial<Record<ScannedVersion, boolean>> = {};
    const pattern = /<protocol type="(\w+)" version="([\d.]+)" enabled="([01])"/g;
    for (const match of xml.matchAll(pattern)) {
      const version = SSLSCAN_VERSIONS[`${match[1]} ${match[2]}`];
      if (version !== undefined) verdicts[version] = match[3] === "1";
    }
    for (const version of SCANNED_VERSIONS) {
      if (verdicts[version] === undefined)
        throw new Error(`sslscan reported no ${version}: ${xml}`);
    }
    return { verdicts: verdicts as Record<ScannedVersion, boolean>, elapsedInMs };
  } finally {
    files.remove();
  }
}
