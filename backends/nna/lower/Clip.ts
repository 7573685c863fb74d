/**
 * Clip with constant bounds: the codes' table (lut.ts), which between equal types is a clamp of
 * the codes and becomes one clamped copy.
 */
export { lowerUnaryTable as lowerClip } from "./lut.js";
