import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FosError } from '../errors.js';
import { FLAG_GZIP, MAX_FRAME_BYTES, MAX_REQUEST_LINE_BYTES } from './constants.js';
import { encodeDataFrame, encodeLine } from './encode.js';
import { FrameDecoder, type Message } from './frame-decoder.js';
import { decodeRequest } from './messages.js';

const limits = { maxLineBytes: MAX_REQUEST_LINE_BYTES, maxFrameBytes: MAX_FRAME_BYTES };

type Sent = { kind: 'line'; head: string; body: Record<string, unknown> } | { kind: 'data'; flags: number; payload: Uint8Array };

const headArb = fc.constantFrom('OK', 'UPLOAD', 'CHUNK RECEIVED', 'READY TO RECEIVE FILE', 'EOF', 'LIST');
const jsonValueArb = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
const sentArb: fc.Arbitrary<Sent> = fc.oneof(
  fc.record({
    kind: fc.constant('line' as const),
    head: headArb,
    body: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), jsonValueArb, { maxKeys: 4 }),
  }),
  fc.record({
    kind: fc.constant('data' as const),
    flags: fc.constantFrom(0, FLAG_GZIP),
    payload: fc.uint8Array({ maxLength: 3000 }),
  }),
);

function encode(message: Sent): Buffer {
  return message.kind === 'line' ? encodeLine(message.head, message.body) : encodeDataFrame(message.flags, message.payload);
}

/** Splits bytes at the given cut points, as TCP may deliver them. */
function fragment(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const at of points) {
    parts.push(bytes.subarray(from, at));
    from = at;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

function normalise(message: Message): unknown {
  switch (message.kind) {
    case 'line':
      return { kind: 'line', head: message.head, body: message.body };
    case 'data':
      return { kind: 'data', flags: message.flags, payload: Buffer.from(message.payload) };
    case 'bad':
      return { kind: 'bad', code: message.error.code };
    default: {
      const never: never = message;
      return never;
    }
  }
}

describe('FrameDecoder', () => {
  it('decodes what was encoded, under any fragmentation', () => {
    fc.assert(
      fc.property(fc.array(sentArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (messages, cuts) => {
        const bytes = Buffer.concat(messages.map(encode));
        const decoder = new FrameDecoder(limits);
        const got = fragment(bytes, cuts).flatMap((part) => decoder.push(part));
        const expected = messages.map((m) =>
          m.kind === 'line'
            ? { kind: 'line', head: m.head, body: m.body }
            : { kind: 'data', flags: m.flags, payload: Buffer.from(m.payload) },
        );
        expect(got.map(normalise)).toEqual(expected);
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('carries a payload of exactly EOF as data, not as a marker', () => {
    const decoder = new FrameDecoder(limits);
    const got = decoder.push(Buffer.concat([encodeDataFrame(0, Buffer.from('EOF')), encodeLine('EOF')]));
    expect(got.map(normalise)).toEqual([
      { kind: 'data', flags: 0, payload: Buffer.from('EOF') },
      { kind: 'line', head: 'EOF', body: {} },
    ]);
  });

  it('refuses an over-long line before buffering it all', () => {
    const decoder = new FrameDecoder({ maxLineBytes: 100, maxFrameBytes: 1000 });
    expect(() => decoder.push(Buffer.alloc(101, 0x41))).toThrow(FosError);
  });

  it('refuses an over-size frame from its header alone', () => {
    const decoder = new FrameDecoder({ maxLineBytes: 100, maxFrameBytes: 1000 });
    const header = Buffer.from([0xfd, 0, 0, 0, 0x10, 0]);
    expect(() => decoder.push(header)).toThrowError(/over the limit/);
  });

  it('reports bad JSON, bad UTF-8 and bad heads as bad messages and stays in step', () => {
    const decoder = new FrameDecoder(limits);
    const got = decoder.push(
      Buffer.concat([
        Buffer.from('UPLOAD {not json\n'),
        Buffer.from([0x41, 0xff, 0x0a]),
        Buffer.from('lower case\n'),
        Buffer.from('LIST [1]\r\n'),
        encodeLine('QUIT'),
      ]),
    );
    expect(got.map((m) => m.kind)).toEqual(['bad', 'bad', 'bad', 'bad', 'line']);
  });

  it('turns arbitrary garbage into messages or FosError, never anything else', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (parts) => {
        const decoder = new FrameDecoder({ maxLineBytes: 256, maxFrameBytes: 512 });
        try {
          for (const part of parts) {
            for (const message of decoder.push(Buffer.from(part))) {
              if (message.kind === 'line') {
                try {
                  decodeRequest(message);
                } catch (err) {
                  expect(err).toBeInstanceOf(FosError);
                }
              }
            }
          }
        } catch (err) {
          expect(err).toBeInstanceOf(FosError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('decodeRequest', () => {
  it('types a valid upload and refuses a bad one with a named field', () => {
    const ok = decodeRequest({
      kind: 'line',
      head: 'UPLOAD',
      body: { path: 'a/b.txt', size: 3, sha256: 'a'.repeat(64), mtimeMs: 1, baseRev: null },
    });
    expect(ok.verb).toBe('UPLOAD');
    expect(() => decodeRequest({ kind: 'line', head: 'UPLOAD', body: { path: 'a', size: -1 } })).toThrowError(/size/);
    expect(() => decodeRequest({ kind: 'line', head: 'FROB', body: {} })).toThrowError(/unknown command/);
  });
});
