/**
 * DequantizeLinear inside the program: codes become floats only as a computed Clip bound (the
 * melspectrogram's max − 80 dB floor), which Clip.ts tabulates from the codes through this node's
 * own float semantics. The node emits nothing; any other reader of its floats is refused.
 */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { unsupported } from "./elementwise.js";

export function lowerDequantizeLinear(node: Node, ctx: LowerCtx): void {
  const out = node.outputs[0]!;
  const other = ctx.consumers(out).find((r) => r.op !== "Clip" || r.inputs[0] === out);
  if (other) throw unsupported(node, `its float output '${out}' is read by '${other.name}' (${other.op}); in the program only a Clip's min or max may read it`);
}
