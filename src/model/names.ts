/**
 * Parsers for Ultralytics' ONNX metadata values. Ultralytics writes `str(value)` of Python objects, so
 * `names` is a Python dict literal (`{0: 'person', 1: "traffic light"}`), `imgsz` a list (`[640, 640]`).
 * These are parsed by a small recursive-descent reader of exactly that literal grammar; nothing is ever
 * evaluated. JSON (`{"0": "person"}`, `["person"]`) is accepted too, since other exporters write it.
 */
import { YoloTrtError } from '../errors.js';

function invalid(what: string, message: string): YoloTrtError {
  return new YoloTrtError('ERR_MODEL_INVALID', `Invalid '${what}' metadata in the model: ${message}`, {
    details: { metadata: what },
  });
}

/** Shows the text around a position, for error messages. */
function excerpt(text: string, pos: number): string {
  const start = Math.max(0, pos - 20);
  const snippet = text.slice(start, pos + 20).replace(/\s+/g, ' ');
  return `${start > 0 ? '...' : ''}${snippet}${pos + 20 < text.length ? '...' : ''}`;
}

/** One-character escapes shared by Python and JSON string literals. */
const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/', // JSON only; Python keeps "\/" as two characters, handled below
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** A cursor over a Python/JSON literal: just enough grammar for dicts/lists of ints and strings. */
class LiteralReader {
  pos = 0;
  constructor(
    readonly text: string,
    readonly what: string,
  ) {}

  fail(message: string): never {
    throw invalid(this.what, `${message} at offset ${this.pos} (near "${excerpt(this.text, this.pos)}")`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  peek(): string | undefined {
    this.skipSpace();
    return this.text[this.pos];
  }

  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  /** Consumes `ch` if it is next. */
  accept(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos++;
    return true;
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  /** A non-negative decimal integer (Python ints may contain '_' separators). */
  integer(): number {
    this.skipSpace();
    const m = /^[0-9][0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) this.fail('expected an integer');
    this.pos += m[0].length;
    const value = Number(m[0].replace(/_/g, ''));
    if (!Number.isSafeInteger(value)) this.fail(`integer ${m[0]} is too large`);
    return value;
  }

  /** A quoted string, Python ('...' or "...") or JSON ("..."), with escapes decoded. */
  string(): string {
    this.skipSpace();
    const quote = this.text[this.pos];
    if (quote !== "'" && quote !== '"') this.fail('expected a quoted string');
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.text[this.pos];
      if (ch === undefined) this.fail('unterminated string');
      if (ch === quote) {
        this.pos++;
        return out;
      }
      if (ch === '\n' || ch === '\r') this.fail('line break inside a string');
      if (ch !== '\\') {
        out += ch;
        this.pos++;
        continue;
      }
      out += this.escape();
    }
  }

  /** Decodes the escape sequence at `pos` (which is the backslash). */
  private escape(): string {
    const next = this.text[this.pos + 1];
    if (next === undefined) this.fail('unterminated string');
    this.pos += 2;
    if (next === '\n') return ''; // Python line continuation inside a literal
    if (next === 'x') return String.fromCodePoint(this.hex(2));
    if (next === 'u') return String.fromCharCode(this.hex(4)); // JSON surrogate pairs combine naturally
    if (next === 'U') {
      const cp = this.hex(8);
      if (cp > 0x10ffff) this.fail(`escape \\U${cp.toString(16)} is outside Unicode`);
      return String.fromCodePoint(cp);
    }
    if (next >= '0' && next <= '7') {
      // Python octal escape: up to three digits.
      let digits = next;
      while (digits.length < 3 && /[0-7]/.test(this.text[this.pos] ?? '')) digits += this.text[this.pos++];
      return String.fromCodePoint(parseInt(digits, 8));
    }
    if (next === '/') return '/';
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) return simple;
    // Python keeps unknown escapes verbatim ('\d' is backslash + d).
    return '\\' + next;
  }

  private hex(count: number): number {
    const digits = this.text.slice(this.pos, this.pos + count);
    if (digits.length !== count || !/^[0-9a-fA-F]+$/.test(digits)) {
      this.fail(`expected ${count} hex digits in an escape`);
    }
    this.pos += count;
    return parseInt(digits, 16);
  }
}

/**
 * Parses `names`: `{0: 'person', 1: 'bicycle'}` (Python dict), `{"0": "person"}` (JSON object) or a
 * list of strings. Returns names indexed by class id; ids must be exactly 0..n-1.
 */
export function parseNames(text: string): string[] {
  const what = 'names';
  const r = new LiteralReader(text, what);
  const byId = new Map<number, string>();
  if (r.accept('[')) {
    // A plain list: ids are positions.
    while (!r.accept(']')) {
      byId.set(byId.size, r.string());
      if (!r.accept(',')) {
        r.expect(']');
        break;
      }
    }
  } else {
    r.expect('{');
    while (!r.accept('}')) {
      const keyPos = r.pos;
      const next = r.peek();
      // JSON object keys are strings ("0"); Python dict keys are ints.
      const id = next === '"' || next === "'" ? stringKeyToId(r) : r.integer();
      r.expect(':');
      const name = r.string();
      if (byId.has(id)) {
        r.pos = keyPos;
        r.fail(`class id ${id} appears twice`);
      }
      byId.set(id, name);
      if (!r.accept(',')) {
        r.expect('}');
        break;
      }
    }
  }
  if (!r.atEnd()) r.fail('unexpected text after the end');
  if (byId.size === 0) throw invalid(what, 'it lists no classes');
  const names: string[] = [];
  for (let id = 0; id < byId.size; id++) {
    const name = byId.get(id);
    if (name === undefined) {
      const max = Math.max(...byId.keys());
      throw invalid(
        what,
        `class ids must be 0..${byId.size - 1} without gaps, but id ${id} is missing (largest id ${max})`,
      );
    }
    names.push(name);
  }
  return names;
}

function stringKeyToId(r: LiteralReader): number {
  const keyPos = r.pos;
  const key = r.string();
  if (!/^(0|[1-9][0-9]*)$/.test(key) || !Number.isSafeInteger(Number(key))) {
    r.pos = keyPos;
    r.fail(`class id '${key}' is not a non-negative integer`);
  }
  return Number(key);
}

/**
 * Parses `imgsz`: `[640, 640]` / `(640, 640)` / `[640]` / `640`, returned as [height, width]
 * (Ultralytics' order). Every value must be a positive integer.
 */
export function parseImgsz(text: string): [number, number] {
  const what = 'imgsz';
  const r = new LiteralReader(text, what);
  const values: number[] = [];
  const open = r.peek();
  if (open === '[' || open === '(') {
    const close = open === '[' ? ']' : ')';
    r.pos++;
    while (!r.accept(close)) {
      values.push(r.integer());
      if (!r.accept(',')) {
        r.expect(close);
        break;
      }
    }
  } else {
    values.push(r.integer());
  }
  if (!r.atEnd()) r.fail('unexpected text after the end');
  if (values.length < 1 || values.length > 2 || values.some((v) => v <= 0)) {
    throw invalid(what, `expected one or two positive integers ([height, width]) but received '${text}'`);
  }
  const h = values[0] as number;
  const w = values[1] ?? h;
  return [h, w];
}

/** Parses a positive integer metadata value such as `stride` ("32") or `batch` ("1"). */
export function parsePositiveInt(what: string, text: string): number {
  const trimmed = text.trim();
  // Python may write an int as a float ("32.0") if it came from a tensor.
  const m = /^([0-9]+)(\.0*)?$/.exec(trimmed);
  const value = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalid(what, `expected a positive integer but received '${text}'`);
  }
  return value;
}
