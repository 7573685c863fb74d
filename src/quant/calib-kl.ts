/**
 * TensorRT's entropy calibration objective over a histogram of |x| (as onnxruntime's
 * `get_entropy_threshold` and MXNet's `_get_optimal_threshold` compute it): for a threshold at
 * the end of bin `end`, the KL divergence between the clipped distribution and its quantized
 * version.
 */

const SMOOTH_EPS = 1e-4;

/**
 * KL(p‖q) for the window [0, end) of `counts`, per `end`: p is the window with the counts beyond
 * it added to its last bin; q merges the window's own counts into `levels` groups (the last one
 * takes the remainder) and spreads each group evenly over its bins where p is nonzero. Both are
 * smoothed — zeros get ε = 1e-4, taken evenly from the nonzero bins — and normalized. Infinity
 * when the window has fewer bins than levels or smoothing fails.
 */
export function klDivergences(counts: ArrayLike<number>, levels: number): (end: number) => number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  // Per group: its count spread over the bins where p is nonzero.
  const spread = new Float64Array(levels);
  return (end) => {
    if (end < levels) return Infinity;
    let inside = 0;
    for (let k = 0; k < end; k++) inside += counts[k]!;
    const outliers = total - inside;
    const per = Math.floor(end / levels);
    const groupEnd = (j: number): number => (j === levels - 1 ? end : (j + 1) * per);
    const pAt = (k: number): number => counts[k]! + (k === end - 1 ? outliers : 0);
    let zerosP = 0;
    let zerosQ = 0;
    for (let j = 0, k = 0; j < levels; j++) {
      let sum = 0;
      let nonzero = 0;
      for (const stop = groupEnd(j); k < stop; k++) {
        sum += counts[k]!;
        if (pAt(k) !== 0) nonzero++;
      }
      const size = groupEnd(j) - j * per;
      // q is nonzero where p is, unless the group's own counts are all 0.
      zerosP += size - nonzero;
      zerosQ += sum === 0 ? size : size - nonzero;
      spread[j] = nonzero === 0 ? 0 : sum / nonzero;
    }
    if (zerosP === end || zerosQ === end) return Infinity;
    const epsP = (SMOOTH_EPS * zerosP) / (end - zerosP);
    const epsQ = (SMOOTH_EPS * zerosQ) / (end - zerosQ);
    let sumP = 0;
    let sumQ = 0;
    let cross = 0;
    for (let j = 0, k = 0; j < levels; j++) {
      for (const stop = groupEnd(j); k < stop; k++) {
        const pk = pAt(k);
        const qk = pk === 0 ? 0 : spread[j]!;
        const ps = pk === 0 ? SMOOTH_EPS : pk - epsP;
        const qs = qk === 0 ? SMOOTH_EPS : qk - epsQ;
        if (ps <= 0 || qs <= 0) return Infinity;
        sumP += ps;
        sumQ += qs;
        cross += ps * Math.log(ps / qs);
      }
    }
    // Σ (p/P)·ln((p/P)/(q/Q)) with P = Σp, Q = Σq.
    return cross / sumP + Math.log(sumQ / sumP);
  };
}
