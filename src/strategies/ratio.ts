// How close a found value is to the best one: 1 is optimal, for either direction.

export function ratioTo(optimum: number, found: number, direction: 'maximize' | 'minimize'): number {
  if (Number.isNaN(found)) return 0;
  return direction === 'maximize' ? found / optimum : optimum / found;
}
