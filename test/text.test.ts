/**
 * The `.hir` text format: printing then parsing gives back the same model (tensor data byte for
 * byte) and the same text, for hand-built models covering every part of the IR, the hand-written
 * fixtures/hir files and every bundled ONNX model; malformed text fails with located HwacErrors.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allocate, DTYPES, roundBF16, roundF16, type DType, type TypedArray } from "../ir/dtype.js";
import { HwacError } from "../ir/errors.js";
import type { Attr, Graph, Model, Node, TensorType } from "../ir/graph.js";
import { tensor, type Tensor } from "../ir/tensor.js";
import { parseModel, printModel } from "../ir/text/index.js";
import { FIXTURES, loadableModels, modelFiles } from "./helpers/fixtures.js";

// ---- building models ----

function make(dtype: DType, shape: number[], values: readonly (number | bigint | string)[]): Tensor {
  const data = allocate(dtype, values.length);
  values.forEach((v, i) => ((data as unknown[])[i] = v));
  return tensor(dtype, shape, data);
}

/** Awkward values of each element type: extremes, -0, nan, inf, denormals, escapes. */
const SAMPLES: Record<DType, readonly (number | bigint | string)[]> = {
  float32: [0.1, -0, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, -2.5],
  float64: [0.1, 1 / 3, -0, 5e-324, NaN, -1e308],
  float16: [0.1, 65504, -0, 6e-8, -Infinity, 1 / 3].map(roundF16),
  bfloat16: [0.1, 3e38, -1.5, 1 / 3].map(roundBF16),
  int4: [-8, 7, 0],
  uint4: [0, 15, 3],
  int8: [-128, 127, 0],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-(2n ** 63n), 2n ** 63n - 1n, 0n],
  uint64: [0n, 2n ** 64n - 1n],
  bool: [0, 1, 1],
  string: ["", 'a"b\\c', "line\nbreak", "ünï ✓", "\u0000\u001f", "\ud800"],
};

function small(dtype: DType): Tensor {
  return make(dtype, [SAMPLES[dtype].length], SAMPLES[dtype]);
}

/** 40 elements: past the inline limit, so numeric types print as base64. */
function large(dtype: DType): Tensor {
  const s = SAMPLES[dtype];
  return make(dtype, [5, 8], Array.from({ length: 40 }, (_, i) => s[i % s.length]!));
}

function node(op: string, inputs: string[], outputs: string[], attrs: [string, Attr][] = [], extra: Partial<Node> = {}): Node {
  // fromEntries, so that even "__proto__" is an ordinary attribute.
  return { op, domain: "", name: `${op}_${outputs[0] ?? "none"}`, inputs, outputs, attrs: Object.fromEntries(attrs), ...extra };
}

function graph(name: string, parts: Partial<Graph>): Graph {
  return { name, inputs: [], outputs: [], initializers: new Map(), nodes: [], valueTypes: new Map(), ...parts };
}

const f32any: TensorType = { dtype: "float32", shape: null };

function branch(name: string, from: string, nested?: Graph): Graph {
  const out = `${name}_out`;
  const nodes = [node("Identity", [from], [out])];
  if (nested) nodes.push(node("If", ["cond"], [`${name}_nested`], [["then_branch", { kind: "graph", value: nested }]]));
  return graph(name, { outputs: [{ name: out, type: f32any }], nodes, valueTypes: new Map([[out, f32any]]) });
}

const ODD_NAMES = [
  "onnx::Flatten_0", "/conv/Conv_output_0", '{"json": [1, "b\\n"]}', "123", "graph", "f32", "nan", "_",
  "with space", "ünï", "%", "a.b_c",
];

/** A model touching every part of ir/graph.ts. */
function everything(): Model {
  const initializers = new Map<string, Tensor>();
  for (const d of DTYPES) {
    initializers.set(`small_${d}`, small(d));
    initializers.set(`large_${d}`, large(d));
  }
  initializers.set("empty", make("float32", [2, 0], []));
  initializers.set("scalar", make("int32", [], [-5]));
  const f = Math.fround;
  const attrs: [string, Attr][] = [
    ["i", { kind: "int", value: 42 }],
    ["ineg", { kind: "int", value: -7 }],
    ["ibig", { kind: "int", value: 9223372036854775807 }],
    ["f", { kind: "float", value: f(0.1) }],
    ["fint", { kind: "float", value: 3 }],
    ["fneg0", { kind: "float", value: -0 }],
    ["fnan", { kind: "float", value: NaN }],
    ["finf", { kind: "float", value: Infinity }],
    ["fninf", { kind: "float", value: -Infinity }],
    ["fdouble", { kind: "float", value: 0.1 }],
    ["fbig", { kind: "float", value: f(1e21) }],
    ["s", { kind: "string", value: "NOTSET" }],
    ["sodd", { kind: "string", value: 'quote " backslash \\ newline \n tab \t ünï \u0001' }],
    ["ints", { kind: "ints", value: [1, -2, 9007199254740993] }],
    ["intsEmpty", { kind: "ints", value: [] }],
    ["floats", { kind: "floats", value: [f(0.5), f(1e-7), NaN, -0, 0.1] }],
    ["floatsEmpty", { kind: "floats", value: [] }],
    ["strings", { kind: "strings", value: ["a", "", '"q"'] }],
    ["stringsEmpty", { kind: "strings", value: [] }],
    ["t", { kind: "tensor", value: small("int64") }],
    ["tensors", { kind: "tensors", value: [small("float16"), large("int8"), small("string")] }],
    ["tensorsEmpty", { kind: "tensors", value: [] }],
    ["g", { kind: "graph", value: branch("then", "x", branch("inner", "x")) }],
    ["gs", { kind: "graphs", value: [branch("a", "x"), branch("b", "x", branch("c", "x"))] }],
    ["graphsEmpty", { kind: "graphs", value: [] }],
    ["__proto__", { kind: "int", value: 1 }],
    ["with space", { kind: "string", value: "x" }],
    ["graph", { kind: "int", value: 0 }],
  ];
  const types = new Map<string, TensorType>([
    ["x", { dtype: "float32", shape: ["batch", 3, "?", "seq len"] }],
    ["y", { dtype: "int8", shape: [1, 16], quant: { scale: Float32Array.of(0.5), zeroPoint: Int32Array.of(-3) } }],
    ["unrelated", { dtype: "bool", shape: [] }],
    ...ODD_NAMES.map((n): [string, TensorType] => [n, { dtype: "uint8", shape: [n === "_" ? "_" : n] }]),
  ]);
  const nodes: Node[] = [
    node("Everything", ["x", "", ODD_NAMES[0]!], ["y", ...ODD_NAMES], attrs),
    node("If", ["cond"], ["z"], [["else_branch", { kind: "graph", value: branch("else", "y") }], ["then_branch", { kind: "graph", value: branch("then", "x") }]], { name: "/if/If" }),
    node("my-op", ["", ""], [], [], { domain: "com.microsoft", name: "" }),
    node("Relu", ["z"], ["", "w"], [], { domain: "ai.onnx", name: 'with "quote"' }),
    node("Constant", [], ["k"], [["value", { kind: "tensor", value: large("float32") }]]),
    node("Identity", ["w"], ["w2"], [], { name: "" }),
  ];
  return {
    irVersion: 9,
    producer: 'pytorch 2.1 "quoted"',
    opsets: { "": 17, "com.microsoft": 1, "ai.onnx.ml": 3, "my domain": 2, "ai.onnx": 17, constructor: 4 },
    graph: graph("main graph", {
      inputs: [
        { name: "x", type: types.get("x")! },
        { name: ODD_NAMES[0]!, type: types.get("y")! },
        { name: "", type: { dtype: "float32", shape: [] } },
        { name: "per_axis", type: { dtype: "uint8", shape: [4, 2], quant: { scale: Float32Array.of(0.1, 0.2, 0.3, 1e-30), zeroPoint: Int32Array.of(0, 1, 2, 255), axis: 0 } } },
        { name: "unranked", type: { dtype: "string", shape: null } },
      ],
      outputs: [{ name: "w2", type: { dtype: "float32", shape: ["n", 0, "f32", "3", "?"] } }],
      initializers,
      nodes,
      valueTypes: new Map([...types, ["x_input_type", types.get("x")!], ["", f32any], ["per_axis", { dtype: "uint8", shape: [4, 2] }]]),
    }),
  };
}

// ---- comparing models ----

/** The model with tensors as their storage bytes, so `toStrictEqual` compares data byte for byte. */
function canon(m: Model): unknown {
  const { source: _source, ...rest } = m;
  return { ...rest, graph: canonGraph(m.graph) };
}

function canonTensor(t: Tensor): unknown {
  const d = t.data;
  const bytes = Array.isArray(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("hex");
  return { dtype: t.dtype, shape: t.shape, bytes };
}

function canonAttr(a: Attr): unknown {
  switch (a.kind) {
    case "tensor": return { kind: a.kind, value: canonTensor(a.value) };
    case "tensors": return { kind: a.kind, value: a.value.map(canonTensor) };
    case "graph": return { kind: a.kind, value: canonGraph(a.value) };
    case "graphs": return { kind: a.kind, value: a.value.map(canonGraph) };
    default: return a;
  }
}

function canonGraph(g: Graph): unknown {
  return {
    ...g,
    initializers: [...g.initializers].map(([k, t]) => [k, canonTensor(t)]),
    valueTypes: new Map(g.valueTypes),
    nodes: g.nodes.map((n) => ({
      ...n,
      attrs: Object.keys(n.attrs).sort().map((k) => [k, canonAttr(n.attrs[k]!)]),
    })),
  };
}

/** Prints, parses and prints again: same text, same model. */
function expectRoundTrip(m: Model): string {
  const text = printModel(m);
  const back = parseModel(text, "roundtrip.hir");
  expect(printModel(back)).toBe(text);
  expect(canon(back)).toStrictEqual(canon(m));
  return text;
}

function errorOf(fn: () => unknown): HwacError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HwacError) return e;
    throw e;
  }
  throw new Error("expected a HwacError");
}

// ---- tests ----

describe("printModel", () => {
  const tiny: Model = {
    irVersion: 8,
    producer: "test",
    opsets: { "": 13 },
    graph: graph("tiny", {
      inputs: [{ name: "x", type: { dtype: "float32", shape: ["batch", 4] } }],
      outputs: [{ name: "y", type: { dtype: "float32", shape: ["batch", 2] } }],
      initializers: new Map([["w", make("float32", [2, 4], [0.1, 0.2, 0.3, 0.4, -1, -2, -3, 1e-7])]]),
      nodes: [node("Gemm", ["x", "w", ""], ["y"], [["transB", { kind: "int", value: 1 }], ["alpha", { kind: "float", value: 1 }]], { name: "/fc/Gemm" })],
      valueTypes: new Map<string, TensorType>([
        ["y", { dtype: "float32", shape: ["batch", 2] }],
        ["onnx::Gemm_0", { dtype: "float32", shape: ["batch", 4] }],
      ]),
    }),
  };

  it("writes one node per line with sorted attributes, quoted odd names and shortest floats", () => {
    expect(printModel(tiny)).toBe(
      [
        "ir_version 8",
        'producer "test"',
        "opset 13",
        "",
        "graph tiny (%x: f32[batch,4]) -> (%y: f32[batch,2]) {",
        "  const %w = f32[2,4] [0.1,0.2,0.3,0.4,-1,-2,-3,1e-7]",
        '  type %"onnx::Gemm_0": f32[batch,4]',
        '  %y: f32[batch,2] = Gemm(%x, %w, _) {alpha=1.0, transB=1} @"/fc/Gemm"',
        "}",
        "",
      ].join("\n"),
    );
    expectRoundTrip(tiny);
  });

  it("spells floats as the shortest decimal of their element type", () => {
    const t = (dtype: DType, values: number[]): string => printModel({ ...tiny, graph: graph("g", { initializers: new Map([["c", make(dtype, [values.length], values)]]) }) }).split("\n")[5]!;
    expect(t("float32", [0.1, 1 / 3, 16777217, 1e-45, -0])).toBe("  const %c = f32[5] [0.1,0.33333334,16777216,1e-45,-0]");
    expect(t("float16", [roundF16(0.1), roundF16(1 / 3), 65504])).toBe("  const %c = f16[3] [0.1,0.3333,65500]");
    expect(t("bfloat16", [roundBF16(0.1), roundBF16(1 / 3)])).toBe("  const %c = bf16[2] [0.1,0.334]");
    expect(t("float64", [0.1, 1 / 3, NaN, -Infinity])).toBe("  const %c = f64[4] [0.1,0.3333333333333333,nan,-inf]");
    const attrs = printModel({ ...tiny, graph: graph("g", { nodes: [node("N", [], [], [["a", { kind: "floats", value: [Math.fround(0.1), 0.1, 1, -0, Math.fround(1e21), 16777217] }]], { name: "" })] }) });
    expect(attrs).toContain("  N() {a=[0.1,0.1d,1.0,-0.0,1e+21,16777217.0d]}\n");
    const back = parseModel(attrs).graph.nodes[0]!.attrs.a!;
    expect(back).toStrictEqual({ kind: "floats", value: [Math.fround(0.1), 0.1, 1, -0, Math.fround(1e21), 16777217] });
  });

  it("inlines tensors up to 16 elements and writes larger ones as base64", () => {
    const text = (n: number): string => printModel({ ...tiny, graph: graph("g", { initializers: new Map([["c", make("uint8", [n], Array.from({ length: n }, (_, i) => i))]]) }) });
    expect(text(16)).toContain("const %c = u8[16] [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]\n");
    expect(text(17)).toContain(`const %c = u8[17] b64"${Buffer.from(Array.from({ length: 17 }, (_, i) => i)).toString("base64")}"\n`);
  });
});

describe("round trip", () => {
  it("keeps every attribute kind, element type, name, dimension and quantization", () => {
    const text = expectRoundTrip(everything());
    // Spot checks that the odd parts are really written out, not dropped on both sides.
    expect(text).toContain('opset "my domain" 2\n');
    expect(text).toContain('graph "main graph" (');
    expect(text).toContain('%"onnx::Flatten_0": i8[1,16]{scale=[0.5], zp=[-3]}');
    expect(text).toContain("%per_axis: u8[4,2]{scale=[0.1,0.2,0.3,1e-30], zp=[0,1,2,255], axis=0}");
    expect(text).toContain("%unranked: str[*]");
    expect(text).toContain('%w2: f32[n,0,"f32","3",?]');
    expect(text).toContain("const %small_int64 = i64[3] [-9223372036854775808,9223372036854775807,0]");
    expect(text).toContain("const %small_uint64 = u64[2] [0,18446744073709551615]");
    expect(text).toContain('const %small_string = str[6] ["","a\\"b\\\\c","line\\nbreak","ünï ✓","\\u0000\\u001f","\\ud800"]');
    expect(text).toContain("const %small_float32 = f32[8] [0.1,-0,nan,inf,-inf,1e-45,3.4028235e+38,-2.5]");
    expect(text).toContain("const %empty = f32[2,0] []");
    expect(text).toContain('  type %"": f32[*]\n');
    expect(text).toContain('  com.microsoft::"my-op"(_, _)\n');
    expect(text).toContain('  _, %w = ai.onnx::Relu(%z) @"with \\"quote\\""\n');
    expect(text).toContain("  %w2 = Identity(%w)\n");
    expect(text).toContain(" __proto__=1,");
    expect(text).toContain("graphsEmpty=graphs[]");
    expect(text).toContain("ibig=9223372036854775808,");
    expect(text).toContain("fdouble=0.1d,");
  });

  it("keeps nodes and values that repeat a name (IR that is not yet SSA)", () => {
    const t: TensorType = { dtype: "int32", shape: [2] };
    const m: Model = {
      irVersion: 7, producer: "", opsets: {},
      graph: graph("", { nodes: [node("A", [], ["v"]), node("B", ["v"], ["v"])], valueTypes: new Map([["v", t]]) }),
    };
    const text = expectRoundTrip(m);
    expect(text).toContain("  %v: i32[2] = A() @A_v\n  %v = B(%v) @B_v\n");
  });
});

describe("fixtures/hir", () => {
  const dir = join(FIXTURES, "hir");
  const files = readdirSync(dir).filter((f) => f.endsWith(".hir")).sort();

  it("has the hand-written models", () => {
    expect(files).toEqual(["control-flow.hir", "conv-relu.hir", "quantized.hir"]);
  });

  it.each(files)("%s is in printed form, apart from its comments", (f) => {
    const text = readFileSync(join(dir, f), "utf8");
    const m = parseModel(text, f);
    expect(m.source).toBe(f);
    expect(printModel(m)).toBe(text.replace(/^\s*\/\/.*\n/gm, ""));
    expectRoundTrip(m);
  });

  it("the example in docs/ir-text.md is in printed form", () => {
    const doc = readFileSync(join(FIXTURES, "..", "docs", "ir-text.md"), "utf8");
    const example = /## Example\n\n```\n([^`]*)```/.exec(doc)![1]!;
    expect(printModel(parseModel(example, "ir-text.md"))).toBe(example);
  });

  const load = (f: string): Model => parseModel(readFileSync(join(dir, f), "utf8"), f);

  it("conv-relu.hir reads the filters, types and attributes", () => {
    const g = load("conv-relu.hir").graph;
    expect(Array.from(g.initializers.get("filters")!.data as Float32Array)).toEqual([
      1, 0, -1, 2, 0, -2, 1, 0, -1, 0.25, 0.25, 0.25, 0.25, 0.5, 0.25, 0.25, 0.25, 0.25,
    ]);
    expect(g.inputs).toEqual([{ name: "image", type: { dtype: "float32", shape: ["N", 1, 4, 4] } }]);
    expect(g.nodes.map((n) => `${n.name}:${n.op}`)).toEqual(["conv1:Conv", "relu1:Relu", "pool:GlobalAveragePool", "flatten:Flatten"]);
    expect(g.nodes[0]!.attrs.pads).toEqual({ kind: "ints", value: [1, 1, 1, 1] });
    expect(g.valueTypes.get("pooled")).toEqual({ dtype: "float32", shape: ["N", 2, 1, 1] });
  });

  it("quantized.hir reads quantization parameters, int4 data and the vendor domain", () => {
    const m = load("quantized.hir");
    expect(m.opsets).toEqual({ "": 21, "com.microsoft": 1 });
    const wq = m.graph.valueTypes.get("w_q")!;
    expect(Array.from(wq.quant!.scale)).toEqual([0.01, 0.02, 0.005].map(Math.fround));
    expect(wq.quant!.axis).toBe(0);
    expect(m.graph.valueTypes.get("xq")!.quant).toEqual({ scale: Float32Array.of(0.0078125), zeroPoint: Int32Array.of(0) });
    const w4 = m.graph.initializers.get("w4")!;
    expect(w4.dtype).toBe("int4");
    expect(Array.from(w4.data as Int8Array)).toEqual([-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 7, 6]);
    expect(m.graph.initializers.get("shape")!.data).toEqual(BigInt64Array.of(-1n, 6n));
    const gelu = m.graph.nodes.at(-1)!;
    expect([gelu.domain, gelu.op, gelu.attrs.alpha]).toEqual(["com.microsoft", "QuickGelu", { kind: "float", value: Math.fround(1.702) }]);
  });

  it("control-flow.hir reads nested subgraphs, omitted values and quoted names", () => {
    const g = load("control-flow.hir").graph;
    expect(g.name).toBe("control flow");
    expect(g.inputs[1]).toEqual({ name: "onnx::Input_0", type: { dtype: "float32", shape: ["batch", "seq len"] } });
    const outer = g.nodes[0]!;
    const then = outer.attrs.then_branch!;
    if (then.kind !== "graph") throw new Error("then_branch is not a graph");
    const inner = then.value.nodes[0]!.attrs.then_branch!;
    expect(inner.kind === "graph" && inner.value.nodes[0]).toMatchObject({ op: "Abs", inputs: ["onnx::Input_0"], name: "inner_abs" });
    const loop = g.nodes[1]!;
    expect([loop.inputs, loop.outputs, loop.name]).toEqual([["trip", "", "zero"], ["final", "/loop/Loop_output_0"], "/loop/Loop"]);
    expect(g.nodes[2]!.outputs).toEqual(["dropped", ""]);
    expect(g.initializers.get("labels")!.data).toEqual(["yes", "no", "line\nbreak"]);
    expect(g.outputs[0]!.type.shape).toBeNull();
  });
});

describe("parse errors", () => {
  const H = "ir_version 8\nopset 17\ngraph g (%x: f32[1]) -> (%y: f32[1]) {\n";
  const cases: [string, string, string, string][] = [
    ["a missing separator", H + "  %y = Relu(%x %w)\n}\n", "HW2101", "line 4, column 16: expected ')' in a node, found '%w'"],
    ["a stray character", H + "  %y = Relu(%x) $\n}\n", "HW2100", 'line 4, column 17: unexpected character "$"'],
    ["an unclosed string", H + '  %y = F(%x) {a="open}\n}\n', "HW2100", "line 4, column 17: a string is not closed"],
    ["the end of input", H + "  %y = Relu(%x)\n", "HW2101", "line 5, column 1: expected '}' in a graph, found end of input"],
    ["an unknown element type", "ir_version 8\ngraph g (%x: q8[1]) -> () {}", "HW2101", "line 2, column 14: expected an element type (f32, i8, ...) in a tensor type, found 'q8'"],
    ["a missing header", "graph g () -> () {}", "HW2101", "line 1, column 1: expected 'ir_version' in the model header, found 'graph'"],
    ["trailing text", "ir_version 8\ngraph g () -> () {} extra", "HW2101", "line 2, column 21: expected end of input after the graph, found 'extra'"],
    ["a missing value", H + "  %y = F(%x) {a=}\n}\n", "HW2101", "line 4, column 17: expected one of an integer, a float, a string"],
    ["too few elements", H + "  const %w = f32[3] [1,2]\n}\n", "HW2102", "line 4, column 21: expected 3 elements for f32[3], found 2"],
    ["short base64 data", H + '  const %w = f32[2] b64"AAAA"\n}\n', "HW2102", "line 4, column 21: expected 8 bytes of data for f32[2], found 3"],
    ["an out-of-range integer", H + "  const %w = i8[2] [1,300]\n}\n", "HW2102", "line 4, column 23: 300 is out of range for int8"],
    ["an out-of-range int64", H + "  const %w = i64[1] [9223372036854775808]\n}\n", "HW2102", "line 4, column 22: 9223372036854775808 is out of range for int64"],
    ["a float in integer data", H + "  const %w = i32[1] [2.5]\n}\n", "HW2102", "line 4, column 22: expected an integer in int32 data, found '2.5'"],
    ["a symbolic tensor shape", H + "  const %w = f32[n] [1]\n}\n", "HW2102", "line 4, column 14: a tensor value needs a static shape"],
    ["an empty list without kind", H + "  %y = F(%x) {a=[]}\n}\n", "HW2102", "line 4, column 17: an empty list needs its kind"],
    ["a mixed list", H + '  %y = F(%x) {a=[1, "s"]}\n}\n', "HW2102", "line 4, column 17: a list mixes int and string elements"],
    ["a wrongly kinded list", H + "  %y = F(%x) {a=ints[1, 2.5]}\n}\n", "HW2102", "line 4, column 25: ints cannot hold a float element"],
    ["a nested list", H + "  %y = F(%x) {a=[[1]]}\n}\n", "HW2102", "line 4, column 17: lists cannot be nested"],
    ["a repeated attribute", H + "  %y = F(%x) {a=1, a=2}\n}\n", "HW2102", "line 4, column 20: attribute 'a' given twice"],
    ["a repeated const", H + "  const %w = f32[] [1]\n  const %w = f32[] [2]\n}\n", "HW2102", "line 5, column 9: const %w given twice"],
    ["a repeated value type", H + "  type %y: f32[1]\n  %y: f32[1] = F(%x)\n}\n", "HW2102", "line 5, column 3: type of %y given twice"],
    ["a repeated opset", "ir_version 8\nopset 1\nopset 2\ngraph g () -> () {}", "HW2102", "line 3, column 1: opset for domain '' given twice"],
    ["incomplete quantization", "ir_version 8\ngraph g (%x: i8[1]{scale=[1.0]}) -> () {}", "HW2102", "line 2, column 19: quantization needs both scale=[...] and zp=[...]"],
    ["an unknown quantization field", "ir_version 8\ngraph g (%x: i8[1]{scale=[1.0], zp=[0], bits=4}) -> () {}", "HW2102", "line 2, column 19: unknown quantization field 'bits'"],
    ["base64 string data", H + '  const %w = str[1] b64"AAAA"\n}\n', "HW2102", "line 4, column 21: string tensors are written as a list of strings"],
  ];

  it.each(cases)("reports %s with its line and column", (_what, text, code, message) => {
    const e = errorOf(() => parseModel(text, "bad.hir"));
    expect(e.code).toBe(code);
    expect(e.where.file).toBe("bad.hir");
    expect(e.message.startsWith(message), e.message).toBe(true);
  });

  it("names the file in the formatted error", () => {
    expect(errorOf(() => parseModel(H, "m.hir")).format()).toBe(
      "error HW2101 in m.hir: line 4, column 1: expected '}' in a graph, found end of input",
    );
  });
});

describe("size and speed", () => {
  it("prints and parses a 2 MB model well under a second", () => {
    const n = 500_000;
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = Math.sin(i) * 0.05;
    const m: Model = {
      irVersion: 8, producer: "", opsets: { "": 17 },
      graph: graph("big", {
        inputs: [{ name: "x", type: { dtype: "float32", shape: [1, 1000] } }],
        outputs: [{ name: "y", type: { dtype: "float32", shape: [1, 500] } }],
        initializers: new Map([["w", tensor("float32", [1000, 500], w)]]),
        nodes: [node("MatMul", ["x", "w"], ["y"])],
      }),
    };
    const start = performance.now();
    const text = printModel(m);
    const back = parseModel(text);
    const ms = performance.now() - start;
    expect(text.length).toBeLessThan(2_700_000);
    expect(Buffer.from((back.graph.initializers.get("w")!.data as TypedArray).buffer).equals(Buffer.from(w.buffer))).toBe(true);
    // Generous for a loaded shared machine; a quadratic lexer would take minutes.
    expect(ms).toBeLessThan(1000);
  });
});

describe("ONNX models", () => {
  /** Models whose element types the IR cannot hold fail to load (HW1004); the rest must round-trip. */
  function roundTripAll(files: string[]): { done: number; failures: string[] } {
    const failures: string[] = [];
    let done = 0;
    for (const [f, m] of loadableModels(files)) {
      const text = printModel(m);
      const back = parseModel(text, f);
      if (printModel(back) !== text) failures.push(`${f}: text differs`);
      else expect(canon(back), f).toStrictEqual(canon(m));
      done++;
    }
    return { done, failures };
  }

  it.each(["real", "trained"])("fixtures/%s round-trip", (group) => {
    const files = modelFiles(group);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(roundTripAll(files)).toEqual({ done: files.length, failures: [] });
  });

  it("fixtures/onnx-node round-trip", () => {
    const files = modelFiles("onnx-node");
    const { done, failures } = roundTripAll(files);
    expect(failures).toEqual([]);
    expect(done).toBeGreaterThan(files.length * 0.9);
  });
});
