import type { TritonConfigJson } from '../kserve/model-config-json.js';

/**
 * The model configuration JSON (model-config-json.ts) as model_config.proto's ModelConfig: the same
 * values in the protobuf's types. Parameters are strings there (ModelParameter.string_value).
 */
export function toProtoConfig(c: TritonConfigJson): Record<string, unknown> {
  const policy = c.version_policy as { latest?: number; all?: true; specific?: string[] };
  const versionPolicy =
    policy.latest !== undefined
      ? { latest: { num_versions: policy.latest } }
      : policy.all === true
        ? { all: {} }
        : { specific: { versions: (policy.specific ?? []).map(Number) } };
  const parameters: Record<string, { string_value: string }> = {};
  for (const [k, v] of Object.entries(c.parameters)) {
    // Unset values and empty lists (e.g. no ignored parameters) are left out, as protobuf leaves defaults.
    if (v === null || (Array.isArray(v) && v.length === 0)) continue;
    parameters[k] = { string_value: Array.isArray(v) ? v.join(',') : String(v) };
  }
  parameters['labels'] = { string_value: JSON.stringify(c.labels) };
  parameters['imgsz'] = { string_value: c.imgsz.join(',') };
  return {
    name: c.name,
    platform: c.platform,
    backend: c.backend,
    version_policy: versionPolicy,
    max_batch_size: c.max_batch_size,
    input: c.input,
    output: c.output,
    instance_group: c.instance_group,
    // Triton's way of saying "no dynamic batching" is leaving the message out.
    dynamic_batching: c.dynamic_batching.enabled
      ? {
          max_queue_delay_microseconds: c.dynamic_batching.max_queue_delay_microseconds,
          default_queue_policy: c.dynamic_batching.default_queue_policy,
        }
      : undefined,
    parameters,
  };
}
