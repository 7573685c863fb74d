/**
 * Builds a Program from the concrete syntax tree of grammar.ts: statements become directives or
 * instructions through the field table of encode.ts, and everything the grammar cannot check
 * (keys, ranges, enum names, the rules of check.ts) fails here with the line and column.
 */
import type { CstNode, IToken } from "chevrotain";
import { HwacError } from "../../../ir/errors.js";
import { checkInsn } from "../check.js";
import { fieldDefault, fieldRange, fieldValue, opSpec, LAYOUT, type FieldSpec } from "../encode.js";
import { neighbour, NO_DEPS, QUEUES, queueOf, type Deps, type Insn, type Op, type Queue } from "../isa.js";
import {
  checkTables, IO_DTYPES, NNAB_VERSION, TENSOR_LAYOUTS, tensorBytes,
  type IoDType, type IoTensor, type LayerName, type Program, type Segment, type TensorLayout,
} from "../program.js";

export function asmError(code: string, message: string, line: number, column: number, file?: string): HwacError {
  return new HwacError(code, `line ${line}, column ${column}: ${message}`, file === undefined ? {} : { file });
}

/** Element bytes and range of each typed `.data` list. */
const DATA_TYPES = {
  i8: [1, -128, 127],
  u8: [1, 0, 255],
  i16: [2, -32768, 32767],
  i32: [4, -(2 ** 31), 2 ** 31 - 1],
} as const;
const DATA_KEYS = Object.keys(DATA_TYPES) as (keyof typeof DATA_TYPES)[];

interface Value {
  readonly tok: IToken;
  readonly kind: "Int" | "Float" | "Ident" | "Str" | "list";
  readonly items: readonly IToken[];
}

interface Field {
  readonly key: IToken;
  readonly values: readonly Value[];
}

function children<T>(n: CstNode, key: string): T[] {
  return (n.children[key] as T[] | undefined) ?? [];
}

function value(n: CstNode): Value {
  const list = children<CstNode>(n, "list")[0];
  if (list) {
    const items = [...children<IToken>(list, "Int"), ...children<IToken>(list, "Float")].sort((a, b) => a.startOffset - b.startOffset);
    return { tok: children<IToken>(list, "LBracket")[0]!, kind: "list", items };
  }
  return item(Object.values(n.children)[0]![0] as IToken);
}

function item(tok: IToken): Value {
  return { tok, kind: tok.tokenType.name as Value["kind"], items: [] };
}

/** An integer literal: decimal, 0x hexadecimal or 0b binary, with an optional minus sign. */
function intOf(image: string): number {
  const neg = image.startsWith("-");
  const body = neg ? image.slice(1) : image;
  const n = body.startsWith("0x") || body.startsWith("0b") ? Number(body) : Number.parseInt(body, 10);
  return neg ? 0 - n : n; // not -n: "-0" is 0
}

/** The fields of one statement, keyed by name; `take` consumes them so leftovers can be reported. */
class Fields {
  private readonly map = new Map<string, Field>();

  constructor(private readonly b: Builder, readonly head: IToken, fields: CstNode[]) {
    for (const f of fields) {
      const key = children<IToken>(f, "Ident")[0]!;
      if (this.map.has(key.image)) b.fail(key, `${key.image} is given twice`);
      this.map.set(key.image, { key, values: children<CstNode>(f, "value").map(value) });
    }
  }

  take(key: string): Field | undefined {
    const f = this.map.get(key);
    this.map.delete(key);
    return f;
  }

  /** The single value of `key`, or undefined when absent. */
  one(key: string): Value | undefined {
    const f = this.take(key);
    if (f && f.values.length !== 1) this.b.fail(f.values[1]!.tok, `${key} takes one value`);
    return f?.values[0];
  }

  need(key: string): Value {
    const v = this.one(key);
    if (!v) this.b.fail(this.head, `${this.head.image} needs ${key}=`);
    return v;
  }

  /** Fails on any key no rule consumed, naming the ones that are accepted. */
  done(accepted: readonly string[]): void {
    for (const f of this.map.values()) {
      this.b.fail(f.key, `${this.head.image} has no field ${f.key.image} (fields: ${accepted.join(", ")})`);
    }
  }
}

export class Builder {
  private layer = 0;
  private header: { configHash?: string; dramBytes?: number } | undefined;
  private readonly tensors: IoTensor[] = [];
  private readonly layers: LayerName[] = [];
  private readonly segments: Segment[] = [];
  private readonly insns: Insn[] = [];
  /** The statement each table entry came from, to locate problems found once the DRAM size is known. */
  private readonly heads: Record<"header" | "tensors" | "layers" | "segments", IToken[]> = { header: [], tensors: [], layers: [], segments: [] };

  constructor(private readonly file: string | undefined) {}

  fail(at: IToken, message: string): never {
    throw asmError("HW5022", message, at.startLine ?? 0, at.startColumn ?? 0, this.file);
  }

  /** Builds the program; `configHash` and a DRAM size cover what the header leaves out. */
  program(cst: CstNode, configHash: string): Program {
    for (const s of children<CstNode>(cst, "statement")) this.statement(s);
    const ends = [...this.tensors.map((t) => t.addr + tensorBytes(t)), ...this.segments.map((s) => s.addr + s.data.length)];
    const extent = ends.reduce((m, e) => Math.max(m, e), 0);
    const p: Program = {
      configHash: this.header?.configHash ?? configHash,
      dramBytes: this.header?.dramBytes ?? Math.max(65536, Math.ceil(extent / 4096) * 4096),
      tensors: this.tensors,
      layers: this.layers,
      segments: this.segments,
      insns: this.insns,
    };
    const bad = checkTables(p);
    if (bad) this.fail(this.heads[bad.table][bad.index] ?? this.heads.header[0]!, bad.message);
    return p;
  }

  private statement(s: CstNode): void {
    const head = children<IToken>(s, "Directive")[0] ?? children<IToken>(s, "Ident")[0]!;
    const f = new Fields(this, head, children<CstNode>(s, "field"));
    switch (head.image) {
      case ".nnab":
        return this.nnab(f);
      case ".tensor":
        return this.tensor(f);
      case ".name":
        this.heads.layers.push(head);
        this.layers.push({ id: this.int(f.need("layer"), 0, 0xffff), name: this.str(f.need("text")) });
        return f.done(["layer", "text"]);
      case ".layer":
        this.layer = this.int(f.need("id"), 0, 0xffff);
        return f.done(["id"]);
      case ".data":
        return this.data(f);
      default:
        if (head.image.startsWith(".")) this.fail(head, `unknown directive ${head.image} (.nnab, .tensor, .name, .data, .layer)`);
        this.insns.push(this.insn(f));
    }
  }

  private int(v: Value, lo: number, hi: number): number {
    if (v.kind !== "Int") this.fail(v.tok, `expected an integer, found '${v.tok.image}'`);
    const n = intOf(v.tok.image);
    if (!(n >= lo && n <= hi)) this.fail(v.tok, `${v.tok.image} is outside [${lo}, ${hi}]`);
    return n;
  }

  private str(v: Value): string {
    if (v.kind !== "Str") this.fail(v.tok, `expected a string, found '${v.tok.image}'`);
    return JSON.parse(v.tok.image) as string;
  }

  private word<T extends string>(v: Value, allowed: readonly T[]): T {
    if (v.kind !== "Ident" || !allowed.includes(v.tok.image as T)) {
      this.fail(v.tok, `expected one of ${allowed.join(", ")}, found '${v.tok.image}'`);
    }
    return v.tok.image as T;
  }

  private nnab(f: Fields): void {
    if (this.header) this.fail(f.head, ".nnab is given twice");
    this.heads.header.push(f.head);
    const version = f.one("version");
    if (version) this.int(version, NNAB_VERSION, NNAB_VERSION);
    const config = f.one("config");
    const configHash = config && this.str(config);
    if (configHash !== undefined && !/^[0-9a-f]{16}$/.test(configHash)) this.fail(config!.tok, "config must be 16 lowercase hex digits");
    const dram = f.one("dram");
    this.header = { configHash, dramBytes: dram && this.int(dram, 1, 2 ** 32 - 1) };
    f.done(["version", "config", "dram"]);
  }

  private tensor(f: Fields): void {
    const name = this.str(f.need("name"));
    const kind = this.word(f.need("io"), ["input", "output"] as const);
    const dtype = this.word<IoDType>(f.need("dtype"), IO_DTYPES);
    const shapeV = f.need("shape");
    if (shapeV.kind !== "list") this.fail(shapeV.tok, "shape is a list of dimensions, as [1, 16]");
    const shape = shapeV.items.map((t) => this.int(item(t), 0, 2 ** 32 - 1));
    const addr = this.int(f.need("addr"), 0, 2 ** 32 - 1);
    const scaleV = f.one("scale");
    if (scaleV && scaleV.kind !== "Int" && scaleV.kind !== "Float") this.fail(scaleV.tok, "scale is a number");
    const scale = scaleV ? Math.fround(Number(scaleV.tok.image)) : 1;
    if (!(scale > 0) || !Number.isFinite(scale)) this.fail(scaleV!.tok, "scale must be positive and finite as a float32");
    const zpV = f.one("zp");
    const zeroPoint = zpV ? this.int(zpV, -(2 ** 31), 2 ** 31 - 1) : 0;
    const layoutV = f.one("layout");
    const layout = layoutV ? this.word<TensorLayout>(layoutV, TENSOR_LAYOUTS) : "dense";
    this.heads.tensors.push(f.head);
    // Dense is the default and stays implicit, as the decoder of .nnab files leaves it.
    const t: IoTensor = { name, kind, dtype, shape, addr, scale, zeroPoint };
    this.tensors.push(layout === "nhwc" ? { ...t, layout } : t);
    f.done(["name", "io", "dtype", "shape", "addr", "scale", "zp", "layout"]);
  }

  /** `.data addr=A hex="0a0b…"` or a typed list `i8=[…]`, `u8=`, `i16=`, `i32=` (little-endian). */
  private data(f: Fields): void {
    const addr = this.int(f.need("addr"), 0, 2 ** 32 - 1);
    const given = (["hex", ...DATA_KEYS] as const).flatMap((k) => {
      const v = f.one(k);
      return v ? [[k, v] as const] : [];
    });
    f.done(["addr", "hex", ...DATA_KEYS]);
    if (given.length !== 1) this.fail(f.head, ".data needs exactly one of hex=, i8=, u8=, i16=, i32=");
    const [kind, v] = given[0]!;
    let data: Uint8Array;
    if (kind === "hex") {
      const hex = this.str(v);
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) this.fail(v.tok, "hex data is an even number of hex digits");
      data = Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
    } else {
      if (v.kind !== "list") this.fail(v.tok, `${kind} data is a list, as [1, -2, 3]`);
      const [size, lo, hi] = DATA_TYPES[kind];
      data = new Uint8Array(v.items.length * size);
      const view = new DataView(data.buffer);
      v.items.forEach((t, i) => {
        const n = this.int(item(t), lo, hi);
        if (size === 1) view.setUint8(i, n & 0xff);
        else if (size === 2) view.setInt16(2 * i, n, true);
        else view.setInt32(4 * i, n, true);
      });
    }
    this.heads.segments.push(f.head);
    this.segments.push({ addr, data });
  }

  private insn(f: Fields): Insn {
    const head = f.head;
    const [name, suffix, ...rest] = head.image.split(".");
    const op = name as Op;
    if (!Object.hasOwn(LAYOUT, op) || rest.length) {
      this.fail(head, `unknown mnemonic '${head.image}' (load.<mem>, store, gemm, vec.<fn>, nop.<queue>, finish)`);
    }
    const spec = opSpec(op);
    const insn: Record<string, unknown> = { op, layer: this.layer, deps: { ...NO_DEPS } };
    const suffixField = spec.fields.find((x) => x.name === spec.suffix);
    if (suffixField) {
      const values = suffixField.kind as readonly string[];
      if (suffix === undefined || !values.includes(suffix)) this.fail(head, `${op} needs a suffix: ${values.map((v) => `${op}.${v}`).join(", ")}`);
      insn[suffixField.name] = suffix;
    } else if (suffix !== undefined) {
      this.fail(head, `${op} takes no suffix`);
    }
    const fields = spec.fields.filter((x) => x !== suffixField);
    const later: FieldSpec[] = [];
    for (const field of fields) {
      const v = f.one(field.key);
      if (v) insn[field.name] = this.fieldOf(field, v);
      else if (typeof field.def === "function") later.push(field);
      else insn[field.name] = fieldValue(field, fieldDefault(field, insn as unknown as Insn));
    }
    for (const field of later) insn[field.name] = fieldValue(field, fieldDefault(field, insn as unknown as Insn));
    const pop = f.take("pop");
    const push = f.take("push");
    f.done([...fields.map((x) => x.key), "pop", "push"]);
    const result = insn as unknown as Insn;
    result.deps = this.deps(result, pop, push);
    const bad = checkInsn(result);
    if (bad) this.fail(head, bad);
    return result;
  }

  private fieldOf(field: FieldSpec, v: Value): number | boolean | string {
    if (Array.isArray(field.kind)) return this.word(v, field.kind as readonly string[]);
    const [lo, hi] = fieldRange(field);
    return fieldValue(field, this.int(v, lo, hi));
  }

  /** `pop=`/`push=` name neighbour queues; stored as prev/next relative to the instruction's queue. */
  private deps(insn: Insn, pop: Field | undefined, push: Field | undefined): Deps {
    const q = queueOf(insn);
    const deps = { ...NO_DEPS };
    for (const [field, verb] of [[pop, "pop"], [push, "push"]] as const) {
      for (const v of field?.values ?? []) {
        const other = this.word<Queue>(v, QUEUES);
        const side = neighbour(q, "prev") === other ? "Prev" : neighbour(q, "next") === other ? "Next" : undefined;
        if (!side) this.fail(v.tok, `a ${q}-queue instruction exchanges tokens with ${[neighbour(q, "prev"), neighbour(q, "next")].filter(Boolean).join(" or ")}, not ${other}`);
        deps[`${verb}${side}`] = true;
      }
    }
    return deps;
  }
}
