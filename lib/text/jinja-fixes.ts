// Python semantics for str.strip/lstrip/rstrip(chars) in @huggingface/jinja, which ignores `chars` and strips
// whitespace (Qwen3's template calls content.lstrip('\n') on text that may start with spaces). The runtime's
// value classes are not exported, so they are reached through a value the Environment creates.
import { Environment } from '@huggingface/jinja';

interface RuntimeValue {
  value: unknown;
}
type FunctionValueClass = new (fn: (args: RuntimeValue[]) => RuntimeValue) => RuntimeValue;
type StringValueClass = new (value: string) => RuntimeValue;

function stripChars(text: string, chars: string, left: boolean, right: boolean): string {
  const set = new Set(chars);
  const cps = [...text];
  let start = 0;
  let end = cps.length;
  while (left && start < end && set.has(cps[start]!)) start++;
  while (right && end > start && set.has(cps[end - 1]!)) end--;
  return cps.slice(start, end).join('');
}

let applied = false;

export function applyJinjaFixes(): void {
  if (applied) return;
  applied = true;
  const env = new Environment();
  env.set('probe', 'x');
  const probe = env.lookupVariable('probe') as unknown as RuntimeValue & { builtins: Map<string, RuntimeValue> };
  const StringValue = probe.constructor as StringValueClass;
  const FunctionValue = probe.builtins.get('upper')?.constructor as FunctionValueClass | undefined;
  const descriptor = Object.getOwnPropertyDescriptor(StringValue.prototype, 'builtins');
  if (!FunctionValue || !descriptor?.get) return; // a library version without these internals: leave it as it is
  const original = descriptor.get;
  Object.defineProperty(StringValue.prototype, 'builtins', {
    configurable: true,
    get(this: RuntimeValue) {
      const builtins = original.call(this) as Map<string, RuntimeValue>;
      if (!builtins.has('__node_peft_strip')) {
        const text = String(this.value);
        for (const [name, left, right] of [['strip', true, true], ['lstrip', true, false], ['rstrip', false, true]] as const) {
          const fallback = builtins.get(name)!;
          builtins.set(name, new FunctionValue((args) => {
            const chars = args[0]?.value;
            if (typeof chars !== 'string') return (fallback as unknown as { value: (a: RuntimeValue[]) => RuntimeValue }).value(args);
            return new StringValue(stripChars(text, chars, left, right));
          }));
        }
        builtins.set('__node_peft_strip', new StringValue(''));
      }
      return builtins;
    },
  });
}
