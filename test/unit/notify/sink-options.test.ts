/** sinkName: the `<kind>:<name>` a sink logs and is marked delivered under. */

import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/core/index.js";
import { sinkName } from "../../../src/notify/sink-options.js";

describe("sinkName", () => {
  it("prefixes the kind, so a webhook and a Teams sink of the same name stay apart", () => {
    expect([sinkName("webhook", "secops"), sinkName("teams", "secops")]).toEqual([
      "webhook:secops",
      "teams:secops",
    ]);
  });

  it.each(["", "-leading-dash", "has space", "a:b", "x".repeat(65), "ünïcode"])(
    "refuses %j",
    (name) => {
      expect(() => sinkName("webhook", name)).toThrow(InputError);
    },
  );
});
