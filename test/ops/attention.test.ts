/**
 * Transformer ops: exact cases the ONNX conformance tests do not cover — Attention's mask padding,
 * causal frontier after a cache, grouped-query head mapping in the 3-D layout, fully masked rows,
 * softcap in the QK output and its shape rule; Einsum's implicit output, ellipsis broadcasting and
 * errors; Upsample's opset-7 attribute form and linear mode; Swish's and SwiGLU's alpha.
 */
import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import type { Attr, Node, TensorType } from "../../ir/graph.js";
import { attrsOf, type OpDef } from "../../ir/op.js";
import { f32, tensor, type Tensor } from "../../ir/tensor.js";
import { Attention } from "../../ir/ops/Attention.js";
import { Einsum } from "../../ir/ops/Einsum.js";
import { SwiGLU } from "../../ir/ops/SwiGLU.js";
import { Swish } from "../../ir/ops/Swish.js";
import { Upsample } from "../../ir/ops/Upsample.js";

const int = (value: number): Attr => ({ kind: "int", value });
const float = (value: number): Attr => ({ kind: "float", value });
const str = (value: string): Attr => ({ kind: "string", value });
const noSubgraphs = (): never => {
  throw new Error("no subgraphs here");
};

interface Call {
  attrs?: Record<string, Attr>;
  opset?: number;
  outputs?: number;
}

function nodeOf(def: OpDef, nInputs: number, c: Call): Node {
  const inputs = Array.from({ length: nInputs }, (_, i) => `in${i}`);
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `out${i}`);
  return { op: def.op, domain: "", name: "n0", inputs, outputs, attrs: c.attrs ?? {} };
}

function run(def: OpDef, inputs: (Tensor | undefined)[], c: Call = {}): Tensor[] {
  const node = nodeOf(def, inputs.length, c);
  return def.run(inputs, { node, attrs: attrsOf(node), opset: c.opset ?? 23, runSubgraph: noSubgraphs });
}

function infer(def: OpDef, inputs: (TensorType | undefined)[], c: Call = {}): TensorType[] {
  const node = nodeOf(def, inputs.length, c);
  return def.inferTypes({ node, attrs: attrsOf(node), inputs, consts: inputs.map(() => undefined), opset: c.opset ?? 23, inferSubgraph: noSubgraphs });
}

const values = (t: Tensor): number[] => Array.from(t.data as Float32Array);
const bools = (shape: number[], v: number[]): Tensor => tensor("bool", shape, Uint8Array.from(v));

describe("Attention", () => {
  // One query, two keys, head size 1; V = [10, 30].
  const q = f32([1, 1, 1, 1], [0]);
  const k = f32([1, 1, 2, 1], [1, 2]);
  const v = f32([1, 1, 2, 1], [10, 30]);

  it("masks the keys a short attention mask does not reach", () => {
    const [y] = run(Attention, [q, k, v, bools([1, 1], [1])]);
    expect(values(y!)).toEqual([10]);
  });

  it("averages keys with equal scores, and a float mask of −∞ removes one", () => {
    expect(values(run(Attention, [q, k, v])[0]!)).toEqual([20]);
    expect(values(run(Attention, [q, k, v, f32([2], [-Infinity, 0])])[0]!)).toEqual([30]);
  });

  it("places the causal frontier after the past keys", () => {
    const q2 = f32([1, 1, 2, 1], [0, 0]);
    // Without a cache, query 0 sees key 0 only and query 1 both keys.
    const [y] = run(Attention, [q2, k, v], { attrs: { is_causal: int(1) } });
    expect(values(y!)).toEqual([10, 20]);
    // With one past key, the single new query sees the past key and its own.
    const [yc, pk, pv] = run(Attention, [q, f32([1, 1, 1, 1], [2]), f32([1, 1, 1, 1], [30]), undefined, f32([1, 1, 1, 1], [1]), f32([1, 1, 1, 1], [10])], {
      attrs: { is_causal: int(1) },
      outputs: 3,
    });
    expect(values(yc!)).toEqual([20]);
    expect(pk!.shape).toEqual([1, 1, 2, 1]);
    expect(values(pk!)).toEqual([1, 2]);
    expect(values(pv!)).toEqual([10, 30]);
  });

  it("maps query heads to their key-value group in the 3-D layout", () => {
    // Two query heads share one kv head whose second key is masked: both heads read V0 = [10, 11].
    const q3 = f32([1, 1, 2], [0, 0]);
    const k3 = f32([1, 2, 1], [1, 2]);
    const v3 = f32([1, 2, 2], [10, 11, 30, 31]);
    const attrs = { q_num_heads: int(2), kv_num_heads: int(1) };
    const [y] = run(Attention, [q3, k3, v3, bools([1, 2], [1, 0])], { attrs });
    expect(y!.shape).toEqual([1, 1, 4]);
    expect(values(y!)).toEqual([10, 11, 10, 11]);
  });

  it("gives a fully masked row zero probabilities and a zero output", () => {
    const [y, , , qk] = run(Attention, [q, k, v, bools([1, 2], [0, 0])], { attrs: { qk_matmul_output_mode: int(3) }, outputs: 4 });
    expect(values(y!)).toEqual([0]);
    expect(values(qk!)).toEqual([0, 0]);
  });

  it("reports softcapped scores before the mask in qk_matmul_output mode 0", () => {
    const one = f32([1, 1, 1, 1], [1]);
    const [, , , qk] = run(Attention, [one, k, v, f32([1, 2], [0, -Infinity])], { attrs: { softcap: float(1) }, outputs: 4 });
    expect(values(qk!)[0]).toBeCloseTo(Math.tanh(1), 6);
    expect(values(qk!)[1]).toBeCloseTo(Math.tanh(2), 6);
  });

  it("infers exact shapes for 3-D inputs with a cache, keeping symbolic dims", () => {
    const types = infer(
      Attention,
      [
        { dtype: "float32", shape: ["N", 5, 8] },
        { dtype: "float32", shape: ["N", 7, 4] },
        { dtype: "float32", shape: ["N", 7, 6] },
        undefined,
        { dtype: "float32", shape: ["N", 1, 3, 4] },
        { dtype: "float32", shape: ["N", 1, 3, 6] },
      ],
      { attrs: { q_num_heads: int(2), kv_num_heads: int(1) }, outputs: 4 },
    );
    expect(types.map((t) => t.shape)).toEqual([["N", 5, 12], ["N", 1, 10, 4], ["N", 1, 10, 6], ["N", 2, 5, 10]]);
  });

  it("rejects 3-D inputs without head counts and heads that do not group", () => {
    const t3 = { dtype: "float32", shape: [1, 2, 4] } as const;
    expect(() => infer(Attention, [t3, t3, t3])).toThrow(HwacError);
    expect(() => infer(Attention, [t3, t3, t3], { attrs: { q_num_heads: int(2), kv_num_heads: int(4) } })).toThrow(/multiple/);
  });
});

describe("Einsum", () => {
  const eq = (equation: string): Call => ({ attrs: { equation: str(equation) } });

  it("derives an implicit output from the labels used once", () => {
    const [y] = run(Einsum, [f32([2, 2], [1, 2, 3, 4]), f32([2, 1], [5, 6])], eq("ij,jk"));
    expect(y!.shape).toEqual([2, 1]);
    expect(values(y!)).toEqual([17, 39]);
    const [tr] = run(Einsum, [f32([2, 2], [1, 2, 3, 4])], eq("ii"));
    expect(tr!.shape).toEqual([]);
    expect(values(tr!)).toEqual([5]);
  });

  it("broadcasts size-1 ellipsis axes", () => {
    const [y] = run(Einsum, [f32([1, 2], [1, 2]), f32([3, 2], [1, 1, 2, 0, 0, 3])], eq("...j,...j->..."));
    expect(y!.shape).toEqual([3]);
    expect(values(y!)).toEqual([3, 2, 6]);
  });

  it("rejects unknown output labels and conflicting sizes", () => {
    const a = f32([2, 2], [1, 2, 3, 4]);
    expect(() => run(Einsum, [a, a], eq("ij,jk->iz"))).toThrow(HwacError);
    expect(() => run(Einsum, [a, f32([3], [1, 2, 3])], eq("ij,j->i"))).toThrow(/disagree/);
    expect(infer(Einsum, [{ dtype: "float32", shape: ["N", 3] }, { dtype: "float32", shape: [3, 4] }], eq("ij,jk->ik"))[0]!.shape).toEqual(["?", "?"]);
  });
});

describe("Upsample", () => {
  it("reads opset 7's scales attribute", () => {
    const [y] = run(Upsample, [f32([1, 2], [1, 2])], { opset: 7, attrs: { scales: { kind: "floats", value: [2, 2] } } });
    expect(y!.shape).toEqual([2, 4]);
    expect(values(y!)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });

  it("interpolates linearly with asymmetric coordinates, clamping at the edge", () => {
    const [y] = run(Upsample, [f32([1, 2], [1, 3]), f32([2], [1, 2])], { opset: 9, attrs: { mode: str("linear") } });
    expect(values(y!)).toEqual([1, 2, 3, 3]);
  });
});

describe("Swish and SwiGLU", () => {
  it("apply alpha inside the sigmoid", () => {
    expect(values(run(Swish, [f32([1], [2])], { attrs: { alpha: float(0) } })[0]!)).toEqual([1]);
    expect(values(run(SwiGLU, [f32([2], [2, -4]), f32([1], [3])], { attrs: { alpha: float(0) } })[0]!)).toEqual([3, -6]);
  });
});
