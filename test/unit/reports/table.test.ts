import { describe, expect, it } from "vitest";
import { terminalSafe } from "../../../src/reports/index.js";

describe("terminalSafe", () => {
  it("removes ANSI escapes and control characters that an estate string could carry", () => {
    expect(terminalSafe("ok\u001b[2J\u001b[31mred\u0007\u0000")).toBe("okred??");
  });

  it("keeps ordinary Unicode", () => {
    expect(terminalSafe("Entrepôt Łódź 倉庫")).toBe("Entrepôt Łódź 倉庫");
  });
});
