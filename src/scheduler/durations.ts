// How long a job is expected to run, for the scheduler's longest-first order: the median of the
// last runs of the same job (experiment, phase, job name) on this host. Unknown until one has run;
// the scheduler keeps unestimated jobs in submission order.

const KEEP = 9;

export class DurationHistory {
  private readonly runs = new Map<string, number[]>();

  static key(experimentId: string, phase: string, job: string): string {
    return `${experimentId}/${phase}/${job}`;
  }

  record(key: string, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    const list = this.runs.get(key) ?? [];
    list.push(seconds);
    if (list.length > KEEP) list.shift();
    this.runs.set(key, list);
  }

  estimate(key: string): number | undefined {
    const list = this.runs.get(key);
    if (!list || list.length === 0) return undefined;
    const sorted = [...list].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  }
}
