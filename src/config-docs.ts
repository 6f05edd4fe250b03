// docs/configuration.md, written from the SETTINGS table of config.ts so that the page, `--help`
// and the parser cannot drift apart. `npm run docs:config` writes it; test/docs/configuration.test.ts
// fails while the committed page differs from what this renders.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, settingDocs, type SettingDoc } from './config.js';
import { projectRoot } from './util/project-root.js';

/** Where the page lives, relative to the project root. */
export const CONFIGURATION_PAGE = 'docs/configuration.md';

/** The command that rewrites the page. */
export const CONFIGURATION_COMMAND = 'npm run docs:config';

/** A table cell: a `|` would end the cell, a newline the row. */
const cell = (md: string) => md.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function defaultCell(s: SettingDoc): string {
  if (s.defaultText) return s.defaultText;
  return s.default === '' ? '(empty)' : `\`${s.default}\``;
}

/** The one line the process prints for an invalid value, taken from the parser itself. */
function invalidValueLine(): string {
  try {
    loadConfig({ MAX_WAIT_MS: '-1' });
  } catch (err) {
    // server.ts prefixes it so, then exits with status 2.
    if (err instanceof ConfigError) return `config error: ${err.message}`;
    throw err;
  }
  throw new Error('MAX_WAIT_MS=-1 was accepted');
}

/** The whole of docs/configuration.md, rendered from the settings table. */
export function configurationPage(): string {
  const rows = settingDocs().map((s) => {
    const meaning = s.more ? `${s.help}; ${s.more}` : s.help;
    return `| \`${s.name}\` | \`${s.flag}\` | ${cell(defaultCell(s))} | ${cell(s.accepts)} | ${cell(meaning)} |`;
  });
  return [
    `<!-- Generated from SETTINGS in src/config.ts by \`${CONFIGURATION_COMMAND}\`; edit the table there, not this file. -->`,
    '',
    '# Configuration',
    '',
    'Every setting is an environment variable or the matching flag (`MAX_BATCH_SIZE` ↔',
    '`--max-batch-size`); a flag wins over its variable, and either over the default. They are',
    'parsed once by zod at startup and frozen. An invalid value stops the process before it listens,',
    'with exit status 2 and one line naming the setting, its flag and what it accepts:',
    '',
    '```text',
    invalidValueLine(),
    '```',
    '',
    'Lists are comma-separated, spaces around an entry ignored; booleans are `true`, `false`, `1` or',
    '`0`. `node dist/src/server.js --help` (or `npm start -- --help`) prints this table in short.',
    '',
    '| variable | flag | default | accepts | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

// Run when executed directly (`npm run docs:config`), not when a test imports the renderer.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = path.join(projectRoot(), CONFIGURATION_PAGE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, configurationPage());
  console.log(`wrote ${CONFIGURATION_PAGE}`);
}
