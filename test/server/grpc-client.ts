// A grpc-js client of the KServe v2 service for the tests: every RPC as a promise, raw-byte calls for
// the wire fixtures.
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../dist/server/grpc/proto.js';

export type Msg = Record<string, unknown>;

export interface KserveClient {
  call(method: string, request: Msg, metadata?: grpc.Metadata): Promise<Msg>;
  /** Sends bytes as the request message and returns the response message's bytes. */
  callRaw(method: string, request: Buffer): Promise<Buffer>;
  stream(metadata?: grpc.Metadata): grpc.ClientDuplexStream<Msg, Msg>;
  close(): void;
}

export function kserveClient(port: number): KserveClient {
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(), 'GRPCInferenceService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (...args: unknown[]) => unknown
  > &
    grpc.Client;
  return {
    call: (method, request, metadata = new grpc.Metadata()) =>
      new Promise((resolve, reject) => {
        client[method]!.call(client, request, metadata, (err: grpc.ServiceError | null, res: Msg) =>
          err === null ? resolve(res) : reject(err),
        );
      }),
    callRaw: (method, request) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          `/inference.GRPCInferenceService/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          request,
          (err, res) => (err === null || err === undefined ? resolve(res!) : reject(err)),
        );
      }),
    stream: (metadata = new grpc.Metadata()) =>
      client['ModelStreamInfer']!.call(client, metadata) as grpc.ClientDuplexStream<Msg, Msg>,
    close: () => client.close(),
  };
}

/** The rejection of a call, for expect(...).rejects checks. */
export async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('the call succeeded');
}

export const bearer = (token: string): grpc.Metadata => {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
};
