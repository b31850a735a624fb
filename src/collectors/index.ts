/**
 * The collectors' public surface: the call policy every source shares, and one collector per
 * source (ARM, Kubernetes with Traefik, Microsoft Graph, blob drill records, the live TLS probe).
 */

export * from "./arm/index.js";
export * from "./blob/index.js";
export {
  type CallKey,
  type CallOptions,
  type CallPolicy,
  type CallStats,
  type CreateCallPolicyOptions,
  classifyError,
  createCallPolicy,
  type ErrorClassification,
  runWithCallOptions,
} from "./call-policy.js";
export * from "./errors.js";
export * from "./graph/index.js";
export * from "./kubernetes/index.js";
export * from "./tls/index.js";
export type * from "./types.js";
