/**
 * hwac's public API. `import { loadModel, runModel } from "hwac"`.
 */
export type { DType } from "../ir/dtype.js";
export type { Tensor } from "../ir/tensor.js";
export type { Model, Graph, Node, TensorType, Dim, QuantParams, Attr } from "../ir/graph.js";
export { tensor, numel } from "../ir/tensor.js";
export { HwacError } from "../ir/errors.js";
export { runModel, runQuantized, type RunOptions } from "../ir/interpret.js";
export { verifyModel } from "../ir/verify.js";
export { inferModel } from "../ir/infer.js";
export { loadModel, decodeModel } from "./onnx/load.js";
export type { LoadOptions } from "./onnx/options.js";
export { readTensorFile, writeTensorFile, encodeTensor } from "./onnx/tensor-proto.js";
export { readInputs } from "./io.js";
export { summarize, type ModelSummary } from "./inspect.js";
export { quantize, weightFn, type Quantized, type QuantizeOptions } from "./quant/index.js";
export { defaultConfig, parseConfig, type QuantConfig, type Scheme } from "./quant/config.js";
export { compareModels, sqnr, type Comparison } from "./quant/report.js";
export { calibrate, type CalibrationResult } from "./quant/calibrate.js";
export { toQdq } from "./quant/qdq-export.js";
export { fromQdq } from "./quant/qdq-import.js";
export { encodeModel, saveModel } from "./onnx/save.js";
export { printModel, parseModel } from "../ir/text/index.js";
export { staticize, runPipeline, PREPARE_PASSES } from "./pipeline.js";
