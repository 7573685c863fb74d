/**
 * One `hwac::AnalogLSTM` or `hwac::AnalogGRU` node on the chip (SPEC.md §4, docs/numerics-aimc.md).
 * The cell — biases, Q3.12 requantization, gate tables, state updates — is the digital periphery,
 * so it is the op's integer recurrence (SPEC.md §5 lets a simulator share the periphery's
 * arithmetic); its two accumulator products come from the node's layers on the chip, `<node>.W<d>`
 * and `<node>.R<d>`, each run through periphery.ts (DAC, the blocks' analog MVMs and ADCs, digital
 * scales with α, block sums) position by position:
 * - W<d>: every time step t and batch entry b, the DAC codes of x_t, keyed { mvm: t, inference:
 *   firstInference + b };
 * - R<d>: at the step that produces h_t of entry b (t counted on X's time axis, so a reverse
 *   direction runs t downwards), the codes of h_{t−1}, keyed { mvm: t, inference: firstInference
 *   + b }; a GRU with linear_before_reset = 0 reads R's h columns again with r⊙(H₋₁ − z_h) as
 *   input (zero point 0), keyed { mvm: seq + t, … }. Only the blocks holding the columns a read
 *   needs run, and entries whose sequence has ended do not read at all.
 * W and R are different layers, so their draws never share a stream.
 */
import type { Node, TensorType } from "../../../ir/graph.js";
import type { IntRecurrence, ProductsFactory, RecurrentRead } from "../../../ir/kernels/recurrent-int.js";
import { attrsOf, type IntCtx } from "../../../ir/op.js";
import { runGruInt } from "../../../ir/ops/GRU.js";
import { runLstmInt } from "../../../ir/ops/LSTM.js";
import { perTensor } from "../../../ir/quant-params.js";
import type { Tensor } from "../../../ir/tensor.js";
import type { Chip, ChipLayer } from "./chip.js";
import { checkInferences, LayerPeriphery, programError, type InputCodes } from "./periphery.js";

/** The types of every input and output of a node (model.hir's valueTypes). */
export interface NodeTypes {
  readonly inTypes: readonly (TensorType | undefined)[];
  readonly outTypes: readonly TensorType[];
}

const RECURRENCES: Readonly<Record<string, typeof runLstmInt>> = { AnalogLSTM: runLstmInt, AnalogGRU: runGruInt };

export interface RecurrentPlan {
  readonly node: Node;
  readonly ctx: IntCtx;
  readonly chip: Chip;
  readonly run: typeof runLstmInt;
  /** Per direction, W's and R's layers. */
  readonly layers: readonly { readonly w: ChipLayer; readonly r: ChipLayer }[];
  /** The layers' peripheries by layer and input zero point, set up on first use. */
  readonly peripheries: Map<string, LayerPeriphery>;
}

/** Finds the node's layers on a programmed chip. */
export function prepareRecurrent(node: Node, types: NodeTypes, chip: Chip, opset: number): RecurrentPlan {
  const attrs = attrsOf(node);
  const dirs = attrs.string("direction", "forward") === "bidirectional" ? 2 : 1;
  const layer = (name: string): ChipLayer => {
    const l = chip.layers.get(name);
    if (!l) throw programError(node, `mapping.json has no layer '${name}'`);
    return l;
  };
  const layers = Array.from({ length: dirs }, (_, d) => ({ w: layer(`${node.name}.W${d}`), r: layer(`${node.name}.R${d}`) }));
  const ctx: IntCtx = {
    node, attrs, opset,
    runSubgraph: () => {
      throw programError(node, "a recurrent node has no subgraphs");
    },
    inTypes: types.inTypes,
    outTypes: types.outTypes,
  };
  return { node, ctx, chip, run: RECURRENCES[node.op]!, layers, peripheries: new Map() };
}

/** Evaluates the node; batch entry b is inference firstInference + b. */
export function evaluateRecurrent(plan: RecurrentPlan, inputs: readonly (Tensor | undefined)[], firstInference: number): Tensor[] {
  return plan.run(inputs, plan.ctx, tileProducts(plan, firstInference));
}

/** The accumulator products of the node's recurrence, from its layers on the chip. */
function tileProducts(plan: RecurrentPlan, first: number): ProductsFactory {
  return (rec: IntRecurrence) => {
    const { node, chip, layers } = plan;
    const { seq, batch, inputSize, hidden } = rec;
    const width = rec.gates * hidden;
    checkInferences(node, first, batch);
    const check = (l: ChipLayer, rows: number) => {
      if (l.record.rows !== rows || l.record.cols !== width) {
        throw programError(node, `layer '${l.record.name}' is ${l.record.cols} outputs × ${l.record.rows} inputs, the node needs ${width} × ${rows}`);
      }
    };
    layers.forEach(({ w, r }) => (check(w, inputSize), check(r, hidden)));
    const h = rec.params.hidden;
    const periphery = (layer: ChipLayer, x: InputCodes): LayerPeriphery => {
      const key = `${layer.index}:${x.zp}`;
      let p = plan.peripheries.get(key);
      if (!p) plan.peripheries.set(key, (p = new LayerPeriphery(node, layer, chip, x)));
      return p;
    };
    return {
      input(d, x, acc) {
        const p = periphery(layers[d]!.w, perTensor(plan.ctx.inTypes[0], `${node.op} '${node.name}' X`));
        for (let i = 0; i < seq * batch; i++) {
          const t = Math.floor(i / batch);
          p.position(x, i * inputSize, 1, t, first + i - t * batch);
          acc.set(p.total, i * width);
        }
      },
      recurrent(d, read: RecurrentRead) {
        // The codes read are a − za, which spans the hidden type's codes around its zero point.
        const shift = read.za - h.zp;
        const p = periphery(layers[d]!.r, { scale: h.scale, zp: read.za, lo: h.lo + shift, hi: h.hi + shift });
        const { a, r0, n, out } = read;
        const c1 = r0 + n;
        const mvmBase = read.read * seq;
        return (rows: Int32Array) => {
          for (let b = 0; b < batch; b++) {
            if (rows[b]! < 0) continue;
            const t = (rows[b]! / width - b) / batch;
            p.position(a, b * hidden, 1, mvmBase + t, first + b, r0, c1);
            const total = p.total;
            for (let c = 0, o = b * n; c < n; c++, o++) out[o] = total[r0 + c]!;
          }
        };
      },
    };
  };
}
