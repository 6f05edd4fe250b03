import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/app.js';
import { checkLinks, githubSlug, parseMarkdown } from '../helpers/markdown.js';

// Every relative link of every Markdown file git knows (README.md, docs/, models/, importer/,
// bench/, k8s/, test fixtures …): the file or folder it names exists, and its #anchor is a
// heading of the target page under GitHub's rules. Links inside code (fenced blocks, code
// spans) and HTML comments are not links; http(s) and mailto links are not checked.

/** Files git tracks, and new files it does not ignore: what a commit of this tree would hold. */
function gitFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((f) => f !== '' && !f.split('/').includes('node_modules') && fs.existsSync(path.join(ROOT, f)));
}

const files = gitFiles();
const listed = new Set(files);
const pages = new Map(files.filter((f) => f.endsWith('.md')).map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));

test('every relative link in the Markdown files resolves, and so does its anchor', () => {
  for (const must of ['README.md', 'docs/README.md', 'docs/api.md', 'docs/configuration.md', 'models/README.md', 'importer/README.md', 'bench/RESULTS.md']) {
    assert.ok(pages.has(must), `${must} is one of the pages checked`);
  }
  const links = [...pages.values()].reduce((n, text) => n + parseMarkdown(text).links.length, 0);
  assert.ok(links > 50, `only ${links} links found: the reader is broken`);
  const problems = checkLinks(pages, listed).map((p) => `${p.file}:${p.line}: (${p.dest}) ${p.problem}`);
  assert.deepEqual(problems, []);
});

test('README.md and docs/: every fenced block names its language, every "not run" line sits on a block', () => {
  for (const [file, text] of pages) {
    if (file !== 'README.md' && !file.startsWith('docs/')) continue;
    const md = parseMarkdown(text);
    for (const b of md.codeBlocks) assert.notEqual(b.lang, '', `${file}:${b.line}: a fence without a language (sh for shell)`);
    const markers = text.split('\n').filter((l) => /^\s*<!--\s*not run:/.test(l));
    const attached = md.codeBlocks.filter((b) => b.notRun !== null);
    assert.equal(markers.length, attached.length, `${file}: a <!-- not run: … --> line must be the line just above a fence`);
    for (const b of attached) assert.ok(b.notRun!.length > 0 && b.lang === 'sh', `${file}:${b.line}: "not run" marks sh blocks, with a reason`);
  }
});

test("anchors follow GitHub's slugs: punctuation dropped, code kept without backticks, repeats numbered", () => {
  assert.equal(githubSlug('Quick start'), 'quick-start');
  const md = parseMarkdown(
    [
      '# OpenRLHF (`--reward.remote_url`, older `--remote_rm_url`)',
      '## Text Embeddings Inference clients (`/predict`, `/rerank`)',
      '## GPU: NVIDIA H100 80GB HBM3 (issue "GPU")',
      '### Real size (`--only scale`)',
      '## Über *café* and _emphasis_ in snake_case',
      '## A',
      '## A-1',
      '## A',
      '## [Linked](x.md) <code>html</code>',
      'Setext',
      '------',
      '```sh',
      '# not a heading',
      '```',
      '#not-a-heading-either',
      '## Closed ##',
    ].join('\n'),
  );
  assert.deepEqual(
    md.headings.map((h) => h.slug),
    [
      'openrlhf---rewardremote_url-older---remote_rm_url',
      'text-embeddings-inference-clients-predict-rerank',
      'gpu-nvidia-h100-80gb-hbm3-issue-gpu',
      'real-size---only-scale',
      'über-café-and-emphasis-in-snake_case',
      'a',
      'a-1',
      'a-2',
      'linked-html',
      'setext',
      'closed',
    ],
  );
});

test('links in code blocks, code spans and comments do not count; sh blocks carry their "not run" reason', () => {
  const md = parseMarkdown(
    [
      'See [one](a.md), [two](<b c.md> "title") and ![img](i.png),',
      'a link whose text [wraps',
      'a line](d.md#x), `[code](no.md)` and <!-- [comment](no.md) -->.',
      '``` sh',
      '[fenced](no.md)',
      '```',
      '~~~~',
      '```',
      '[still fenced](no.md)',
      '~~~~',
      '<!-- not run: needs a cluster -->',
      '```sh',
      'kubectl apply -k .',
      '```',
      '[ref]: e.md',
    ].join('\n'),
  );
  assert.deepEqual(
    md.links.map((l) => [l.dest, l.line]),
    [
      ['a.md', 1],
      ['b c.md', 1],
      ['i.png', 1],
      ['d.md#x', 2],
      ['e.md', 15],
    ],
  );
  assert.deepEqual(
    md.codeBlocks.map((b) => [b.lang, b.line, b.notRun]),
    [
      ['sh', 4, null],
      ['', 7, null],
      ['sh', 12, 'needs a cluster'],
    ],
  );
});

test('a missing file, a missing anchor, a heading only in a code block and a non-Markdown anchor are reported', () => {
  const site = new Map([
    ['README.md', '# Title\n\n## Usage\n\n## Usage\n\n```sh\n# Hidden\n```\n'],
    [
      'docs/page.md',
      [
        '[ok](../README.md#usage-1) [ok](#local) [ok](../src/) [ok](../src/a.ts#L3-L9) [ok](https://example.com/#x) [ok](mailto:a@b.c)',
        '## Local',
        '[missing file](../nowhere.md)',
        '[missing anchor](../README.md#usage-2)',
        '[fenced heading](../README.md#hidden)',
        '[yaml anchor](../src/a.ts#section)',
        '[above the root](../../README.md)',
        '[ignored file](../dist/a.js)',
      ].join('\n'),
    ],
  ]);
  const problems = checkLinks(site, new Set(['README.md', 'docs/page.md', 'src/a.ts']));
  assert.deepEqual(
    problems.map((p) => [p.line, p.dest]),
    [
      [3, '../nowhere.md'],
      [4, '../README.md#usage-2'],
      [5, '../README.md#hidden'],
      [6, '../src/a.ts#section'],
      [7, '../../README.md'],
      [8, '../dist/a.js'],
    ],
  );
});
