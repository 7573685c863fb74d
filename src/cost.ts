/** Multiply-accumulate counts of the compute-heavy ops, from inferred (static) types. */
import type { Model, Node, TensorType } from "../ir/graph.js";
import { inferModel } from "../ir/infer.js";

function dims(t: TensorType | undefined): number[] | undefined {
  if (!t?.shape || !t.shape.every((d) => typeof d === "number")) return undefined;
  return t.shape as number[];
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * MACs of one node, or 0 for ops that are not multiply-accumulate shaped (or whose shapes are
 * unknown). `shapeOf` gives a value's static shape, from inferred types or from runtime tensors.
 */
export function nodeMacs(node: Node, shapeOf: (name: string) => readonly number[] | undefined): number {
  const inp = (i: number) => (node.inputs[i] ? shapeOf(node.inputs[i]!) : undefined);
  const out = node.outputs[0] ? shapeOf(node.outputs[0]) : undefined;
  switch (node.op) {
    case "Conv":
    case "ConvInteger":
    case "QLinearConv": {
      const w = inp(node.op === "QLinearConv" ? 3 : 1);
      if (!w || !out) return 0;
      // Every output element reads C_in/group · kernel weights.
      return prod(out) * prod(w.slice(1));
    }
    case "ConvTranspose": {
      const x = inp(0);
      const w = inp(1);
      if (!x || !w) return 0;
      return prod(x) * prod(w.slice(1));
    }
    case "Gemm":
    case "MatMul":
    case "MatMulInteger":
    case "QLinearMatMul": {
      const a = inp(0);
      if (!a || !out) return 0;
      const k = node.op === "Gemm" && node.attrs["transA"]?.kind === "int" && node.attrs["transA"].value ? a[0]! : a[a.length - 1]!;
      return prod(out) * k;
    }
    case "LSTM":
    case "GRU":
    case "RNN": {
      const x = inp(0);
      const w = inp(1);
      const r = inp(2);
      if (!x || !w || !r) return 0;
      const layout = node.attrs["layout"]?.kind === "int" ? node.attrs["layout"].value : 0;
      const steps = x[layout === 0 ? 0 : 1]!;
      const batch = x[layout === 0 ? 1 : 0]!;
      return steps * batch * (prod(w) + prod(r));
    }
    default:
      return 0;
  }
}

/** MACs of the model's top-level graph from its inferred types (static shapes needed). */
export function countMacs(model: Model): number {
  const { types } = inferModel(model);
  const shapeOf = (name: string) => dims(types.get(name));
  return model.graph.nodes.reduce((acc, n) => acc + nodeMacs(n, shapeOf), 0);
}
