// Every parameter reaches its build and tests as an environment variable of its name; the study
// puts it there (src/generator paramEnv). This kind has nothing to check or prepare: it is in the
// registry so that every way a value reaches a target is listed in one place.

import type { ParamKind } from './kind.js';

export const envKind: ParamKind = {
  name: 'env',
  description: "every parameter: its value in the build's and tests' environment under its name",
  applies: () => true,
};
