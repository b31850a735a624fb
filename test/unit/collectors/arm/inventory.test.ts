/**
 * The check of Resource Graph pages. The emulator always answers `resultTruncated: "false"`, so
 * the pages a truncating Resource Graph sends are given to the page check directly.
 */

import { describe, expect, it } from "vitest";
import { resourceGraphPage } from "../../../../src/collectors/arm/inventory.js";
import { CollectionError } from "../../../../src/collectors/errors.js";

const ROW = {
  id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
};

describe("resourceGraphPage", () => {
  it("returns the rows and the next page's token of a complete page", () => {
    const page = {
      totalRecords: 3,
      count: 1,
      resultTruncated: "false",
      data: [ROW],
      $skipToken: "t",
    };

    expect(resourceGraphPage(page, 0)).toEqual({ data: [ROW], skipToken: "t" });
  });

  it("accepts a last page that completes the earlier pages' rows", () => {
    const page = { totalRecords: 1001, count: 1, resultTruncated: "false", data: [ROW] };

    expect(resourceGraphPage(page, 1000)).toEqual({ data: [ROW], skipToken: undefined });
  });

  it.each([
    [
      'resultTruncated is "true"',
      { totalRecords: 1, count: 1, resultTruncated: "true", data: [ROW] },
    ],
    [
      'resultTruncated is "true" with a $skipToken',
      { totalRecords: 5, count: 1, resultTruncated: "true", data: [ROW], $skipToken: "t" },
    ],
    [
      "count < totalRecords with no $skipToken",
      { totalRecords: 2000, count: 1, resultTruncated: "false", data: [ROW] },
    ],
  ])("throws a Truncated CollectionError when %s", (_label, page) => {
    let error: unknown;
    try {
      resourceGraphPage(page, 0);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(CollectionError);
    expect(error).toMatchObject({ code: "Truncated", source: "resource-graph" });
  });

  it("throws UnexpectedResponse for a page without a data array", () => {
    expect(() => resourceGraphPage({}, 0)).toThrow(
      expect.objectContaining({ code: "UnexpectedResponse" }),
    );
  });
});
