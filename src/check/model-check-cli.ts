// npm run model:check -- <dir>: what a user bringing a model folder needs to see before serving
// it. Loads it exactly as the server does, so every refusal here is the server's own.
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config.js';
import { createRuntime, type ModelRuntime } from '../core/runtime.js';
import { ModelTarget, type RequestItem } from '../core/scoring-target.js';
import { createMetrics } from '../metrics.js';
import { ModelLoadError, tokenIdIn, type ModelFolder } from '../model/model-folder.js';

const USAGE = `usage: npm run model:check -- <model folder>

Loads a model folder as the server would (settings such as MAX_LENGTH_CAP come from the
environment) and prints every resolved setting with where it came from, a sample conversation
as rendered and tokenized (special tokens visible), whether it starts with two BOS tokens, the
padding self-check and the sample's reward. Exits 1 on any problem, 2 on bad usage.`;

/**
 * A sample that exercises the chat template (system, user, assistant) or the string template;
 * for a process reward model, a response in steps (the service adds the step tags).
 */
function sample(folder: ModelFolder): RequestItem {
  const prompt = 'How do I boil an egg?';
  const response = 'Put it in boiling water for nine minutes, then cool it in cold water.';
  if (folder.reward.steps !== null) return { prompt, steps: ['Put it in boiling water for nine minutes.', 'Then cool it in cold water.'] };
  if (folder.chatTemplate === null || folder.reward.inputFormat === 'pair') return { prompt, response };
  return {
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: prompt },
      { role: 'assistant', content: response },
    ],
  };
}

/** Two BOS tokens at the start: the template wrote one and something added another. */
function doubleBos(folder: ModelFolder, ids: readonly number[]): string | null {
  const bos = folder.specialTokens.bos_token;
  const id = bos === undefined ? undefined : tokenIdIn(folder.tokenizerJson, bos);
  if (id === undefined || ids[0] !== id || ids[1] !== id) return null;
  return `the sample starts with two BOS tokens (${bos}): the chat template writes one and the tokenizer adds another`;
}

function settings(rt: ModelRuntime): string[] {
  const { folder } = rt;
  const s = folder.sources;
  const row = (name: string, value: unknown, source: string) => `  ${name.padEnd(14)} ${String(value).padEnd(28)} ${source}`;
  return [
    `model ${folder.name} (${folder.modelPath})`,
    `  inputs ${rt.backend.info.inputs.map((i) => i.name).join(', ')}; logits ${rt.outputType} [batch, ${rt.numLabels}]; heads ${rt.headNames.join(', ')}`,
    'settings:',
    row('input_format', folder.reward.inputFormat, s.input_format),
    row('max_length', folder.reward.maxLength, s.max_length),
    row('pad_token_id', folder.padTokenId, s.pad_token_id),
    row('chat_template', folder.chatTemplate === null ? 'none' : 'yes', s.chat_template),
    row('template', JSON.stringify(folder.reward.template), s.template),
    row('reward_head', rt.headNames[rt.head], s.reward_head),
    row('normalization', JSON.stringify(folder.reward.normalization), s.normalization),
    row('temperature', folder.reward.temperature, s.temperature),
  ];
}

/** Runs the check; returns the report lines and the problems found. */
export async function checkModel(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ lines: string[]; problems: string[] }> {
  const config = loadConfig({ ...env, MODEL_DIR: dir, INFER_WORKERS: '1', TOKENIZER_WORKERS: '1' }, []);
  const lines: string[] = [];
  const problems: string[] = [];
  let rt: ModelRuntime;
  try {
    rt = await createRuntime(config, createMetrics());
  } catch (err) {
    if (!(err instanceof ModelLoadError)) throw err;
    return { lines, problems: [err.message] };
  }
  try {
    lines.push(...settings(rt));
    const target = new ModelTarget(rt);
    const item = sample(rt.folder);
    const [shown] = await target.tokenize([item], { truncation: 'auto' });
    lines.push('sample, as rendered:', JSON.stringify(shown!.text));
    if (shown!.textPair !== undefined) lines.push('second text of the pair:', JSON.stringify(shown!.textPair));
    lines.push(`tokens (${shown!.ids.length}):`, shown!.tokens.map((t, i) => `${shown!.ids[i]}:${t}`).join(' '));
    const bos = doubleBos(rt.folder, shown!.ids);
    if (bos) problems.push(bos);
    try {
      await rt.selfCheck();
      lines.push('padding self-check: passed (probe rewards equal alone and right-padded)');
    } catch (err) {
      if (!(err instanceof ModelLoadError)) throw err;
      problems.push(err.message);
    }
    const scored = await target.score([item], { truncation: 'auto' });
    lines.push(`sample reward: ${scored.rewards[0]}`);
  } finally {
    await rt.close();
  }
  return { lines, problems };
}

async function main(argv: string[]): Promise<void> {
  const dir = argv.find((a) => !a.startsWith('-'));
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  if (!dir || argv.length !== 1) {
    console.error(USAGE);
    process.exit(2);
  }
  const { lines, problems } = await checkModel(dir);
  for (const l of lines) console.log(l);
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  console.log(problems.length === 0 ? 'ok: no problem found' : `${problems.length} problem(s): do not serve this folder as it is`);
  process.exit(problems.length === 0 ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`model:check failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    process.exit(1);
  });
}
