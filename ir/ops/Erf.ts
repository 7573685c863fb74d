import { FLOAT_TYPES } from "../kernels/elementwise.js";
import { tableOp } from "../kernels/int-table.js";
import type { OpDef } from "../op.js";

export const Erf: OpDef = tableOp("Erf", { types: FLOAT_TYPES, f: erf });

// W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for the error
// function", Math. Comp. 1969; Netlib SPECFUN CALERF), accurate to ~1e-16 relative in float64.
const A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
const P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
  6.58749161529837803e-4, 0.0163153871373020978,
];
const Q = [
  2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185,
];
const INV_SQRT_PI = 0.56418958354775628695;

/** The error function: erf itself near 0, 1 − erfc beyond, where erfc is the well-conditioned one. */
export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) {
    const z = y * y;
    let num = A[4]! * z;
    let den = z;
    for (let i = 0; i < 3; i++) {
      num = (num + A[i]!) * z;
      den = (den + B[i]!) * z;
    }
    return (x * (num + A[3]!)) / (den + B[3]!);
  }
  // erfc(6) < 2^-54: erf rounds to ±1 (this also keeps ±∞ out of expNegSquare).
  if (y >= 6) return x < 0 ? -1 : 1;
  let erfc: number;
  if (y <= 4) {
    let num = C[8]! * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y;
      den = (den + D[i]!) * y;
    }
    erfc = ((num + C[7]!) / (den + D[7]!)) * expNegSquare(y);
  } else {
    const z = 1 / (y * y);
    let num = P[5]! * z;
    let den = z;
    for (let i = 0; i < 4; i++) {
      num = (num + P[i]!) * z;
      den = (den + Q[i]!) * z;
    }
    erfc = ((INV_SQRT_PI - (z * (num + P[4]!)) / (den + Q[4]!)) / y) * expNegSquare(y);
  }
  const r = 0.5 - erfc + 0.5;
  // NaN fails every comparison above and arrives here with erfc = NaN.
  return x < 0 ? -r : r;
}

/**
 * e^(−y²) with y² split as s² + (y − s)(y + s), s = y rounded down to a multiple of 1/16: s² is
 * exact, so the rounding error of y² is not amplified by the exponential.
 */
function expNegSquare(y: number): number {
  const s = Math.trunc(y * 16) / 16;
  return Math.exp(-s * s) * Math.exp(-(y - s) * (y + s));
}
