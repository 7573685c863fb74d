/**
 * Prints a model as `.hir` text (docs/ir-text.md). The output is a function of the model alone:
 * attributes and opsets sorted, maps in insertion order, numbers in their shortest exact spelling.
 */
import { DTYPE_SHORT, isFloat, type TypedArray } from "../dtype.js";
import type { Attr, Dim, Graph, Model, Node, QuantParams, TensorType, ValueDecl } from "../graph.js";
import type { Tensor } from "../tensor.js";
import { floatRounding, formatFloat, formatFloatAttr, formatInt } from "./numbers.js";
import { BARE_NAME, BARE_REF, KEYWORDS } from "./tokens.js";

/** Tensors up to this many elements print as a readable list; larger ones as base64. */
const INLINE_MAX = 16;
/** A graph header longer than this puts each input and output on its own line. */
const HEADER_WIDTH = 100;
const STEP = "  ";

export function printModel(m: Model): string {
  return Array.from(printModelPieces(m)).join("");
}

/**
 * `printModel`'s text piece by piece (a line of the top graph each), so a large model can be
 * written without its whole text in memory.
 */
export function* printModelPieces(m: Model): Generator<string> {
  yield `ir_version ${m.irVersion}\n`;
  yield `producer ${JSON.stringify(m.producer)}\n`;
  for (const domain of Object.keys(m.opsets).sort()) {
    yield domain === "" ? `opset ${m.opsets[domain]}\n` : `opset ${name(domain)} ${m.opsets[domain]}\n`;
  }
  yield "\n";
  for (const line of graphLines(m.graph, "")) yield `${line}\n`;
}

/** A name: bare when it is an identifier that is not a keyword, else a JSON string. */
function name(s: string): string {
  return BARE_NAME.test(s) && !KEYWORDS.has(s) ? s : JSON.stringify(s);
}

/** A value (`%x`) or node (`@conv1`) reference. */
function ref(sigil: "%" | "@", s: string): string {
  return sigil + (BARE_REF.test(s) ? s : JSON.stringify(s));
}

function dim(d: Dim): string {
  return typeof d === "number" ? formatInt(d) : d === "?" ? "?" : name(d);
}

export function printType(t: TensorType): string {
  const shape = t.shape === null ? "*" : t.shape.map(dim).join(",");
  return `${DTYPE_SHORT[t.dtype]}[${shape}]${t.quant ? quant(t.quant) : ""}`;
}

function quant(q: QuantParams): string {
  const scale = list("floats", Array.from(q.scale, formatFloatAttr));
  const zp = list("ints", Array.from(q.zeroPoint, formatInt));
  return `{scale=${scale}, zp=${zp}${q.axis === undefined ? "" : `, axis=${formatInt(q.axis)}`}}`;
}

/** Numbers and strings pack tightly like shapes (`[1,1]`); tensors and graphs get a space. */
function list(kind: string, items: readonly string[]): string {
  if (items.length === 0) return `${kind}[]`;
  return `[${items.join(kind === "tensors" ? ", " : ",")}]`;
}

function tensorLit(t: Tensor): string {
  const type = `${DTYPE_SHORT[t.dtype]}[${t.shape.join(",")}]`;
  const d = t.data;
  if (Array.isArray(d)) return `${type} [${d.map((s) => JSON.stringify(s)).join(",")}]`;
  if (d.length > INLINE_MAX) {
    return `${type} b64"${Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("base64")}"`;
  }
  const round = isFloat(t.dtype) ? floatRounding(t.dtype) : undefined;
  const items = Array.from(d as TypedArray, (v: number | bigint) => (round ? formatFloat(v as number, round) : formatInt(v)));
  return `${type} [${items.join(",")}]`;
}

function decl(d: ValueDecl): string {
  return `${ref("%", d.name)}: ${printType(d.type)}`;
}

/**
 * A graph whose first line continues the current line and whose other lines are indented by
 * `indent`, so it can stand at the top level or as an attribute value.
 */
function printGraph(g: Graph, indent: string): string {
  return Array.from(graphLines(g, indent)).join("\n");
}

/** printGraph's lines, one at a time. */
function* graphLines(g: Graph, indent: string): Generator<string> {
  const inner = indent + STEP;
  const ins = g.inputs.map(decl);
  const outs = g.outputs.map(decl);
  let header = `graph ${name(g.name)} (${ins.join(", ")}) -> (${outs.join(", ")}) {`;
  if (indent.length + header.length > HEADER_WIDTH) {
    const wrap = (ds: string[]): string => (ds.length ? `(\n${ds.map((d) => inner + d).join(",\n")}\n${indent})` : "()");
    header = `graph ${name(g.name)} ${wrap(ins)} -> ${wrap(outs)} {`;
  }
  yield header;
  for (const [k, t] of g.initializers) yield `${inner}const ${ref("%", k)} = ${tensorLit(t)}`;
  // A node output's type is printed on the node; only the remaining value types need a line.
  const nodeOutputs = new Set(g.nodes.flatMap((n) => n.outputs.filter((o) => o !== "")));
  for (const [k, t] of g.valueTypes) {
    if (!nodeOutputs.has(k)) yield `${inner}type ${ref("%", k)}: ${printType(t)}`;
  }
  const typed = new Set<string>();
  for (const n of g.nodes) yield inner + printNode(n, inner, g.valueTypes, typed);
  yield `${indent}}`;
}

/** `typed` holds outputs whose type was already printed (IR that is not SSA repeats outputs). */
function printNode(n: Node, indent: string, types: ReadonlyMap<string, TensorType>, typed: Set<string>): string {
  const outs = n.outputs.map((o) => {
    if (o === "") return "_";
    const t = types.get(o);
    if (t === undefined || typed.has(o)) return ref("%", o);
    typed.add(o);
    return `${ref("%", o)}: ${printType(t)}`;
  });
  const op = n.domain === "" ? name(n.op) : `${name(n.domain)}::${name(n.op)}`;
  const args = n.inputs.map((i) => (i === "" ? "_" : ref("%", i))).join(", ");
  const attrs = attrBlock(n.attrs, indent);
  const lhs = outs.length ? `${outs.join(", ")} = ` : "";
  return `${lhs}${op}(${args})${attrs}${n.name === "" ? "" : ` ${ref("@", n.name)}`}`;
}

/** ` {a=1, b=[2, 3]}`, one attribute per line when a value is a graph. */
function attrBlock(attrs: Readonly<Record<string, Attr>>, indent: string): string {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return "";
  const multiline = keys.some((k) => attrs[k]!.kind === "graph" || attrs[k]!.kind === "graphs");
  if (!multiline) return ` {${keys.map((k) => `${name(k)}=${attrValue(attrs[k]!, indent)}`).join(", ")}}`;
  const inner = indent + STEP;
  const entries = keys.map((k) => `${inner}${name(k)}=${attrValue(attrs[k]!, inner)}`);
  return ` {\n${entries.join(",\n")}\n${indent}}`;
}

function attrValue(a: Attr, indent: string): string {
  switch (a.kind) {
    case "int": return formatInt(a.value);
    case "float": return formatFloatAttr(a.value);
    case "string": return JSON.stringify(a.value);
    case "ints": return list(a.kind, a.value.map(formatInt));
    case "floats": return list(a.kind, a.value.map(formatFloatAttr));
    case "strings": return list(a.kind, a.value.map((s) => JSON.stringify(s)));
    case "tensor": return tensorLit(a.value);
    case "tensors": return list(a.kind, a.value.map(tensorLit));
    case "graph": return printGraph(a.value, indent);
    case "graphs": {
      if (a.value.length === 0) return "graphs[]";
      const inner = indent + STEP;
      return `[\n${a.value.map((g) => inner + printGraph(g, inner)).join(",\n")}\n${indent}]`;
    }
  }
}
