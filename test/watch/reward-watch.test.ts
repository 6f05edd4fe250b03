import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../src/metrics.js';
import { DISAGREEMENT_BUCKETS, RewardWatch } from '../../src/watch/reward-watch.js';
import { assertAlerts, parseScrape, ruleGroups, testAlerts } from '../helpers/promtool.js';

const SETTINGS = { window: 200, buckets: [-3, -2, -1, 0, 1, 2, 3] };
const TRAINING = { mean: 0.5, std: 0.25 };

/** A seeded standard normal stream (Box–Muller over a small LCG): the same numbers every run. */
function normals(seed: number): () => number {
  let x = seed >>> 0;
  const u = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function pearson(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Feeds `n` items: rewards from `reward(z, length)` with z standard normal, lengths 20–400. */
function feed(w: RewardWatch, n: number, reward: (z: number, length: number) => number, seed = 1, spread?: (i: number) => number) {
  const z = normals(seed);
  const lengthOf = normals(seed + 7);
  const rewards: number[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < n; i++) {
    const length = Math.round(Math.min(400, Math.max(20, 200 + 80 * lengthOf())));
    lengths.push(length);
    rewards.push(reward(z(), length));
  }
  w.record(rewards, lengths, spread ? rewards.map((_, i) => spread(i)) : undefined);
  return { rewards, lengths };
}

test('window figures equal a direct computation over the last N items, after many times N (running sums stay exact)', () => {
  const w = new RewardWatch('m', 'model', TRAINING, SETTINGS);
  const all = { rewards: [] as number[], lengths: [] as number[] };
  for (let round = 0; round < 60; round++) {
    const fed = feed(w, 173, (z, l) => 0.5 + 0.25 * z + 0.0004 * l, round + 1);
    all.rewards.push(...fed.rewards);
    all.lengths.push(...fed.lengths);
  }
  const r = all.rewards.slice(-200);
  const l = all.lengths.slice(-200);
  const mean = r.reduce((a, b) => a + b, 0) / r.length;
  const s = w.stats();
  assert.equal(s.count, 200);
  assert.equal(s.total, 60 * 173);
  assert.ok(Math.abs(s.mean! - mean) < 1e-6);
  assert.ok(Math.abs(s.std! - Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / r.length)) < 1e-6);
  assert.ok(Math.abs(w.lengthPearson()! - pearson(r, l)) < 1e-9, `${w.lengthPearson()} vs ${pearson(r, l)}`);
  const sorted = [...r].sort((a, b) => a - b);
  assert.ok(Math.abs(s.quantiles!.p50 - (sorted[99]! + sorted[100]!) / 2) < 1e-6);
  assert.equal(s.beyond_3std, r.filter((x) => Math.abs(x - 0.5) > 0.75).length / 200);
  assert.deepEqual(s.recent.lengths, l);
  assert.equal(s.histogram!.counts.reduce((a, b) => a + b, 0), 200);
  assert.deepEqual(s.histogram!.edges, [-0.25, 0, 0.25, 0.5, 0.75, 1, 1.25]);
});

test('Spearman is the Pearson correlation of ranks (ties averaged); null when a side is constant', () => {
  const w = new RewardWatch('m', 'model', null, { window: 10, buckets: [0] });
  // Monotone but not linear: Spearman 1, Pearson below 1.
  w.record([1, 2, 3, 4, 100], [10, 20, 30, 40, 50]);
  assert.equal(w.lengthSpearman(), 1);
  assert.ok(w.lengthPearson()! < 0.8);
  const flat = new RewardWatch('m', 'model', null, { window: 10, buckets: [0] });
  flat.record([1, 2, 3], [7, 7, 7]);
  assert.equal(flat.lengthPearson(), null);
  assert.equal(flat.lengthSpearman(), null);
  assert.equal(flat.driftStd(), null, 'no training distribution, no drift');
  assert.equal(flat.stats().histogram, null);
});

/** One scrape of a registry holding these watches. */
async function scrape(...watches: RewardWatch[]) {
  const m = createMetrics();
  for (const w of watches) m.addWatch(w);
  const text = await m.registry.metrics();
  return { text, samples: parseScrape(text) };
}

test('the watch exports per-model histograms with buckets at the training mean + k·std, and its gauges', async () => {
  const a = new RewardWatch('rm-a', 'model', TRAINING, SETTINGS);
  const b = new RewardWatch('rm-b', 'model', { mean: -1, std: 2 }, SETTINGS);
  a.record([0.5, 0.6, 2], [10, 20, 30]);
  b.record([-1], [5]);
  const { text, samples } = await scrape(a, b);
  assert.match(text, /^reward_watch_reward_bucket\{model="rm-a",le="0.75"\} 2$/m);
  assert.match(text, /^reward_watch_reward_bucket\{model="rm-a",le="1.25"\} 2$/m);
  assert.match(text, /^reward_watch_reward_bucket\{model="rm-a",le="\+Inf"\} 3$/m);
  assert.match(text, /^reward_watch_reward_bucket\{model="rm-b",le="-3"\} 0$/m);
  assert.match(text, /^reward_watch_reward_bucket\{model="rm-b",le="-1"\} 1$/m);
  assert.match(text, /^reward_watch_normalized_reward_bucket\{model="rm-a",le="1"\} 2$/m);
  assert.match(text, /^reward_watch_normalized_reward_count\{model="rm-a"\} 3$/m);
  assert.match(text, /^# TYPE reward_watch_reward histogram$/m);
  const get = (name: string, model: string) => samples.find((s) => s.name === name && s.labels.model === model)?.value;
  assert.equal(get('reward_watch_window_items', 'rm-a'), 3);
  assert.ok(Math.abs(get('reward_watch_drift_std', 'rm-a')! - (3.1 / 3 - 0.5) / 0.25) < 1e-9);
  assert.equal(get('reward_watch_beyond_3std_ratio', 'rm-a'), 1 / 3);
  assert.equal(get('reward_watch_training_std', 'rm-b'), 2);
  assert.equal(get('reward_watch_length_pearson', 'rm-b'), undefined, 'one item: no correlation, no sample');
  assert.equal(get('reward_watch_ensemble_std_mean', 'rm-a'), undefined, 'not an ensemble');
});

test('promtool fails the alert check when an alert fires that was expected silent, or stays silent where expected (the check can fail)', async () => {
  const model = new RewardWatch('rm', 'model', TRAINING, SETTINGS);
  feed(model, 200, (z) => 0.5 + 0.25 * (2.5 + z), 5);
  const { text } = await scrape(model);
  assert.equal(testAlerts(text, { RewardDriftFromTraining: ['rm'] }).status, 0);
  const silent = testAlerts(text, { RewardDriftFromTraining: [] });
  assert.equal(silent.status, 1);
  assert.match(silent.output, /alertname: RewardDriftFromTraining, time: 15m/);
  assert.equal(testAlerts(text, { RewardDriftFromTraining: ['other'] }).status, 1);
  assert.equal(testAlerts(text, {}, { model: 'rm' }).status, 1, 'no alert for rm: but two fire');
});

test('each alert stays quiet on rewards like the training data and fires on its own kind of drift', async () => {
  const names = ruleGroups().flatMap((g) => g.rules).map((r) => r.alert).sort();
  assert.deepEqual(names, ['EnsembleDisagreementRising', 'RewardDriftFromTraining', 'RewardOutOfDistribution', 'RewardTracksLength']);
  // promtool evaluates every alert on the scrape; each must fire for exactly these models.
  const fires = async (expected: Record<string, string[]>, what: string, ...w: RewardWatch[]) => assertAlerts((await scrape(...w)).text, expected, {}, what);
  const quiet = { EnsembleDisagreementRising: [], RewardDriftFromTraining: [], RewardOutOfDistribution: [], RewardTracksLength: [] };

  // Rewards drawn from the training distribution, unrelated to length; an ensemble whose spread holds steady.
  const model = new RewardWatch('rm', 'model', TRAINING, SETTINGS);
  const ens = new RewardWatch('ens', 'ensemble', null, SETTINGS);
  feed(model, 400, (z) => 0.5 + 0.25 * z);
  feed(ens, 400, (z) => 0.5 + 0.25 * z, 3, (i) => 0.1 + 0.02 * Math.sin(i));
  await fires(quiet, 'training-like rewards', model, ens);
  assert.ok(Math.abs(model.driftStd()!) < 0.3 && Math.abs(model.lengthPearson()!) < 0.2 && model.beyondShare()! < 0.02);

  // The rewards climb 2.5 training std: drift, and many items beyond 3 std.
  feed(model, 200, (z) => 0.5 + 0.25 * (2.5 + z), 5);
  await fires({ ...quiet, RewardDriftFromTraining: ['rm'], RewardOutOfDistribution: ['rm'] }, 'rewards 2.5 std up', model);

  // Back to the training distribution, but now the reward follows length.
  feed(model, 200, (z, l) => 0.5 + 0.25 * (0.5 * z + (l - 200) / 80), 6);
  await fires({ ...quiet, RewardTracksLength: ['rm'] }, 'rewards following length', model);
  assert.ok(model.lengthSpearman()! > 0.8);

  // The ensemble's members start to disagree three times as much.
  feed(ens, 200, (z) => 0.5 + 0.25 * z, 8, () => 0.3);
  const { samples } = await scrape(ens);
  await fires({ EnsembleDisagreementRising: ['ens'] }, 'the ensemble disagreeing more', ens);
  assert.match(DISAGREEMENT_BUCKETS.join(), /0.3/);
  assert.ok(samples.some((s) => s.name === 'reward_watch_ensemble_std_bucket' && s.labels.le === '0.2' && s.value === 400));
});
