/**
 * A ResNet-50-shaped float ONNX model for benchmarking large-model loading and inference: the
 * standard bottleneck layout (torchvision's v1.5, stride on the 3×3 convolutions) at 224×224,
 * with BatchNorm folded into conv biases as an exported, optimized model has it; 25.6 M weights
 * drawn from a fixed seed, so every run writes the same file.
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/gen-resnet.js [folder]
 *
 * writes `resnet50.onnx` into the folder (a new temporary one by default) and prints its path.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { xoroshiro128plus, type RandomGenerator } from "pure-rand";
import type { Attr, Model, Node, ValueDecl } from "../../ir/graph.js";
import { xorshift32 } from "../../ir/numeric.js";
import { tensor, type Tensor } from "../../ir/tensor.js";
import { encodeModel } from "../../src/onnx/save.js";

export const RESNET_INPUT: ValueDecl = { name: "input", type: { dtype: "float32", shape: [1, 3, 224, 224] } };
const OUTPUT: ValueDecl = { name: "logits", type: { dtype: "float32", shape: [1, 1000] } };
/** Bottleneck blocks per stage and their inner widths; a block's output is 4× its width. */
const STAGES: readonly (readonly [blocks: number, width: number])[] = [[3, 64], [4, 128], [6, 256], [3, 512]];
const SEED = 50;

const ints = (value: readonly number[]): Attr => ({ kind: "ints", value });

class Builder {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, Tensor>();
  private readonly rng: RandomGenerator = xoroshiro128plus(SEED);

  /** A fresh float32 tensor uniform in (−bound, bound). */
  private uniform(shape: number[], bound: number): Tensor {
    const t = tensor("float32", shape);
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = (this.rng.unsafeNext() / 2 ** 31) * bound;
    return t;
  }

  private add(op: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const name = `${op.toLowerCase()}_${this.nodes.length}`;
    this.nodes.push({ op, domain: "", name, inputs, outputs: [name], attrs });
    return name;
  }

  private param(name: string, t: Tensor): string {
    this.initializers.set(name, t);
    return name;
  }

  /**
   * Conv with bias; He-uniform weights keep activations near unit scale through the ReLUs, and
   * `gain` < 1 on a block's last conv stands in for the small BatchNorm scale that keeps the
   * residual sums from growing stage after stage.
   */
  conv(x: string, cin: number, cout: number, kernel: number, stride: number, gain = 1): string {
    const id = this.nodes.length;
    const fanIn = cin * kernel * kernel;
    const w = this.param(`w${id}`, this.uniform([cout, cin, kernel, kernel], gain * Math.sqrt(6 / fanIn)));
    const b = this.param(`b${id}`, this.uniform([cout], 0.1));
    const pad = (kernel - 1) >> 1;
    return this.add("Conv", [x, w, b], { kernel_shape: ints([kernel, kernel]), strides: ints([stride, stride]), pads: ints([pad, pad, pad, pad]) });
  }

  relu(x: string): string {
    return this.add("Relu", [x]);
  }

  bottleneck(x: string, cin: number, width: number, stride: number): string {
    const cout = 4 * width;
    let y = this.relu(this.conv(x, cin, width, 1, 1));
    y = this.relu(this.conv(y, width, width, 3, stride));
    y = this.conv(y, width, cout, 1, 1, 0.25);
    const shortcut = cin === cout && stride === 1 ? x : this.conv(x, cin, cout, 1, stride);
    return this.relu(this.add("Add", [y, shortcut]));
  }

  head(x: string, features: number, classes: number): string {
    const pooled = this.add("Flatten", [this.add("GlobalAveragePool", [x])]);
    const w = this.param("fc_w", this.uniform([classes, features], Math.sqrt(6 / features)));
    const b = this.param("fc_b", this.uniform([classes], 0.1));
    return this.add("Gemm", [pooled, w, b], { transB: { kind: "int", value: 1 } });
  }

  maxPool(x: string): string {
    return this.add("MaxPool", [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
  }
}

/** The model, its graph output renamed to `logits`. */
export function resnet50(): Model {
  const g = new Builder();
  let x = g.maxPool(g.relu(g.conv(RESNET_INPUT.name, 3, 64, 7, 2)));
  let channels = 64;
  STAGES.forEach(([blocks, width], stage) => {
    for (let i = 0; i < blocks; i++) {
      x = g.bottleneck(x, channels, width, i === 0 && stage > 0 ? 2 : 1);
      channels = 4 * width;
    }
  });
  const last = g.head(x, channels, OUTPUT.type.shape![1] as number);
  const nodes = g.nodes.map((n) => (n.name === last ? { ...n, outputs: [OUTPUT.name] } : n));
  return {
    irVersion: 8,
    opsets: { "": 13 },
    producer: "hwac-bench",
    graph: { name: "resnet50", inputs: [RESNET_INPUT], outputs: [OUTPUT], initializers: g.initializers, nodes, valueTypes: new Map() },
  };
}

/** The benchmark's input image: fixed pseudo-random values in [−0.5, 0.5). */
export function resnetImage(): Tensor {
  const image = tensor("float32", RESNET_INPUT.type.shape as number[]);
  const d = image.data as Float32Array;
  let s = 1;
  for (let i = 0; i < d.length; i++) d[i] = (s = xorshift32(s)) / 2 ** 32 - 0.5;
  return image;
}

/** Writes the model as `resnet50.onnx` into `dir` (a new temporary folder by default); returns the file. */
export function writeResnet50(dir = mkdtempSync(join(tmpdir(), "hwac-resnet-"))): string {
  const file = join(dir, "resnet50.onnx");
  writeFileSync(file, encodeModel(resnet50()));
  return file;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(writeResnet50(process.argv[2]));
}
