// ${NAME} in the strings of an experiment file that are read at run time (a VM's kernel path, a
// build's source tree): replaced from the job's environment, where parameters live under their names.

export class ExpandError extends Error {}

/** ${NAME} replaced from `env`; an unknown name is an error, never an empty string. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ExpandError(`\${${name}} names no parameter or variable of this job (set it in the environment or as a parameter)`);
    return v;
  });
}
