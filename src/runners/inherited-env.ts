// wayfinder's own environment, which host jobs inherit, read once: every read of process.env asks
// the C library again, and copying it for each job cost about half a millisecond per job.

let snapshot: Readonly<Record<string, string>> | undefined;

/** The environment as it was when wayfinder first started a job (the job launcher has the same). */
export function inheritedEnv(): Readonly<Record<string, string>> {
  if (!snapshot) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    snapshot = Object.freeze(env);
  }
  return snapshot;
}
