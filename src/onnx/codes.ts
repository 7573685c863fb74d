/**
 * Error codes of the ONNX frontend (HW10xx). Stable: tests and users match on them.
 */
export const CODES = {
  /** The bytes are not a protobuf of the expected ONNX message, or it lacks a graph. */
  invalidFile: "HW1001",
  /** A file cannot be opened, read or written. */
  io: "HW1002",
  /** The model breaks a structural rule of ONNX (duplicate names, missing types or values). */
  malformed: "HW1003",
  /** An element type hwac has no storage for (float8, float4, int2, complex, ...). */
  unsupportedDType: "HW1004",
  /** Tensor data whose size does not match the declared shape and element type. */
  dataSize: "HW1005",
  /** A tensor dimension that is not a non-negative integer. */
  badDims: "HW1006",
  /** A size limit of LoadOptions was exceeded. */
  limit: "HW1007",
  /** External tensor data that cannot be used (outside the model folder, out of range, missing). */
  externalData: "HW1008",
  /** An ONNX feature the IR has no translation for (sparse tensors, sequences, functions, ...). */
  unsupported: "HW1009",
} as const;
