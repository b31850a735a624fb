/**
 * The emulator's static bearer token: an unsigned JWT that the emulator compares verbatim and that
 * Azurite's `--oauth basic` accepts, so one credential serves ARM, Graph, Kubernetes and blobs.
 */

/** Far-future expiry (2100-01-01T00:00:00Z) so the token never needs refreshing in a run. */
const EXPIRES_AT_SECONDS = 4_102_444_800;
/** Fixed issue time (2020-01-01T00:00:00Z): the token is deterministic for a tenant. */
const ISSUED_AT_SECONDS = 1_577_836_800;

/**
 * Builds the static token for a tenant: `alg: none`, issuer `https://sts.windows.net/<tenant>/`,
 * audience `https://storage.azure.com`, `iat`/`nbf` in 2020 and `exp` in 2100.
 *
 * Azurite 3.35 (BlobTokenAuthenticator, basic level) decodes without verifying the signature and
 * requires `nbf`, `exp` and `iat` present with nbf ≤ now ≤ exp, `iss` starting with a known STS
 * prefix (`https://sts.windows.net/` among them), and `aud` equal to `https://storage.azure.com`
 * (or an account's blob endpoint); it also refuses Bearer over plain HTTP.
 */
export function createStaticToken(tenantId: string): string {
  const header = { alg: "none", typ: "JWT" };
  const payload = {
    aud: "https://storage.azure.com",
    iss: `https://sts.windows.net/${tenantId}/`,
    iat: ISSUED_AT_SECONDS,
    nbf: ISSUED_AT_SECONDS,
    exp: EXPIRES_AT_SECONDS,
    tid: tenantId,
    oid: "00000000-0000-0000-0000-00000000e001",
    sub: "vigil-emulator",
    appid: "00000000-0000-0000-0000-00000000e001",
    ver: "1.0",
  };
  // An unsecured JWT (RFC 7519 §6.1) ends with an empty signature segment.
  return `${encode(header)}.${encode(payload)}.`;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
