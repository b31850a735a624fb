/** The request and response shapes the emulator's API modules (ARM, Graph, Kubernetes) exchange with its server. */

import type { IncomingHttpHeaders } from "node:http";

/** One request as an API module sees it: the path has the module's prefix removed. */
export interface EmulatorRequest {
  method: string;
  /** Path without the module prefix (`/k8s/<cluster>` or `/graph`) and without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What an API module answers; the server adds `x-ms-request-id`, faults and logging. */
export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless it is a Buffer or a string. */
  body?: unknown;
}

/**
 * A Kubernetes Service fronting seeded TLS endpoints. Its ports are served as seeded; its load
 * balancer keeps the address the seed declares, else gets `ip`; a client reaches the seeded
 * endpoints by connecting to `connect` instead of that address (the emulator's `connectTo`).
 */
export interface ServiceOverride {
  cluster: string;
  namespace: string;
  name: string;
  /** Put into `status.loadBalancer.ingress[0].ip` when the seeded Service declares no address. */
  ip: string;
  /** Where the Service's TLS port is really served: the SNI router for it. */
  connect: { host: string; port: number };
}
