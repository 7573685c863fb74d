/**
 * Calibration: runs the float reference over the calibration sets and keeps, for every float
 * value (graph inputs and node outputs, inside If/Loop bodies too), the statistics of
 * `observers.ts`. The result holds histograms, not chosen ranges, so it can be cached and
 * quantized again with any bit width or range method without running the model.
 */
import { isFloat } from "../../ir/dtype.js";
import { check, HwacError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import { runModel, type RunOptions } from "../../ir/interpret.js";
import type { Tensor } from "../../ir/tensor.js";
import { chooseRange, type RangeOptions } from "./calib-ranges.js";
import { HISTOGRAM_BINS, ValueObserver, type FloatData, type ValueStats } from "./observers.js";
import type { ActRange, RangeFn } from "./quantize.js";

/** Version of the result's layout; part of the cache key. */
export const CALIBRATION_FORMAT = 2;

export interface CalibrationResult {
  readonly format: number;
  /** Histogram bins over the first set's range (`observers.ts`). */
  readonly bins: number;
  /** Number of calibration sets the float model ran on. */
  readonly sets: number;
  /** Statistics per value name, in the order the values were first computed. */
  readonly values: Readonly<Record<string, ValueStats>>;
  /**
   * Mean per index of axis 1 (the channel of NCHW, the feature of [N, K]) of every float value of
   * rank ≥ 2: what bias correction needs of a weighted layer's input.
   */
  readonly channelMeans: Readonly<Record<string, number[]>>;
}

export interface CalibrateOptions {
  bins?: number;
  /** Also called after every node of every run: progress reports, instrumentation. */
  onNode?: RunOptions["onNode"];
}

export function calibrate(model: Model, sets: Iterable<ReadonlyMap<string, Tensor>>, opts: CalibrateOptions = {}): CalibrationResult {
  const bins = opts.bins ?? HISTOGRAM_BINS;
  check(Number.isInteger(bins) && bins >= 2, "HW4032", `histogram bins must be an integer ≥ 2, got ${bins}`);
  const observers = new Map<string, ValueObserver>();
  const channels = new Map<string, { sum: Float64Array; count: number }>();
  const record = (name: string, t: Tensor | undefined): void => {
    if (name === "" || !t || !isFloat(t.dtype)) return;
    let o = observers.get(name);
    if (!o) observers.set(name, (o = new ValueObserver(bins)));
    o.observe(t.data as FloatData);
    if (t.shape.length >= 2) addChannelSums(channels, name, t);
  };
  const onNode: RunOptions["onNode"] = (node, outputs, inputs) => {
    node.outputs.forEach((name, k) => record(name, outputs[k]));
    opts.onNode?.(node, outputs, inputs);
  };
  let runs = 0;
  for (const feeds of sets) {
    for (const input of model.graph.inputs) record(input.name, feeds.get(input.name));
    runModel(model, feeds, { onNode });
    runs++;
  }
  if (runs === 0) throw new HwacError("HW4030", "calibration needs at least one input set", { file: model.source });
  const values = Object.fromEntries([...observers].map(([name, o]) => [name, o.stats()]));
  const channelMeans = Object.fromEntries([...channels].map(([name, c]) => [name, Array.from(c.sum, (x) => x / c.count)]));
  return { format: CALIBRATION_FORMAT, bins, sets: runs, values, channelMeans };
}

function addChannelSums(acc: Map<string, { sum: Float64Array; count: number }>, name: string, t: Tensor): void {
  const c = t.shape[1]!;
  const inner = t.shape.slice(2).reduce((a, b) => a * b, 1);
  let entry = acc.get(name);
  if (entry && entry.sum.length !== c) return; // shape changed between sets: keep the first
  if (!entry) acc.set(name, (entry = { sum: new Float64Array(c), count: 0 }));
  const d = t.data as FloatData;
  const outer = d.length / (c * inner);
  for (let o = 0, i = 0; o < outer; o++) {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let j = 0; j < inner; j++, i++) s += d[i]!;
      entry.sum[k] += s;
    }
  }
  entry.count += outer * inner;
}

/** The range of `value` chosen by `opts`, or undefined when no run computed it (e.g. an If branch never taken). */
export function calibratedRange(result: CalibrationResult, value: string, opts: RangeOptions): ActRange | undefined {
  const stats = Object.hasOwn(result.values, value) ? result.values[value] : undefined;
  return stats && chooseRange(stats, opts);
}

/** Mean per axis-1 index of a value, when calibration saw it with rank ≥ 2. */
export function channelMeanFn(result: CalibrationResult): (value: string) => readonly number[] | undefined {
  return (value) => (Object.hasOwn(result.channelMeans, value) ? result.channelMeans[value] : undefined);
}

/** `quantizeModel`'s view of a calibration: each value's range under the scheme that applies to it (memoized). */
export function rangeFn(result: CalibrationResult, percentile?: number): RangeFn {
  const memo = new Map<string, ActRange | undefined>();
  return (value, scheme) => {
    const opts: RangeOptions = { method: scheme.calibration, bits: scheme.actBits, symmetric: scheme.actSymmetric, percentile };
    const key = `${opts.method} ${opts.bits} ${opts.symmetric} ${value}`;
    if (!memo.has(key)) memo.set(key, calibratedRange(result, value, opts));
    return memo.get(key);
  };
}
