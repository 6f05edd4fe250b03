import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import YAML from 'yaml';
import { loadConfig, SETTING_NAMES } from '../../src/config.js';
import { K8S, renderDir, validate, type Obj } from '../helpers/kustomize.js';
import { scrapeMetrics, type ExportedMetric } from '../helpers/metrics.js';
import { checkRules, ruleGroups } from '../helpers/promtool.js';

// Rendering with the real kustomize binary and validation against the Kubernetes and
// prometheus-operator schemas: test/helpers/kustomize.ts. The prometheus-adapter rule has no
// published schema: it is checked against what /metrics exports. Sizes: k8s-sizes.test.ts.
const OVERLAYS = ['cpu', 'gpu'] as const;

const render = (overlay: string): Obj[] => renderDir(path.join(K8S, 'overlays', overlay));

const one = (objs: Obj[], kind: string) => {
  const found = objs.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};
const subset = (small: Record<string, string>, big: Record<string, string> | undefined) => Object.entries(small).every(([k, v]) => big?.[k] === v);

let metrics: Map<string, ExportedMetric>;
before(async () => {
  metrics = await scrapeMetrics();
});

test('the validator rejects what the API server would (a check that could fail)', async () => {
  const [deployment] = render('cpu').filter((o) => o.kind === 'Deployment');
  const broken = structuredClone(deployment!);
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  broken.spec.template.spec.containers[0].resources.limits.memory = '2 gigabytes';
  await assert.rejects(validate(broken), /containerPort must be integer.*|memory must/s);
  await assert.rejects(validate({ ...deployment!, apiVersion: 'example.com/v1' }), /no schema known/);
});

for (const overlay of OVERLAYS) {
  test(`k8s/overlays/${overlay}: renders, and every object is valid against its schema`, async () => {
    const objs = render(overlay);
    assert.deepEqual(objs.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PrometheusRule', 'Service', 'ServiceMonitor']);
    for (const o of objs) await validate(o).catch((e: Error) => assert.fail(`${o.kind}/${o.metadata.name}: ${e.message}`));
  });

  test(`k8s/overlays/${overlay}: pod probes, security context, resources, drain timing`, () => {
    const objs = render(overlay);
    const pod = one(objs, 'Deployment').spec.template.spec;
    const [c] = pod.containers;
    assert.equal(c.startupProbe.httpGet.path, '/health/ready', 'startup waits for the model');
    assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 300, 'at least 5 min to load a model');
    assert.equal(c.readinessProbe.httpGet.path, '/health/ready');
    assert.equal(c.livenessProbe.httpGet.path, '/health/live');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.deepEqual(
      { ro: c.securityContext.readOnlyRootFilesystem, esc: c.securityContext.allowPrivilegeEscalation, drop: c.securityContext.capabilities.drop },
      { ro: true, esc: false, drop: ['ALL'] },
    );
    for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) assert.ok(c.resources[kind]?.[r], `${kind}.${r}`);
    assert.equal(c.resources.limits['nvidia.com/gpu'], overlay === 'gpu' ? 1 : undefined);
    assert.match(c.image, /:\d+\.\d+\.\d+$/, 'a fixed image tag');

    // SIGTERM comes after preStop; the drain (SHUTDOWN_GRACE_MS) must end before the kill.
    const settings = one(objs, 'ConfigMap').data!;
    assert.equal(c.envFrom[0].configMapRef.name, one(objs, 'ConfigMap').metadata.name);
    const config = loadConfig(settings, []);
    const [cmd, seconds] = c.lifecycle.preStop.exec.command as string[];
    assert.equal(cmd, 'sleep');
    assert.ok(Number(seconds) >= 5, 'endpoints need a few seconds to drop the pod');
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > Number(seconds) * 1000 + config.shutdownGraceMs, `${pod.terminationGracePeriodSeconds} s grace < ${seconds} s + ${config.shutdownGraceMs} ms`);
  });

  test(`k8s/overlays/${overlay}: settings are real, valid settings; selectors and ports line up`, () => {
    const objs = render(overlay);
    const settings = one(objs, 'ConfigMap').data!;
    for (const k of Object.keys(settings)) assert.ok(SETTING_NAMES.includes(k), `${k} is a setting of src/config.ts`);
    const config = loadConfig(settings, []);
    assert.equal(config.host, '0.0.0.0');

    const deployment = one(objs, 'Deployment');
    const pod = deployment.spec.template;
    const [c] = pod.spec.containers;
    const http = c.ports.find((p: { name: string }) => p.name === 'http');
    assert.equal(http.containerPort, config.port);
    assert.ok(subset(deployment.spec.selector.matchLabels, pod.metadata.labels));
    for (const spread of pod.spec.topologySpreadConstraints) assert.ok(subset(spread.labelSelector.matchLabels, pod.metadata.labels), 'spread counts these pods');

    const service = one(objs, 'Service');
    assert.ok(Object.keys(service.spec.selector).length && subset(service.spec.selector, pod.metadata.labels), 'the Service selects the pods');
    assert.equal(service.spec.ports[0].targetPort, 'http');
    assert.ok(subset(one(objs, 'PodDisruptionBudget').spec.selector.matchLabels, pod.metadata.labels), 'the PDB selects the pods');
    const monitor = one(objs, 'ServiceMonitor');
    assert.ok(subset(monitor.spec.selector.matchLabels, service.metadata.labels), 'the ServiceMonitor selects the Service');
    assert.deepEqual(monitor.spec.endpoints.map((e: { port: string; path: string }) => [e.port, e.path]), [['http', '/metrics']]);
  });

  test(`k8s/overlays/${overlay}: the autoscaler's metric is served by the adapter rule from a metric /metrics exports`, () => {
    const objs = render(overlay);
    const hpa = one(objs, 'HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: one(objs, 'Deployment').metadata.name });
    assert.ok(hpa.spec.minReplicas >= 1 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    const [m] = hpa.spec.metrics;
    assert.equal(m.type, 'Pods', 'a per-pod custom metric');

    const adapter = YAML.parse(fs.readFileSync(path.join(K8S, 'prometheus-adapter', 'values.yaml'), 'utf8'));
    const rule = adapter.rules.custom.find((r: { name: { as: string } }) => r.name.as === m.pods.metric.name);
    assert.ok(rule, `an adapter rule serves ${m.pods.metric.name}`);
    const series = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{/.exec(rule.seriesQuery)![1]!;
    assert.equal(metrics.get(series)?.type, 'gauge', `${series} is a gauge the service exports`);
    assert.match(series, new RegExp(rule.name.matches));
    assert.deepEqual(rule.resources.overrides, { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } }, 'per pod');
    assert.match(rule.metricsQuery, /<<\.Series>>\{<<\.LabelMatchers>>\}.*by \(<<\.GroupBy>>\)/);
    const config = loadConfig(one(objs, 'ConfigMap').data!, []);
    assert.ok(Number(m.pods.target.averageValue) < config.maxQueueItems, 'scales before the queue is full and 429s start');
  });
}

test('k8s/base/prometheusrule.yaml: alerts on the reward watch, each reading only series /metrics exports', async () => {
  const [rule] = render('cpu').filter((o) => o.kind === 'PrometheusRule');
  await validate(rule!);
  const broken = structuredClone(rule!);
  broken.spec.groups[0].rules[0].for = 15;
  await assert.rejects(validate(broken), /for/);
  const rules = rule!.spec.groups.flatMap((g: { rules: unknown[] }) => g.rules) as { alert: string; expr: string; for: string; annotations: Record<string, string> }[];
  assert.ok(rules.length >= 4);
  for (const r of rules) {
    assert.match(r.for, /^\d+m$/, `${r.alert}: waits before firing`);
    assert.ok(r.annotations.summary?.includes('$labels.model'), `${r.alert}: names the model`);
    const names = [...r.expr.matchAll(/\b(reward_\w+)/g)].map((m) => m[1]!);
    assert.ok(names.length > 0);
    for (const n of names) assert.ok(metrics.has(n), `${r.alert}: ${n} is exported`);
  }
});

test('k8s/base/prometheusrule.yaml: `promtool check rules` accepts its groups (expressions, durations, templates), and refuses a broken copy', () => {
  const groups = ruleGroups();
  const ok = checkRules(groups);
  assert.equal(ok.status, 0, ok.output);
  assert.match(ok.output, new RegExp(`SUCCESS: ${groups.flatMap((g) => g.rules).length} rules found`));
  // What the schema lets through: a PromQL syntax error, and an annotation template that does not parse.
  const broken = structuredClone(groups);
  broken[0]!.rules[0]!.expr += ' >';
  assert.equal(checkRules(broken).status, 1);
  const template = structuredClone(groups);
  template[0]!.rules[0]!.annotations!.summary = '{{ $labels.model ';
  assert.equal(checkRules(template).status, 1);
});
