/**
 * Type inference: each op's type rule applied in node order. Constant inputs (initializers,
 * Constant nodes, and small shape arithmetic over them) are folded as they are met, so that
 * Reshape/Slice/Unsqueeze… fed by computed shapes still get static output shapes.
 */
import { attrsOf, type EvalCtx, type TypeCtx } from "./op.js";
import { HwacError } from "./errors.js";
import { defaultOpset, isStatic, type Graph, type Model, type TensorType } from "./graph.js";
import { findOp } from "./ops/index.js";
import { numel, type Tensor } from "./tensor.js";

/** Folding is for shape arithmetic: ops whose inputs are larger are not evaluated at compile time. */
const FOLD_LIMIT = 4096;

export interface Inferred {
  /** Type of every value of the graph (and of its subgraphs). */
  readonly types: Map<string, TensorType>;
  /** Values known at compile time. */
  readonly consts: Map<string, Tensor>;
}

export function inferModel(model: Model): Inferred {
  const types = new Map<string, TensorType>();
  const consts = new Map<string, Tensor>();
  inferGraph(model.graph, types, consts, defaultOpset(model), model.source);
  return { types, consts };
}

function typeOfTensor(t: Tensor): TensorType {
  return { dtype: t.dtype, shape: [...t.shape] };
}

/** Infers types of `graph`'s values into `types` (which may hold outer-scope values); returns its output types. */
export function inferGraph(
  graph: Graph,
  types: Map<string, TensorType>,
  consts: Map<string, Tensor>,
  opset: number,
  file?: string,
): TensorType[] {
  for (const i of graph.inputs) types.set(i.name, i.type);
  for (const [name, t] of graph.initializers) {
    const quant = graph.valueTypes.get(name)?.quant;
    types.set(name, quant ? { ...typeOfTensor(t), quant } : typeOfTensor(t));
    consts.set(name, t);
  }
  for (const node of graph.nodes) {
    const where = { file, node: node.name, op: node.op };
    const def = findOp(node.domain, node.op);
    if (!def) throw new HwacError("HW2001", `op ${node.op} is not supported`, where);
    const inTypes = node.inputs.map((n) => (n === "" ? undefined : types.get(n)));
    node.inputs.forEach((n, k) => {
      if (n !== "" && !inTypes[k]) throw new HwacError("HW2002", `input '${n}' is used before it is defined`, where);
    });
    const inConsts = node.inputs.map((n) => (n === "" ? undefined : consts.get(n)));
    const attrs = attrsOf(node);
    // A quantized node stands for its float op: the op's shape rule applies to the real values,
    // and the element types and scales are the quantizer's (the declared types).
    const quantized = !def.definedOnCodes && inTypes.some((t) => t?.quant);
    const ruleInputs = quantized ? inTypes.map((t) => (t?.quant ? { dtype: "float32" as const, shape: t.shape } : t)) : inTypes;
    const ctx: TypeCtx = {
      node,
      attrs,
      inputs: ruleInputs,
      consts: inConsts,
      opset,
      inferSubgraph: (g) => inferGraph(g, new Map(types), new Map(consts), opset, file),
    };
    let outTypes: TensorType[];
    try {
      outTypes = def.inferTypes(ctx);
    } catch (e) {
      if (e instanceof HwacError) throw e.at(where);
      throw e;
    }
    node.outputs.forEach((name, k) => {
      if (name === "") return;
      const declared = graph.valueTypes.get(name);
      const inferred = outTypes[k] ?? declared ?? { dtype: "float32", shape: null };
      // Scales and zero points are the quantizer's: a type rule cannot know them.
      const keepQuant = declared?.quant && (quantized || inferred.dtype === declared.dtype);
      const t = keepQuant ? { ...declared, shape: inferred.shape } : inferred;
      types.set(name, refine(t, declared));
    });
    if ((node.op === "Shape" || node.op === "Size") && inTypes[0] && isStatic(inTypes[0].shape)) {
      // Only the shape is read: a placeholder with no data stands in for the runtime value.
      inConsts[0] = { dtype: inTypes[0].dtype, shape: inTypes[0].shape, data: new Float32Array(0) };
    }
    if (foldable(node.op, inConsts, node.inputs)) {
      const evalCtx: EvalCtx = {
        node,
        attrs,
        opset,
        runSubgraph: () => {
          throw new Error("subgraphs are not folded");
        },
      };
      try {
        const outs = def.run(inConsts, evalCtx);
        node.outputs.forEach((name, k) => {
          if (name !== "" && outs[k]) {
            consts.set(name, outs[k]!);
            types.set(name, typeOfTensor(outs[k]!));
          }
        });
      } catch {
        // Folding is an optimisation of the type rule; the interpreter reports real errors.
      }
    }
  }
  return graph.outputs.map((o) => refine(types.get(o.name) ?? o.type, o.type));
}

function foldable(op: string, consts: readonly (Tensor | undefined)[], names: readonly string[]): boolean {
  if (op === "If" || op === "Loop" || op === "Scan") return false;
  for (let i = 0; i < names.length; i++) {
    if (names[i] === "") continue;
    const c = consts[i];
    if (!c || (op !== "Shape" && op !== "Size" && numel(c.shape) > FOLD_LIMIT)) return false;
  }
  return true;
}

/** Fills unknown dims of the inferred type from a declared one (value_info), keeping inferred facts. */
function refine(inferred: TensorType, declared?: TensorType): TensorType {
  if (!declared?.shape) return inferred;
  if (!inferred.shape) return { ...inferred, shape: declared.shape };
  if (isStatic(inferred.shape) || inferred.shape.length !== declared.shape.length) return inferred;
  const shape = inferred.shape.map((d, i) => (typeof d === "number" ? d : declared.shape![i]!));
  return { ...inferred, shape };
}
