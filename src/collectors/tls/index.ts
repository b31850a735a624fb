/** The TLS collector and the live probe behind it (`vigil/TlsProbe` observations). */

export type { CertificateFacts, ChainError, TrustStore } from "./certificate.js";
export { createTrustStore, verifyChain } from "./certificate.js";
export { type CreateTlsCollectorOptions, createTlsCollector } from "./collector.js";
export { signatureAlgorithmName, validityOf } from "./der.js";
export type { TlsVersion } from "./handshake.js";
export { TLS_VERSIONS } from "./handshake.js";
export { type HstsFacts, parseHsts } from "./hsts.js";
export {
  type ProbeTlsEndpointOptions,
  probeTlsEndpoint,
  TLS_PROBE_TYPE,
  type TlsProbeDocument,
  tlsObservationId,
} from "./probe.js";
