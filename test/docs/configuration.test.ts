import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CONFIGURATION_COMMAND, CONFIGURATION_PAGE, configurationPage } from '../../src/config-docs.js';
import { SETTING_NAMES, helpText } from '../../src/config.js';
import { ROOT } from '../helpers/app.js';

const committed = () => fs.readFileSync(path.join(ROOT, CONFIGURATION_PAGE), 'utf8');

test(`${CONFIGURATION_PAGE} is what the SETTINGS table renders today`, () => {
  const want = configurationPage();
  const have = committed();
  if (have === want) return;
  // Name the first differing line: a whole-page diff of 60 long rows says nothing.
  const a = have.split('\n');
  const b = want.split('\n');
  const i = a.findIndex((line, k) => line !== b[k]);
  const at = i === -1 ? b.length : i;
  assert.fail(
    `${CONFIGURATION_PAGE} is stale: run \`${CONFIGURATION_COMMAND}\` and commit it.\n` +
      `line ${at + 1}:\n  committed: ${a[at] ?? '(none)'}\n  generated: ${b[at] ?? '(none)'}`,
  );
});

test('the page has one row per setting, and --help the same settings in the same order', () => {
  const page = committed();
  const rows = [...page.matchAll(/^\| `([A-Z0-9_]+)` \| `(--[a-z0-9-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(rows, [...SETTING_NAMES]);
  const help = [...helpText().matchAll(/^ {2}--[a-z0-9-]+ \(([A-Z0-9_]+)\)/gm)].map((m) => m[1]);
  assert.deepEqual(help, [...SETTING_NAMES]);
});

test('the page does not depend on the machine that rendered it', () => {
  // TOKENIZER_WORKERS defaults to a share of this machine's cores: the page says so in words.
  assert.match(committed(), /^\| `TOKENIZER_WORKERS` \| `--tokenizer-workers` \| cores ÷ 2, 1 to 4 \|/m);
});
