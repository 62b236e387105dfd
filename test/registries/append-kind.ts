// A way for a build parameter to reach its target that wayfinder does not ship: `append: FILE`
// appends `NAME=value` to FILE in the build directory before the build runs (the shape of many
// targets' configuration files). It is registered by the test, not by wayfinder.

import { appendFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { z } from 'zod';
import type { ParamKind } from '../../src/targets/params/kind.js';

declare module '../../src/types.js' {
  interface Param {
    /** append: the file, relative to the build directory, this parameter's line is appended to. */
    append?: string;
  }
}

export const appendKind: ParamKind = {
  name: 'append',
  description: 'a NAME=value line appended to a file in the build directory',
  key: { name: 'append', description: 'the file, relative to the build directory, that gets a NAME=value line', schema: z.string() },
  load(param, value) {
    if (value === undefined) return undefined;
    const file = value as string;
    if (isAbsolute(file) || normalize(file).startsWith('..')) return { message: `append file '${file}' must be inside the build directory`, at: ['append'] };
    if (param.when !== 'build') return { message: `'${param.name}' is written into the build, so it is a build parameter`, at: ['when'] };
    param.append = file;
    return undefined;
  },
  applies: (param) => param.append !== undefined,
  async prepare(ctx) {
    for (const p of ctx.params) appendFileSync(join(ctx.dir, p.append as string), `${p.name}=${String(ctx.value(p))}\n`);
    return undefined;
  },
};
