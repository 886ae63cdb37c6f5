// Python/Jinja2 semantics where @huggingface/jinja 0.5.13 differs in ways real chat templates hit:
// - str.strip/lstrip/rstrip(chars) ignored `chars` and stripped whitespace (Qwen3: content.lstrip('\n'));
// - text a loop iteration printed before {% continue %} or {% break %} was lost.
// The runtime's value classes are not exported; they are reached through a value the Environment creates.
import { Environment, Interpreter } from '@huggingface/jinja';

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

type Statements = unknown[];
interface LoopControl extends Error {
  partialText?: string;
}
/** One loop being rendered: its body, how its iterations ended, text printed before a break. */
interface LoopFrame {
  body: Statements;
  completed: number;
  continued: number;
  breakText: string[];
}
interface PatchedInterpreter {
  renderBlock(statements: Statements, environment: unknown): string;
  renderFor(node: { body: Statements; defaultBlock?: Statements }, environment: unknown): string;
  loopFrames?: LoopFrame[];
}

const controlName = (error: unknown): string | undefined =>
  error instanceof Error && ['ContinueControl', 'BreakControl'].includes(error.constructor.name) ? error.constructor.name : undefined;

/**
 * Keep what a loop body printed before continue/break (the library rendered blocks all-or-nothing), while
 * keeping Jinja2's rule that `{% else %}` runs when no iteration ran to its end.
 */
function keepTextBeforeLoopControl(): void {
  const proto = Interpreter.prototype as unknown as PatchedInterpreter;
  const { renderBlock, renderFor } = proto;
  if (typeof renderBlock !== 'function' || typeof renderFor !== 'function') return;
  proto.renderBlock = function (this: PatchedInterpreter, statements, environment) {
    const frame = this.loopFrames?.at(-1);
    const isLoopBody = frame?.body === statements;
    let text = '';
    for (const statement of statements) {
      try {
        text += renderBlock.call(this, [statement], environment);
      } catch (error) {
        const control = controlName(error);
        if (control === undefined) throw error;
        const printed = text + ((error as LoopControl).partialText ?? '');
        if (!isLoopBody) {
          (error as LoopControl).partialText = printed;
          throw error;
        }
        if (control === 'ContinueControl') {
          frame!.continued += 1;
          return printed;
        }
        frame!.breakText.push(printed);
        throw error;
      }
    }
    if (isLoopBody) frame!.completed += 1;
    return text;
  };
  proto.renderFor = function (this: PatchedInterpreter, node, environment) {
    const frame: LoopFrame = { body: node.body, completed: 0, continued: 0, breakText: [] };
    (this.loopFrames ??= []).push(frame);
    let text: string;
    try {
      text = renderFor.call(this, node, environment) + frame.breakText.join('');
    } finally {
      this.loopFrames.pop();
    }
    if (frame.completed === 0 && frame.continued > 0 && node.defaultBlock?.length) text += proto.renderBlock.call(this, node.defaultBlock, environment);
    return text;
  };
}

export function applyJinjaFixes(): void {
  if (applied) return;
  applied = true;
  keepTextBeforeLoopControl();
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
