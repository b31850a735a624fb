/**
 * `tls.connectTo`, like curl's `--connect-to`: a probed endpoint keeps its logical `host:port` (in
 * its observation id, its document, its SNI and Host header) while its sockets go to another
 * `host:port`. Pure: parsing and the normalised key both sides agree on.
 */

import { InputError, InputErrors, joinPointer } from "./errors.js";

/** A host (name or address, IPv6 without brackets) and a TCP port. */
export interface HostPort {
  host: string;
  port: number;
}

const ADDRESS = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/;
const EXPECTED = "host:port (an IPv6 address in brackets, a port from 1 to 65535)";

/**
 * Read `host:port` or `[ipv6]:port`; the host is lower-cased. `undefined` when the text is not
 * one: no port, a port outside 1–65535, an unbracketed IPv6 address, brackets around a name.
 */
export function parseHostPort(text: string): HostPort | undefined {
  const match = ADDRESS.exec(text.trim());
  if (match === null) return undefined;
  const [, ipv6, name, digits] = match;
  if (ipv6 !== undefined && !ipv6.includes(":")) return undefined;
  const port = Number(digits);
  if (port < 1 || port > 65535) return undefined;
  return { host: (ipv6 ?? name ?? "").toLowerCase(), port };
}

/** `host:port` with an IPv6 host in brackets and the host lower-cased: the key of the table. */
export function formatHostPort(host: string, port: number): string {
  const lower = host.toLowerCase();
  return `${lower.includes(":") ? `[${lower}]` : lower}:${port}`;
}

/**
 * The `tls.connectTo` table keyed by the normalised logical address ({@link formatHostPort}).
 * @throws InputErrors naming `file` and `/tls/connectTo/<key>` for each key or value that is not
 *   `host:port`, and for a key that repeats another once host names are compared case-insensitively.
 */
export function parseConnectTo(
  entries: Readonly<Record<string, string>>,
  file: string,
): Map<string, HostPort> {
  const table = new Map<string, HostPort>();
  const keys = new Map<string, string>();
  const problems: InputError[] = [];
  for (const [logical, actual] of Object.entries(entries)) {
    const pointer = joinPointer("/tls/connectTo", logical);
    const from = parseHostPort(logical);
    const to = typeof actual === "string" ? parseHostPort(actual) : undefined;
    if (from === undefined)
      problems.push(
        new InputError(`expected the key to be a probed ${EXPECTED}, found '${logical}'`, {
          file,
          pointer,
          code: "InvalidAddress",
        }),
      );
    if (to === undefined)
      problems.push(
        new InputError(`expected the address to connect to as ${EXPECTED}, found '${actual}'`, {
          file,
          pointer,
          code: "InvalidAddress",
        }),
      );
    if (from === undefined || to === undefined) continue;
    const key = formatHostPort(from.host, from.port);
    const earlier = keys.get(key);
    if (earlier !== undefined) {
      problems.push(
        new InputError(`'${logical}' repeats '${earlier}' (host names are case-insensitive)`, {
          file,
          pointer,
          code: "InvalidAddress",
        }),
      );
      continue;
    }
    keys.set(key, logical);
    table.set(key, to);
  }
  if (problems.length > 0) throw new InputErrors(problems);
  return table;
}
