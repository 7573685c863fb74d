/** The op registry: every op hwac knows, one line each. */
import type { OpDef } from "../op.js";
import { Abs } from "./Abs.js";
import { Add } from "./Add.js";
import { AnalogGRU } from "./AnalogGRU.js";
import { AnalogLSTM } from "./AnalogLSTM.js";
import { AnalogMvm } from "./AnalogMvm.js";
import { And } from "./And.js";
import { ArgMax } from "./ArgMax.js";
import { Attention } from "./Attention.js";
import { AveragePool } from "./AveragePool.js";
import { BatchNormalization } from "./BatchNormalization.js";
import { Cast } from "./Cast.js";
import { CastLike } from "./CastLike.js";
import { Ceil } from "./Ceil.js";
import { Clip } from "./Clip.js";
import { Concat } from "./Concat.js";
import { Constant } from "./Constant.js";
import { ConstantOfShape } from "./ConstantOfShape.js";
import { Conv } from "./Conv.js";
import { ConvInteger } from "./ConvInteger.js";
import { ConvTranspose } from "./ConvTranspose.js";
import { DequantizeLinear } from "./DequantizeLinear.js";
import { Div } from "./Div.js";
import { DynamicQuantizeLinear } from "./DynamicQuantizeLinear.js";
import { Elu } from "./Elu.js";
import { Einsum } from "./Einsum.js";
import { Equal } from "./Equal.js";
import { Erf } from "./Erf.js";
import { Exp } from "./Exp.js";
import { Expand } from "./Expand.js";
import { Flatten } from "./Flatten.js";
import { Floor } from "./Floor.js";
import { GRU } from "./GRU.js";
import { Gather } from "./Gather.js";
import { Gelu } from "./Gelu.js";
import { Gemm } from "./Gemm.js";
import { GlobalAveragePool } from "./GlobalAveragePool.js";
import { GlobalMaxPool } from "./GlobalMaxPool.js";
import { Greater } from "./Greater.js";
import { GreaterOrEqual } from "./GreaterOrEqual.js";
import { GroupNormalization } from "./GroupNormalization.js";
import { HardSigmoid } from "./HardSigmoid.js";
import { HardSwish } from "./HardSwish.js";
import { Identity } from "./Identity.js";
import { If } from "./If.js";
import { InstanceNormalization } from "./InstanceNormalization.js";
import { LSTM } from "./LSTM.js";
import { LayerNormalization } from "./LayerNormalization.js";
import { LeakyRelu } from "./LeakyRelu.js";
import { Less } from "./Less.js";
import { LessOrEqual } from "./LessOrEqual.js";
import { Log } from "./Log.js";
import { LogSoftmax } from "./LogSoftmax.js";
import { MatMul } from "./MatMul.js";
import { MatMulInteger } from "./MatMulInteger.js";
import { Max } from "./Max.js";
import { MaxPool } from "./MaxPool.js";
import { Min } from "./Min.js";
import { Mish } from "./Mish.js";
import { Mul } from "./Mul.js";
import { Neg } from "./Neg.js";
import { Not } from "./Not.js";
import { Or } from "./Or.js";
import { PRelu } from "./PRelu.js";
import { Pad } from "./Pad.js";
import { Pow } from "./Pow.js";
import { QLinearConv } from "./QLinearConv.js";
import { QLinearMatMul } from "./QLinearMatMul.js";
import { QuantizeLinear } from "./QuantizeLinear.js";
import { RMSNormalization } from "./RMSNormalization.js";
import { RNN } from "./RNN.js";
import { Range } from "./Range.js";
import { Reciprocal } from "./Reciprocal.js";
import { ReduceMax } from "./ReduceMax.js";
import { ReduceMean } from "./ReduceMean.js";
import { ReduceMin } from "./ReduceMin.js";
import { ReduceSum } from "./ReduceSum.js";
import { Relu } from "./Relu.js";
import { Reshape } from "./Reshape.js";
import { Resize } from "./Resize.js";
import { Shape } from "./Shape.js";
import { Sigmoid } from "./Sigmoid.js";
import { Size } from "./Size.js";
import { Slice } from "./Slice.js";
import { Softmax } from "./Softmax.js";
import { Softplus } from "./Softplus.js";
import { Split } from "./Split.js";
import { Sqrt } from "./Sqrt.js";
import { Squeeze } from "./Squeeze.js";
import { Sub } from "./Sub.js";
import { Sum } from "./Sum.js";
import { SwiGLU } from "./SwiGLU.js";
import { Swish } from "./Swish.js";
import { Tanh } from "./Tanh.js";
import { Tile } from "./Tile.js";
import { Transpose } from "./Transpose.js";
import { Unsqueeze } from "./Unsqueeze.js";
import { Upsample } from "./Upsample.js";
import { Where } from "./Where.js";

export const OPS: readonly OpDef[] = [
  Abs,
  Add,
  AnalogGRU,
  AnalogLSTM,
  AnalogMvm,
  And,
  ArgMax,
  Attention,
  AveragePool,
  BatchNormalization,
  Cast,
  CastLike,
  Ceil,
  Clip,
  Concat,
  Constant,
  ConstantOfShape,
  Conv,
  ConvInteger,
  ConvTranspose,
  DequantizeLinear,
  Div,
  DynamicQuantizeLinear,
  Elu,
  Einsum,
  Equal,
  Erf,
  Exp,
  Expand,
  Flatten,
  Floor,
  GRU,
  Gather,
  Gelu,
  Gemm,
  GlobalAveragePool,
  GlobalMaxPool,
  Greater,
  GreaterOrEqual,
  GroupNormalization,
  HardSigmoid,
  HardSwish,
  Identity,
  If,
  InstanceNormalization,
  LSTM,
  LayerNormalization,
  LeakyRelu,
  Less,
  LessOrEqual,
  Log,
  LogSoftmax,
  MatMul,
  MatMulInteger,
  Max,
  MaxPool,
  Min,
  Mish,
  Mul,
  Neg,
  Not,
  Or,
  PRelu,
  Pad,
  Pow,
  QLinearConv,
  QLinearMatMul,
  QuantizeLinear,
  RMSNormalization,
  RNN,
  Range,
  Reciprocal,
  ReduceMax,
  ReduceMean,
  ReduceMin,
  ReduceSum,
  Relu,
  Reshape,
  Resize,
  Shape,
  Sigmoid,
  Size,
  Slice,
  Softmax,
  Softplus,
  Split,
  Sqrt,
  Squeeze,
  Sub,
  Sum,
  SwiGLU,
  Swish,
  Tanh,
  Tile,
  Transpose,
  Unsqueeze,
  Upsample,
  Where,
];

const byKey = new Map<string, OpDef>(OPS.map((d) => [`${d.domain ?? ""}::${d.op}`, d]));

/** The op definition for (domain, op_type), or undefined when hwac does not support it. */
export function findOp(domain: string, op: string): OpDef | undefined {
  const d = domain === "ai.onnx" ? "" : domain;
  return byKey.get(`${d}::${op}`);
}
