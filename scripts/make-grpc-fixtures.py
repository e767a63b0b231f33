#!/usr/bin/env python3
"""Writes test/fixtures/grpc/*.bin: KServe v2 gRPC messages encoded by protoc (--encode) from the
PUBLISHED protocol files, so the tests can check byte for byte that the server's own proto
(src/server/grpc/inference.proto) is wire-compatible with them.

Usage: python3 scripts/make-grpc-fixtures.py DIR
where DIR holds grpc_service.proto and model_config.proto from github.com/triton-inference-server/common
(protobuf/). They are not part of this repository; only the encoded messages are.

Each fixture is <name>.txt (protobuf text format, the readable source) and <name>.bin (its encoding).
Responses are what the test server (a fake detector, see test/server/helpers.ts) must answer.
"""
import pathlib
import struct
import subprocess
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'grpc'


def b(data: bytes) -> str:
    return '"' + ''.join(f'\\{c:03o}' for c in data) + '"'


def f32(*values: float) -> bytes:
    return b''.join(struct.pack('<f', v) for v in values)


def i32(*values: int) -> bytes:
    return b''.join(struct.pack('<i', v) for v in values)


def elements(*items: bytes) -> bytes:
    return b''.join(struct.pack('<I', len(x)) + x for x in items)


IMG_A = b'\x80ab'  # the fake detector: conf = first byte / 255, one box [1,2,3,4], class 0
IMG_B = b'\x40cde'

OUTPUTS = '\n'.join(
    f'outputs {{ name: "{n}" datatype: "{t}" {" ".join(f"shape: {d}" for d in s)} }}'
    for n, t, s in [
        ('num_dets', 'INT32', [2, 1]),
        ('det_boxes', 'FP32', [2, 1, 4]),
        ('det_scores', 'FP32', [2, 1]),
        ('det_classes', 'INT32', [2, 1]),
    ]
)

TENSOR = lambda name, dtype, shape: (  # noqa: E731
    f'{{ name: "{name}" datatype: "{dtype}" {" ".join(f"shape: {d}" for d in shape)} }}'
)

FIXTURES = {
    # (message type, text)
    'model_ready_request': ('ModelReadyRequest', 'name: "fake" version: "1"'),
    'model_ready_response': ('ModelReadyResponse', 'ready: true'),
    'model_metadata_request': ('ModelMetadataRequest', 'name: "fake"'),
    'model_metadata_response': (
        'ModelMetadataResponse',
        '\n'.join(
            [
                'name: "fake" versions: "1" platform: "yolo-trt-cpu"',
                'inputs ' + TENSOR('image_bytes', 'BYTES', [-1]),
                'inputs ' + TENSOR('images', 'FP32', [-1, 3, 64, 64]),
                'outputs ' + TENSOR('num_dets', 'INT32', [-1, 1]),
                'outputs ' + TENSOR('det_boxes', 'FP32', [-1, -1, 4]),
                'outputs ' + TENSOR('det_scores', 'FP32', [-1, -1]),
                'outputs ' + TENSOR('det_classes', 'INT32', [-1, -1]),
            ]
        ),
    ),
    'repository_index_request': ('RepositoryIndexRequest', 'ready: true'),
    'repository_index_response': (
        'RepositoryIndexResponse',
        'models { name: "fake" version: "1" state: "READY" }',
    ),
    # BYTES as raw_input_contents (what tritonclient.grpc sends), thresholds as parameters.
    'infer_raw_request': (
        'ModelInferRequest',
        '\n'.join(
            [
                'model_name: "fake" id: "fixture-1"',
                'parameters { key: "conf" value { double_param: 0.2 } }',
                'parameters { key: "max_det" value { int64_param: 10 } }',
                'inputs { name: "image_bytes" datatype: "BYTES" shape: 2 }',
                f'raw_input_contents: {b(elements(IMG_A, IMG_B))}',
            ]
        ),
    ),
    # The answer without its `parameters` (field 4: timings, different on every run).
    'infer_raw_response_without_parameters': (
        'ModelInferResponse',
        '\n'.join(
            [
                'model_name: "fake" model_version: "1" id: "fixture-1"',
                OUTPUTS,
                f'raw_output_contents: {b(i32(1, 1))}',
                f'raw_output_contents: {b(f32(1, 2, 3, 4, 1, 2, 3, 4))}',
                f'raw_output_contents: {b(f32(0x80 / 255, 0x40 / 255))}',
                f'raw_output_contents: {b(i32(0, 0))}',
            ]
        ),
    ),
    # BYTES as typed bytes_contents, one output selected.
    'infer_contents_request': (
        'ModelInferRequest',
        '\n'.join(
            [
                'model_name: "fake" model_version: "1"',
                'inputs { name: "INPUT0" datatype: "BYTES" shape: 2 shape: 1',
                f'  contents {{ bytes_contents: {b(IMG_A)} bytes_contents: {b(IMG_B)} }} }}',
                'outputs { name: "det_scores" }',
            ]
        ),
    ),
    'infer_contents_response_without_parameters': (
        'ModelInferResponse',
        '\n'.join(
            [
                'model_name: "fake" model_version: "1"',
                'outputs { name: "det_scores" datatype: "FP32" shape: 2 shape: 1 }',
                f'raw_output_contents: {b(f32(0x80 / 255, 0x40 / 255))}',
            ]
        ),
    ),
    'model_config_request': ('ModelConfigRequest', 'name: "fake"'),
    # Compared after decoding (map entry order is free): the values in model_config.proto's fields.
    'model_config_response': (
        'ModelConfigResponse',
        '\n'.join(
            [
                'config { name: "fake" platform: "yolo-trt-cpu" backend: "cpu" max_batch_size: 0',
                '  version_policy { latest { num_versions: 1 } }',
                '  input { name: "image_bytes" data_type: TYPE_STRING dims: -1 }',
                '  input { name: "images" data_type: TYPE_FP32 format: FORMAT_NCHW dims: -1 dims: 3 dims: 64 dims: 64 }',
                '  output { name: "num_dets" data_type: TYPE_INT32 dims: -1 dims: 1 }',
                '  output { name: "det_boxes" data_type: TYPE_FP32 dims: -1 dims: -1 dims: 4 }',
                '  output { name: "det_scores" data_type: TYPE_FP32 dims: -1 dims: -1 }',
                '  output { name: "det_classes" data_type: TYPE_INT32 dims: -1 dims: -1 }',
                '  instance_group { count: 2 kind: KIND_CPU }',
                '  dynamic_batching { default_queue_policy { default_timeout_microseconds: 30000000 max_queue_size: 64 } }',
                '  parameters { key: "conf" value { string_value: "0.25" } }',
                '  parameters { key: "iou" value { string_value: "0.7" } }',
                '  parameters { key: "max_det" value { string_value: "300" } }',
                '  parameters { key: "agnostic" value { string_value: "false" } }',
                '  parameters { key: "end_to_end" value { string_value: "false" } }',
                '  parameters { key: "batch_max_images" value { string_value: "2" } }',
                '  parameters { key: "detector_max_batch" value { string_value: "1" } }',
                '  parameters { key: "detector_concurrency" value { string_value: "2" } }',
                '  parameters { key: "labels" value { string_value: "[\\"person\\",\\"bicycle\\",\\"car\\",\\"motorcycle\\",\\"airplane\\",\\"bus\\"]" } }',
                '  parameters { key: "imgsz" value { string_value: "64,64" } }',
                '}',
            ]
        ),
    ),
}


def main() -> None:
    proto_dir = pathlib.Path(sys.argv[1])
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (message, text) in FIXTURES.items():
        encoded = subprocess.run(
            ['protoc', f'-I{proto_dir}', f'--encode=inference.{message}', 'grpc_service.proto'],
            input=text.encode(),
            capture_output=True,
            check=True,
            cwd=proto_dir,
        ).stdout
        (OUT / f'{name}.txt').write_text(f'# inference.{message}\n{text}\n')
        (OUT / f'{name}.bin').write_bytes(encoded)
        print(f'{name}: {len(encoded)} bytes')


if __name__ == '__main__':
    main()
