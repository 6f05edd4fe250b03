import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SETTING_NAMES } from '../../src/config.js';
import { ROOT } from '../helpers/app.js';
import { all, copyOf, envOf, execForm, isIgnored, parseDockerfile, readDockerignore, type Stage } from '../helpers/dockerfile.js';

const DOCKERFILES = ['docker/Dockerfile', 'docker/Dockerfile.cuda'];
const read = (f: string) => parseDockerfile(fs.readFileSync(path.join(ROOT, f), 'utf8'));
const ignore = readDockerignore(path.join(ROOT, '.dockerignore'));
const final = (stages: Stage[]) => stages.at(-1)!;
// The Node 24 release .ci/run runs the suite on a second time; the images use the same one.
const NODE24 = /^NODE24=(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8'))?.[1];
// Variables the image may set besides the service's own settings.
const OTHER_ENV = new Set(['NODE_ENV', 'ORT_DISABLE_TELEMETRY']);
const SECRET_NAME = /(^|_)(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?|AUTH)(_|$)/i;
const SECRET_VALUE = /-----BEGIN|\b(sk|pk|ghp|gho|xox[abp]|glpat)[-_][A-Za-z0-9]{8,}|AKIA[0-9A-Z]{16}|\b[A-Za-z0-9+/_-]{32,}={0,2}/;

test('the reader understands what the Dockerfiles use (and refuses what it cannot place)', () => {
  const [stage] = parseDockerfile('# c\nFROM --platform=linux/amd64 a:1@sha256:00 AS b\nENV A=1 \\\n  # inside\n  B="two words"\nCOPY --from=x s1 s2 /d/\nHEALTHCHECK --interval=5s CMD ["node", "-e", "1"]\n');
  assert.equal(stage!.image, 'a:1@sha256:00');
  assert.equal(stage!.name, 'b');
  assert.deepEqual(envOf(all(stage!, 'ENV')[0]!), { A: '1', B: 'two words' });
  assert.deepEqual(copyOf(all(stage!, 'COPY')[0]!), { from: 'x', sources: ['s1', 's2'], dest: '/d/' });
  assert.deepEqual(execForm(all(stage!, 'HEALTHCHECK')[0]!), ['node', '-e', '1']);
  assert.equal(all(stage!, 'HEALTHCHECK')[0]!.flags.interval, '5s');
  assert.throws(() => parseDockerfile('RUN true\n'), /before FROM/);
});

for (const file of DOCKERFILES) {
  test(`${file}: every base image is pinned to an exact version and a digest`, () => {
    const stages = read(file);
    assert.ok(stages.length >= 2, 'multi-stage');
    const names = new Set(stages.map((s) => s.name));
    for (const { image } of stages) {
      if (names.has(image)) continue; // FROM an earlier stage
      assert.match(image, /^[\w./-]+:\d+(\.\d+){2}[\w.-]*@sha256:[0-9a-f]{64}$/, image);
    }
    for (const s of stages) {
      for (const c of all(s, 'COPY').filter((i) => i.flags.from && !names.has(i.flags.from))) {
        assert.match(c.flags.from!, /@sha256:[0-9a-f]{64}$/, `COPY --from=${c.flags.from} is not pinned`);
      }
    }
  });

  test(`${file}: the Node images are Node 24 LTS, the very release .ci/run tests with`, () => {
    const images = read(file).map((s) => s.image).filter((i) => i.startsWith('node:'));
    assert.ok(images.length >= 2, 'the build stage and the stage that installs are Node images');
    assert.match(NODE24 ?? '', /^24\.\d+\.\d+$/, '.ci/run sets NODE24=24.x.y');
    for (const image of images) assert.equal(/^node:(\d+\.\d+\.\d+)-/.exec(image)?.[1], NODE24, image);
  });

  test(`${file}: the final stage runs as a numeric non-root user, with a readiness health check`, () => {
    const stage = final(read(file));
    const users = all(stage, 'USER');
    assert.ok(users.length, 'USER is set');
    const [uid, gid] = users.at(-1)!.args.split(':');
    assert.match(uid!, /^\d+$/, 'numeric, so Kubernetes can verify runAsNonRoot');
    assert.notEqual(Number(uid), 0);
    if (gid !== undefined) assert.notEqual(Number(gid), 0);
    // Nothing after USER may switch back to root.
    assert.ok(stage.instructions.indexOf(users.at(-1)!) > stage.instructions.findLastIndex((i) => i.keyword === 'RUN'), 'no RUN after USER');

    const [hc] = all(stage, 'HEALTHCHECK');
    assert.ok(hc, 'HEALTHCHECK');
    const cmd = execForm(hc);
    assert.equal(cmd[0], 'node', 'slim images have no curl: the check is Node itself');
    assert.match(cmd.join(' '), /\/health\/ready/);
    assert.deepEqual(execForm(all(stage, 'CMD').at(-1)!), ['node', 'dist/src/server.js']);
  });

  test(`${file}: environment: the container binds 0.0.0.0, only real settings, no secrets`, () => {
    const stages = read(file);
    const env = Object.assign({}, ...all(final(stages), 'ENV').map(envOf)) as Record<string, string>;
    assert.equal(env.HOST, '0.0.0.0');
    // The CPU image bakes the small default model in for the quick start; the CUDA image carries no
    // model: MODEL_DIR is a folder on a volume mounted at /models (k8s-sizes.test.ts checks its value).
    const models = stages.flatMap((s) => all(s, 'COPY').map(copyOf)).filter((c) => !c.from && c.sources.some((src) => /^models(\/|$)/.test(src)));
    if (file === 'docker/Dockerfile') {
      assert.equal(env.MODEL_DIR, '/app/models/default');
      assert.deepEqual(models.map((c) => c.sources), [['models/default']]);
    } else {
      assert.match(env.MODEL_DIR!, /^\/models\/[^/]+$/, 'the model comes from a volume');
      assert.deepEqual(models, [], 'no model inside the CUDA image');
    }
    assert.equal(env.ORT_DISABLE_TELEMETRY, '1', 'ONNX Runtime writes telemetry files under $HOME and $TMPDIR otherwise');
    for (const name of Object.keys(env)) assert.ok(SETTING_NAMES.includes(name) || OTHER_ENV.has(name), `${name} is not a setting`);
    for (const s of stages) {
      for (const ins of [...all(s, 'ENV'), ...all(s, 'ARG'), ...all(s, 'LABEL')]) {
        const pairs = ins.keyword === 'ENV' ? envOf(ins) : Object.fromEntries(ins.args.split(/\s+/).map((a) => a.split('=')));
        for (const [k, v] of Object.entries(pairs)) {
          assert.doesNotMatch(k, SECRET_NAME, `${file}:${ins.line} ${k} looks like a secret`);
          assert.doesNotMatch(String(v ?? ''), SECRET_VALUE, `${file}:${ins.line} ${k} has a key-like value`);
        }
      }
    }
    assert.match('ghp_abcdefghijklmnop1234', SECRET_VALUE, 'the secret pattern catches a token');
  });

  test(`${file}: production install in its own stage; every copied file is in the build context`, () => {
    const stages = read(file);
    const runs = (s: Stage) => all(s, 'RUN').map((r) => r.args);
    assert.ok(stages.some((s) => runs(s).some((r) => /\bnpm ci\b.*--omit=dev/.test(r))), 'a stage installs with npm ci --omit=dev');
    const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));
    assert.ok(build && runs(build).some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')), 'the build stage has the full install (typescript)');
    assert.notEqual(build, final(stages), 'the build stage is not the image');
    const names = new Set(stages.map((s) => s.name));
    for (const s of stages) {
      for (const c of all(s, 'COPY').map(copyOf).filter((c) => !c.from)) {
        for (const src of c.sources) {
          assert.ok(fs.existsSync(path.join(ROOT, src)), `${src} exists`);
          assert.equal(isIgnored(ignore, src), false, `${src} is excluded by .dockerignore`);
        }
      }
      // Stage copies name a stage of this file or a pinned image.
      for (const c of all(s, 'COPY').map(copyOf).filter((c) => c.from)) assert.ok(names.has(c.from) || c.from!.includes('@sha256:'), c.from);
    }
  });
}

test('.dockerignore keeps node_modules, .git, build output, data sets and env files out of the context', () => {
  for (const p of ['node_modules', 'node_modules/fastify/package.json', '.git', '.git/HEAD', 'dist/src/server.js', 'src/node_modules/x', 'models/data/README.md', 'models/build/build.sh', '.env', 'test/config.test.ts', 'README.md', 'scripts/install-cuda13.mjs', '.ci/run']) {
    assert.equal(isIgnored(ignore, p), true, p);
  }
  for (const p of ['package.json', 'package-lock.json', '.npmrc', 'src/server.ts', 'src/http/routes/score.ts', 'models/default/model.onnx', 'openapi.yaml', 'scripts/install-cuda12.sh']) {
    assert.equal(isIgnored(ignore, p), false, p);
  }
});
