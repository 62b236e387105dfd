// Expected improvement for minimisation, and the normal distribution it needs.

const INV_SQRT2PI = 1 / Math.sqrt(2 * Math.PI);

export function normalPdf(z: number): number {
  return INV_SQRT2PI * Math.exp(-0.5 * z * z);
}

/** Standard normal CDF (Abramowitz and Stegun 26.2.17, absolute error below 1e-7). */
export function normalCdf(z: number): number {
  return cdfGivenPdf(z, normalPdf(z));
}

function cdfGivenPdf(z: number, pdf: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = pdf * poly;
  return z >= 0 ? 1 - tail : tail;
}

/** E[max(best - Y, 0)] for Y ~ N(mean, sd^2). */
export function expectedImprovement(mean: number, sd: number, best: number): number {
  const gain = best - mean;
  if (sd <= 1e-12) return Math.max(gain, 0);
  const z = gain / sd;
  // One exponential serves both the density and the tail of the CDF: EI is scored tens of thousands of times an ask.
  const pdf = normalPdf(z);
  return gain * cdfGivenPdf(z, pdf) + sd * pdf;
}
