/**
 * Errors reading `.hir` text, located by line and column:
 * HW2100 a character no token starts with, HW2101 a syntax error,
 * HW2102 well-formed text with an invalid value (element count, value range, duplicate name, ...).
 */
import { HwacError } from "../errors.js";

export function textError(code: string, message: string, line: number, column: number, file?: string): HwacError {
  return new HwacError(code, `line ${line}, column ${column}: ${message}`, file === undefined ? {} : { file });
}
