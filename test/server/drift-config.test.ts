// The `drift` section of the serve config file.
import { describe, expect, it } from 'vitest';
import { parseServeConfig } from '../../dist/server/server-config.js';

describe('serve config: drift', () => {
  it('resolves reference profiles against the config file and keeps the window settings', () => {
    const c = parseServeConfig(
      { drift: { references: { det: 'profiles/det.json' }, window: 200, windowMs: 60000, alpha: 0.01 } },
      '/etc/yolo',
      '--config x',
    );
    expect(c.drift).toEqual({
      references: { det: '/etc/yolo/profiles/det.json' },
      window: 200,
      windowMs: 60000,
      alpha: 0.01,
    });
  });

  it('refuses unknown keys and non-path references', () => {
    expect(() => parseServeConfig({ drift: { windw: 5 } }, '/', 'c')).toThrow(/windw/);
    expect(() => parseServeConfig({ drift: { references: { det: 3 } } }, '/', 'c')).toThrow(
      /references\.det/,
    );
    expect(() => parseServeConfig({ drift: [] }, '/', 'c')).toThrow(/drift/);
  });
});
