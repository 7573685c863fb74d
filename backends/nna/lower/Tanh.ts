/** Tanh on int8 codes: its 256-entry table (lut.ts). */
export { lowerUnaryTable as lowerTanh } from "./lut.js";
