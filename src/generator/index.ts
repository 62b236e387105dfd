// The generator: parameter domains, the configuration space, conditions, checksums, job plans.

export { axis, domainIndex, domainSize, domainValue, domainValues, type Axis } from './domain.js';
export {
  conditionNames,
  evaluateCondition,
  parseCondition,
  type CompareOp,
  type Condition,
  type Operand,
} from './condition.js';
export { Space } from './space.js';
export { buildChecksum, configChecksum, effectiveChecksums, formatValue } from './checksum.js';
export {
  defaultConfig,
  paramEnv,
  checkPlan,
  planConfiguration,
  planExperiment,
  type ConfigPlan,
  type ExperimentPlan,
  type TestRun,
} from './plan.js';
