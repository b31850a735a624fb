/**
 * Field paths of the rule language: parsing `properties.a[*].b['key.with.dots']` into segments,
 * and reading them from a document the way Azure Policy reads fields (case-insensitive property
 * names, `[*]` selecting every member).
 */

/** One step of a path. */
export type Segment =
  | { readonly kind: "prop"; readonly name: string; readonly lower: string }
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "all" };

/** A parsed path; `text` is the source spelling. */
export interface FieldPath {
  readonly text: string;
  readonly segments: readonly Segment[];
  /** True when some segment is `[*]`. */
  readonly hasWildcard: boolean;
}

/** A syntax error in a path; the caller adds file and pointer. */
export class PathSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PathSyntaxError";
  }
}

const IDENT_STOP = new Set([".", "["]);

/**
 * Parse a field path. Accepts `a.b`, `a[*]`, `a[3]`, `a['x.y']`, `a["x"]`, `a[x]` (bare key, as
 * Azure Policy accepts for tags) and `''` as an escaped apostrophe inside a quoted key.
 * @throws PathSyntaxError on an empty segment, an unclosed bracket or a bad index.
 */
export function parsePath(text: string): FieldPath {
  const segments: Segment[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) throw new PathSyntaxError("empty path");
  let expectName = true;
  while (i < n) {
    const ch = text[i];
    if (ch === "[") {
      const close = findBracketEnd(text, i);
      const inner = text.slice(i + 1, close);
      segments.push(parseBracket(inner, text));
      i = close + 1;
      expectName = false;
      continue;
    }
    if (ch === ".") {
      if (expectName) throw new PathSyntaxError(`empty segment at offset ${i} in '${text}'`);
      i += 1;
      expectName = true;
      if (i >= n) throw new PathSyntaxError(`path '${text}' ends with '.'`);
      continue;
    }
    if (!expectName) throw new PathSyntaxError(`expected '.' or '[' at offset ${i} in '${text}'`);
    let j = i;
    while (j < n && !IDENT_STOP.has(text[j] as string)) j += 1;
    const name = text.slice(i, j);
    segments.push(prop(name));
    i = j;
    expectName = false;
  }
  return { text, segments, hasWildcard: segments.some((s) => s.kind === "all") };
}

function prop(name: string): Segment {
  return { kind: "prop", name, lower: name.toLowerCase() };
}

function findBracketEnd(text: string, open: number): number {
  const quote = text[open + 1];
  if (quote === "'" || quote === '"') {
    let j = open + 2;
    while (j < text.length) {
      if (text[j] === quote) {
        if (quote === "'" && text[j + 1] === "'") {
          j += 2;
          continue;
        }
        if (text[j + 1] !== "]")
          throw new PathSyntaxError(`expected ']' after quoted key in '${text}'`);
        return j + 1;
      }
      j += 1;
    }
    throw new PathSyntaxError(`unclosed quote in '${text}'`);
  }
  const close = text.indexOf("]", open);
  if (close < 0) throw new PathSyntaxError(`unclosed '[' in '${text}'`);
  return close;
}

function parseBracket(inner: string, text: string): Segment {
  if (inner === "*") return { kind: "all" };
  if (inner.length === 0) throw new PathSyntaxError(`empty brackets in '${text}'`);
  const q = inner[0];
  if ((q === "'" || q === '"') && inner.endsWith(q) && inner.length >= 2) {
    const body = inner.slice(1, -1);
    return prop(q === "'" ? body.replaceAll("''", "'") : body);
  }
  if (/^\d+$/.test(inner)) return { kind: "index", index: Number(inner) };
  if (/^-/.test(inner)) throw new PathSyntaxError(`negative index in '${text}'`);
  return prop(inner);
}

/** Format segments back into a canonical path (used for concrete paths in traces and gaps). */
export function formatPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (s.kind === "prop") {
      if (/^[A-Za-z_$][\w$-]*$/.test(s.name)) out += out === "" ? s.name : `.${s.name}`;
      else out += `['${s.name.replaceAll("'", "''")}']`;
    } else if (s.kind === "index") out += `[${s.index}]`;
    else out += "[*]";
  }
  return out;
}

/** Append one segment to a concrete path string. */
export function appendPath(base: string, segment: Segment): string {
  if (segment.kind === "prop") {
    if (/^[A-Za-z_$][\w$-]*$/.test(segment.name))
      return base === "" ? segment.name : `${base}.${segment.name}`;
    return `${base}['${segment.name.replaceAll("'", "''")}']`;
  }
  if (segment.kind === "index") return `${base}[${segment.index}]`;
  return `${base}[*]`;
}

/**
 * Read one property of an object the way Azure Policy does: exact name first, then a
 * case-insensitive match (ARM property names are case-insensitive).
 */
export function getProperty(value: unknown, segment: { name: string; lower: string }): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  // Own properties only: `constructor` or `__proto__` in a path is a field name, never a member
  // every JavaScript object inherits.
  if (Object.hasOwn(record, segment.name)) return record[segment.name];
  // Most misses are absent properties: compare lengths before lower-casing any key.
  const length = segment.lower.length;
  for (const key in record) {
    if (key.length === length && Object.hasOwn(record, key) && key.toLowerCase() === segment.lower)
      return record[key];
  }
  return undefined;
}

/** True when `prefix` equals the first segments of `segments` (property names compared case-insensitively). */
export function isPrefix(prefix: readonly Segment[], segments: readonly Segment[]): boolean {
  if (prefix.length > segments.length) return false;
  for (let i = 0; i < prefix.length; i += 1) {
    if (!sameSegment(prefix[i] as Segment, segments[i] as Segment)) return false;
  }
  return true;
}

function sameSegment(a: Segment, b: Segment): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "prop") return a.lower === (b as { lower: string }).lower;
  if (a.kind === "index") return a.index === (b as { index: number }).index;
  return true;
}
