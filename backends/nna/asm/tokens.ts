/**
 * Tokens of the NNA assembly (`.nnas`, docs/nna-isa.md "Assembly"). Line breaks are white space:
 * a statement ends where the next mnemonic or directive begins. Labels are what syntax errors
 * print as "expected ...".
 */
import { createToken, Lexer, type TokenType } from "chevrotain";

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: "Comment", pattern: /(?:;|\/\/)[^\n\r]*/, group: Lexer.SKIPPED });

export const Equals = createToken({ name: "Equals", pattern: "=", label: "'='" });
export const Comma = createToken({ name: "Comma", pattern: ",", label: "','" });
export const LBracket = createToken({ name: "LBracket", pattern: "[", label: "'['" });
export const RBracket = createToken({ name: "RBracket", pattern: "]", label: "']'" });

export const Str = createToken({
  name: "Str",
  pattern: /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/,
  label: "a string",
});
/** `.nnab`, `.tensor`, `.name`, `.data`, `.layer`. */
export const Directive = createToken({ name: "Directive", pattern: /\.[a-z]+/, label: "a directive (.nnab, .tensor, ...)" });
export const Ident = createToken({ name: "Ident", pattern: /[A-Za-z_][A-Za-z0-9_.]*/, label: "a name" });
/** Has a '.' or an exponent; only scales are written this way. */
export const Float = createToken({
  name: "Float",
  pattern: /-?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)/,
  label: "a number",
});
export const Int = createToken({ name: "Int", pattern: /-?(?:0x[0-9a-fA-F]+|0b[01]+|\d+)/, label: "an integer" });

/** In match order: Float before Int, which matches its integer part. */
export const ALL_TOKENS: TokenType[] = [WhiteSpace, Comment, Equals, Comma, LBracket, RBracket, Str, Directive, Ident, Float, Int];

export const nnasLexer = new Lexer(ALL_TOKENS, { ensureOptimizations: true, positionTracking: "full" });
