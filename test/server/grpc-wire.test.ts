// The server's proto is the public one on the wire: requests encoded by protoc from Triton's published
// grpc_service.proto / model_config.proto (test/fixtures/grpc, made by scripts/make-grpc-fixtures.py)
// are sent as raw bytes, and the raw answers are compared with protoc's encoding of what they must be.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codec } from '../../dist/server/grpc/proto.js';
import { kserveClient, type KserveClient } from './grpc-client.js';
import { fakeServer, type FakeDetector } from './helpers.js';

const fixture = (name: string) => readFileSync(path.resolve('test/fixtures/grpc', `${name}.bin`));

let app: FastifyInstance;
let made: FakeDetector[];
let client: KserveClient;

beforeAll(async () => {
  ({ app, made } = await fakeServer({ grpc: { port: 0 } }));
  client = kserveClient(app.yolo.grpc!.port);
});

afterAll(async () => {
  client.close();
  await app.close();
});

/** Walks a message's top-level fields and drops those with the given number. */
function withoutField(message: Buffer, drop: number): Buffer {
  const kept: Buffer[] = [];
  let o = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = message[o++]!;
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
      shift += 7;
    }
  };
  while (o < message.length) {
    const start = o;
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) o += 8;
    else if (wire === 5) o += 4;
    else if (wire === 2) {
      const length = varint(); // (read before adding: varint() moves o)
      o += length;
    } else throw new Error(`unexpected wire type ${wire}`);
    if (key >>> 3 !== drop) kept.push(message.subarray(start, o));
  }
  return Buffer.concat(kept);
}

describe('gRPC wire compatibility with the published KServe v2 protos', () => {
  it.each([
    ['ModelReady', 'model_ready'],
    ['ModelMetadata', 'model_metadata'],
    ['RepositoryIndex', 'repository_index'],
  ])("%s: the answer is byte for byte protoc's", async (method, name) => {
    const answer = await client.callRaw(method, fixture(`${name}_request`));
    expect(answer.toString('hex')).toBe(fixture(`${name}_response`).toString('hex'));
  });

  it.each([
    ['raw_input_contents', 'infer_raw'],
    ['bytes_contents', 'infer_contents'],
  ])('ModelInfer with %s: byte for byte, but for the timing parameters', async (_how, name) => {
    const answer = await client.callRaw('ModelInfer', fixture(`${name}_request`));
    expect(withoutField(answer, 4).toString('hex')).toBe(
      fixture(`${name}_response_without_parameters`).toString('hex'),
    );
    // The parameters are there (queue_ms, batch_size, ...), in field 4.
    expect(withoutField(answer, 4).length).toBeLessThan(answer.length);
    if (name === 'infer_raw') expect(made[0]!.optionsSeen.at(-1)).toMatchObject({ conf: 0.2, maxDet: 10 });
  });

  it('our decoder reads the request parameters protoc encoded (conf 0.2, max_det 10)', () => {
    const decoded = codec<{ parameters: Record<string, { double_param?: number; int64_param?: number }> }>(
      'ModelInferRequest',
    ).decode(fixture('infer_raw_request'));
    expect(decoded.parameters['conf']!.double_param).toBe(0.2);
    expect(decoded.parameters['max_det']!.int64_param).toBe(10);
  });

  it("ModelConfig: the same values as protoc's model_config.proto encoding (map order aside)", async () => {
    const answer = await client.callRaw('ModelConfig', fixture('model_config_request'));
    const config = codec<unknown>('ModelConfigResponse');
    expect(config.decode(answer)).toEqual(config.decode(fixture('model_config_response')));
  });
});
