/**
 * Template expressions (`"[addDays(utcNow(), -7)]"`): the ARM expression syntax that Azure Policy
 * rules share, parsed once and compiled into closures over the evaluation context.
 */
import { RuleEvaluationError } from "../errors.js";
import type { EvalContext } from "./context.js";
import { getProperty } from "./path.js";
import { typeName } from "./values.js";

/** Syntax tree of an expression. */
export type ExprNode =
  | { readonly kind: "literal"; readonly value: unknown }
  | {
      readonly kind: "call";
      readonly name: string;
      readonly args: readonly ExprNode[];
      readonly offset: number;
    }
  | { readonly kind: "member"; readonly target: ExprNode; readonly property: string }
  | { readonly kind: "index"; readonly target: ExprNode; readonly index: ExprNode };

/** A compiled expression. */
export type ExprFn = (ctx: EvalContext) => unknown;

/** A syntax error in an expression; the caller adds file and pointer. */
export class ExpressionSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpressionSyntaxError";
  }
}

/** True when a string is a template expression: `[` … `]` and not escaped as `[[`. */
export function isExpression(text: string): boolean {
  return text.length >= 2 && text.startsWith("[") && text.endsWith("]") && !text.startsWith("[[");
}

/** The literal a string stands for when it is not an expression (`[[x]` is `[x]`). */
export function unescapeLiteral(text: string): string {
  return text.startsWith("[[") ? text.slice(1) : text;
}

type Token =
  | { t: "ident"; v: string; o: number }
  | { t: "string"; v: string; o: number }
  | { t: "number"; v: number; o: number }
  | { t: "punct"; v: string; o: number }
  | { t: "end"; o: number };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      i += 1;
    } else if (ch === "'") {
      let j = i + 1;
      let out = "";
      for (;;) {
        if (j >= src.length)
          throw new ExpressionSyntaxError(`unclosed string starting at offset ${i}`);
        if (src[j] === "'") {
          if (src[j + 1] === "'") {
            out += "'";
            j += 2;
            continue;
          }
          break;
        }
        out += src[j];
        j += 1;
      }
      tokens.push({ t: "string", v: out, o: i });
      i = j + 1;
    } else if (/[0-9]/.test(ch) || (ch === "-" && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ t: "number", v: Number(m[0]), o: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ t: "ident", v: m[0], o: i });
      i += m[0].length;
    } else if ("(),.[]".includes(ch)) {
      tokens.push({ t: "punct", v: ch, o: i });
      i += 1;
    } else {
      throw new ExpressionSyntaxError(`unexpected character '${ch}' at offset ${i}`);
    }
  }
  tokens.push({ t: "end", o: src.length });
  return tokens;
}

/**
 * Parse the inside of a template expression (without the outer brackets).
 * @throws ExpressionSyntaxError with the offending offset.
 */
export function parseExpression(src: string): ExprNode {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos] as Token;
  const next = () => tokens[pos++] as Token;
  const expectPunct = (v: string) => {
    const tok = next();
    if (tok.t !== "punct" || tok.v !== v) {
      throw new ExpressionSyntaxError(`expected '${v}' at offset ${tok.o}`);
    }
  };

  function primary(): ExprNode {
    const tok = next();
    if (tok.t === "string") return { kind: "literal", value: tok.v };
    if (tok.t === "number") return { kind: "literal", value: tok.v };
    if (tok.t === "ident") {
      const after = peek();
      if (after.t === "punct" && after.v === "(") {
        next();
        const args: ExprNode[] = [];
        const close = peek();
        if (close.t === "punct" && close.v === ")") {
          next();
        } else {
          for (;;) {
            args.push(postfix());
            const sep = next();
            if (sep.t === "punct" && sep.v === ")") break;
            if (sep.t !== "punct" || sep.v !== ",")
              throw new ExpressionSyntaxError(`expected ',' or ')' at offset ${sep.o}`);
          }
        }
        return { kind: "call", name: tok.v, args, offset: tok.o };
      }
      const lower = tok.v.toLowerCase();
      if (lower === "true") return { kind: "literal", value: true };
      if (lower === "false") return { kind: "literal", value: false };
      if (lower === "null") return { kind: "literal", value: null };
      throw new ExpressionSyntaxError(
        `'${tok.v}' at offset ${tok.o} is not a function call (missing '(')`,
      );
    }
    if (tok.t === "end") throw new ExpressionSyntaxError("expression ends early");
    throw new ExpressionSyntaxError(`unexpected '${tok.v}' at offset ${tok.o}`);
  }

  function postfix(): ExprNode {
    let node = primary();
    for (;;) {
      const tok = peek();
      if (tok.t === "punct" && tok.v === ".") {
        next();
        const name = next();
        if (name.t !== "ident")
          throw new ExpressionSyntaxError(`expected a property name at offset ${name.o}`);
        node = { kind: "member", target: node, property: name.v };
      } else if (tok.t === "punct" && tok.v === "[") {
        next();
        const index = postfix();
        expectPunct("]");
        node = { kind: "index", target: node, index };
      } else {
        return node;
      }
    }
  }

  const root = postfix();
  const rest = peek();
  if (rest.t !== "end") throw new ExpressionSyntaxError(`unexpected text at offset ${rest.o}`);
  return root;
}

/** Read `.property` of an expression result. @throws RuleEvaluationError when absent. */
export function memberOf(target: unknown, property: string): unknown {
  if (target === null || typeof target !== "object" || Array.isArray(target)) {
    throw new RuleEvaluationError(`cannot read '.${property}' of ${typeName(target)}`);
  }
  const value = getProperty(target, { name: property, lower: property.toLowerCase() });
  if (value === undefined)
    throw new RuleEvaluationError(`the object has no property '${property}'`);
  return value;
}

/** Read `[index]` of an expression result. @throws RuleEvaluationError when out of range or absent. */
export function indexOf(target: unknown, index: unknown): unknown {
  if (Array.isArray(target)) {
    if (typeof index !== "number" || !Number.isInteger(index))
      throw new RuleEvaluationError(`array index must be an integer, got ${typeName(index)}`);
    if (index < 0 || index >= target.length)
      throw new RuleEvaluationError(`index ${index} is out of range (length ${target.length})`);
    return target[index];
  }
  if (typeof index === "string") return memberOf(target, index);
  throw new RuleEvaluationError(`cannot index ${typeName(target)} with ${typeName(index)}`);
}
