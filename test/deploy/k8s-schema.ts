// Strict validation of Kubernetes objects with kubernetes-models' schemas. Its validators check types,
// enums and required fields but let unknown fields through (a misspelt `readinessProbe` would pass);
// Kubernetes' own strict field validation refuses them. The compiled validators read every field their
// schema knows, so a Proxy records what they read and any field left unread is unknown.
type ValidateFn = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string; keyword: string; params: unknown }[] | null;
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems of `data` against `validate`: schema errors, then fields the schema does not know. */
export function strictErrors(validate: ValidateFn, data: unknown, at = ''): string[] {
  const read = new WeakMap<object, Set<string>>();
  const wrap = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const seen = new Set<string>();
    read.set(value, seen);
    return new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === 'string') seen.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
    });
  };
  const errors: string[] = [];
  if (!validate(wrap(data))) {
    for (const e of validate.errors ?? []) {
      errors.push(`${at}${e.instancePath} ${e.keyword}: ${e.message ?? JSON.stringify(e.params)}`);
    }
  }
  const walk = (value: unknown, where: string) => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${where}/${i}`));
    if (!isObject(value)) return;
    const seen = read.get(value);
    for (const [k, v] of Object.entries(value)) {
      // A container the validator never looked into was already reported as its parent's unknown field.
      if (seen !== undefined && !seen.has(k)) errors.push(`${where}/${k}: unknown field`);
      else walk(v, `${where}/${k}`);
    }
  };
  walk(data, at);
  return errors;
}
