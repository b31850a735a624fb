/**
 * Finds where JSON text stops being JSON. V8's messages do not always carry a position (Node 20:
 * "Unexpected token '}', … is not valid JSON"), so a small validating scanner pins the offset.
 */

const WS = new Set([" ", "\t", "\n", "\r"]);

class StopAt extends Error {
  readonly offset: number;
  constructor(offset: number) {
    super(`invalid JSON at offset ${offset}`);
    this.offset = offset;
  }
}

/** Offset of the first character at which `text` is not valid JSON, or `undefined` if it is valid. */
export function locateJsonError(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new StopAt(i);
  };
  const ws = () => {
    while (i < text.length && WS.has(text[i] as string)) i += 1;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i += 1;
    }
  };
  const string = () => {
    i += 1;
    for (;;) {
      if (i >= text.length) fail();
      const ch = text[i] as string;
      if (ch === '"') {
        i += 1;
        return;
      }
      if (ch < " ") fail();
      if (ch === "\\") {
        i += 1;
        const esc = text[i];
        if (esc === "u") {
          for (let k = 1; k <= 4; k += 1) if (!/[0-9a-fA-F]/.test(text[i + k] ?? "")) fail();
          i += 5;
          continue;
        }
        if (esc === undefined || !'"\\/bfnrt'.includes(esc)) fail();
      }
      i += 1;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null || m[0] === "" || m[0] === "-") fail();
    i += (m as RegExpExecArray)[0].length;
  };
  // Iterative, with an explicit stack of open containers: a recursive descent would overflow
  // the call stack on deeply nested input (`[[[[…`), which is exactly the input to report on.
  const value = (): void => {
    const open: ("{" | "[")[] = [];
    for (;;) {
      ws();
      const ch = text[i];
      if (ch === "{") {
        i += 1;
        ws();
        if (text[i] === "}") i += 1;
        else {
          member();
          open.push("{");
          continue;
        }
      } else if (ch === "[") {
        i += 1;
        ws();
        if (text[i] === "]") i += 1;
        else {
          open.push("[");
          continue;
        }
      } else if (ch === '"') string();
      else if (ch === "t") literal("true");
      else if (ch === "f") literal("false");
      else if (ch === "n") literal("null");
      else number();
      // A value is complete: close every container it completes, then expect the next value.
      for (;;) {
        const top = open.at(-1);
        if (top === undefined) return;
        ws();
        if (text[i] === ",") {
          i += 1;
          if (top === "{") member();
          break;
        }
        if (text[i] === (top === "{" ? "}" : "]")) {
          i += 1;
          open.pop();
          continue;
        }
        fail();
      }
    }
  };
  /** A member's key and colon; its value follows. */
  const member = () => {
    ws();
    if (text[i] !== '"') fail();
    string();
    ws();
    if (text[i] !== ":") fail();
    i += 1;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof StopAt) return error.offset;
    throw error;
  }
}
