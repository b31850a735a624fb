/**
 * Kubernetes list selectors the emulator understands: `labelSelector` (equality and set-based) and
 * the `fieldSelector`s every resource supports (`metadata.name`, `metadata.namespace`).
 */

/** A compiled selector: true when the object's labels (or fields) match. */
export type Selector = (labels: Record<string, string>) => boolean;

/** A selector string the emulator cannot parse; answered as 400 BadRequest. */
export class SelectorSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SelectorSyntaxError";
  }
}

const KEY = "[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?";
const VALUE = "([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?";
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`);
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);

function splitRequirements(text: string): string[] {
  // Commas inside `in (a,b)` belong to the value set, not between requirements.
  return text
    .split(/,(?![^(]*\))/)
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function requirement(text: string): Selector {
  const equality = EQUALITY.exec(text);
  if (equality) {
    const key = equality[1] as string;
    const operator = equality[3] as string;
    const value = equality[4] ?? "";
    return operator === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  const set = SET.exec(text);
  if (set) {
    const key = set[1] as string;
    const values = (set[4] as string)
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
    if (set[3] === "in") return (l) => l[key] !== undefined && values.includes(l[key]);
    // `notin` also matches objects without the label (labels.Selector semantics).
    return (l) => l[key] === undefined || !values.includes(l[key]);
  }
  const exists = EXISTS.exec(text);
  if (exists) {
    const key = exists[2] as string;
    return exists[1] === "!" ? (l) => !(key in l) : (l) => key in l;
  }
  throw new SelectorSyntaxError(`unable to parse requirement: "${text}"`);
}

/**
 * Compiles a `labelSelector` query value. Requirements are ANDed, as in the API server.
 *
 * @throws {SelectorSyntaxError} when a requirement has no recognised form.
 */
export function parseLabelSelector(text: string): Selector {
  const requirements = splitRequirements(text).map(requirement);
  return (labels) => requirements.every((r) => r(labels));
}

const FIELDS = new Set(["metadata.name", "metadata.namespace"]);

/**
 * Compiles a `fieldSelector` query value over `metadata.name` and `metadata.namespace` (the fields
 * every resource type supports); the selector is applied to a `{ field: value }` map.
 *
 * @throws {SelectorSyntaxError} for another field or a set-based requirement.
 */
export function parseFieldSelector(text: string): Selector {
  const requirements = splitRequirements(text).map((part) => {
    const match = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!match) throw new SelectorSyntaxError(`invalid field selector: "${part}"`);
    const field = match[1] as string;
    if (!FIELDS.has(field)) {
      throw new SelectorSyntaxError(`field label not supported: ${field}`);
    }
    const value = match[3] as string;
    return match[2] === "!="
      ? (f: Record<string, string>) => f[field] !== value
      : (f: Record<string, string>) => f[field] === value;
  });
  return (fields) => requirements.every((r) => r(fields));
}
