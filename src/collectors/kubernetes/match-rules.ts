/**
 * Host names in Traefik rule expressions: `Host(\`a\`) || Host(\`b\`)` in an IngressRoute's
 * `match`, `HostSNI(\`a\`)` in an IngressRouteTCP's. Only literal host matchers count; regular
 * expressions (`HostRegexp`, `HostSNIRegexp`), the catch-all `HostSNI(\`*\`)` and negated
 * matchers name no host that can be probed.
 */

const MATCHER = /(!\s*)?\b(Host|HostSNI)\s*\(([^)]*)\)/g;
const ARGUMENT = /`([^`]*)`|"((?:[^"\\]|\\.)*)"/g;

/**
 * The literal host names a rule matches with `Host(…)` (or `HostSNI(…)` when `sni` is true), in
 * order of appearance, lower-cased and without duplicates. Traefik v2 allows several names in one
 * matcher (`Host(\`a\`, \`b\`)`); v3 one; both are read.
 */
export function hostsOfRule(rule: string, options: { sni?: boolean } = {}): string[] {
  const wanted = options.sni === true ? "HostSNI" : "Host";
  const hosts: string[] = [];
  for (const match of rule.matchAll(MATCHER)) {
    if (match[1] !== undefined || match[2] !== wanted) continue;
    for (const arg of (match[3] ?? "").matchAll(ARGUMENT)) {
      const host = (arg[1] ?? arg[2] ?? "").trim().toLowerCase();
      if (host === "" || host === "*" || hosts.includes(host)) continue;
      hosts.push(host);
    }
  }
  return hosts;
}
