/**
 * Integer weights for flagd's `fractional` operator.
 *
 * flagd requires whole-number weights (a decimal weight makes the document schema-invalid and flagd-core turns the
 * `fractional` into `null`) whose sum stays ≤ 2,147,483,647. Flagsmith percentages are floats such as 33.3 or 0.1,
 * so all weights of one `fractional` are scaled by a common 10^k (the smallest k that makes every weight a whole
 * number, at most MAX_DECIMALS) and the residual is computed in scaled units: the weights then sum to exactly
 * 100 × 10^k (≤ 1e9).
 */

/** 100 × 10^7 = 1e9 < 2^31 − 1: seven decimals of a percentage are representable exactly. */
export const MAX_DECIMALS = 7;

/** Smallest k ≤ MAX_DECIMALS such that `value × 10^k` is a whole number (judged on the shortest decimal text). */
export function decimalsNeeded(value: number): number {
  if (!Number.isFinite(value) || Number.isInteger(value)) return 0;
  for (let k = 1; k <= MAX_DECIMALS; k++) {
    if (Number(value.toFixed(k)) === value) return k;
  }
  return MAX_DECIMALS;
}

export interface ScaledSplit {
  /** Scaled share of each entry, in input order (whole numbers ≥ 0). */
  shares: number[];
  /** Scaled residual: the part of [0, 100) no entry covers (Flagsmith's control value). */
  residual: number;
  /** 100 × 10^k; shares + residual sum to exactly this. */
  total: number;
  /** The scale exponent k. */
  decimals: number;
  /** True when inputs were unusual: negative, over 100 % in total, non-finite or with more than MAX_DECIMALS decimals. */
  adjusted: boolean;
}

/**
 * Flagsmith walks the variants in order, giving each the range [start, start + weight) and moving start to its
 * end; the first range containing the identity's percentage p ∈ [0, 100) wins, and p outside every range gets the
 * control value. The share of an entry is therefore the part of its range inside [0, 100) not covered by an
 * earlier range (only negative weights make ranges overlap; ranges beyond 100 are unreachable).
 */
export function scalePercentages(percentages: readonly number[]): ScaledSplit {
  let decimals = 0;
  let adjusted = false;
  for (const p of percentages) {
    if (!Number.isFinite(p)) {
      adjusted = true;
      continue;
    }
    const k = decimalsNeeded(p);
    if (k === MAX_DECIMALS && Number(p.toFixed(MAX_DECIMALS)) !== p) adjusted = true;
    decimals = Math.max(decimals, k);
  }
  const total = 100 * 10 ** decimals;
  const covered: Array<[number, number]> = []; // disjoint, sorted intervals already taken
  const shares: number[] = [];
  let start = 0;
  for (const p of percentages) {
    const weight = Number.isFinite(p) ? Math.round(p * 10 ** decimals) : 0;
    if (weight < 0) adjusted = true;
    const end = start + weight;
    const from = Math.max(0, start);
    const to = Math.min(total, end);
    shares.push(from < to ? takeUncovered(covered, from, to) : 0);
    start = end;
  }
  const assigned = shares.reduce((sum, share) => sum + share, 0);
  if (start > total) adjusted = true;
  return { shares, residual: total - assigned, total, decimals, adjusted };
}

/** Length of [from, to) not yet in `covered`, which then absorbs the interval. */
function takeUncovered(covered: Array<[number, number]>, from: number, to: number): number {
  let free = to - from;
  for (const [a, b] of covered) free -= Math.max(0, Math.min(b, to) - Math.max(a, from));
  covered.push([from, to]);
  // Keep `covered` disjoint: merge overlapping intervals.
  covered.sort((x, y) => x[0] - y[0]);
  for (let i = covered.length - 1; i > 0; i--) {
    if (covered[i][0] <= covered[i - 1][1]) {
      covered[i - 1][1] = Math.max(covered[i - 1][1], covered[i][1]);
      covered.splice(i, 1);
    }
  }
  return free;
}

/**
 * Integer weights for a PERCENTAGE_SPLIT threshold `t` (a percentage, 0 ≤ t < 100; the caller folds the constant
 * cases): `inWeight / (inWeight + outWeight) = t / 100`, both scaled by 10^k.
 */
export function scaleThreshold(threshold: number): { inWeight: number; outWeight: number; total: number } {
  const k = decimalsNeeded(threshold);
  const total = 100 * 10 ** k;
  const inWeight = Math.min(total, Math.max(0, Math.round(threshold * 10 ** k)));
  return { inWeight, outWeight: total - inWeight, total };
}
