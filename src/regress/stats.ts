// The two-sample statistics regress compares with live in src/metrics/two-sample.ts, beside the
// one-sample summaries: the study's confirmation of best against default uses them too.
export * from '../metrics/two-sample.js';
