// The metadata parsers: Ultralytics writes Python literals (str(dict), str(list)); we read them without
// eval, and JSON too.
import { describe, expect, it } from 'vitest';
import { parseImgsz, parseNames, parsePositiveInt } from '../../dist/model/names.js';
import { isYoloTrtError } from '../../dist/errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isYoloTrtError(err) ? err.code : `not a YoloTrtError: ${String(err)}`;
  }
  return undefined;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('parseNames', () => {
  it('reads an Ultralytics dict literal', () => {
    expect(parseNames("{0: 'person', 1: 'bicycle', 2: 'traffic light'}")).toEqual([
      'person',
      'bicycle',
      'traffic light',
    ]);
  });

  it('reads mixed quotes, escapes, whitespace and a trailing comma', () => {
    const text = `{
      0: 'it\\'s',
      1: "say \\"hi\\"",
      2 : 'back\\\\slash' ,
      3: "a 'quoted' word",
      4: 'tab\\there',
      5: 'caf\\xe9',
      6: '\\u00fcber',
      7: '\\U0001F600',
      8: 'keep \\d as is',
      9: '\\101\\102',
    }`;
    expect(parseNames(text)).toEqual([
      "it's",
      'say "hi"',
      'back\\slash',
      "a 'quoted' word",
      'tab\there',
      'café',
      'über',
      '😀',
      'keep \\d as is',
      'AB',
    ]);
  });

  it("reads what Python 3's str(dict) prints for nasty names", () => {
    // Printed by python3 -c "print(str({0: \"it's\", ...}))" (Python chooses the quotes and escapes).
    const printed = String.raw`{0: "it's", 1: 'say "hi"', 2: 'both \' and "', 3: 'back\\slash', 4: 'new\nline', 5: 'tab\there', 6: 'bell\x07', 7: 'café', 8: '\u200b zero width', 9: '😀', 10: '\x00nul'}`;
    expect(parseNames(printed)).toEqual([
      "it's",
      'say "hi"',
      `both ' and "`,
      'back\\slash',
      'new\nline',
      'tab\there',
      'bell\x07',
      'café',
      '\u200b zero width',
      '😀',
      '\x00nul',
    ]);
  });

  it('keeps characters that look like syntax inside strings', () => {
    expect(parseNames("{0: '}', 1: '{0: x}', 2: ',', 3: ':', 4: ''}")).toEqual(['}', '{0: x}', ',', ':', '']);
  });

  it('keeps non-ASCII names written as is (Python 3 repr)', () => {
    expect(parseNames("{0: 'ĉevalo', 1: '猫', 2: 'emoji 🐈'}")).toEqual(['ĉevalo', '猫', 'emoji 🐈']);
  });

  it('orders by id, not by position', () => {
    expect(parseNames("{1: 'b', 0: 'a', 2: 'c'}")).toEqual(['a', 'b', 'c']);
  });

  it('reads JSON objects and lists', () => {
    expect(parseNames('{"0": "person", "1": "bus \\u00e9"}')).toEqual(['person', 'bus é']);
    expect(parseNames('["a", "b"]')).toEqual(['a', 'b']);
    expect(parseNames("['a', 'b',]")).toEqual(['a', 'b']);
  });

  it('reads 80 COCO-sized dicts', () => {
    const names = Array.from({ length: 80 }, (_, i) => `class ${i}`);
    const text = `{${names.map((n, i) => `${i}: '${n}'`).join(', ')}}`;
    expect(parseNames(text)).toEqual(names);
  });

  const bad: [string, string, RegExp][] = [
    ['empty text', '', /expected '\{'/],
    ['empty dict', '{}', /no classes/],
    ['a gap in ids', "{0: 'a', 2: 'c'}", /id 1 is missing/],
    ['a duplicate id', "{0: 'a', 0: 'b'}", /appears twice/],
    ['an unterminated string', "{0: 'a}", /unterminated string/],
    ['a missing colon', "{0 'a'}", /expected ':'/],
    ['a non-string value', '{0: 5}', /expected a quoted string/],
    ['a call (never evaluated)', "{0: __import__('os').system('x')}", /expected a quoted string/],
    ['a negative id', "{-1: 'a'}", /expected an integer/],
    ['a non-numeric JSON key', '{"a": "b"}', /not a non-negative integer/],
    ['trailing junk', "{0: 'a'} junk", /unexpected text/],
    ['a bad hex escape', "{0: '\\xZZ'}", /hex digits/],
    ['a missing closing brace', "{0: 'a'", /expected '\}'/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what} with ERR_MODEL_INVALID`, () => {
      expect(codeOf(() => parseNames(text))).toBe('ERR_MODEL_INVALID');
      expect(messageOf(() => parseNames(text))).toMatch(message);
      expect(messageOf(() => parseNames(text))).toMatch(/'names' metadata/);
    });
  }
});

describe('parseImgsz', () => {
  it('reads lists, tuples and single numbers as [height, width]', () => {
    expect(parseImgsz('[640, 640]')).toEqual([640, 640]);
    expect(parseImgsz('[384, 640]')).toEqual([384, 640]);
    expect(parseImgsz('(480, 320)')).toEqual([480, 320]);
    expect(parseImgsz('[320]')).toEqual([320, 320]);
    expect(parseImgsz(' 640 ')).toEqual([640, 640]);
  });

  it('refuses zero, three values, floats and text', () => {
    for (const text of ['[0, 640]', '[1, 2, 3]', '[640.5, 640]', 'big', '[]', '']) {
      expect(codeOf(() => parseImgsz(text))).toBe('ERR_MODEL_INVALID');
    }
  });
});

describe('parsePositiveInt', () => {
  it('reads stride and batch values', () => {
    expect(parsePositiveInt('stride', '32')).toBe(32);
    expect(parsePositiveInt('stride', '32.0')).toBe(32);
    expect(parsePositiveInt('batch', ' 4 ')).toBe(4);
  });

  it('refuses 0, negatives and text, naming the key', () => {
    for (const text of ['0', '-1', 'x', '', '1.5']) {
      expect(codeOf(() => parsePositiveInt('stride', text))).toBe('ERR_MODEL_INVALID');
    }
    expect(messageOf(() => parsePositiveInt('stride', 'x'))).toMatch(/'stride'.*received 'x'/);
  });
});
