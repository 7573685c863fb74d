/**
 * The `.nnas` grammar as a pure chevrotain CstParser (no actions); build.ts turns the tree into a
 * Program. Every statement has one shape, a head and `key=value` fields:
 *
 *   program   := statement*
 *   statement := (Directive | Ident) field*
 *   field     := Ident "=" value ("," value)*
 *   value     := Int | Float | Ident | Str | "[" (number ("," number)*)? "]"
 *   number    := Int | Float
 *
 * A field starts with `name =`, a statement with a name not followed by `=`: two tokens of
 * lookahead tell them apart, so statements need no separator.
 */
import { CstParser, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import * as T from "./tokens.js";

function show(t: IToken): string {
  if (t.tokenType.name === "EOF") return "end of input";
  return t.image.length > 24 ? `'${t.image.slice(0, 24)}...'` : `'${t.image}'`;
}

function label(t: TokenType): string {
  return t.LABEL ?? t.name;
}

function firsts(paths: TokenType[][]): string {
  const labels = [...new Set(paths.map((p) => (p[0] ? label(p[0]) : "end of input")))];
  return labels.length === 1 ? labels[0]! : `one of ${labels.join(", ")}`;
}

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) => `expected ${label(expected)}, found ${show(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) =>
    `expected a mnemonic or a directive, found ${show(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) =>
    `expected ${firsts(expectedPathsPerAlt.flat())}, found ${show(actual[0]!)}`,
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) =>
    `expected ${firsts(expectedIterationPaths)}, found ${show(actual[0]!)}`,
};

class NnasParser extends CstParser {
  constructor() {
    super(T.ALL_TOKENS, { errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  program = this.RULE("program", () => {
    this.MANY(() => this.SUBRULE(this.statement));
  });

  statement = this.RULE("statement", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Directive) }, { ALT: () => this.CONSUME(T.Ident) }]);
    // chevrotain's repetitions are greedy on one token; the gate looks at the second.
    this.MANY({ GATE: () => this.LA(2).tokenType === T.Equals, DEF: () => this.SUBRULE(this.field) });
  });

  field = this.RULE("field", () => {
    this.CONSUME(T.Ident);
    this.CONSUME(T.Equals);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.value) });
  });

  value = this.RULE("value", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Int) },
      { ALT: () => this.CONSUME(T.Float) },
      { ALT: () => this.CONSUME(T.Ident) },
      { ALT: () => this.CONSUME(T.Str) },
      { ALT: () => this.SUBRULE(this.list) },
    ]);
  });

  list = this.RULE("list", () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.OR([{ ALT: () => this.CONSUME1(T.Int) }, { ALT: () => this.CONSUME1(T.Float) }]) });
    this.CONSUME(T.RBracket);
  });
}

export const nnasParser = new NnasParser();
