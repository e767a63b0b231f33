/**
 * Ultralytics writes the export arguments into ONNX metadata as `args`, `str()` of a Python dict:
 * `{'batch': 1, 'half': False, 'dynamic': False, 'simplify': True, 'opset': None, 'nms': False}`.
 * Only a few flags matter to yolo-trt (nms, dynamic, half), so this reads the top-level keys whose values
 * are Python/JSON scalars and skips over anything nested. Nothing is evaluated.
 *
 * `args` is a hint, not a contract: text that does not parse gives null and the tensor shapes decide.
 */

export type ArgValue = boolean | number | string | null;

/** The scalar top-level entries of an `args` dict literal, or null when it is not one. */
export function parseExportArgs(text: string): Map<string, ArgValue> | null {
  const r = new Scanner(text);
  try {
    const out = new Map<string, ArgValue>();
    r.expect('{');
    while (!r.accept('}')) {
      const key = r.string();
      r.expect(':');
      const value = r.value();
      if (value !== undefined) out.set(key, value);
      if (!r.accept(',')) {
        r.expect('}');
        break;
      }
    }
    if (!r.atEnd()) return null;
    return out;
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

/** A boolean flag of the export args: `True`/`False` (Python) or `true`/`false` (JSON); else null. */
export function exportFlag(args: Map<string, ArgValue> | null, key: string): boolean | null {
  const v = args?.get(key);
  return typeof v === 'boolean' ? v : null;
}

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(): never {
    throw new SyntaxError(`unexpected text at offset ${this.pos}`);
  }

  peek(): string | undefined {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
    return this.text[this.pos];
  }

  expect(ch: string): void {
    if (this.peek() !== ch) this.fail();
    this.pos++;
  }

  accept(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos++;
    return true;
  }

  atEnd(): boolean {
    return this.peek() === undefined;
  }

  /** A quoted string; escapes are kept as written except \\ and the quote (keys and values are plain). */
  string(): string {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') this.fail();
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.text[this.pos++];
      if (ch === undefined) this.fail();
      if (ch === quote) return out;
      if (ch === '\\') {
        const next = this.text[this.pos++];
        if (next === undefined) this.fail();
        out += next === quote || next === '\\' ? next : `\\${next}`;
      } else {
        out += ch;
      }
    }
  }

  /** A value: scalars are returned, nested lists/tuples/dicts are skipped (undefined). */
  value(): ArgValue | undefined {
    const ch = this.peek();
    if (ch === "'" || ch === '"') return this.string();
    if (ch === '[' || ch === '(' || ch === '{') {
      this.skipNested();
      return undefined;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_.]*|^[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?/.exec(
      this.text.slice(this.pos),
    );
    if (!m) this.fail();
    this.pos += m[0].length;
    const word = m[0];
    if (word === 'True' || word === 'true') return true;
    if (word === 'False' || word === 'false') return false;
    if (word === 'None' || word === 'null') return null;
    const n = Number(word.replace(/_/g, ''));
    return Number.isFinite(n) ? n : word;
  }

  private skipNested(): void {
    const closers: string[] = [];
    do {
      const ch = this.peek();
      if (ch === undefined) this.fail();
      if (ch === "'" || ch === '"') {
        this.string();
        continue;
      }
      this.pos++;
      if (ch === '[') closers.push(']');
      else if (ch === '(') closers.push(')');
      else if (ch === '{') closers.push('}');
      else if (ch === ']' || ch === ')' || ch === '}') {
        if (closers.pop() !== ch) this.fail();
      }
    } while (closers.length > 0);
  }
}
