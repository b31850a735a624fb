import { describe, expect, it } from "vitest";
import { csvCell } from "../../../src/reports/index.js";

describe("csvCell", () => {
  it.each([
    ["plain", "plain"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["line\nbreak", '"line\nbreak"'],
    ['=HYPERLINK("http://x")', '"\'=HYPERLINK(""http://x"")"'],
    ["+1", "'+1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    [undefined, ""],
  ])("quotes %j as %j", (input, output) => {
    expect(csvCell(input)).toBe(output);
  });
});
