// Search strategies (grid, random, bayesian and any registered) behind one ask/tell interface, and replay of recorded tables.

export type { SearchSpace } from './space.js';
export { createStrategy, DEFAULT_STRATEGY, isStrategyName, registerStrategy, strategyDescriptors, strategyNames, strategyNamesText, type StrategyDescriptor } from './registry.js';
export type { Strategy, StrategyKind, StrategyOptions, StrategyState } from './strategy.js';
export { ListStrategy } from './list.js';
export { configKey, configOfKey, keyOfNormalized, paramValues, codecFor, Encoder } from './encoding.js';
export { measuredValue } from './measured.js';
export { simulate } from './simulate.js';
export type { SimulateOptions, Trace } from './simulate.js';
export { PoolSpace } from './pool-space.js';
export { loadTable, replay, evaluate, evaluateWithTraces, summarizeTraces, runReplay, bestSoFarSvg, ratioTo } from './replay.js';
export type { Table, LoadOptions, ReplayRun, ReplayResult, ReplayArgs } from './replay.js';
