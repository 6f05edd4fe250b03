import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Formatter } from '../../src/format/format.js';
import { HH_TEMPLATE } from '../../src/model/model-folder.js';

test('the HH template joins prompt and response; the prefix ends where the response starts', () => {
  const f = new Formatter(HH_TEMPLATE).format({ prompt: 'Hi there', response: 'Hello!' });
  assert.equal(f.text, '\n\nHuman: Hi there\n\nAssistant: Hello!');
  assert.equal(f.prefix, '\n\nHuman: Hi there\n\nAssistant: ');
});

test('text after {response} stays with the response; replacement patterns in user text stay literal', () => {
  const f = new Formatter('<|user|>{prompt}<|assistant|>{response}<|end|>').format({ prompt: "$& $' $1", response: '$`' });
  assert.equal(f.text, "<|user|>$& $' $1<|assistant|>$`<|end|>");
  assert.equal(f.prefix, "<|user|>$& $' $1<|assistant|>");
});

test('pre-formatted text is read as is, with no prompt part', () => {
  assert.deepEqual(new Formatter(HH_TEMPLATE).format({ text: 'already {prompt} formatted' }), {
    text: 'already {prompt} formatted',
    prefix: null,
    cutLastTurn: true,
  });
});
