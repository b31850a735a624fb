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

/** A Kubernetes Service whose load balancer the emulator points at one of its TLS routers. */
export interface ServiceOverride {
  cluster: string;
  namespace: string;
  name: string;
  /** Address put into `status.loadBalancer.ingress[0].ip`. */
  ip: string;
  /** Actual port that replaces the Service's TLS port (the port named `websecure`, else 443). */
  port: number;
}
