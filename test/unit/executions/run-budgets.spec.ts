import { budgetResetsAt, quotaResetsAt } from '../../../src/executions/run-budgets';

const DAY_MS = 86_400_000;
const at = (hour: number) => new Date(Date.UTC(2026, 11, 1, hour)).toISOString();
const dayAfter = (hour: number) => new Date(Date.UTC(2026, 11, 2, hour)).toISOString();

describe('budgetResetsAt: when a spent environment takes runs again', () => {
  it('is a day after the oldest run whose aging out brings the spend below the budget', () => {
    const runs = [
      { finishedAt: at(1), spentUsd: 2 },
      { finishedAt: at(2), spentUsd: 5 },
      { finishedAt: at(3), spentUsd: 4 },
    ];
    // 11 spent: without the 1 h run 9 (not below 9), without the 2 h run too 4.
    expect(budgetResetsAt(runs, 9)).toBe(dayAfter(2));
    expect(budgetResetsAt(runs, 10)).toBe(dayAfter(1));
    expect(budgetResetsAt(runs, 4)).toBe(dayAfter(3));
  });
});

describe('quotaResetsAt: when a token that used its quota may submit again', () => {
  const created = [at(1), at(2), at(3), at(4)];

  it('is when all but quota - 1 of its runs in the window have aged out', () => {
    expect(quotaResetsAt(created, 4, DAY_MS)).toBe(dayAfter(1));
    expect(quotaResetsAt(created, 2, DAY_MS)).toBe(dayAfter(3));
    expect(quotaResetsAt(created, 3, 60 * 60 * 1000)).toBe(at(3));
  });
});
