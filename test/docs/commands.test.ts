// Every shell command the Markdown files show is run here, or its block says why not: the curl
// examples against a real server started as the block says (`MODELS=... npm start`), the --help,
// the kustomize renders and the quick CLIs. A block marked `<!-- not run: reason -->` is left
// out (named in a diagnostic line); any other command this file does not know how to run fails,
// naming its file and line.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { SETTING_NAMES } from '../../src/config.js';
import { ROOT } from '../helpers/app.js';
import { normalized, shellBlocks, sketchKeys, splitCommands, type DocCommand, type Token } from '../helpers/doc-blocks.js';
import { renderDir } from '../helpers/kustomize.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';

const run = promisify(execFile);

/**
 * Commands CI runs itself (`.ci/run`), which a test cannot rerun from inside `npm test`: each
 * with the `.ci/run` lines that run it, checked to be there.
 */
const RUN_BY_CI: Record<string, readonly string[]> = {
  'npm ci': ['npm ci --no-audit --no-fund'],
  'npm test': ['npm test'],
  'python3 -m venv .venv && .venv/bin/pip install --retries 0 --timeout 2 -r importer/requirements-test.txt': [
    'python3 -m venv .venv',
    '.venv/bin/pip install --quiet --retries 0 --timeout 2 -r importer/requirements-test.txt',
  ],
  'PYTHON=.venv/bin/python npm run test:import': ['PYTHON=.venv/bin/python npm run test:import'],
};

/** `npm run` scripts that only read (no file written, nothing downloaded) and finish in seconds. */
const RUNNABLE_SCRIPTS = new Set(['eval', 'model:check']);

/** How the test runs one command. */
type Plan =
  | { kind: 'ci'; lines: readonly string[] }
  | { kind: 'help' }
  | { kind: 'server'; env: Record<string, string>; args: string[] }
  | { kind: 'curl'; args: string[]; pipeline: boolean }
  | { kind: 'render'; dir: string }
  | { kind: 'script'; script: string; env: Record<string, string>; args: string[] }
  | { kind: 'unknown'; why: string };

const isWord = (t: Token): t is { word: string; expands: boolean } => 'word' in t;
const LOCAL = /^(https?:\/\/)?(localhost|127\.0\.0\.1):\d+(\/|$)/;

/** Leading `NAME=value` words, and the words after them (null if an operator or expansion follows). */
function envAndWords(tokens: readonly Token[]): { env: Record<string, string>; words: string[] } | null {
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    const m = isWord(t) && !t.expands ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(t.word) : null;
    if (!m) break;
    env[m[1]!] = m[2]!;
  }
  const rest = tokens.slice(i);
  if (!rest.every((t) => isWord(t) && !t.expands)) return null;
  return { env, words: rest.map((t) => (t as { word: string }).word) };
}

function plan(cmd: DocCommand): Plan {
  const line = normalized(cmd);
  const ci = RUN_BY_CI[line];
  if (ci) return { kind: 'ci', lines: ci };
  const first = cmd.tokens[0]!;
  if (isWord(first) && first.word === 'curl') {
    const pipe = cmd.tokens.findIndex((t) => !isWord(t));
    const head = pipe === -1 ? cmd.tokens : cmd.tokens.slice(0, pipe);
    const ops = cmd.tokens.filter((t) => !isWord(t)).map((t) => (t as { op: string }).op);
    if (ops.some((o) => o !== '|')) return { kind: 'unknown', why: `curl with ${ops.join(' ')}` };
    if (head.some((t) => isWord(t) && t.expands)) return { kind: 'unknown', why: 'curl with a shell expansion' };
    const args = head.slice(1).map((t) => (t as { word: string }).word);
    if (!args.some((a) => LOCAL.test(a))) return { kind: 'unknown', why: 'curl to a host other than localhost' };
    return { kind: 'curl', args, pipeline: pipe !== -1 };
  }
  const ew = envAndWords(cmd.tokens);
  if (!ew) return { kind: 'unknown', why: 'an operator or expansion this test does not run' };
  const { env, words } = ew;
  const w = words.join(' ');
  const noEnv = Object.keys(env).length === 0;
  if (noEnv && (w === 'node dist/src/server.js --help' || w === 'npm start -- --help')) return { kind: 'help' };
  if (w === 'npm start') return { kind: 'server', env, args: [] };
  if (words[0] === 'node' && words[1] === 'dist/src/server.js' && !words.includes('--help')) return { kind: 'server', env, args: words.slice(2) };
  if (noEnv && words.length === 3 && ((words[0] === 'kubectl' && words[1] === 'kustomize') || (words[0] === 'kustomize' && words[1] === 'build'))) {
    return { kind: 'render', dir: words[2]! };
  }
  if (words[0] === 'npm' && words[1] === 'run' && RUNNABLE_SCRIPTS.has(words[2]!) && (words.length === 3 || words[3] === '--')) {
    return { kind: 'script', script: words[2]!, env, args: words.slice(4) };
  }
  return { kind: 'unknown', why: `\`${words[0] ?? line}\` is not a kind of command this test runs` };
}

/** Tracked Markdown files (every one outside node_modules and dist where git is absent). */
function markdownFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z', '--', '*.md'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
  } catch {
    const skip = new Set(['node_modules', 'dist', '.git', '.venv']);
    const walk = (dir: string): string[] =>
      fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.posix.join(dir, e.name);
        if (e.isDirectory()) return skip.has(e.name) ? [] : walk(rel);
        return e.name.endsWith('.md') ? [rel] : [];
      });
    return walk('');
  }
}

async function startServer(env: Record<string, string>, args: string[]): Promise<ServerProcess> {
  // The test picks the port; the curls below are pointed at it.
  const { PORT: _, ...rest } = env;
  const s = await spawnServer(rest, args);
  // A start that hangs must not outlive the test: killed, it fails waitFor.
  const bound = setTimeout(() => s.proc.kill('SIGKILL'), 120_000);
  try {
    await s.waitFor(/"default model"/);
  } finally {
    clearTimeout(bound);
  }
  return s;
}

async function stopServer(s: ServerProcess): Promise<void> {
  s.proc.kill('SIGTERM');
  await s.exited;
}

let defaultServer: Promise<ServerProcess> | null = null;
after(async () => {
  if (defaultServer) await stopServer(await defaultServer);
});

/** A curl of the docs, against `server`: exit 0, a status below 400, and the reply the note sketches. */
async function runCurl(cmd: DocCommand, p: { args: string[]; pipeline: boolean }, server: ServerProcess, where: string): Promise<void> {
  const to = (s: string) => s.replace(/(localhost|127\.0\.0\.1):\d+/g, `127.0.0.1:${server.port}`);
  const { stdout } = await run('curl', [...p.args.map(to), '--max-time', '60', '-w', '\n%{http_code}'], { maxBuffer: 64 << 20 }).catch((err: { code: number | string; stderr: string }) => {
    // No stand-in for curl: the docs show curl, so curl itself runs them (.ci/run installs it).
    if (err.code === 'ENOENT') throw new assert.AssertionError({ message: `${where}: curl is not installed; these examples need it` });
    throw new assert.AssertionError({ message: `${where}: curl exited ${err.code}: ${err.stderr}` });
  });
  const cut = stdout.lastIndexOf('\n');
  const status = Number(stdout.slice(cut + 1));
  let body = stdout.slice(0, cut);
  assert.ok(status >= 200 && status < 400, `${where}: HTTP ${status}: ${body.slice(0, 500)}`);
  let shown = body;
  if (p.pipeline) {
    const piped = await run('sh', ['-c', to(cmd.source)], { cwd: ROOT, timeout: 60_000 }).catch((err: { code: number; stdout: string }) => {
      throw new assert.AssertionError({ message: `${where}: the pipeline exited ${err.code}: ${err.stdout}` });
    });
    shown = piped.stdout;
  }
  if (/^HTTP\//.test(body)) body = body.slice(body.search(/\r?\n\r?\n/)).trim();
  const note = cmd.note.trim();
  if (note.startsWith('{')) {
    // The reply sketched below the command: its top-level keys must all be in the real one.
    let reply: unknown;
    assert.doesNotThrow(() => (reply = JSON.parse(body)), `${where}: the doc sketches JSON, the reply is not: ${body.slice(0, 300)}`);
    assert.ok(reply && typeof reply === 'object' && !Array.isArray(reply), `${where}: the reply is not a JSON object`);
    const have = Object.keys(reply as object);
    for (const key of sketchKeys(note)) assert.ok(have.includes(key), `${where}: the doc shows "${key}", the reply has only ${have.join(', ')}`);
  } else {
    // A note naming response headers (x-...): each is in what the command prints.
    for (const h of note.match(/\bx-[a-z][a-z-]*[a-z]/gi) ?? []) assert.match(shown, new RegExp(`^${h}:`, 'im'), `${where}: no ${h} header in the output`);
  }
}

async function runCommand(t: TestContext, cmd: DocCommand, p: Plan, server: () => Promise<ServerProcess>, where: string): Promise<ServerProcess | void> {
  switch (p.kind) {
    case 'ci': {
      const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8').split('\n').map((l) => l.trim());
      for (const l of p.lines) assert.ok(ci.includes(l), `${where}: .ci/run does not run \`${l}\``);
      t.diagnostic(`run by CI: .ci/run runs ${p.lines.map((l) => `\`${l}\``).join(' and ')}`);
      return;
    }
    case 'help': {
      // `npm start` builds, then runs this; the test has built already.
      const { stdout } = await run(process.execPath, ['dist/src/server.js', '--help'], { cwd: ROOT });
      for (const name of SETTING_NAMES) assert.match(stdout, new RegExp(`--${name.toLowerCase().replace(/_/g, '-')} \\(${name}\\)`), `${where}: --help lacks ${name}`);
      return;
    }
    case 'server':
      return startServer(p.env, p.args);
    case 'curl':
      return runCurl(cmd, p, await server(), where);
    case 'render': {
      let objects: unknown[] = [];
      assert.doesNotThrow(() => (objects = renderDir(path.resolve(ROOT, p.dir))), `${where}: kustomize cannot render ${p.dir}`);
      assert.ok(objects.length > 0, `${where}: ${p.dir} renders nothing`);
      return;
    }
    case 'script': {
      const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
      // The script builds, then runs one compiled file: the test runs that file.
      const js = /&& node (\S+)$/.exec(scripts[p.script] ?? '')?.[1];
      assert.ok(js, `${where}: package.json's ${p.script} is not "build && node FILE"`);
      await run(process.execPath, [js, ...p.args], { cwd: ROOT, env: { ...process.env, ...p.env }, timeout: 120_000, maxBuffer: 64 << 20 }).catch(
        (err: { code: number; stderr: string }) => {
          throw new assert.AssertionError({ message: `${where}: exited ${err.code}: ${err.stderr.slice(-1000)}` });
        },
      );
      return;
    }
    case 'unknown':
      assert.fail(`${where}: cannot run \`${normalized(cmd)}\` here (${p.why}): make it runnable, or mark its block <!-- not run: reason -->`);
  }
}

test('the block reader splits commands as sh does and keeps the sketch below each', () => {
  const blocks = shellBlocks(
    [
      'text',
      '```sh',
      "curl -s localhost:8080/score -d '{",
      '  "items": [1]}'  + "'",
      '# {"model":"m","rewards":[...],',
      '#  "usage":{"tokens":...}}',
      '',
      'A=1 B="two words" npm start   # trailing comment',
      'ls \\',
      '  -l | grep x |',
      '  wc -l',
      "cat > f <<'EOF'",
      'not a command',
      'EOF',
      'echo done',
      '```',
      '<!-- not run: reasons -->',
      '',
      '```bash',
      'docker build .',
      '```',
      '<!-- not run: -->',
      '```sh',
      'x',
      '```',
      '```python',
      'print(1)',
      '```',
    ].join('\n'),
  );
  assert.deepEqual(
    blocks.map((b) => [b.line, b.notRun, b.commands.map((c) => [c.line, normalized(c)])]),
    [
      [
        2,
        null,
        [
          [3, 'curl -s localhost:8080/score -d {\n  "items": [1]}'],
          [8, 'A=1 B=two words npm start'],
          [9, 'ls -l | grep x | wc -l'],
          [12, 'cat > f << EOF'],
          [15, 'echo done'],
        ],
      ],
      [19, 'reasons', [[20, 'docker build .']]],
      [23, '', [[24, 'x']]],
    ],
  );
  assert.equal(blocks[0]!.commands[0]!.note, '{"model":"m","rewards":[...],\n "usage":{"tokens":...}}');
  assert.deepEqual(sketchKeys(blocks[0]!.commands[0]!.note), ['model', 'rewards', 'usage']);
  assert.deepEqual(sketchKeys('{"a":{"b":1},"c":["d:"],"e":"f: g",...}'), ['a', 'c', 'e']);
  assert.throws(() => splitCommands("echo 'open", 1), /never closed/);
});

test('every shell command of the Markdown files runs here, is run by CI, or its block says why not', async (t) => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'src', 'server.js')), 'build first');
  const files = markdownFiles();
  assert.ok(files.includes('README.md'));
  let ran = 0;
  for (const file of files) {
    for (const block of shellBlocks(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
      const at = `${file}:${block.line}`;
      if (block.notRun === '') {
        await t.test(at, () => assert.fail(`${at}: <!-- not run: --> gives no reason`));
        continue;
      }
      if (block.notRun !== null) {
        t.diagnostic(`${at} not run: ${block.notRun}`);
        continue;
      }
      await t.test(at, async (bt) => {
        // A server started by the block (`MODELS=... npm start`) serves its curls below it; before
        // one, the default server does. A start that failed leaves them none.
        let own: ServerProcess | null = null;
        let starts = false;
        const server = async () => {
          if (own) return own;
          assert.ok(!starts, 'the server this block starts above did not start');
          return (defaultServer ??= startServer({}, []));
        };
        try {
          for (const cmd of block.commands) {
            const where = `${file}:${cmd.line}`;
            const line = normalized(cmd);
            const name = `${where} ${line.length > 80 ? `${line.slice(0, 77)}...` : line}`.replace(/\n/g, ' ');
            const p = plan(cmd);
            if (p.kind === 'server') {
              if (own) await stopServer(own);
              own = null;
              starts = true;
            }
            await bt.test(name, { timeout: 180_000 }, async (ct) => {
              const started = await runCommand(ct, cmd, p, server, where);
              if (started) own = started;
            });
            if (p.kind !== 'unknown' && p.kind !== 'ci') ran++;
          }
        } finally {
          if (own) await stopServer(own);
        }
      });
    }
  }
  assert.ok(ran > 10, `only ${ran} commands ran`);
});
