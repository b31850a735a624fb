/**
 * A TCP front door shared by several TLS endpoints, like an ingress controller's load balancer:
 * it reads the ClientHello's server name and pipes the whole connection to the matching endpoint.
 */

import { once } from "node:events";
import net from "node:net";

/** One backend of the router: the TLS endpoint's port and the host names it serves. */
export interface SniRoute {
  /** Host names matched case-insensitively; `*.example.com` matches one label. */
  hosts: string[];
  port: number;
}

/** Options of {@link startSniRouter}. */
export interface StartSniRouterOptions {
  /** Address to listen on and to reach the backends at. */
  host: string;
  /** Backends in order; a ClientHello without a known name goes to the first. */
  routes: SniRoute[];
  /** Port to listen on; default 0 (a free port). */
  port?: number;
}

/** A listening router. */
export interface SniRouterHandle {
  port: number;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** The result of reading the start of a connection. */
export type ClientHelloResult =
  | { kind: "incomplete" }
  | { kind: "complete"; serverName: string | undefined }
  | { kind: "not-tls" };

/** A ClientHello larger than this (records plus headers) is not waited for. */
const MAX_HELLO_BYTES = 64 * 1024;
/** A client that sends no complete ClientHello within this time is dropped. */
const HELLO_TIMEOUT_IN_MS = 10_000;

/**
 * Starts a router on `host:port` that forwards each connection (including the bytes already read)
 * to the route whose hosts contain the ClientHello's server name, else to the first route.
 *
 * @throws RangeError when `routes` is empty.
 */
export async function startSniRouter(options: StartSniRouterOptions): Promise<SniRouterHandle> {
  const [fallback] = options.routes;
  if (fallback === undefined) throw new RangeError("an SNI router needs at least one route");
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  const server = net.createServer((client) => {
    track(client);
    client.setTimeout(HELLO_TIMEOUT_IN_MS, () => client.destroy());
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const hello = readClientHello(buffered);
      if (hello.kind === "incomplete" && buffered.length < MAX_HELLO_BYTES) return;
      client.off("data", onData);
      client.pause();
      client.setTimeout(0);
      const serverName = hello.kind === "complete" ? hello.serverName : undefined;
      const route = routeFor(options.routes, serverName) ?? fallback;
      const upstream = net.connect(route.port, options.host);
      track(upstream);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      upstream.write(buffered);
      client.pipe(upstream);
      upstream.pipe(client);
    };
    client.on("data", onData);
    client.on("error", () => client.destroy());
  });
  server.listen(options.port ?? 0, options.host);
  await once(server, "listening");
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function routeFor(routes: SniRoute[], serverName: string | undefined): SniRoute | undefined {
  if (serverName === undefined) return undefined;
  const name = serverName.toLowerCase();
  return (
    routes.find((route) => route.hosts.some((host) => host.toLowerCase() === name)) ??
    routes.find((route) => route.hosts.some((host) => matchesWildcard(host.toLowerCase(), name)))
  );
}

function matchesWildcard(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*.")) return false;
  const suffix = pattern.slice(1);
  const label = name.slice(0, name.length - suffix.length);
  return name.endsWith(suffix) && label.length > 0 && !label.includes(".");
}

/**
 * Reads the server_name extension (RFC 6066 §3) from the start of a TLS connection. The
 * ClientHello may be split across several TLS records (RFC 8446 §5.1) and TCP segments, so it
 * answers `incomplete` until the whole handshake message has arrived.
 */
export function readClientHello(data: Buffer): ClientHelloResult {
  // Reassemble the handshake message from consecutive handshake records (content type 22).
  const parts: Buffer[] = [];
  let offset = 0;
  let handshakeLength: number | undefined;
  let collected = 0;
  while (handshakeLength === undefined || collected < handshakeLength) {
    if (data.length < offset + 5) return { kind: "incomplete" };
    if (data[offset] !== 22) return offset === 0 ? { kind: "not-tls" } : { kind: "incomplete" };
    const recordLength = data.readUInt16BE(offset + 3);
    if (data.length < offset + 5 + recordLength) return { kind: "incomplete" };
    const fragment = data.subarray(offset + 5, offset + 5 + recordLength);
    parts.push(fragment);
    collected += fragment.length;
    offset += 5 + recordLength;
    if (handshakeLength === undefined && collected >= 4) {
      const head = Buffer.concat(parts);
      if (head[0] !== 1) return { kind: "not-tls" }; // not a ClientHello
      handshakeLength = 4 + head.readUIntBE(1, 3);
    }
  }
  const hello = Buffer.concat(parts).subarray(4, handshakeLength);
  return { kind: "complete", serverName: serverNameOf(hello) };
}

/** Walks a ClientHello body (RFC 8446 §4.1.2) to the server_name extension; undefined if absent. */
function serverNameOf(hello: Buffer): string | undefined {
  let at = 2 + 32; // legacy_version, random
  const skip = (lengthBytes: number): boolean => {
    if (hello.length < at + lengthBytes) return false;
    at += lengthBytes + hello.readUIntBE(at, lengthBytes);
    return at <= hello.length;
  };
  // legacy_session_id, cipher_suites, legacy_compression_methods
  if (!skip(1) || !skip(2) || !skip(1)) return undefined;
  if (hello.length < at + 2) return undefined;
  const end = Math.min(hello.length, at + 2 + hello.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    const body = hello.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    if (type !== 0) continue;
    // ServerNameList: list length (2), then entries of name_type (1), length (2), name.
    let entry = 2;
    while (entry + 3 <= body.length) {
      const nameType = body[entry];
      const nameLength = body.readUInt16BE(entry + 1);
      const name = body.subarray(entry + 3, entry + 3 + nameLength);
      if (nameType === 0) return name.toString("ascii");
      entry += 3 + nameLength;
    }
    return undefined;
  }
  return undefined;
}
