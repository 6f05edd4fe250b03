import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { ROOT } from '../helpers/app.js';
import { scrapeMetrics, type ExportedMetric } from '../helpers/metrics.js';
import { checkRules, type PromtoolResult } from '../helpers/promtool.js';

const DASHBOARD = path.join(ROOT, 'k8s', 'grafana', 'reward-server.json');
// Labels Prometheus adds to every scraped series (prometheus-operator's target labels).
const TARGET_LABELS = new Set(['namespace', 'pod', 'container', 'service', 'endpoint', 'job', 'instance']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL query reads, the label names its selectors match on, and its grouping labels. */
function promqlNames(expr: string): { metrics: string[]; matched: [string, string][]; grouped: string[] } {
  const matched: [string, string][] = [];
  const grouped: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_, metric: string | undefined, body: string) => {
    for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) matched.push([metric ?? '', m[1]!]);
    return ` ${metric ?? ''} `;
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  rest = rest.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, labels: string) => {
    grouped.push(...labels.split(',').map((l) => l.trim()).filter(Boolean));
    return ' ';
  });
  const metrics = [...rest.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((n) => !KEYWORDS.has(n));
  return { metrics: [...new Set(metrics)], matched, grouped };
}

/** Every problem with a query against what /metrics exports; empty when it reads only real series and labels. */
function checkQuery(expr: string, exported: Map<string, ExportedMetric>): string[] {
  const { metrics, matched, grouped } = promqlNames(expr);
  const problems: string[] = [];
  if (!metrics.length) problems.push(`reads no metric: ${expr}`);
  for (const m of metrics) if (!exported.has(m)) problems.push(`${m} is not exported`);
  // A family with no sample yet (reward_dropped_items_total before a drop) shows no labels: not checked.
  const unsampled = (metric: string) => exported.get(metric)?.sampled === false;
  const known = (metric: string) => new Set([...TARGET_LABELS, ...(exported.get(metric)?.labels ?? [])]);
  for (const [metric, label] of matched) if (!unsampled(metric) && !known(metric).has(label)) problems.push(`${metric} has no label ${label}`);
  const any = new Set(metrics.flatMap((m) => [...known(m)]));
  if (!metrics.some(unsampled)) for (const label of grouped) if (!any.has(label)) problems.push(`no metric of the query has label ${label}`);
  return problems;
}

type Panel = { title: string; type: string; panels?: Panel[]; targets?: { expr: string }[]; datasource?: { uid: string } };
const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: { name: string; query: unknown }[] } };
const panels = dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));

let exported: Map<string, ExportedMetric>;
before(async () => {
  exported = await scrapeMetrics();
});

test('the query reader finds metrics and labels, and flags what the service does not export', () => {
  const q = 'histogram_quantile(0.99, sum by (le, route) (rate(reward_http_request_duration_seconds_bucket{pod=~"$pod", status!="429"}[$__rate_interval]))) / ignoring(x) reward_queue_depth';
  assert.deepEqual(promqlNames(q).metrics, ['reward_http_request_duration_seconds_bucket', 'reward_queue_depth']);
  assert.deepEqual(promqlNames(q).grouped, ['le', 'route', 'x']);
  assert.deepEqual(checkQuery('sum(rate(reward_http_request_duration_seconds_count{status="200"}[5m]))', exported), []);
  assert.deepEqual(checkQuery('rate(reward_requests_total[5m])', exported), ['reward_requests_total is not exported']);
  assert.deepEqual(checkQuery('reward_queue_depth{model="x"}', exported), []);
  assert.deepEqual(checkQuery('reward_queue_depth{stage="x"}', exported), ['reward_queue_depth has no label stage']);
  assert.deepEqual(checkQuery('sum by (stage) (reward_queue_depth)', exported), ['no metric of the query has label stage']);
});

test('every panel query and variable reads only metrics and labels that /metrics really exports', () => {
  assert.ok(panels.length >= 8);
  for (const p of panels) {
    assert.ok(p.targets?.length, `${p.title}: has queries`);
    assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: uses the dashboard's Prometheus variable`);
    for (const t of p.targets) assert.deepEqual(checkQuery(t.expr, exported), [], `${p.title}: ${t.expr}`);
  }
  for (const v of dashboard.templating.list.filter((v) => typeof v.query === 'object')) {
    const inner = /^label_values\((.*),\s*\w+\)$/.exec((v.query as { query: string }).query)![1]!;
    assert.deepEqual(checkQuery(inner, exported), [], `variable ${v.name}`);
  }
});

/**
 * `promtool check rules` on queries as recording rules: Prometheus's own parser. Grafana's
 * interval variables become a duration; the others ($pod, $model…) sit inside label strings.
 */
function parseQueries(exprs: string[]): PromtoolResult {
  const rules = exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: e.replaceAll(/\$__(?:rate_interval|interval|range)\b/g, '5m') }));
  return checkRules([{ name: 'dashboard', rules }]);
}

test('every panel query and variable is valid PromQL to Prometheus (promtool), and a broken one is not', () => {
  const variables = dashboard.templating.list.filter((v) => typeof v.query === 'object').map((v) => /^label_values\((.*),\s*\w+\)$/.exec((v.query as { query: string }).query)![1]!);
  const exprs = [...panels.flatMap((p) => p.targets!.map((t) => t.expr)), ...variables];
  const r = parseQueries(exprs);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  assert.equal(parseQueries(['sum by (le) (rate(reward_queue_wait_seconds_bucket[$__rate_interval])']).status, 1, 'an unclosed parenthesis');
});

test('the dashboard shows what operators asked for', () => {
  const exprs = (re: RegExp) => panels.filter((p) => re.test(p.title)).flatMap((p) => p.targets!.map((t) => t.expr));
  const has = (re: RegExp, parts: RegExp[]) => {
    const found = exprs(re);
    assert.ok(found.length, `a panel titled ${re}`);
    for (const part of parts) assert.ok(found.some((e) => part.test(e)), `${re}: a query matching ${part}`);
  };
  has(/request rate by status/i, [/sum by \(status\).*reward_http_request_duration_seconds_count/]);
  has(/latency p50 \/ p99/i, [/histogram_quantile\(0\.5,.*reward_http_request_duration_seconds_bucket/, /histogram_quantile\(0\.99,.*reward_http_request_duration_seconds_bucket/]);
  has(/queue wait/i, [/reward_queue_wait_seconds_bucket/]);
  has(/batch size/i, [/reward_batch_size_/]);
  has(/tokens per batch/i, [/reward_batch_tokens_/]);
  has(/padding/i, [/reward_batch_padding_ratio_/]);
  has(/inference time/i, [/reward_inference_duration_seconds_bucket/]);
  has(/429/i, [/status="429"/]);
  has(/queue depth/i, [/reward_queue_depth/]);
  has(/throughput/i, [/sum by \(model\).*reward_inferred_items_total/]);
});

test('an "Over-optimization" row shows every figure of the reward watch, per model', () => {
  const at = dashboard.panels.findIndex((p) => p.type === 'row' && p.title === 'Over-optimization');
  assert.ok(at >= 0, 'the row');
  const rowPanels = dashboard.panels.slice(at + 1).filter((p) => p.type !== 'row');
  const exprs = rowPanels.flatMap((p) => p.targets!.map((t) => t.expr));
  for (const metric of ['drift_std', 'window_mean', 'training_mean', 'training_std', 'normalized_reward_bucket', 'beyond_3std_ratio', 'length_pearson', 'length_spearman', 'ensemble_std_mean', 'ensemble_std_sum']) {
    assert.ok(exprs.some((e) => e.includes(`reward_watch_${metric}`)), `a query reads reward_watch_${metric}`);
  }
  for (const e of exprs) assert.match(e, /model=~"\$model"/, `${e}: follows the model variable`);
  assert.ok(dashboard.templating.list.some((v) => v.name === 'model'));
  // Every watch family the service exports was sampled here (the scrape had an ensemble), so labels were checked.
  for (const [name, m] of exported) if (name.startsWith('reward_watch_')) assert.ok(m.sampled && m.labels.has('model'), name);
});
