// Makes @huggingface/jinja render chat templates as Python Jinja2 (what transformers uses)
// does, by replacing, once per thread, the parts of its runtime that follow JavaScript instead
// of Python: string methods (strip/lstrip/rstrip ignored their chars and used JavaScript's
// whitespace; split, title, capitalize), the trim/length/capitalize/title/string filters,
// `~`, `+`, `==`, `!=`, `in` and how booleans and containers print. The rest of the engine
// (parser, statements, loops, namespace, slicing, tojson) already matches on the golden set
// (test/format/chat-template-parity.test.ts). The engine exports Environment and Interpreter;
// its value classes are reached through values it creates.
import { Environment, Interpreter } from '@huggingface/jinja';
import { jinjaTitle, pyCapitalize, pyLen, pyReplace, pySplit, pyStrip, pyStrRepr, pyTitle } from './python-str.js';

/** The engine's runtime value, as far as this module reads it. */
interface Value {
  type: string;
  value: any;
  toString(): string;
}
type Ctor = new (value?: any) => Value;
type Fn = (args: Value[], scope: unknown) => Value;

const ctor = (v: unknown) => (new Environment().set('probe', v) as unknown as Value).constructor as Ctor;
const StringValue = ctor('');
const IntegerValue = ctor(1);
const BooleanValue = ctor(true);
const ArrayValue = ctor([]);
const ObjectValue = ctor({ a: 1 });
const NullValue = ctor(null);
const FunctionValue = ctor(() => null);

const str = (s: string) => new StringValue(s);
const fn = (f: Fn) => new FunctionValue(f);
const isStr = (v: Value | undefined): boolean => v?.type === 'StringValue';
const isNum = (v: Value) => v.type === 'IntegerValue' || v.type === 'FloatValue' || v.type === 'BooleanValue';
const isList = (v: Value) => v.type === 'ArrayValue' || v.type === 'TupleValue';
const isMap = (v: Value) => v.type === 'ObjectValue' || v.type === 'KeywordArgumentsValue';

/** Positional arguments and keyword arguments of a builtin call. */
function splitArgs(args: Value[]): [Value[], Map<string, Value>] {
  const last = args[args.length - 1];
  return last?.type === 'KeywordArgumentsValue' ? [args.slice(0, -1), last.value] : [args, new Map()];
}

/** A str / None argument (Python's `chars=None`, `sep=None`). */
function optStr(v: Value | undefined, what: string): string | null {
  if (v === undefined || v.type === 'NullValue' || v.type === 'UndefinedValue') return null;
  if (!isStr(v)) throw new Error(`${what} must be str or None, not ${v.type}`);
  return v.value as string;
}

function optInt(v: Value | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  if (v.type !== 'IntegerValue') throw new Error(`${what} must be an integer`);
  return v.value;
}

/** Python's str() of a value, as `~`, `|string` and output use it. */
export function pyStr(v: Value): string {
  switch (v.type) {
    case 'StringValue':
      return v.value;
    case 'BooleanValue':
      return v.value ? 'True' : 'False';
    case 'NullValue':
      return 'None';
    case 'UndefinedValue':
      return '';
    default:
      return pyRepr(v);
  }
}

function pyRepr(v: Value): string {
  switch (v.type) {
    case 'StringValue':
      return pyStrRepr(v.value);
    case 'ArrayValue':
      return `[${(v.value as Value[]).map(pyRepr).join(', ')}]`;
    case 'TupleValue': {
      const items = (v.value as Value[]).map(pyRepr);
      return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
    }
    case 'ObjectValue':
    case 'KeywordArgumentsValue':
      return `{${[...(v.value as Map<string, Value>)].map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
    case 'BooleanValue':
    case 'NullValue':
      return pyStr(v);
    default:
      return v.toString();
  }
}

/** Python's == between two values (numbers across int/float/bool; containers by content). */
function pyEquals(a: Value, b: Value): boolean {
  if (isNum(a) && isNum(b)) return Number(a.value) === Number(b.value);
  if (isList(a) && isList(b)) {
    const x = a.value as Value[];
    const y = b.value as Value[];
    return a.type === b.type && x.length === y.length && x.every((v, i) => pyEquals(v, y[i]!));
  }
  if (isMap(a) && isMap(b)) {
    const x = a.value as Map<string, Value>;
    const y = b.value as Map<string, Value>;
    return x.size === y.size && [...x].every(([k, v]) => y.has(k) && pyEquals(v, y.get(k)!));
  }
  if (a.type !== b.type) return false;
  return a.type === 'NullValue' || a.type === 'UndefinedValue' || a.value === b.value;
}

/** One of the methods of Python's str that templates call, bound to `s`, with Python's semantics. */
function stringMethod(s: string, name: string): Value | undefined {
  const strip = (side: 'both' | 'left' | 'right') => fn((args) => str(pyStrip(s, optStr(splitArgs(args)[0][0], 'chars'), side)));
  const affix = (test: (p: string) => boolean): Value =>
    fn((args) => {
      const p = args[0];
      if (isStr(p)) return new BooleanValue(test(p!.value));
      if (p && isList(p)) {
        return new BooleanValue(
          (p.value as Value[]).some((x) => {
            if (!isStr(x)) throw new Error(`${name}() tuple elements must be str`);
            return test(x.value);
          }),
        );
      }
      throw new Error(`${name}() first arg must be str or a tuple of str`);
    });
  switch (name) {
    case 'upper':
      return fn(() => str(s.toUpperCase()));
    case 'lower':
      return fn(() => str(s.toLowerCase()));
    case 'strip':
      return strip('both');
    case 'lstrip':
      return strip('left');
    case 'rstrip':
      return strip('right');
    case 'title':
      return fn(() => str(pyTitle(s)));
    case 'capitalize':
      return fn(() => str(pyCapitalize(s)));
    case 'startswith':
      return affix((p) => s.startsWith(p));
    case 'endswith':
      return affix((p) => s.endsWith(p));
    case 'split':
      return fn((args) => {
        const [pos, kw] = splitArgs(args);
        const sep = optStr(pos[0] ?? kw.get('sep'), 'sep');
        const max = optInt(pos[1] ?? kw.get('maxsplit'), -1, 'maxsplit');
        return new ArrayValue(pySplit(s, sep, max).map(str));
      });
    case 'replace':
      return fn((args) => {
        const [pos, kw] = splitArgs(args);
        const [old, repl] = pos;
        if (!isStr(old) || !isStr(repl)) throw new Error('replace() arguments must be str');
        return str(pyReplace(s, old!.value, repl!.value, optInt(pos[2] ?? kw.get('count'), -1, 'count')));
      });
    default:
      return undefined;
  }
}

/** Filters whose Jinja2 meaning on a str differs from the engine's. */
function stringFilter(name: string, s: string, args: Value[]): Value | undefined {
  switch (name) {
    case 'trim':
      return str(pyStrip(s, optStr(args[0], 'chars')));
    case 'length':
    case 'count':
      return new IntegerValue(pyLen(s));
    case 'capitalize':
      return str(pyCapitalize(s));
    case 'title':
      return str(jinjaTitle(s));
    default:
      return undefined;
  }
}

let installed = false;

/** These are the engine's internals (0.5.11): a release that renames them must fail loudly, not render differently. */
function checkEngine(): void {
  const proto = Interpreter.prototype as any;
  for (const m of ['applyFilter', 'evaluateBinaryExpression', 'evaluateArguments', 'evaluate']) {
    if (typeof proto[m] !== 'function') throw new Error(`@huggingface/jinja has no Interpreter.${m}; src/format/jinja-python.ts needs updating for this version`);
  }
  if (!Object.getOwnPropertyDescriptor(StringValue.prototype, 'builtins')?.get) {
    throw new Error('@huggingface/jinja StringValue has no builtins getter; src/format/jinja-python.ts needs updating for this version');
  }
}

/** Installs the Python semantics into @huggingface/jinja for this thread; idempotent. */
export function installPythonSemantics(): void {
  if (installed) return;
  installed = true;
  checkEngine();

  // String methods: the engine reads them with builtins.get(name); only the one asked for is made.
  Object.defineProperty(StringValue.prototype, 'builtins', {
    configurable: true,
    get(this: Value) {
      const s = this.value as string;
      return { get: (name: string) => stringMethod(s, name), has: (name: string) => stringMethod(s, name) !== undefined };
    },
  });
  // Output ({{ x }}) prints booleans and containers as Python's str() does.
  for (const C of [BooleanValue, ArrayValue, ObjectValue]) {
    Object.defineProperty(C.prototype, 'toString', { configurable: true, writable: true, value: function (this: Value) { return pyStr(this); } });
  }

  const proto = Interpreter.prototype as any;
  const applyFilter = proto.applyFilter as (operand: Value, node: any, env: unknown) => Value;
  proto.applyFilter = function (this: any, operand: Value, node: any, env: unknown): Value {
    const name: string | undefined = node.type === 'Identifier' ? node.value : node.callee?.type === 'Identifier' ? node.callee.value : undefined;
    if (name === 'string') return str(pyStr(operand));
    if (name !== undefined && isStr(operand)) {
      const args: Value[] = node.type === 'CallExpression' ? this.evaluateArguments(node.args, env)[0] : [];
      const out = stringFilter(name, operand.value, args);
      if (out) return out;
    }
    return applyFilter.call(this, operand, node, env);
  };

  const binary = proto.evaluateBinaryExpression as (node: any, env: unknown) => Value;
  proto.evaluateBinaryExpression = function (this: any, node: any, env: unknown): Value {
    const op: string = node.operator.value;
    if (!['~', '+', '==', '!=', 'in', 'not in'].includes(op)) return binary.call(this, node, env);
    const left: Value = this.evaluate(node.left, env);
    const right: Value = this.evaluate(node.right, env);
    switch (op) {
      case '~':
        return str(pyStr(left) + pyStr(right));
      case '==':
        return new BooleanValue(pyEquals(left, right));
      case '!=':
        return new BooleanValue(!pyEquals(left, right));
      case '+':
        if (isStr(left) && isStr(right)) return str(left.value + right.value);
        if (isList(left) && isList(right)) return new ArrayValue([...left.value, ...right.value]);
        if (isNum(left) && isNum(right)) return binary.call(this, { ...node, left: literal(left), right: literal(right) }, env);
        throw new Error(`unsupported operand type(s) for +: ${left.type} and ${right.type}`);
      default: {
        // `in` / `not in`
        let found: boolean;
        if (isStr(right)) {
          if (!isStr(left)) throw new Error(`'in <string>' requires string as left operand, not ${left.type}`);
          found = right.value.includes(left.value);
        } else if (isList(right)) found = (right.value as Value[]).some((x) => pyEquals(left, x));
        else if (isMap(right) || right.type === 'NamespaceValue') found = isStr(left) && (right.value as Map<string, Value>).has(left.value);
        else if (right.type === 'UndefinedValue') found = false;
        else throw new Error(`argument of type ${right.type} is not iterable`);
        return new BooleanValue(op === 'in' ? found : !found);
      }
    }
  };
}

/** An already evaluated value as an AST node the engine evaluates to itself. */
function literal(v: Value) {
  return { type: v.type === 'IntegerValue' ? 'IntegerLiteral' : 'FloatLiteral', value: Number(v.value) };
}
