/**
 * hwac's IR text format (`.hir`, docs/ir-text.md): `printModel` writes every part of a Model,
 * `parseModel` reads it back, and `printModel(parseModel(printModel(m))) === printModel(m)`.
 */
import type { IToken } from "chevrotain";
import type { Model } from "../graph.js";
import { Builder } from "./build.js";
import { textError } from "./errors.js";
import { hirParser } from "./grammar.js";
import { hirLexer } from "./tokens.js";

export { printModel, printModelPieces, printType } from "./print.js";

/** Parses `.hir` text; errors are HwacErrors (HW2100-HW2102) naming `file`, line and column. */
export function parseModel(text: string, file?: string): Model {
  const lexed = hirLexer.tokenize(text);
  const bad = lexed.errors[0];
  if (bad) {
    const c = text[bad.offset]!;
    const message = c === '"'
      ? "a string is not closed on its line or has an invalid escape"
      : `unexpected character ${JSON.stringify(c)}`;
    throw textError("HW2100", message, bad.line ?? 0, bad.column ?? 0, file);
  }
  hirParser.input = lexed.tokens;
  const cst = hirParser.model();
  const err = hirParser.errors[0];
  if (err) {
    const [line, column] = position(err.token, text);
    throw textError("HW2101", err.message, line, column, file);
  }
  return new Builder(file).model(cst);
}

/** Where a token starts; the end-of-input token has no position, so it is placed after the text. */
function position(t: IToken, text: string): [number, number] {
  if (t.startLine !== undefined && !Number.isNaN(t.startLine)) return [t.startLine, t.startColumn ?? 0];
  const lines = text.split(/\r\n|\r|\n/);
  return [lines.length, lines[lines.length - 1]!.length + 1];
}
