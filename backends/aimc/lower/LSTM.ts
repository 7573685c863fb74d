/**
 * LSTM → hwac::AnalogLSTM: W and R of every direction on crossbars (recurrent.ts), gates i, o, f, c
 * as the layers' output columns in W's row order. Peepholes, clip, input_forget and other
 * activations have no integer semantics, so such a node stays digital.
 */
import type { Node } from "../../../ir/graph.js";
import { LSTM_KIND } from "../../../ir/kernels/recurrent-int.js";
import type { LowerGraph, MvmInput } from "./index.js";
import { extractRecurrent, type RecurrentParts } from "./recurrent.js";

export function extractLSTM(node: Node, g: LowerGraph, x: MvmInput): RecurrentParts | string {
  return extractRecurrent(node, g, x, LSTM_KIND, "AnalogLSTM");
}
