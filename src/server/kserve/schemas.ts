/**
 * JSON schemas of the routes. Fastify validates requests against them (400 on mismatch) and serializes
 * responses with them. Tensor `data` is left unconstrained here: it can hold a million numbers and is
 * checked element by element in decode-inputs.ts.
 */

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, code: { type: 'string' } },
  required: ['error', 'code'],
} as const;

/** Error responses of every route. */
export const errorResponses = { '4xx': errorSchema, '5xx': errorSchema } as const;

export const MODEL_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';

export const modelParams = {
  type: 'object',
  properties: {
    model: { type: 'string', pattern: MODEL_NAME_PATTERN },
    version: { type: 'string', pattern: '^[0-9]{1,18}$' },
  },
  required: ['model'],
} as const;

const threshold = { type: 'number', minimum: 0, maximum: 1 } as const;

export const inferRequestSchema = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string', maxLength: 256 },
    parameters: {
      type: 'object',
      properties: {
        conf: threshold,
        iou: threshold,
        max_det: { type: 'integer', minimum: 1, maximum: 30000 },
        classes: { type: 'array', items: { type: 'integer', minimum: 0 }, maxItems: 100000 },
        agnostic: { type: 'boolean' },
        binary_data_output: { type: 'boolean' },
      },
    },
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype'],
        properties: {
          name: { type: 'string', maxLength: 256 },
          shape: {
            type: 'array',
            minItems: 1,
            maxItems: 8,
            items: { type: 'integer', minimum: 0, maximum: 2147483647 },
          },
          datatype: { type: 'string', maxLength: 16 },
          parameters: {
            type: 'object',
            properties: { binary_data_size: { type: 'integer', minimum: 0 } },
          },
          data: {},
        },
      },
    },
    outputs: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', maxLength: 256 },
          parameters: { type: 'object', properties: { binary_data: { type: 'boolean' } } },
        },
      },
    },
  },
} as const;

const tensorMetadata = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    datatype: { type: 'string' },
    shape: { type: 'array', items: { type: 'integer' } },
    description: { type: 'string' },
  },
} as const;

export const modelMetadataSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    platform: { type: 'string' },
    inputs: { type: 'array', items: tensorMetadata },
    outputs: { type: 'array', items: tensorMetadata },
    parameters: {
      type: 'object',
      properties: {
        end_to_end: { type: 'boolean' },
        ignored_parameters: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

export const serverMetadataSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    extensions: { type: 'array', items: { type: 'string' } },
  },
} as const;

const outputTensor = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    datatype: { type: 'string' },
    shape: { type: 'array', items: { type: 'integer' } },
    parameters: { type: 'object', properties: { binary_data_size: { type: 'integer' } } },
    data: { type: 'array', items: { type: 'number' } },
  },
} as const;

export const inferResponseSchema = {
  type: 'object',
  properties: {
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    id: { type: 'string' },
    parameters: { type: 'object', additionalProperties: { type: 'number' } },
    outputs: { type: 'array', items: outputTensor },
  },
} as const;

const detection = {
  type: 'object',
  properties: {
    box: { type: 'array', items: { type: 'number' } },
    conf: { type: 'number' },
    cls: { type: 'integer' },
    name: { type: 'string' },
  },
} as const;

export const detectResultSchema = {
  type: 'object',
  properties: {
    detections: { type: 'array', items: detection },
    width: { type: 'integer' },
    height: { type: 'integer' },
    speed: {
      type: 'object',
      properties: {
        preprocess: { type: 'number' },
        inference: { type: 'number' },
        postprocess: { type: 'number' },
      },
    },
  },
} as const;

export const detectQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    conf: threshold,
    iou: threshold,
    max_det: { type: 'integer', minimum: 1, maximum: 30000 },
    classes: { type: 'string', pattern: '^[0-9]{1,6}(,[0-9]{1,6}){0,999}$' },
    agnostic: { type: 'boolean' },
  },
} as const;

const durationStat = {
  type: 'object',
  properties: { count: { type: 'integer' }, ns: { type: 'integer' } },
} as const;

export const statsResponseSchema = {
  type: 'object',
  properties: {
    model_stats: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          version: { type: 'string' },
          last_inference: { type: 'integer' },
          inference_count: { type: 'integer' },
          execution_count: { type: 'integer' },
          inference_stats: {
            type: 'object',
            properties: Object.fromEntries(
              [
                'success',
                'fail',
                'queue',
                'compute_input',
                'compute_infer',
                'compute_output',
                'cache_hit',
                'cache_miss',
              ].map((k) => [k, durationStat]),
            ),
          },
          batch_stats: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                batch_size: { type: 'integer' },
                compute_input: durationStat,
                compute_infer: durationStat,
                compute_output: durationStat,
              },
            },
          },
        },
      },
    },
  },
} as const;

export const repositoryIndexBodySchema = {
  anyOf: [{ type: 'null' }, { type: 'object', properties: { ready: { type: 'boolean' } } }],
} as const;

export const repositoryIndexResponseSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      version: { type: 'string' },
      state: { type: 'string' },
      reason: { type: 'string' },
    },
  },
} as const;

export const repositoryLoadBodySchema = {
  anyOf: [
    { type: 'null' },
    {
      type: 'object',
      properties: {
        parameters: {
          type: 'object',
          properties: { config: { type: 'string', maxLength: 65536 } },
        },
      },
    },
  ],
} as const;
