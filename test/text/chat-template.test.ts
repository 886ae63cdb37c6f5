// Chat templates render to the same text and ids as transformers' apply_chat_template.
import { describe, expect, it } from 'vitest';
import { ChatTemplateError, PreTrainedTokenizer } from '../../lib/index.js';
import { expected, FAMILIES, folder } from './fixtures.js';

const WITH_TEMPLATES = FAMILIES.filter((family) => expected(family).chat.length > 0);

describe.each(WITH_TEMPLATES)('the %s chat template', (family) => {
  const tokenizer = PreTrainedTokenizer.fromDirectory(folder(family));
  const cases = expected(family).chat.map((c, i) => [`${i} (generation prompt: ${c.add_generation_prompt})`, c] as const);

  it.each(cases)('renders conversation %s as transformers does', (_, c) => {
    const options = { addGenerationPrompt: c.add_generation_prompt, tools: c.tools ?? undefined };
    if (c.error !== undefined) {
      expect(() => tokenizer.applyChatTemplate(c.messages, { ...options, tokenize: false })).toThrow(ChatTemplateError);
      expect(() => tokenizer.applyChatTemplate(c.messages, options)).toThrow(c.error);
      return;
    }
    expect(tokenizer.applyChatTemplate(c.messages, { ...options, tokenize: false })).toBe(c.text);
    expect(tokenizer.applyChatTemplate(c.messages, options)).toEqual(c.ids);
  });
});

describe('chat template rules', () => {
  const llama3 = PreTrainedTokenizer.fromDirectory(folder('llama3'));
  const messages = [{ role: 'user', content: 'Hi' }];

  it('does not add a second BOS when tokenizing a template that writes bos_token', () => {
    const ids = llama3.applyChatTemplate(messages);
    expect(ids.filter((id) => id === llama3.bosTokenId)).toHaveLength(1);
    expect(llama3.encode(llama3.applyChatTemplate(messages, { tokenize: false })).filter((id) => id === llama3.bosTokenId)).toHaveLength(2);
  });

  it('reads chat_template.jinja when the config has no template (Mistral folder)', () => {
    const mistral = PreTrainedTokenizer.fromDirectory(folder('mistral'));
    expect(mistral.applyChatTemplate(messages, { tokenize: false })).toBe('<s>[INST] Hi [/INST]');
  });

  it('continues a final assistant message without closing the turn', () => {
    const qwen = PreTrainedTokenizer.fromDirectory(folder('qwen2'));
    const text = qwen.applyChatTemplate([...messages, { role: 'assistant', content: 'Hel' }], { tokenize: false, continueFinalMessage: true });
    expect(text.endsWith('<|im_start|>assistant\nHel')).toBe(true);
  });

  it('gives a clear error when there is no template, or it does not parse', () => {
    const gpt2 = PreTrainedTokenizer.fromDirectory(folder('gpt2'));
    expect(() => gpt2.applyChatTemplate(messages)).toThrow(/has no chat template/);
    expect(() => gpt2.applyChatTemplate(messages, { chatTemplate: '{% for m in %}' })).toThrow(/does not parse/);
  });

  it("strips only the given characters in strip/lstrip/rstrip(chars), as Python does", () => {
    const render = (source: string): string => llama3.applyChatTemplate(messages, { tokenize: false, chatTemplate: source });
    expect(render(`{{ "\\n  x\\n".lstrip("\\n") }}|{{ "xxaxx".strip("x") }}|{{ "ab  ".rstrip() }}|`)).toBe('  x\n|a|ab|');
  });

  it('keeps what a loop iteration printed before continue or break, as Jinja2 does', () => {
    const render = (source: string): string => llama3.applyChatTemplate(messages, { tokenize: false, chatTemplate: source });
    expect(render('{% for m in [1,2,3] %}{% if m == 2 %}X{% continue %}{% endif %}{{ m }}{% endfor %}')).toBe('1X3');
    expect(render('{% for m in [1,2,3] %}{{ m }}{% if m == 2 %}B{% break %}{% endif %}{% endfor %}.')).toBe('12B.');
    expect(render('{% for m in [1] %}{% continue %}{% else %}E{% endfor %}|')).toBe('E|');
    expect(render('{% for m in [1,2] %}{% if m == 1 %}{% continue %}{% endif %}{{ m }}{% else %}E{% endfor %}|')).toBe('2|');
    expect(render('{% for m in [1] %}{% break %}{% else %}E{% endfor %}|')).toBe('E|');
    expect(render('{% for a in [1,2] %}{% for b in [1,2,3] %}{{ a }}{{ b }}{% if b == 2 %}!{% break %}{% endif %}{% endfor %};{% endfor %}'))
      .toBe('1112!;2122!;');
  });

  it('passes extra variables to the template', () => {
    const text = llama3.applyChatTemplate(messages, { tokenize: false, chatTemplate: '{{ greeting }} {{ bos_token }}', templateKwargs: { greeting: 'hey' } });
    expect(text).toBe('hey <|begin_of_text|>');
  });
});
