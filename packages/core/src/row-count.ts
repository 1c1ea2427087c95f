/**
 * For driver authors: the `rowCount` of a result whose command tag carries no count. `SHOW` returns its one row and
 * counts it (rowCount 1), as a `SELECT` of one row does; every other such statement (`CREATE`, `SET`, `DO`, `EXPLAIN`…)
 * reports 0. Both drivers call it, so the rule is the same whichever runs the statement.
 */
export function untaggedRowCount(command: string, rowsReturned: number): number {
  return command === 'SHOW' ? rowsReturned : 0
}
