import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from './app.js';

/** The alert expressions of k8s/base/prometheusrule.yaml by alert name. */
export function alertRules(): Record<string, string> {
  const rule = YAML.parse(fs.readFileSync(path.join(ROOT, 'k8s', 'base', 'prometheusrule.yaml'), 'utf8')) as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
  return Object.fromEntries(rule.spec.groups.flatMap((g) => g.rules).map((r) => [r.alert, r.expr]));
}
