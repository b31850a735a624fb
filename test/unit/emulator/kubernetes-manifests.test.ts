/** Parsing of seeded multi-document Kubernetes YAML into manifests. */

import { describe, expect, it } from "vitest";
import { SeedError } from "../../../src/emulator/errors.js";
import { parseManifests } from "../../../src/emulator/kubernetes-manifests.js";

const NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n";

function thrown(text: string): SeedError {
  try {
    parseManifests(text, "seed/kubernetes/c/x.yaml");
  } catch (error) {
    if (error instanceof SeedError) return error;
    throw error;
  }
  throw new Error("expected a SeedError");
}

describe("parseManifests", () => {
  it("reads every document and skips empty and comment-only ones", () => {
    const text = `---\n${NAMESPACE}---\n# nothing here\n---\n\n---\n${NAMESPACE.replace("name: a", "name: b")}`;

    const result = parseManifests(text, "x.yaml");

    expect(result.map((r) => r.manifest.metadata.name)).toEqual(["a", "b"]);
    expect(result.map((r) => r.where)).toEqual(["document 0", "document 3"]);
  });

  it("returns nothing for an empty file", () => {
    expect(parseManifests("", "x.yaml")).toEqual([]);
    expect(parseManifests("# only a comment\n", "x.yaml")).toEqual([]);
  });

  it("reads JSON-style flow documents as the upstream fixtures write them", () => {
    const text = '{ apiVersion: "v1", kind: "Namespace", metadata: { name: "prod" } }';

    expect(parseManifests(text, "x.yaml")[0]?.manifest).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "prod" },
    });
  });

  it("flattens a kind: List document into its items", () => {
    const text =
      "apiVersion: v1\nkind: List\nitems:\n" +
      "  - { apiVersion: v1, kind: Namespace, metadata: { name: x } }\n" +
      "  - { apiVersion: v1, kind: Namespace, metadata: { name: y } }\n";

    const result = parseManifests(text, "x.yaml");

    expect(result.map((r) => [r.manifest.metadata.name, r.where])).toEqual([
      ["x", "document 0 item 0"],
      ["y", "document 0 item 1"],
    ]);
  });

  it("names file and document index for invalid YAML", () => {
    const error = thrown(`${NAMESPACE}---\nmetadata: { name: [unclosed\n`);

    expect(error.file).toBe("seed/kubernetes/c/x.yaml");
    expect(error.message).toMatch(/^seed\/kubernetes\/c\/x\.yaml: document 1: invalid YAML/);
  });

  it.each([
    ["a scalar", "just text", "is not a mapping"],
    ["a sequence", "- a\n- b", "is not a mapping"],
    ["no apiVersion", "kind: Namespace\nmetadata: { name: a }", "has no apiVersion"],
    ["no kind", "apiVersion: v1\nmetadata: { name: a }", "has no kind"],
    ["no metadata", "apiVersion: v1\nkind: Namespace", "has no metadata"],
    ["no name", "apiVersion: v1\nkind: Namespace\nmetadata: {}", "has no metadata.name"],
    [
      "a numeric namespace",
      "apiVersion: v1\nkind: Pod\nmetadata: { name: a, namespace: 7 }",
      "metadata.namespace",
    ],
  ])("refuses a document with %s", (_case, text, problem) => {
    const error = thrown(`${NAMESPACE}---\n${text}\n`);

    expect(error.message).toContain("document 1");
    expect(error.message).toContain(problem);
  });
});
