/** One scrape of a server's /metrics: sample values by their full name with labels. */
export interface Scrape {
  /** e.g. get('reward_tokens_total{kind="real",model="m"}'); NaN when absent. */
  get(sample: string): number;
  /** Sum of every sample of a metric whose labels contain `labels` (e.g. a histogram's _sum over routes). */
  total(name: string, labels?: string): number;
}

export async function scrape(base: string): Promise<Scrape> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return {
    get: (sample) => samples.get(sample) ?? NaN,
    total(name, labels = '') {
      let s = 0;
      for (const [k, v] of samples) {
        if ((k === name || k.startsWith(`${name}{`)) && k.includes(labels)) s += v;
      }
      return s;
    },
  };
}

/** What changed between two scrapes. */
export function delta(before: Scrape, after: Scrape) {
  return {
    get: (sample: string) => after.get(sample) - before.get(sample),
    total: (name: string, labels?: string) => after.total(name, labels) - before.total(name, labels),
  };
}
