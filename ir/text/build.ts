/**
 * Builds the IR from the concrete syntax tree of grammar.ts, one method per grammar rule, and
 * checks what the grammar cannot: element counts, value ranges, list kinds, duplicate names.
 */
import type { CstNode, IToken } from "chevrotain";
import { allocate, DTYPE_SHORT, DTYPES, intRange, isFloat, type DType, type TypedArray } from "../dtype.js";
import type { Attr, Dim, Graph, Model, Node, QuantParams, TensorType, ValueDecl } from "../graph.js";
import { typeOf } from "../graph.js";
import { numel, tensor, type Tensor } from "../tensor.js";
import { textError } from "./errors.js";
import { floatRounding, parseFloatAttr, parseNumber } from "./numbers.js";

const DTYPE_OF_SHORT: ReadonlyMap<string, DType> = new Map(DTYPES.map((d) => [DTYPE_SHORT[d], d]));
const INT64_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function toks(n: CstNode, key: string): IToken[] {
  return (n.children[key] as IToken[] | undefined) ?? [];
}

function subs(n: CstNode, key: string): CstNode[] {
  return (n.children[key] as CstNode[] | undefined) ?? [];
}

function sub(n: CstNode, key: string): CstNode {
  return subs(n, key)[0]!;
}

/** The token a CST node starts with, to locate errors about it. */
function firstToken(n: CstNode): IToken {
  let first: IToken | undefined;
  for (const els of Object.values(n.children)) {
    for (const el of els) {
      const t = "image" in el ? el : firstToken(el);
      if (!first || t.startOffset < first.startOffset) first = t;
    }
  }
  return first!;
}

function unquote(image: string): string {
  return JSON.parse(image) as string;
}

/** `%name` / `@name` / `%"quoted"` → the name. */
function refName(t: IToken): string {
  const s = t.image.slice(1);
  return s.startsWith('"') ? unquote(s) : s;
}

type ListAttrKind = "ints" | "floats" | "strings" | "tensors" | "graphs";

/** A number or string literal with its lexical kind, before the context (attribute, list, dtype) gives it a type. */
type Scalar = { kind: "int" | "float" | "string"; token: IToken };

export class Builder {
  constructor(private readonly file: string | undefined) {}

  private fail(at: IToken, message: string): never {
    throw textError("HW2102", message, at.startLine ?? 0, at.startColumn ?? 0, this.file);
  }

  model(n: CstNode): Model {
    const opsets = new Map<string, number>();
    for (const o of subs(n, "opset")) {
      const domainNode = subs(o, "name")[0];
      const domain = domainNode ? this.name(domainNode) : "";
      if (opsets.has(domain)) this.fail(toks(o, "Opset")[0]!, `opset for domain '${domain}' given twice`);
      opsets.set(domain, Number(toks(o, "Int")[0]!.image));
    }
    const producer = toks(n, "Str")[0];
    const model = {
      irVersion: Number(toks(n, "Int")[0]!.image),
      opsets: Object.fromEntries(opsets),
      producer: producer ? unquote(producer.image) : "",
      graph: this.graph(sub(n, "graph")),
    };
    return this.file === undefined ? model : { ...model, source: this.file };
  }

  graph(n: CstNode): Graph {
    const name = this.name(sub(n, "name"));
    const inputs = this.declList(sub(n, "inputs"));
    const outputs = this.declList(sub(n, "outputs"));
    const initializers = new Map<string, Tensor>();
    const valueTypes = new Map<string, TensorType>();
    const nodes: Node[] = [];
    const declareType = (ref: IToken, type: TensorType): void => {
      const value = refName(ref);
      if (valueTypes.has(value)) this.fail(ref, `type of ${ref.image} given twice`);
      valueTypes.set(value, type);
    };
    for (const item of subs(n, "item")) {
      const init = subs(item, "initializer")[0];
      const decl = subs(item, "typeDecl")[0];
      if (init) {
        const ref = toks(init, "ValueRef")[0]!;
        if (initializers.has(refName(ref))) this.fail(ref, `const ${ref.image} given twice`);
        initializers.set(refName(ref), this.tensorLit(sub(init, "tensorLit")));
      } else if (decl) {
        declareType(toks(decl, "ValueRef")[0]!, this.tensorType(sub(decl, "tensorType")));
      } else {
        nodes.push(this.node(sub(item, "node"), declareType));
      }
    }
    return { name, inputs, outputs, initializers, nodes, valueTypes };
  }

  private declList(n: CstNode): ValueDecl[] {
    return subs(n, "valueDecl").map((d) => ({
      name: refName(toks(d, "ValueRef")[0]!),
      type: this.tensorType(sub(d, "tensorType")),
    }));
  }

  private tensorType(n: CstNode): TensorType {
    const dtype = DTYPE_OF_SHORT.get(toks(n, "DTypeTok")[0]!.image)!;
    const shape = toks(n, "Star").length ? null : subs(n, "dim").map((d) => this.dim(d));
    const quant = subs(n, "attrBlock")[0];
    return typeOf(dtype, shape, quant ? this.quant(quant) : undefined);
  }

  private dim(n: CstNode): Dim {
    const int = toks(n, "Int")[0];
    if (int) return Number(int.image);
    if (toks(n, "Question").length) return "?";
    return this.name(sub(n, "name"));
  }

  /** `{scale=[...], zp=[...], axis=N}`: the quantization block of a type, in attribute syntax. */
  private quant(n: CstNode): QuantParams {
    const attrs = this.attrBlock(n);
    const at = firstToken(n);
    for (const key of Object.keys(attrs)) {
      if (key !== "scale" && key !== "zp" && key !== "axis") {
        this.fail(at, `unknown quantization field '${key}': expected scale, zp and optionally axis`);
      }
    }
    const { scale, zp, axis } = attrs;
    if (!scale || !zp) this.fail(at, "quantization needs both scale=[...] and zp=[...]");
    if (scale.kind !== "floats" && scale.kind !== "ints") this.fail(at, "quantization scale must be a list of numbers");
    if (zp.kind !== "ints") this.fail(at, "quantization zp must be a list of integers");
    if (axis && axis.kind !== "int") this.fail(at, "quantization axis must be an integer");
    const q = { scale: Float32Array.from(scale.value), zeroPoint: Int32Array.from(zp.value) };
    return axis ? { ...q, axis: axis.value } : q;
  }

  private node(n: CstNode, declareType: (ref: IToken, type: TensorType) => void): Node {
    const outputs = subs(n, "output").map((o) => {
      const ref = toks(o, "ValueRef")[0];
      if (!ref) return "";
      const type = subs(o, "tensorType")[0];
      if (type) declareType(ref, this.tensorType(type));
      return refName(ref);
    });
    const opNames = subs(sub(n, "opRef"), "name").map((x) => this.name(x));
    const attrs = subs(n, "attrBlock")[0];
    const name = toks(n, "NodeRef")[0];
    return {
      op: opNames[opNames.length - 1]!,
      domain: opNames.length === 2 ? opNames[0]! : "",
      name: name ? refName(name) : "",
      inputs: subs(n, "arg").map((a) => {
        const ref = toks(a, "ValueRef")[0];
        return ref ? refName(ref) : "";
      }),
      outputs,
      attrs: attrs ? this.attrBlock(attrs) : {},
    };
  }

  private attrBlock(n: CstNode): Record<string, Attr> {
    const entries: [string, Attr][] = [];
    const seen = new Set<string>();
    for (const a of subs(n, "attr")) {
      const key = this.name(sub(a, "name"));
      if (seen.has(key)) this.fail(firstToken(a), `attribute '${key}' given twice`);
      seen.add(key);
      entries.push([key, this.value(sub(a, "value"))]);
    }
    // fromEntries defines own properties, so even a key like "__proto__" stays an attribute.
    return Object.fromEntries(entries);
  }

  private value(n: CstNode): Attr {
    const s = this.scalar(n);
    if (s) {
      const { kind, token } = s;
      if (kind === "int") return { kind, value: Number(token.image) };
      if (kind === "float") return { kind, value: parseFloatAttr(token.image) };
      return { kind, value: unquote(token.image) };
    }
    const list = subs(n, "list")[0];
    if (list) return this.list(list);
    const t = subs(n, "tensorLit")[0];
    if (t) return { kind: "tensor", value: this.tensorLit(t) };
    return { kind: "graph", value: this.graph(sub(n, "graph")) };
  }

  /** Int, Float and Str tokens of a `value` or `scalar` node. */
  private scalar(n: CstNode): Scalar | undefined {
    const int = toks(n, "Int")[0];
    if (int) return { kind: "int", token: int };
    const float = toks(n, "Float")[0];
    if (float) return { kind: "float", token: float };
    const str = toks(n, "Str")[0];
    return str ? { kind: "string", token: str } : undefined;
  }

  /** A list attribute: its kind is written (`floats[1, 2]`) or follows from the elements. */
  private list(n: CstNode): Attr {
    const items = subs(n, "value");
    const kindTok = toks(n, "ListKind")[0];
    const elementKind = (v: CstNode): string =>
      this.scalar(v)?.kind ?? (subs(v, "tensorLit").length ? "tensor" : subs(v, "graph").length ? "graph" : "list");
    const kinds = new Set(items.map(elementKind));
    if (kinds.has("list")) this.fail(firstToken(n), "lists cannot be nested");
    let kind = kindTok?.image;
    if (kind === undefined) {
      if (kinds.size === 0) this.fail(firstToken(n), "an empty list needs its kind: ints[], floats[], strings[], tensors[] or graphs[]");
      if (kinds.has("float") && kinds.has("int") && kinds.size === 2) kind = "floats";
      else if (kinds.size === 1) kind = `${[...kinds][0]}s`;
      else this.fail(firstToken(n), `a list mixes ${[...kinds].join(" and ")} elements`);
    }
    const allowed = kind === "floats" ? ["int", "float"] : [kind.slice(0, -1)];
    items.forEach((v) => {
      const k = elementKind(v);
      if (!allowed.includes(k)) this.fail(firstToken(v), `${kind} cannot hold a ${k} element`);
    });
    switch (kind as ListAttrKind) {
      case "ints": return { kind: "ints", value: items.map((v) => Number(this.scalar(v)!.token.image)) };
      case "floats": return { kind: "floats", value: items.map((v) => parseFloatAttr(this.scalar(v)!.token.image)) };
      case "strings": return { kind: "strings", value: items.map((v) => unquote(this.scalar(v)!.token.image)) };
      case "tensors": return { kind: "tensors", value: items.map((v) => this.tensorLit(sub(v, "tensorLit"))) };
      case "graphs": return { kind: "graphs", value: items.map((v) => this.graph(sub(v, "graph"))) };
    }
  }

  private tensorLit(n: CstNode): Tensor {
    const typeNode = sub(n, "tensorType");
    const type = this.tensorType(typeNode);
    const at = firstToken(typeNode);
    if (type.quant) this.fail(at, "a tensor value has no quantization parameters; they belong to value types");
    if (type.shape === null || !type.shape.every((d): d is number => typeof d === "number" && d >= 0)) {
      this.fail(at, "a tensor value needs a static shape of non-negative integers");
    }
    const shape = type.shape;
    const data = sub(n, "tensorData");
    const b64 = toks(data, "Base64")[0];
    return b64
      ? this.fromBase64(type.dtype, shape, b64)
      : this.fromList(type.dtype, shape, subs(data, "scalar"), toks(data, "LBracket")[0]!);
  }

  private fromBase64(dtype: DType, shape: readonly number[], t: IToken): Tensor {
    if (dtype === "string") this.fail(t, "string tensors are written as a list of strings, not base64");
    const bytes = Buffer.from(t.image.slice(4, -1), "base64");
    const data = allocate(dtype, numel(shape)) as TypedArray;
    if (bytes.length !== data.byteLength) {
      this.fail(t, `expected ${data.byteLength} bytes of data for ${DTYPE_SHORT[dtype]}[${shape.join(",")}], found ${bytes.length}`);
    }
    new Uint8Array(data.buffer).set(bytes);
    return tensor(dtype, shape, data);
  }

  private fromList(dtype: DType, shape: readonly number[], items: CstNode[], at: IToken): Tensor {
    const n = numel(shape);
    if (items.length !== n) this.fail(at, `expected ${n} elements for ${DTYPE_SHORT[dtype]}[${shape.join(",")}], found ${items.length}`);
    const data = allocate(dtype, n);
    const scalars = items.map((v) => this.scalar(v)!);
    const literal = (s: Scalar, kinds: readonly string[], what: string): string => {
      if (!kinds.includes(s.kind)) this.fail(s.token, `expected ${what} in ${dtype} data, found '${s.token.image}'`);
      return s.token.image;
    };
    if (Array.isArray(data)) {
      scalars.forEach((s, i) => (data[i] = unquote(literal(s, ["string"], "a string"))));
    } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      const [lo, hi] = INT64_RANGE[dtype]!;
      scalars.forEach((s, i) => {
        const v = BigInt(literal(s, ["int"], "an integer"));
        if (v < lo || v > hi) this.fail(s.token, `${v} is out of range for ${dtype}`);
        data[i] = v;
      });
    } else if (isFloat(dtype)) {
      const round = floatRounding(dtype);
      scalars.forEach((s, i) => (data[i] = round(parseNumber(literal(s, ["int", "float"], "a number")))));
    } else {
      const [lo, hi] = intRange(dtype);
      scalars.forEach((s, i) => {
        const v = Number(literal(s, ["int"], "an integer"));
        if (v < lo || v > hi) this.fail(s.token, `${v} is out of range for ${dtype}`);
        data[i] = v;
      });
    }
    return tensor(dtype, shape, data);
  }

  private name(n: CstNode): string {
    const ident = toks(n, "Ident")[0];
    return ident ? ident.image : unquote(toks(n, "Str")[0]!.image);
  }
}
