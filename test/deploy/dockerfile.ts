// A small Dockerfile reader for offline checks (no Docker engine here): instructions with line
// continuations joined, stages with their base image (global ARG defaults substituted) and name.
export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined. */
  rest: string;
  line: number;
}

export interface Stage {
  /** The image as written after global ARG defaults are filled in, e.g. node:24-bookworm. */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Map<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      // Comment lines inside a continued instruction are dropped, as Docker does.
      if (/^\s*#/.test(lines[i]!)) continue;
      line = line.slice(0, -1) + ' ' + lines[i]!.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`line ${first + 1}: not an instruction: ${line}`);
    instructions.push({ keyword: m[1]!.toUpperCase(), rest: m[2]!.trim(), line: first + 1 });
  }
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.rest);
      if (!m) throw new Error(`line ${ins.line}: bad FROM ${ins.rest}`);
      const from = m[1]!.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a: string | undefined, b: string | undefined) => {
          const v = globalArgs.get((a ?? b)!);
          if (v === undefined) throw new Error(`line ${ins.line}: ${a ?? b} has no default`);
          return v;
        },
      );
      stages.push({ from, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before FROM`);
      const [name, value] = ins.rest.split('=');
      globalArgs.set(name!, value ?? '');
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** The JSON (exec) form of ENTRYPOINT / CMD / HEALTHCHECK CMD; throws on the shell form. */
export function execForm(rest: string): string[] {
  const json = JSON.parse(rest) as unknown;
  if (!Array.isArray(json) || !json.every((s) => typeof s === 'string'))
    throw new Error(`not exec form: ${rest}`);
  return json as string[];
}

/** COPY / ADD: options (`--from=build`), sources and destination. */
export function copyArgs(rest: string): { options: Map<string, string>; sources: string[]; dest: string } {
  const words = rest.split(/\s+/);
  const options = new Map<string, string>();
  while (words[0]?.startsWith('--')) {
    const [k, v] = words.shift()!.slice(2).split('=');
    options.set(k!, v ?? '');
  }
  const dest = words.pop()!;
  return { options, sources: words, dest };
}

/** Whether .dockerignore's patterns leave `file` (relative to the context) out of the build context. */
export function ignoredByDockerignore(patterns: readonly string[], file: string): boolean {
  const parts = file.replace(/^\.\//, '').split('/');
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/|\/$/g, '');
    const re = new RegExp(
      '^' +
        pattern
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]*') +
        '$',
    );
    // A pattern matches a path or any folder above it.
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) ignored = !negate;
    }
  }
  return ignored;
}
