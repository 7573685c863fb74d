/**
 * The `.hir` grammar as a pure chevrotain CstParser: it only recognizes the syntax and builds a
 * concrete syntax tree; build.ts turns that tree into IR. docs/ir-text.md has the grammar in EBNF,
 * rule for rule.
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

/** What each rule reads, so errors say "in a tensor type" rather than name a grammar rule. */
const RULE_TEXT: Readonly<Record<string, string>> = {
  model: "the model header",
  opset: "an opset line",
  graph: "a graph",
  declList: "a graph's inputs or outputs",
  valueDecl: "a value declaration",
  tensorType: "a tensor type",
  dim: "a dimension",
  item: "a graph body",
  initializer: "a const",
  typeDecl: "a type declaration",
  node: "a node",
  output: "a node output",
  opRef: "an op name",
  arg: "a node input",
  attrBlock: "attributes",
  attr: "an attribute",
  value: "an attribute value",
  list: "a list",
  tensorLit: "a tensor",
  tensorData: "tensor data",
  scalar: "tensor data",
  name: "a name",
};

function where(ruleName: string): string {
  const r = RULE_TEXT[ruleName];
  return r ? ` in ${r}` : "";
}

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, ruleName }) =>
    `expected ${label(expected)}${where(ruleName)}, found ${show(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) =>
    `expected end of input after the graph, found ${show(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) =>
    `expected ${firsts(expectedPathsPerAlt.flat())}${where(ruleName)}, found ${show(actual[0]!)}`,
  buildEarlyExitMessage: ({ expectedIterationPaths, actual, ruleName }) =>
    `expected ${firsts(expectedIterationPaths)}${where(ruleName)}, found ${show(actual[0]!)}`,
};

class HirParser extends CstParser {
  constructor() {
    super(T.ALL_TOKENS, { errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  // model := "ir_version" Int ("producer" Str)? ("opset" name? Int)* graph
  model = this.RULE("model", () => {
    this.CONSUME(T.IrVersion);
    this.CONSUME(T.Int);
    this.OPTION(() => {
      this.CONSUME(T.Producer);
      this.CONSUME(T.Str);
    });
    this.MANY(() => this.SUBRULE(this.opset));
    this.SUBRULE(this.graph);
  });

  opset = this.RULE("opset", () => {
    this.CONSUME(T.Opset);
    this.OPTION(() => this.SUBRULE(this.name));
    this.CONSUME(T.Int);
  });

  // graph := "graph" name "(" decls? ")" "->" "(" decls? ")" "{" item* "}"
  graph = this.RULE("graph", () => {
    this.CONSUME(T.GraphKw);
    this.SUBRULE(this.name);
    this.SUBRULE1(this.declList, { LABEL: "inputs" });
    this.CONSUME(T.Arrow);
    this.SUBRULE2(this.declList, { LABEL: "outputs" });
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.item));
    this.CONSUME(T.RBrace);
  });

  declList = this.RULE("declList", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.valueDecl) });
    this.CONSUME(T.RParen);
  });

  valueDecl = this.RULE("valueDecl", () => {
    this.CONSUME(T.ValueRef);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
  });

  // tensorType := DType "[" ("*" | (dim ("," dim)*)?) "]" attrBlock?   (the block holds quant params)
  tensorType = this.RULE("tensorType", () => {
    this.CONSUME(T.DTypeTok);
    this.CONSUME(T.LBracket);
    this.OR([
      { ALT: () => this.CONSUME(T.Star) },
      { ALT: () => this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.dim) }) },
    ]);
    this.CONSUME(T.RBracket);
    this.OPTION(() => this.SUBRULE(this.attrBlock));
  });

  dim = this.RULE("dim", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Int) },
      { ALT: () => this.CONSUME(T.Question) },
      { ALT: () => this.SUBRULE(this.name) },
    ]);
  });

  item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.initializer) },
      { ALT: () => this.SUBRULE(this.typeDecl) },
      { ALT: () => this.SUBRULE(this.node) },
    ]);
  });

  // initializer := "const" ValueRef "=" tensorLit
  initializer = this.RULE("initializer", () => {
    this.CONSUME(T.Const);
    this.CONSUME(T.ValueRef);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.tensorLit);
  });

  // typeDecl := "type" ValueRef ":" tensorType
  typeDecl = this.RULE("typeDecl", () => {
    this.CONSUME(T.TypeKw);
    this.CONSUME(T.ValueRef);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
  });

  // node := (output ("," output)* "=")? opRef "(" (arg ("," arg)*)? ")" attrBlock? NodeRef?
  node = this.RULE("node", () => {
    this.OPTION(() => {
      this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.output) });
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.opRef);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.arg) });
    this.CONSUME(T.RParen);
    this.OPTION2(() => this.SUBRULE(this.attrBlock));
    this.OPTION3(() => this.CONSUME(T.NodeRef));
  });

  output = this.RULE("output", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.ValueRef);
          this.OPTION(() => {
            this.CONSUME(T.Colon);
            this.SUBRULE(this.tensorType);
          });
        },
      },
      { ALT: () => this.CONSUME(T.Omitted) },
    ]);
  });

  // opRef := (name "::")? name   — the optional prefix is the domain
  opRef = this.RULE("opRef", () => {
    this.SUBRULE1(this.name);
    this.OPTION(() => {
      this.CONSUME(T.DoubleColon);
      this.SUBRULE2(this.name);
    });
  });

  arg = this.RULE("arg", () => {
    this.OR([{ ALT: () => this.CONSUME(T.ValueRef) }, { ALT: () => this.CONSUME(T.Omitted) }]);
  });

  attrBlock = this.RULE("attrBlock", () => {
    this.CONSUME(T.LBrace);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.attr) });
    this.CONSUME(T.RBrace);
  });

  attr = this.RULE("attr", () => {
    this.SUBRULE(this.name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.value);
  });

  value = this.RULE("value", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Int) },
      { ALT: () => this.CONSUME(T.Float) },
      { ALT: () => this.CONSUME(T.Str) },
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.SUBRULE(this.tensorLit) },
      { ALT: () => this.SUBRULE(this.graph) },
    ]);
  });

  // list := ListKind? "[" (value ("," value)*)? "]"
  list = this.RULE("list", () => {
    this.OPTION(() => this.CONSUME(T.ListKind));
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.value) });
    this.CONSUME(T.RBracket);
  });

  // tensorLit := tensorType tensorData
  tensorLit = this.RULE("tensorLit", () => {
    this.SUBRULE(this.tensorType);
    this.SUBRULE(this.tensorData);
  });

  tensorData = this.RULE("tensorData", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Base64) },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.scalar) });
          this.CONSUME(T.RBracket);
        },
      },
    ]);
  });

  scalar = this.RULE("scalar", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Int) },
      { ALT: () => this.CONSUME(T.Float) },
      { ALT: () => this.CONSUME(T.Str) },
    ]);
  });

  name = this.RULE("name", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Ident) }, { ALT: () => this.CONSUME(T.Str) }]);
  });
}

/** One parser for the process: self-analysis is costly, and `input =` resets its state. */
export const hirParser = new HirParser();
