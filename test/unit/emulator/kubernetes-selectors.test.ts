/** Label and field selectors of the emulator's Kubernetes list calls. */

import { describe, expect, it } from "vitest";
import {
  parseFieldSelector,
  parseLabelSelector,
  SelectorSyntaxError,
} from "../../../src/emulator/kubernetes-selectors.js";

const labels = { app: "web", tier: "front", "app.kubernetes.io/name": "traefik" };

describe("parseLabelSelector", () => {
  it.each([
    ["app=web", true],
    ["app==web", true],
    ["app=api", false],
    ["app!=api", true],
    ["missing!=x", true],
    ["app in (api, web)", true],
    ["app notin (api,web)", false],
    ["missing notin (a)", true],
    ["app", true],
    ["!app", false],
    ["!missing", true],
    ["app=web,tier=back", false],
    ["app.kubernetes.io/name=traefik,tier in (front,back)", true],
    ["", true],
  ])("evaluates %s to %s", (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it.each(["app=(", "a b", "=x", "app in x"])("refuses %s", (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(SelectorSyntaxError);
  });
});

describe("parseFieldSelector", () => {
  it("matches metadata.name and metadata.namespace", () => {
    const fields = { "metadata.name": "a", "metadata.namespace": "ns" };

    expect(parseFieldSelector("metadata.name=a,metadata.namespace==ns")(fields)).toBe(true);
    expect(parseFieldSelector("metadata.namespace!=ns")(fields)).toBe(false);
  });

  it("refuses other fields", () => {
    expect(() => parseFieldSelector("spec.nodeName=x")).toThrow(SelectorSyntaxError);
  });
});
