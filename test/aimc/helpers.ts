/** Shared helpers of the AIMC tests. */
import { fillNormal, Purpose } from "../../backends/aimc/rng.js";
import type { LayerShape } from "../../backends/aimc/mapping.js";

/** Sample mean and standard deviation (population form; n ≥ 10^6 here, so the difference is nil). */
export function meanStd(a: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  const mean = s / a.length;
  let q = 0;
  for (let i = 0; i < a.length; i++) q += (a[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(q / a.length) };
}

/** n standard normals from one stream (purpose, layer 0, block 0, row `row`, inference 0). */
export function normals(seed: number, n: number, purpose: Purpose = Purpose.out, row = 0): Float64Array {
  const z = new Float64Array(n);
  fillNormal(seed, { purpose, layer: 0, block: 0, row, inference: 0 }, 0, z);
  return z;
}

/**
 * ResNet-50's Conv and Gemm layers as the mapper sees them (in = C_in·kh·kw, out = C_out): the
 * 7×7 stem, 16 bottlenecks (1×1, 3×3, 1×1, plus a 1×1 projection in each stage's first block), fc.
 */
export function resnet50Layers(): LayerShape[] {
  const layers: LayerShape[] = [{ name: "conv1", rows: 3 * 7 * 7, cols: 64 }];
  let cin = 64;
  const stages: [number, number][] = [[3, 64], [4, 128], [6, 256], [3, 512]];
  stages.forEach(([blocks, width], s) => {
    for (let b = 0; b < blocks; b++) {
      const p = `layer${s + 1}.${b}`;
      layers.push({ name: `${p}.conv1`, rows: cin, cols: width });
      layers.push({ name: `${p}.conv2`, rows: width * 9, cols: width });
      layers.push({ name: `${p}.conv3`, rows: width, cols: 4 * width });
      if (b === 0) layers.push({ name: `${p}.downsample`, rows: cin, cols: 4 * width });
      cin = 4 * width;
    }
  });
  layers.push({ name: "fc", rows: 2048, cols: 1000 });
  return layers;
}
