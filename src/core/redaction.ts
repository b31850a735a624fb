/**
 * Redaction of secret-looking values in observations before they are stored or printed
 * (DESIGN.md invariant 6). Collectors never ask for secrets; this is the second line of defence
 * against an API that returns one anyway (a connection string in an app setting, a SAS URL).
 */

import type { Observation } from "./types.js";

/** What a redacted value is replaced with. */
export const REDACTED = "[redacted]";

// Property names that carry a secret whatever their value looks like. Matched on the whole name
// (case-insensitive) or as its last word, so `passwordAuth` (PostgreSQL's auth switch) and
// `keyType` stay readable while `administratorLoginPassword` does not.
// Header names (Traefik `headers.customRequestHeaders`) count too: `Authorization`, `X-Api-Key`.
const SECRET_NAME =
  /^(?:password|passwd|secret|token|accesstoken|refreshtoken|apikey|x-api-key|api-key|accesskey|primarykey|secondarykey|sharedkey|accountkey|connectionstring|sastoken|clientsecret|privatekey|credentials?|authorization|proxy-authorization|cookie|set-cookie)$|(?:password|secret|connectionstring|accesskey|accountkey|sastoken|privatekey)$/i;

// Value shapes that are secrets wherever they appear.
const SECRET_VALUES: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/, // PEM private key
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/, // JWT
  // Connection strings. No `\s*` after the delimiter: `\s` is a delimiter already, and a `\s*`
  // there made a long run of spaces take quadratic time.
  /(?:^|[;\s])(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)\s*=/i,
  /[?&]sig=[A-Za-z0-9%+/=]{10,}/, // SAS token in a URL
  // htpasswd entries (Traefik basicAuth `users`): user:$apr1$…, user:$2y$…, user:{SHA}…. The user
  // name starts at a delimiter (the lookbehind): tried from every position of a long word, the
  // match took quadratic time, minutes for a property of a few hundred kilobytes.
  /(?<![^\s:"',])[^\s:"',]+:(?:\$apr1\$|\$2[aby]\$|\$[56]\$|\{SHA\})/,
  /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/i, // a bearer token in a header value
];

/** Whether a string value looks like a secret by its shape alone. */
export function looksSecret(value: string): boolean {
  return SECRET_VALUES.some((pattern) => pattern.test(value));
}

/** Whether a property name names a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * A copy of `value` with every secret-looking string replaced by `[redacted]`: strings under a
 * secret property name, and strings shaped like a key, token or connection string anywhere.
 * Returns the input itself when nothing needed redacting.
 */
export function redactValue(value: unknown, name?: string): unknown {
  if (typeof value === "string") {
    if ((name !== undefined && isSecretName(name) && value !== "") || looksSecret(value))
      return REDACTED;
    return value;
  }
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((item) => {
      const next = redactValue(item, name);
      if (next !== item) changed = true;
      return next;
    });
    return changed ? out : value;
  }
  if (value !== null && typeof value === "object") {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const next = redactValue(item, key);
      if (next !== item) changed = true;
      out[key] = next;
    }
    return changed ? out : value;
  }
  return value;
}

/** An observation with its document, error message and gap messages redacted. */
export function redactObservation(observation: Observation): Observation {
  const document = redactValue(observation.document);
  const message = observation.error?.message;
  const errorChanged = message !== undefined && looksSecret(message);
  const gapsChanged = observation.gaps?.some((gap) => looksSecret(gap.message)) ?? false;
  if (document === observation.document && !errorChanged && !gapsChanged) return observation;
  return {
    ...observation,
    ...(observation.document !== undefined ? { document } : {}),
    ...(errorChanged && observation.error !== undefined
      ? { error: { ...observation.error, message: REDACTED } }
      : {}),
    ...(gapsChanged && observation.gaps !== undefined
      ? {
          gaps: observation.gaps.map((gap) =>
            looksSecret(gap.message) ? { ...gap, message: REDACTED } : gap,
          ),
        }
      : {}),
  };
}
