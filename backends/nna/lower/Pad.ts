/**
 * Pad on codes (movement.ts), every mode: constant pads are the code the reference writes (the pad
 * value quantized in the input type, zero point for 0, rescaled when the output type differs);
 * reflect, edge and wrap pads copy input elements, like the interior. Pads, value and axes must
 * be constants.
 */
import type { Node } from "../../../ir/graph.js";
import type { LowerCtx } from "./context.js";
import { lowerMovement } from "./movement.js";

/** The input holding the constant pad value (opset 11 on; earlier opsets have attribute `value`). */
const VALUE_INPUT = 2;

export function lowerPad(node: Node, ctx: LowerCtx): void {
  lowerMovement(node, ctx, [0], { padValue: VALUE_INPUT });
}
