/**
 * The `.nnas` assembler and disassembler: `assemble(disassemble(b))` returns `b` byte for byte,
 * and `printProgram(parseAsm(t))` is a fixed point of printing. Errors are HwacErrors naming the
 * line and column: HW5020 a character no token starts with, HW5021 a syntax error, HW5022 a
 * well-formed statement with an invalid value.
 */
import type { IToken } from "chevrotain";
import { configHash, DEFAULT_CONFIG, type NnaConfig } from "../config.js";
import { decodeProgram, encodeProgram, type Program } from "../program.js";
import { asmError, Builder } from "./build.js";
import { nnasParser } from "./grammar.js";
import { printProgram } from "./print.js";
import { nnasLexer } from "./tokens.js";

export { formatInsn, printProgram, printProgramPieces } from "./print.js";

export interface AsmOptions {
  /** The machine a program without `.nnab config=` is built for (default: SPEC.md §3). */
  config?: NnaConfig;
  file?: string;
}

/** Where a token starts; the end-of-input token has no position, so it is placed after the text. */
function position(t: IToken, text: string): [number, number] {
  if (t.startLine !== undefined && !Number.isNaN(t.startLine)) return [t.startLine, t.startColumn ?? 0];
  const lines = text.split(/\r\n|\r|\n/);
  return [lines.length, lines[lines.length - 1]!.length + 1];
}

export function parseAsm(text: string, opts: AsmOptions = {}): Program {
  const lexed = nnasLexer.tokenize(text);
  const bad = lexed.errors[0];
  if (bad) {
    const c = text[bad.offset]!;
    const message = c === '"' ? "a string is not closed on its line or has an invalid escape" : `unexpected character ${JSON.stringify(c)}`;
    throw asmError("HW5020", message, bad.line ?? 0, bad.column ?? 0, opts.file);
  }
  nnasParser.input = lexed.tokens;
  const cst = nnasParser.program();
  const err = nnasParser.errors[0];
  if (err) {
    const [line, column] = position(err.token, text);
    throw asmError("HW5021", err.message, line, column, opts.file);
  }
  return new Builder(opts.file).program(cst, configHash(opts.config ?? DEFAULT_CONFIG));
}

/** `.nnas` text → `.nnab` bytes. */
export function assemble(text: string, opts: AsmOptions = {}): Uint8Array {
  return encodeProgram(parseAsm(text, opts));
}

/** `.nnab` bytes → `.nnas` text. */
export function disassemble(bytes: Uint8Array, file?: string): string {
  return printProgram(decodeProgram(bytes, file));
}
