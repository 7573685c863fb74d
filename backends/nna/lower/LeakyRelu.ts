/** LeakyRelu on int8 codes: its 256-entry table (lut.ts). */
export { lowerUnaryTable as lowerLeakyRelu } from "./lut.js";
