import {
  canonicalJson,
  canonicalObjectFromParts,
  fromBase64,
  sha256,
  toBase64,
  toBase64Url,
} from '../../src/events/canonical-json.js';
import fc from 'fast-check';

describe('canonicalJson (RFC 8785)', () => {
  it('matches the RFC 8785 §3.2.2 sample (numbers, string escapes, literals)', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (the RFC 8785 §3.2.3 sample)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Read keys off the text: Object.keys would hoist the integer-like "1" itself.
    const out = canonicalJson(input);
    const keys = [...out.matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    // In code-point order U+1F600 would sort after U+FB33; in UTF-16 order it sorts before.
    expect(keys).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('sorts nested objects and leaves array order alone, no whitespace', () => {
    expect(canonicalJson({ b: [3, 1, { z: 1, a: 2 }], a: { y: null, x: true } })).toBe(
      '{"a":{"x":true,"y":null},"b":[3,1,{"a":2,"z":1}]}',
    );
  });

  it('writes non-ASCII as UTF-8 text, not \\u escapes', () => {
    expect(canonicalJson({ s: 'héllo 👋' })).toBe('{"s":"héllo 👋"}');
  });

  it('serialises numbers the ECMAScript way', () => {
    expect(canonicalJson([-0, 1e21, 1e-7, 0.000001, 9007199254740991, 100, 1.5])).toBe(
      '[0,1e+21,1e-7,0.000001,9007199254740991,100,1.5]',
    );
  });

  it('refuses values with no JSON form', () => {
    expect(() => canonicalJson(NaN)).toThrow();
    expect(() => canonicalJson({ a: Infinity })).toThrow();
    expect(() => canonicalJson({ s: '\ud800' })).toThrow();
    expect(() => canonicalJson(undefined)).toThrow();
  });

  it('drops undefined members like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('is stable under key order and round trips', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalJson(v);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
      }),
    );
  });

  it('canonicalObjectFromParts equals canonicalJson of the whole object', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const parts = new Map(Object.entries(obj).map(([k, v]) => [k, canonicalJson(v)]));
        expect(canonicalObjectFromParts(parts)).toBe(canonicalJson(obj));
      }),
    );
  });
});

describe('base64', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x01]); // exercises + / and - _

  it('standard alphabet, unpadded', () => {
    expect(toBase64(bytes)).toBe('+/+/AAE');
    expect(toBase64(Buffer.from('a'))).toBe('YQ');
  });

  it('URL-safe alphabet, unpadded', () => {
    expect(toBase64Url(bytes)).toBe('-_-_AAE');
  });

  it('encodes a Uint8Array view at an offset correctly', () => {
    const big = new Uint8Array([9, 9, 0xfb, 0xff, 0xbf, 0x00, 0x01, 9]);
    expect(toBase64(big.subarray(2, 7))).toBe('+/+/AAE');
  });

  it('decodes both alphabets, padded or not', () => {
    for (const s of ['+/+/AAE', '-_-_AAE', '+/+/AAE=', '-_-_AAE=']) expect(fromBase64(s).equals(bytes)).toBe(true);
    expect(fromBase64('').length).toBe(0);
  });

  it('refuses junk instead of skipping it', () => {
    for (const s of ['AA!A', 'A A', 'A', 'AAAAA', 'YQ=', 'YQ===', 'Y=Q']) expect(() => fromBase64(s)).toThrow();
  });

  it('round trips random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        expect(fromBase64(toBase64(b)).equals(Buffer.from(b))).toBe(true);
        expect(fromBase64(toBase64Url(b)).equals(Buffer.from(b))).toBe(true);
      }),
    );
  });
});

describe('sha256', () => {
  it('hashes strings as UTF-8', () => {
    expect(sha256('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256('é').equals(sha256(Buffer.from([0xc3, 0xa9])))).toBe(true);
  });
});
