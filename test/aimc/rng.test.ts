import { describe, expect, it } from "vitest";
import { HwacError } from "../../ir/errors.js";
import { fillNormal, philox4x32_10, Purpose, type StreamKey } from "../../backends/aimc/rng.js";
import { meanStd, normals } from "./helpers.js";

describe("Philox4x32-10", () => {
  // Random123's tests/kat_vectors: "philox4x32 10 <counter ×4> <key ×2> <expected ×4>".
  const KAT: [number[], number[], number[]][] = [
    [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
  ];
  for (const [ctr, key, expected] of KAT) {
    it(`matches the known answer for counter ${ctr[0]!.toString(16)}…, key ${key[0]!.toString(16)}…`, () => {
      const out = new Uint32Array(4);
      philox4x32_10(ctr, key, out);
      expect(Array.from(out)).toEqual(expected);
    });
  }
});

describe("normal draws", () => {
  const key: StreamKey = { purpose: Purpose.read, layer: 3, block: 7, row: 11, inference: 5 };

  it("are standard normal over 10^6 draws", () => {
    const { mean, std } = meanStd(normals(42, 1_000_000));
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(Math.abs(std - 1)).toBeLessThan(0.005);
  });

  it("give the same bytes however the draws are split and ordered", () => {
    const n = 10_001;
    const whole = new Float64Array(n);
    fillNormal(7, key, 0, whole);
    // Chunks of 1–97 draws (odd starts included), filled last chunk first.
    const chunks: [number, number][] = [];
    for (let at = 0, k = 1; at < n; k = (k * 37 + 11) % 97 + 1) {
      chunks.push([at, Math.min(k, n - at)]);
      at += k;
    }
    const pieces = new Float64Array(n);
    for (const [at, len] of chunks.reverse()) fillNormal(7, key, at, pieces, at, len);
    expect(Buffer.from(pieces.buffer).equals(Buffer.from(whole.buffer))).toBe(true);
    // A draw taken alone equals the same draw inside a run.
    const one = new Float64Array(1);
    fillNormal(7, key, 4321, one);
    expect(one[0]).toBe(whole[4321]);
  });

  it("differ when the seed or any coordinate differs", () => {
    const draw = (seed: number, k: StreamKey) => {
      const z = new Float64Array(64);
      fillNormal(seed, k, 0, z);
      return Buffer.from(z.buffer);
    };
    const base = draw(7, key);
    expect(draw(7, key).equals(base)).toBe(true);
    for (const [seed, k] of [
      [8, key],
      [7, { ...key, purpose: Purpose.out }],
      [7, { ...key, layer: 4 }],
      [7, { ...key, block: 8 }],
      [7, { ...key, row: 12 }],
      [7, { ...key, inference: 6 }],
    ] as [number, StreamKey][]) {
      expect(draw(seed, k).equals(base)).toBe(false);
    }
  });

  it("refuse seeds and coordinates outside their fields", () => {
    const z = new Float64Array(1);
    expect(() => fillNormal(-1, key, 0, z)).toThrow(HwacError);
    expect(() => fillNormal(2 ** 32, key, 0, z)).toThrow(/seed must be an integer/);
    expect(() => fillNormal(1, { ...key, layer: 2 ** 24 }, 0, z)).toThrow(/layer index/);
  });
});
