/** Sigmoid on int8 codes: its 256-entry table (lut.ts). */
export { lowerUnaryTable as lowerSigmoid } from "./lut.js";
