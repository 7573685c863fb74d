/**
 * Raising a model's ai.onnx opset (the QDQ export needs 13 for per-axis DequantizeLinear, 21 for
 * 4- and 16-bit types). Most op versions only add types or optional parts; the ones that moved an
 * attribute into an input, or changed meaning, are rewritten here, and the few that cannot be
 * rewritten without new nodes fail with HW1009 (no translation) naming the op.
 */
import type { DType } from "../../ir/dtype.js";
import { HwacError } from "../../ir/errors.js";
import { defaultOpset, type Attr, type Graph, type Model, type Node, type TensorType } from "../../ir/graph.js";
import { inferModel } from "../../ir/infer.js";
import { fromFloat64, tensor, type Tensor } from "../../ir/tensor.js";
import { allNames, freshName, mapSubgraphs } from "../passes/rewrite.js";
import { CODES } from "./codes.js";

/** Where an attribute went when it became an input. */
interface Moved {
  readonly attr: string;
  readonly input: number;
  /** "ints": a 1-D int64 tensor; "data": a scalar of the data input's element type; "float": a float32 scalar. */
  readonly as: "ints" | "data" | "float";
}

/** The opset version at which each op's attributes became inputs (ONNX Changelog). */
const MOVES: Readonly<Record<string, { since: number; moved: readonly Moved[] }>> = {
  Slice: { since: 10, moved: [{ attr: "starts", input: 1, as: "ints" }, { attr: "ends", input: 2, as: "ints" }, { attr: "axes", input: 3, as: "ints" }] },
  TopK: { since: 10, moved: [{ attr: "k", input: 1, as: "ints" }] },
  Clip: { since: 11, moved: [{ attr: "min", input: 1, as: "data" }, { attr: "max", input: 2, as: "data" }] },
  Pad: { since: 11, moved: [{ attr: "pads", input: 1, as: "ints" }, { attr: "value", input: 2, as: "data" }] },
  Dropout: { since: 12, moved: [{ attr: "ratio", input: 1, as: "float" }] },
  Squeeze: { since: 13, moved: [{ attr: "axes", input: 1, as: "ints" }] },
  Unsqueeze: { since: 13, moved: [{ attr: "axes", input: 1, as: "ints" }] },
  Split: { since: 13, moved: [{ attr: "split", input: 1, as: "ints" }] },
  ReduceSum: { since: 13, moved: [{ attr: "axes", input: 1, as: "ints" }] },
  ...Object.fromEntries(
    ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]
      .map((op) => [op, { since: 18, moved: [{ attr: "axes", input: 1, as: "ints" as const }] }]),
  ),
};

/** Ops whose old versions have no same-named successor form (Resize 11 reordered its inputs). */
const NOT_RAISABLE: Readonly<Record<string, number>> = { Resize: 11 };

/** Ops that, before opset 13, flattened the input to 2-D at `axis` (default 1) instead of working along it. */
const COERCED_2D = new Set(["Softmax", "LogSoftmax", "Hardmax"]);

/** The IR version that first allows an opset (ONNX's versioning table). */
const IR_FOR_OPSET: readonly [number, number][] = [[21, 10], [19, 9], [15, 8], [13, 7], [11, 6], [10, 5]];

const INT64_MAX = 2n ** 63n - 1n;

/** `model` importing ai.onnx at `target` or above, its nodes rewritten to the newer forms. */
export function upgradeOpset(model: Model, target: number): Model {
  const from = defaultOpset(model);
  if (from >= target) return model;
  const names = allNames(model.graph);
  const ir = IR_FOR_OPSET.find(([opset]) => target >= opset)?.[1] ?? model.irVersion;
  const { types } = inferModel(model);
  const graph = upgradeGraph(model.graph, from, target, { taken: names.values, types, file: model.source });
  return { ...model, irVersion: Math.max(model.irVersion, ir), opsets: { ...model.opsets, "": target }, graph };
}

interface UpgradeCtx {
  readonly taken: Set<string>;
  /** Inferred types of the main graph's values (a subgraph's own values fall back to their declarations). */
  readonly types: ReadonlyMap<string, TensorType>;
  readonly file?: string;
}

function upgradeGraph(g: Graph, from: number, to: number, ctx: UpgradeCtx): Graph {
  const { taken, file } = ctx;
  const initializers = new Map(g.initializers);
  const typeOf = (v: string): TensorType | undefined =>
    ctx.types.get(v) ?? g.valueTypes.get(v) ?? g.inputs.find((i) => i.name === v)?.type;
  const nodes = g.nodes.map((n0): Node => {
    const n = mapSubgraphs(n0, (s) => upgradeGraph(s, from, to, ctx));
    if (n.domain !== "") return n;
    const where = { file, node: n.name, op: n.op };
    const removedAt = NOT_RAISABLE[n.op];
    if (removedAt !== undefined && from < removedAt && to >= removedAt) {
      throw new HwacError(CODES.unsupported, `${n.op} of opset ${from} has no form at opset ${to}; re-export the model at opset ${removedAt} or later`, where);
    }
    if (COERCED_2D.has(n.op) && from < 13 && to >= 13) return lastAxis(n, typeOf(n.inputs[0]!), where);
    const moved = moveAttrs(n, from, to, taken, initializers, typeOf);
    // Split 18 wants its output count spelled out when no sizes are given.
    if (n.op === "Split" && to >= 18 && !moved.inputs[1] && !moved.attrs["num_outputs"]) {
      return { ...moved, attrs: { ...moved.attrs, num_outputs: { kind: "int", value: n.outputs.length } } };
    }
    return moved;
  });
  return { ...g, initializers, nodes };
}

/** The node with the attributes its op moved into inputs between `from` and `to` turned into initializers. */
function moveAttrs(
  n: Node, from: number, to: number, taken: Set<string>, initializers: Map<string, Tensor>,
  typeOf: (v: string) => TensorType | undefined,
): Node {
  const rule = MOVES[n.op];
  if (!rule || from >= rule.since || to < rule.since) return n;
  const inputs = [...n.inputs];
  const attrs: Record<string, Attr> = { ...n.attrs };
  for (const m of rule.moved) {
    const a = attrs[m.attr];
    if (a === undefined) continue;
    delete attrs[m.attr];
    const name = freshName(`${n.name}_${m.attr}`, taken);
    initializers.set(name, movedTensor(m, a, typeOf(n.inputs[0]!)?.dtype));
    while (inputs.length < m.input) inputs.push("");
    inputs[m.input] = name;
  }
  return { ...n, inputs, attrs };
}

function movedTensor(m: Moved, a: Attr, dataType: DType | undefined): Tensor {
  const values = a.kind === "ints" || a.kind === "floats" ? a.value : a.kind === "int" || a.kind === "float" ? [a.value] : [];
  if (m.as === "ints") {
    // The loader reads INT64_MAX ("to the end") as 2^63, which BigInt64Array would wrap.
    const data = BigInt64Array.from(values, (v) => (v >= 2 ** 63 ? INT64_MAX : BigInt(v)));
    return tensor("int64", [data.length], data);
  }
  return fromFloat64(m.as === "data" ? dataType ?? "float32" : "float32", [], values);
}

/** A Softmax-family node before opset 13 keeps its meaning at 13 only when `axis` is the last axis. */
function lastAxis(n: Node, input: TensorType | undefined, where: { file?: string; node: string; op: string }): Node {
  const rank = input?.shape?.length;
  const axis = n.attrs["axis"]?.kind === "int" ? n.attrs["axis"].value : 1;
  if (rank === undefined || (axis + rank) % rank !== rank - 1) {
    throw new HwacError(
      CODES.unsupported,
      `${n.op} before opset 13 flattens its input to 2-D at axis ${axis}; opset 13 works along the axis, which is the same only for the last axis${rank === undefined ? " (the input's rank is unknown)" : ` (rank ${rank})`}`,
      where,
    );
  }
  return { ...n, attrs: { ...n.attrs, axis: { kind: "int", value: -1 } } };
}
