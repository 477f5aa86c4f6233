/** Where both CLIs find the admin API and its key (protocol/admin-client.ts). */
import { describe, expect, it } from 'vitest';
import { adminTarget, DEFAULT_SERVER } from '../../protocol/admin-client.ts';

describe('adminTarget', () => {
  it('takes the flags first, then the environment, then the local defaults', () => {
    const env = { TRELLIS_SERVER: 'https://env.example', TRELLIS_API_KEY: 'env-key', TRELLIS_DATA_DIR: '/env/dir' };
    expect(adminTarget({ server: 'https://flag.example', 'api-key': 'flag-key', 'data-dir': '/flag/' }, env)).toEqual({
      url: 'https://flag.example',
      key: 'flag-key',
      keyFile: '/flag/admin-api-key',
    });
    expect(adminTarget({}, env)).toEqual({
      url: 'https://env.example',
      key: 'env-key',
      keyFile: '/env/dir/admin-api-key',
    });
    expect(adminTarget({}, {})).toEqual({ url: DEFAULT_SERVER, keyFile: './data/admin-api-key' });
  });
});
