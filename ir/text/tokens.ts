/**
 * Tokens of the IR text format (`.hir`, see docs/ir-text.md). Labels are what parse errors
 * print as "expected ...".
 */
import { createToken, Lexer, type TokenType } from "chevrotain";

/** A JSON string literal: the printer writes names and strings with JSON.stringify. */
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.source;
/** Names printable without quotes after `%` and `@` (ONNX value names are often numbers like `123`). */
export const BARE_REF = /^[A-Za-z0-9_.]+$/;
/** Names printable without quotes elsewhere (unless they spell a keyword). */
export const BARE_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: "Comment", pattern: /\/\/[^\n\r]*/, group: Lexer.SKIPPED });

export const Arrow = createToken({ name: "Arrow", pattern: "->", label: "'->'" });
export const DoubleColon = createToken({ name: "DoubleColon", pattern: "::", label: "'::'" });
export const Colon = createToken({ name: "Colon", pattern: ":", label: "':'" });
export const Comma = createToken({ name: "Comma", pattern: ",", label: "','" });
export const Equals = createToken({ name: "Equals", pattern: "=", label: "'='" });
export const LParen = createToken({ name: "LParen", pattern: "(", label: "'('" });
export const RParen = createToken({ name: "RParen", pattern: ")", label: "')'" });
export const LBracket = createToken({ name: "LBracket", pattern: "[", label: "'['" });
export const RBracket = createToken({ name: "RBracket", pattern: "]", label: "']'" });
export const LBrace = createToken({ name: "LBrace", pattern: "{", label: "'{'" });
export const RBrace = createToken({ name: "RBrace", pattern: "}", label: "'}'" });
export const Question = createToken({ name: "Question", pattern: "?", label: "'?'" });
export const Star = createToken({ name: "Star", pattern: "*", label: "'*'" });

export const ValueRef = createToken({
  name: "ValueRef",
  pattern: new RegExp(`%(?:[A-Za-z0-9_.]+|${JSON_STRING})`),
  label: "a value name (%name)",
});
export const NodeRef = createToken({
  name: "NodeRef",
  pattern: new RegExp(`@(?:[A-Za-z0-9_.]+|${JSON_STRING})`),
  label: "a node name (@name)",
});
/**
 * Tensor data as base64 of the little-endian storage bytes. One token however long: a single
 * character-class loop, so a multi-megabyte weight lexes in linear time.
 */
export const Base64 = createToken({
  name: "Base64",
  pattern: /b64"[A-Za-z0-9+/]*={0,2}"/,
  label: 'base64 data (b64"...")',
});
export const Str = createToken({ name: "Str", pattern: new RegExp(JSON_STRING), label: "a string" });

export const Ident = createToken({ name: "Ident", pattern: /[A-Za-z_][A-Za-z0-9_.]*/, label: "a name" });

/**
 * A float literal: has a '.' or an exponent (so `1.0` is a float attribute and `1` an int one),
 * or is nan/inf. A trailing `d` marks a float attribute that is not a float32 value.
 */
export const Float = createToken({
  name: "Float",
  pattern: /-?inf|nan|-?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)d?/,
  longer_alt: Ident,
  label: "a float",
});
export const Int = createToken({ name: "Int", pattern: /-?\d+/, label: "an integer" });

function keyword(name: string, word: string | RegExp, label: string): TokenType {
  return createToken({ name, pattern: word, longer_alt: Ident, label });
}

export const IrVersion = keyword("IrVersion", "ir_version", "'ir_version'");
export const Producer = keyword("Producer", "producer", "'producer'");
export const Opset = keyword("Opset", "opset", "'opset'");
export const GraphKw = keyword("GraphKw", "graph", "'graph'");
export const Const = keyword("Const", "const", "'const'");
export const TypeKw = keyword("TypeKw", "type", "'type'");
/** `_` stands for an omitted optional input or output (the empty name). */
export const Omitted = keyword("Omitted", "_", "'_'");
/** Kind prefix of a list; required when the list is empty (`ints[]`). */
export const ListKind = keyword("ListKind", /ints|floats|strings|tensors|graphs/, "a list kind (ints, floats, ...)");
export const DTypeTok = keyword(
  "DTypeTok",
  /bf16|f16|f32|f64|i4|i8|i16|i32|i64|u4|u8|u16|u32|u64|bool|str/,
  "an element type (f32, i8, ...)",
);

/** Words that, used as names, must be quoted. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "ir_version", "producer", "opset", "graph", "const", "type", "_", "nan", "inf",
  "ints", "floats", "strings", "tensors", "graphs",
  "bf16", "f16", "f32", "f64", "i4", "i8", "i16", "i32", "i64", "u4", "u8", "u16", "u32", "u64", "bool", "str",
]);

/** In match order: the first pattern that matches wins, unless its longer_alt matches more. */
export const ALL_TOKENS: TokenType[] = [
  WhiteSpace, Comment, Base64,
  Arrow, DoubleColon, Colon, Comma, Equals, LParen, RParen, LBracket, RBracket, LBrace, RBrace, Question, Star,
  ValueRef, NodeRef, Str, Float, Int,
  // ListKind before GraphKw and DTypeTok, which match prefixes of it (graph, str).
  ListKind, IrVersion, Producer, Opset, GraphKw, Const, TypeKw, Omitted, DTypeTok,
  Ident,
];

export const hirLexer = new Lexer(ALL_TOKENS, { ensureOptimizations: true, positionTracking: "full" });
