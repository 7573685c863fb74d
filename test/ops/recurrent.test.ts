/**
 * RNN, GRU, LSTM and If on hand-computed cases the ONNX conformance tests leave out: sequence
 * lengths with reverse and bidirectional sweeps, batch-first layout, peepholes, input_forget,
 * clip, linear_before_reset, every named activation, and If's type merging. Most cases use
 * Affine/Relu activations so the expected values are exact integers.
 */
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Graph, Node, TensorType } from "../../ir/graph.js";
import { attrsOf, type EvalCtx, type OpDef, type TypeCtx } from "../../ir/op.js";
import { GRU } from "../../ir/ops/GRU.js";
import { If } from "../../ir/ops/If.js";
import { LSTM } from "../../ir/ops/LSTM.js";
import { RNN } from "../../ir/ops/RNN.js";
import { f32, tensor, type Tensor } from "../../ir/tensor.js";

type AttrValue = number | string | readonly string[] | readonly number[] | Graph;

function attr(name: string, v: AttrValue): Attr {
  if (typeof v === "string") return { kind: "string", value: v };
  if (typeof v === "number") return Number.isInteger(v) && name !== "clip" ? { kind: "int", value: v } : { kind: "float", value: v };
  if (!Array.isArray(v)) return { kind: "graph", value: v as Graph };
  return typeof v[0] === "string" ? { kind: "strings", value: v as string[] } : { kind: "floats", value: v as number[] };
}

function nodeOf(op: string, nInputs: number, outputs: string[], attrs: Record<string, AttrValue>): Node {
  return {
    op,
    domain: "",
    name: `${op}_0`,
    inputs: Array.from({ length: nInputs }, (_, i) => `in${i}`),
    outputs,
    attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, attr(k, v)])),
  };
}

const RNN_OUTPUTS = ["Y", "Y_h", "Y_c"];

function run(def: OpDef, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue>): Tensor[] {
  const node = nodeOf(def.op, inputs.length, RNN_OUTPUTS.slice(0, def.op === "LSTM" ? 3 : 2), attrs);
  const ctx: EvalCtx = {
    node,
    attrs: attrsOf(node),
    opset: 22,
    runSubgraph: () => {
      throw new Error("no subgraphs");
    },
  };
  return def.run(inputs, ctx);
}

function infer(def: OpDef, inputs: (TensorType | undefined)[], attrs: Record<string, AttrValue>, consts: (Tensor | undefined)[] = [], sub?: (g: Graph) => TensorType[]): TensorType[] {
  const node = nodeOf(def.op, inputs.length, def.op === "If" ? ["r"] : RNN_OUTPUTS.slice(0, def.op === "LSTM" ? 3 : 2), attrs);
  const ctx: TypeCtx = {
    node,
    attrs: attrsOf(node),
    inputs,
    consts,
    opset: 22,
    inferSubgraph: sub ?? (() => []),
  };
  return def.inferTypes(ctx);
}

const values = (t: Tensor): number[] => Array.from(t.data as Float32Array);
const i32 = (shape: number[], v: number[]): Tensor => tensor("int32", shape, Int32Array.from(v));
// h_t = x_t + 10·h_{t-1}: each step shifts the history one decimal digit, so Y shows the order.
const IDENTITY = { activations: ["Affine"], activation_alpha: [1], activation_beta: [0] };

describe("RNN", () => {
  it("runs a Relu recurrence step by step", () => {
    const [y, yh] = run(RNN, [f32([3, 1, 1], [1, -1, 3]), f32([1, 1, 1], [2]), f32([1, 1, 1], [0.5])], {
      hidden_size: 1,
      activations: ["Relu"],
    });
    // h1 = relu(2) = 2, h2 = relu(-2 + 1) = 0, h3 = relu(6 + 0) = 6
    expect(values(y!)).toEqual([2, 0, 6]);
    expect(y!.shape).toEqual([3, 1, 1, 1]);
    expect(values(yh!)).toEqual([6]);
  });

  // batch 0 has length 3 (x = 1, 2, 3), batch 1 length 2 (x = 4, 5, then padding 9)
  const X = f32([3, 2, 1], [1, 4, 2, 5, 3, 9]);
  const lens = i32([2], [3, 2]);

  it("masks steps past each entry's length and keeps its last state", () => {
    const [y, yh] = run(RNN, [X, f32([1, 1, 1], [1]), f32([1, 1, 1], [10]), undefined, lens], { ...IDENTITY, hidden_size: 1 });
    expect(values(y!)).toEqual([1, 4, 12, 45, 123, 0]);
    expect(values(yh!)).toEqual([123, 45]);
  });

  it("starts a reverse sweep at each entry's own last step", () => {
    const [y, yh] = run(RNN, [X, f32([1, 1, 1], [1]), f32([1, 1, 1], [10]), undefined, lens], {
      ...IDENTITY,
      hidden_size: 1,
      direction: "reverse",
    });
    // batch 0: 3, 2 + 30, 1 + 320; batch 1: 5, 4 + 50 (the padded 9 is never read)
    expect(values(y!)).toEqual([321, 54, 32, 5, 3, 0]);
    expect(values(yh!)).toEqual([321, 54]);
  });

  it("stacks both directions, and moves batch first with layout 1", () => {
    const bidi = { ...IDENTITY, activations: ["Affine", "Affine"], activation_alpha: [1, 1], activation_beta: [0, 0] };
    const W = f32([2, 1, 1], [1, 1]);
    const R = f32([2, 1, 1], [10, 10]);
    const [y, yh] = run(RNN, [X, W, R, undefined, lens], { ...bidi, hidden_size: 1, direction: "bidirectional" });
    expect(y!.shape).toEqual([3, 2, 2, 1]);
    // [t][dir][batch]
    expect(values(y!)).toEqual([1, 4, 321, 54, 12, 45, 32, 5, 123, 0, 3, 0]);
    expect(values(yh!)).toEqual([123, 45, 321, 54]);

    const Xb = f32([2, 3, 1], [1, 2, 3, 4, 5, 9]);
    const [yb, yhb] = run(RNN, [Xb, W, R, undefined, lens], { ...bidi, hidden_size: 1, direction: "bidirectional", layout: 1 });
    expect(yb!.shape).toEqual([2, 3, 2, 1]);
    // [batch][t][dir]
    expect(values(yb!)).toEqual([1, 321, 12, 32, 123, 3, 4, 54, 45, 5, 0, 0]);
    expect(yhb!.shape).toEqual([2, 2, 1]);
    expect(values(yhb!)).toEqual([123, 321, 45, 54]);
  });

  it("reads initial_h in the node's layout and zeroes the state of empty sequences", () => {
    const h0 = f32([1, 2, 1], [7, 8]);
    const [, yh] = run(RNN, [X, f32([1, 1, 1], [1]), f32([1, 1, 1], [10]), undefined, i32([2], [1, 0]), h0], {
      ...IDENTITY,
      hidden_size: 1,
    });
    expect(values(yh!)).toEqual([71, 0]);
    const Xb = f32([1, 3, 1], [1, 2, 3]);
    const [, yhb] = run(RNN, [Xb, f32([1, 1, 1], [1]), f32([1, 1, 1], [10]), undefined, undefined, f32([1, 1, 1], [7])], {
      ...IDENTITY,
      hidden_size: 1,
      layout: 1,
    });
    expect(values(yhb!)).toEqual([7123]);
  });

  it("adds both biases", () => {
    const [, yh] = run(RNN, [f32([1, 1, 1], [1]), f32([1, 1, 1], [1]), f32([1, 1, 1], [10]), f32([1, 2], [20, 300])], {
      ...IDENTITY,
      hidden_size: 1,
    });
    expect(values(yh!)).toEqual([321]);
  });

  it.each([
    ["Sigmoid", [], [], 0.5, 1 / (1 + Math.exp(-0.5))],
    ["Tanh", [], [], 0.5, Math.tanh(0.5)],
    ["Relu", [], [], -2, 0],
    ["HardSigmoid", [], [], 0.5, 0.6],
    ["HardSigmoid", [0.5], [0.25], 1, 0.75],
    ["Affine", [2], [1], 0.5, 2],
    ["LeakyRelu", [], [], -2, -0.02],
    ["LeakyRelu", [0.5], [], -2, -1],
    ["ThresholdedRelu", [1], [], 0.5, 0],
    ["ThresholdedRelu", [1], [], 2, 2],
    ["ScaledTanh", [2], [0.5], 0.5, 2 * Math.tanh(0.25)],
    ["Elu", [], [], -2, Math.exp(-2) - 1],
    ["Softsign", [], [], -2, -2 / 3],
    ["Softplus", [], [], 0.5, Math.log(1 + Math.exp(0.5))],
    ["softplus", [], [], 800, 800],
  ])("applies %s(alpha %j, beta %j) to %f", (name, alpha, beta, x, want) => {
    const attrs: Record<string, AttrValue> = { hidden_size: 1, activations: [name] };
    if (alpha.length) attrs.activation_alpha = alpha;
    if (beta.length) attrs.activation_beta = beta;
    const [, yh] = run(RNN, [f32([1, 1, 1], [x]), f32([1, 1, 1], [1]), f32([1, 1, 1], [0])], attrs);
    expect(values(yh!)[0]).toBeCloseTo(want, 6);
  });

  it("hands activation_alpha only to the functions that take one", () => {
    const W = f32([2, 1, 1], [1, 1]);
    const [, yh] = run(RNN, [f32([1, 1, 1], [-2]), W, f32([2, 1, 1], [0, 0])], {
      hidden_size: 1,
      direction: "bidirectional",
      activations: ["Relu", "LeakyRelu"],
      activation_alpha: [0.5],
    });
    expect(values(yh!)).toEqual([0, -1]);
  });

  it("rejects unknown activations, wrong counts and wrong shapes", () => {
    const X1 = f32([1, 1, 1], [1]);
    const W1 = f32([1, 1, 1], [1]);
    const err = (f: () => unknown): HwacError => {
      try {
        f();
      } catch (e) {
        return e as HwacError;
      }
      throw new Error("did not throw");
    };
    expect(err(() => run(RNN, [X1, W1, W1], { activations: ["Swish"] })).message).toMatch(/unknown activation 'Swish'/);
    expect(err(() => run(RNN, [X1, W1, W1], { activations: ["Tanh", "Tanh"] })).message).toMatch(/must name 1 functions/);
    const e = err(() => run(RNN, [X1, f32([1, 2, 1], [1, 1]), W1], { hidden_size: 1 }));
    expect(e).toBeInstanceOf(HwacError);
    expect(e.message).toBe("W must have shape [1,1,1], got [1,2,1]");
    expect(err(() => run(RNN, [X1, W1, W1, undefined, i32([1], [2])], {})).message).toMatch(/sequence_lens values must lie in \[0, 1\]/);
  });

  it("infers exact output shapes in both layouts", () => {
    const t = (shape: (number | string)[] | null): TensorType => ({ dtype: "float32", shape });
    const ins = [t([5, "b", 3]), t([2, 4, 3]), t([2, 4, 4])];
    expect(infer(RNN, ins, { direction: "bidirectional" }).map((o) => o.shape)).toEqual([
      [5, 2, "b", 4],
      [2, "b", 4],
    ]);
    expect(infer(RNN, ins, { direction: "bidirectional", layout: 1, hidden_size: 4 }).map((o) => o.shape)).toEqual([
      [5, "b", 2, 4],
      [5, 2, 4],
    ]);
    expect(infer(LSTM, [t(null), t([1, 8, 3]), t([1, 8, 2])], {}).map((o) => o.shape)).toEqual([
      ["?", 1, "?", 2],
      [1, "?", 2],
      [1, "?", 2],
    ]);
    expect(() => infer(GRU, [t([5, 1, 3]), t([1, 8, 3]), t([1, 8, 2])], { hidden_size: 2 })).toThrow(/W must have 3·hidden_size = 6 rows, got 8/);
  });
});

describe("LSTM", () => {
  // hidden 1, input 1, one step; W = (i, o, f, c) = (1, 2, 3, 4), R = 0, x = 1, C₀ = 2
  const inputs = (extra: (Tensor | undefined)[]): (Tensor | undefined)[] => [
    f32([1, 1, 1], [1]),
    f32([1, 4, 1], [1, 2, 3, 4]),
    f32([1, 4, 1], [0, 0, 0, 0]),
    undefined,
    undefined,
    undefined,
    f32([1, 1, 1], [2]),
    ...extra,
  ];
  const linear = { hidden_size: 1, activations: ["Affine", "Affine", "Affine"], activation_alpha: [1, 1, 1], activation_beta: [0, 0, 0] };
  const P = f32([1, 3], [1, 1, 1]);

  it("feeds C₋₁ to the i and f peepholes and the new C to o", () => {
    // i = 1 + 2 = 3, f = 3 + 2 = 5, c = 4, C = 5·2 + 3·4 = 22, o = 2 + 22 = 24, H = 24·22
    const [y, yh, yc] = run(LSTM, inputs([P]), linear);
    expect(values(y!)).toEqual([528]);
    expect(values(yh!)).toEqual([528]);
    expect(values(yc!)).toEqual([22]);
  });

  it("couples the forget gate to the input gate with input_forget", () => {
    // f = 1 − i = −2, C = −2·2 + 3·4 = 8, o = 2 + 8 = 10, H = 80
    const [, yh, yc] = run(LSTM, inputs([P]), { ...linear, input_forget: 1 });
    expect(values(yh!)).toEqual([80]);
    expect(values(yc!)).toEqual([8]);
  });

  it("clips every gate's pre-activation but not the cell state", () => {
    // i = f = c = o = 2.5 after clipping, C = 2.5·2 + 2.5·2.5 = 11.25, H = 2.5·11.25
    const [, yh, yc] = run(LSTM, inputs([P]), { ...linear, clip: 2.5 });
    expect(values(yh!)).toEqual([28.125]);
    expect(values(yc!)).toEqual([11.25]);
  });

  it("uses Sigmoid, Tanh, Tanh by default", () => {
    const [, yh, yc] = run(LSTM, inputs([]), { hidden_size: 1 });
    const s = (v: number): number => 1 / (1 + Math.exp(-v));
    const C = s(3) * 2 + s(1) * Math.tanh(4);
    expect(values(yc!)[0]).toBeCloseTo(C, 6);
    expect(values(yh!)[0]).toBeCloseTo(s(2) * Math.tanh(C), 6);
  });
});

describe("GRU", () => {
  // hidden 1, input 1, one step; W = (z, r, h) = (0.5, 2, 1), Rh = 2, Rbh = 3, H₀ = 1, x = 1
  const inputs = [
    f32([1, 1, 1], [1]),
    f32([1, 3, 1], [0.5, 2, 1]),
    f32([1, 3, 1], [0, 0, 2]),
    f32([1, 6], [0, 0, 0, 0, 0, 3]),
    undefined,
    f32([1, 1, 1], [1]),
  ];
  const linear = { hidden_size: 1, activations: ["Affine", "Affine"], activation_alpha: [1, 1], activation_beta: [0, 0] };

  it("resets H₋₁ before Rh by default", () => {
    // ĥ = 1 + (2·1)·2 + 3 = 8, H = 0.5·8 + 0.5·1
    const [y, yh] = run(GRU, inputs, linear);
    expect(values(y!)).toEqual([4.5]);
    expect(values(yh!)).toEqual([4.5]);
  });

  it("resets H₋₁·Rhᵀ + Rbh with linear_before_reset", () => {
    // ĥ = 1 + 2·(1·2 + 3) = 11, H = 0.5·11 + 0.5·1
    const [, yh] = run(GRU, inputs, { ...linear, linear_before_reset: 1 });
    expect(values(yh!)).toEqual([6]);
  });
});

describe("If", () => {
  const thenG: Graph = { name: "then", inputs: [], outputs: [], initializers: new Map(), nodes: [], valueTypes: new Map() };
  const elseG: Graph = { ...thenG, name: "else" };
  const attrs = { then_branch: thenG, else_branch: elseG };
  const bool = (v: number): Tensor => tensor("bool", [], Uint8Array.of(v));

  it("runs the branch the condition picks", () => {
    const node = nodeOf("If", 1, ["r"], attrs);
    const ran: string[] = [];
    const ctx: EvalCtx = {
      node,
      attrs: attrsOf(node),
      opset: 11,
      runSubgraph: (g) => {
        ran.push(g.name);
        return [f32([1], [g === thenG ? 1 : 2])];
      },
    };
    expect(values(If.run([bool(1)], ctx)[0]!)).toEqual([1]);
    expect(values(If.run([bool(0)], ctx)[0]!)).toEqual([2]);
    expect(ran).toEqual(["then", "else"]);
    expect(() => If.run([tensor("bool", [2], Uint8Array.of(1, 0))], ctx)).toThrow(/cond must hold one element/);
  });

  const branchTypes = (a: TensorType[], b: TensorType[]) => (g: Graph): TensorType[] => (g === thenG ? a : b);
  const cond: TensorType = { dtype: "bool", shape: [] };

  it("merges the branches' types when the condition is unknown", () => {
    const a: TensorType[] = [
      { dtype: "float32", shape: [2, 3] },
      { dtype: "int64", shape: [4] },
      { dtype: "float32", shape: null },
    ];
    const b: TensorType[] = [
      { dtype: "float32", shape: [2, 5] },
      { dtype: "int64", shape: [4, 1] },
      { dtype: "float32", shape: [1] },
    ];
    expect(infer(If, [cond], attrs, [], branchTypes(a, b))).toEqual([
      { dtype: "float32", shape: [2, "?"] },
      { dtype: "int64", shape: null },
      { dtype: "float32", shape: null },
    ]);
    const c: TensorType[] = [{ dtype: "int32", shape: [2, 3] }];
    expect(() => infer(If, [cond], attrs, [], branchTypes([a[0]!], c))).toThrow(/output 0 is float32 in then_branch but int32/);
    expect(() => infer(If, [cond], attrs, [], branchTypes(a, c))).toThrow(/then_branch has 3 outputs but else_branch has 1/);
  });

  it("takes the chosen branch's type when the condition is constant", () => {
    const a: TensorType[] = [{ dtype: "float32", shape: [2, 3] }];
    const b: TensorType[] = [{ dtype: "int32", shape: [7] }];
    expect(infer(If, [cond], attrs, [bool(0)], branchTypes(a, b))).toEqual(b);
    expect(infer(If, [cond], attrs, [bool(1)], branchTypes(a, b))).toEqual(a);
  });
});
