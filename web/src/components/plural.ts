/** "1 device", "2,500 devices": a count with its noun (English plurals; pass `many` when not just +s). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
