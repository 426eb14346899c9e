/**
 * Ordering text without the locale: code-unit order, the same on every machine. String.prototype.localeCompare is
 * not used for that: its order follows the ICU collation of the process's locale, and its first call builds a collator,
 * about 10 ms on a 2-core machine (it sat between the cluster reads and the debug pods' creation).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
