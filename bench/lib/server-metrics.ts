/**
 * The few server-side counters a load step reports beside its own figures, scraped from the
 * server's Prometheus `/metrics`: how many group-commit writes the storage made and how many
 * messages each carried. They tell a reader whether storage commits (each one fsynced) are what
 * bounds the rate. Missing metrics read as 0; the benchmark does not depend on them.
 */

export interface StoreCounters {
  /** Group-commit writes so far (troupe_store_batch_rows_count). */
  commits: number;
  /** Messages written by them (troupe_store_batch_rows_sum). */
  rows: number;
}

export async function readStoreCounters(baseUrl: string): Promise<StoreCounters> {
  try {
    const res = await fetch(`${baseUrl}/metrics`);
    const text = await res.text();
    return { commits: sumOf(text, 'troupe_store_batch_rows_count'), rows: sumOf(text, 'troupe_store_batch_rows_sum') };
  } catch {
    return { commits: 0, rows: 0 };
  }
}

/** Sum of every sample of `name` (over all label sets) in a text exposition. */
function sumOf(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
