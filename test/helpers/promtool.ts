// promtool (Debian's `prometheus` package; .ci/run installs it) decides what the alert rules of
// k8s/base/prometheusrule.yaml do on a scrape: `promtool test rules` evaluates them as Prometheus
// itself does, so the tests hold no PromQL evaluator of their own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from './app.js';

export const PROMETHEUS_RULE = path.join(ROOT, 'k8s', 'base', 'prometheusrule.yaml');

/** One rule of a rules file: an alert or a recording rule. */
export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One group of a Prometheus rules file. */
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

/** What promtool answered: its exit status and its stdout and stderr together. */
export interface PromtoolResult {
  status: number;
  output: string;
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** `name{labels}` as the exposition wrote it: a series PromQL reads back as written. */
  series: string;
}

/** The rule groups of a PrometheusRule manifest (its `spec.groups`, which is what a Prometheus rules file holds). */
export function ruleGroups(file = PROMETHEUS_RULE): RuleGroup[] {
  return (YAML.parse(fs.readFileSync(file, 'utf8')) as { spec: { groups: RuleGroup[] } }).spec.groups;
}

/** Runs promtool with these arguments; throws when promtool is not installed. */
export function promtool(...args: string[]): PromtoolResult {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`promtool ${args[0]}: ${r.error.message} (apt-get install prometheus, as .ci/run does)`);
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Runs `fn` on a fresh temporary folder, removed afterwards. */
function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool check rules` on these groups, written as a plain rules file. */
export function checkRules(groups: RuleGroup[]): PromtoolResult {
  return inTempDir((dir) => {
    const file = path.join(dir, 'rules.yaml');
    fs.writeFileSync(file, YAML.stringify({ groups }));
    return promtool('check', 'rules', file);
  });
}

/** The samples of a Prometheus text exposition (no timestamps: the service writes none). */
export function parseScrape(text: string): Sample[] {
  const out: Sample[] = [];
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/gm)) {
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value, series: m[1]! + (m[2] ?? '') });
  }
  return out;
}

/** A value in promtool's series notation. */
const written = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/** The evaluation (one a minute, from 0) at which an alert pending from the first one fires: its `for:` in minutes, rounded up. */
function firesAt(duration = '0s'): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  const parts = [...duration.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.map((p) => p[0]).join('') !== duration) throw new Error(`cannot read the duration ${duration}`);
  return Math.ceil(parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0) / 60);
}

/**
 * `promtool test rules` with the alert rules of k8s/base/prometheusrule.yaml on one scrape of
 * /metrics: each sample is held at its scraped value every minute until the longest `for:` has
 * passed. For each alert named in `expected`, the models it must fire for once its `for:` has
 * passed (an alert with the rule's labels and `model`, nothing else; `[]`: silent). With
 * `model`, only that model's series go in (the rules match series one to one, so a model's
 * alerts do not depend on other models' series), and every alert not in `expected` must be
 * silent for it.
 */
export function testAlerts(scrape: string, expected: Record<string, string[]>, opts: { model?: string } = {}): PromtoolResult {
  const groups = ruleGroups();
  const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
  for (const name of Object.keys(expected)) if (!alerts.some((r) => r.alert === name)) throw new Error(`no alert ${name} in ${PROMETHEUS_RULE}`);
  const samples = parseScrape(scrape).filter((s) => opts.model === undefined || s.labels.model === undefined || s.labels.model === opts.model);
  const end = Math.max(...alerts.map((r) => firesAt(r.for)));
  const checks = alerts.flatMap((r) => {
    const models = expected[r.alert!] ?? (opts.model === undefined ? undefined : []);
    if (!models) return [];
    return [{ eval_time: `${firesAt(r.for)}m`, alertname: r.alert, exp_alerts: models.map((model) => ({ exp_labels: { ...r.labels, model } })) }];
  });
  if (!checks.length) throw new Error('no alert to check');
  // The annotations render $value, which promtool compares as text: left out here; `promtool
  // check rules` (test/deploy/k8s.test.ts) checks their templates.
  const bare = groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _, ...r }) => r) }));
  const unit = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: samples.map((s) => ({ series: s.series, values: Array(end + 1).fill(written(s.value)).join(' ') })),
        alert_rule_test: checks,
      },
    ],
  };
  return inTempDir((dir) => {
    fs.writeFileSync(path.join(dir, 'rules.yaml'), YAML.stringify({ groups: bare }));
    fs.writeFileSync(path.join(dir, 'alerts.test.yaml'), YAML.stringify(unit));
    return promtool('test', 'rules', path.join(dir, 'alerts.test.yaml'));
  });
}

/** Asserts that {@link testAlerts} passes; the failure message is promtool's report. */
export function assertAlerts(scrape: string, expected: Record<string, string[]>, opts: { model?: string } = {}, what = ''): void {
  const r = testAlerts(scrape, expected, opts);
  assert.equal(r.status, 0, `${what}${opts.model ? ` (${opts.model})` : ''}: expected ${JSON.stringify(expected)}\n${r.output}`);
}
