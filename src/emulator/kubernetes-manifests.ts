/**
 * Reads a seed's `kubernetes/<cluster>/*.yaml` folders into plain manifest objects, one list per
 * cluster, and refuses a malformed document by file and document index.
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { SeedError } from "./errors.js";

/** A Kubernetes object as a seed wrote it, plus where it came from. */
export interface SeededManifest {
  manifest: Manifest;
  file: string;
  /** Zero-based document index (and List item) in `file`, for error messages. */
  where: string;
}

/** An object with the fields every Kubernetes object must have. */
export interface Manifest extends Record<string, unknown> {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
}

/** Whether `value` is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks that `value` is a Kubernetes object (`apiVersion`, `kind`, `metadata.name` strings;
 * `metadata.namespace` a string when given) and says what is wrong otherwise.
 */
export function manifestProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return "is not a mapping";
  if (typeof value.apiVersion !== "string" || value.apiVersion === "") {
    return "has no apiVersion";
  }
  if (typeof value.kind !== "string" || value.kind === "") return "has no kind";
  if (!isRecord(value.metadata)) return "has no metadata";
  if (typeof value.metadata.name !== "string" || value.metadata.name === "") {
    return "has no metadata.name";
  }
  const namespace = value.metadata.namespace;
  if (namespace !== undefined && (typeof namespace !== "string" || namespace === "")) {
    return "has a metadata.namespace that is not a non-empty string";
  }
  return undefined;
}

/**
 * Parses one multi-document YAML text into manifests. Empty documents are skipped; a `kind: List`
 * document contributes its `items` (as `kubectl get -o yaml` writes them).
 *
 * @throws {SeedError} when a document is not valid YAML or not a Kubernetes object.
 */
export function parseManifests(text: string, file: string): SeededManifest[] {
  const result: SeededManifest[] = [];
  const documents = parseAllDocuments(text);
  // A text with nothing but comments or `---` parses to an empty array, never to an EmptyStream
  // with errors, so `documents` is always iterable.
  for (const [index, document] of Array.from(documents).entries()) {
    const where = `document ${index}`;
    const error = document.errors[0];
    if (error !== undefined) {
      throw new SeedError(`${where}: invalid YAML: ${error.message}`, file, { cause: error });
    }
    if (document.contents === null) continue;
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // An alias without its anchor, or too many aliases (a "billion laughs" document), is
      // found only when the document is turned into values: the yaml library throws then.
      if (!(error instanceof ReferenceError)) throw error;
      throw new SeedError(`${where}: invalid YAML: ${error.message}`, file, { cause: error });
    }
    if (value === null || value === undefined) continue;
    if (isRecord(value) && value.kind === "List" && Array.isArray(value.items)) {
      for (const [itemIndex, item] of value.items.entries()) {
        const problem = manifestProblem(item);
        if (problem !== undefined) {
          throw new SeedError(`${where}: item ${itemIndex} ${problem}`, file);
        }
        result.push({ manifest: item as Manifest, file, where: `${where} item ${itemIndex}` });
      }
      continue;
    }
    const problem = manifestProblem(value);
    if (problem !== undefined) throw new SeedError(`${where} ${problem}`, file);
    result.push({ manifest: value as Manifest, file, where });
  }
  return result;
}

/**
 * Reads every cluster folder under `dir` (`<seed>/kubernetes`): the folder name is the cluster,
 * its `*.yaml` / `*.yml` files (sorted by name) hold the manifests. A missing `dir` means no
 * clusters.
 *
 * @throws {SeedError} when a file cannot be read or holds a malformed document.
 */
export function readClusterManifests(dir: string): Map<string, SeededManifest[]> {
  const clusters = new Map<string, SeededManifest[]>();
  if (!existsSync(dir)) return clusters;
  const names = readdirSync(dir).sort();
  for (const cluster of names) {
    const clusterDir = join(dir, cluster);
    if (!statSync(clusterDir).isDirectory()) continue;
    const manifests: SeededManifest[] = [];
    const files = readdirSync(clusterDir)
      .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
      .sort();
    for (const name of files) {
      const file = join(clusterDir, name);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        throw new SeedError("cannot be read", file, { cause: error });
      }
      manifests.push(...parseManifests(text, file));
    }
    clusters.set(cluster, manifests);
  }
  return clusters;
}
