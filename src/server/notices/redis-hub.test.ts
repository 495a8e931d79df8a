import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { describeSharedHub, Inbox } from '../../../test/support/notice-hub-contract.js';
import { FosError } from '../../errors.js';
import { createRedisNoticeHub } from './redis-hub.js';

const REDIS_URL = process.env['FOS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `fos-test-${randomBytes(6).toString('hex')}:`;

describeSharedHub('redis', () => createRedisNoticeHub(REDIS_URL, { channelPrefix: prefix }));

describe('createRedisNoticeHub', () => {
  const outsider = new Redis(REDIS_URL, { lazyConnect: true });

  afterAll(async () => {
    if (outsider.status === 'ready') await outsider.quit();
  });

  it('refuses a URL that is not redis://', () => {
    expect(() => createRedisNoticeHub('http://127.0.0.1:6379')).toThrow(FosError);
  });

  it('ignores foreign messages on its channels and notices that name another user', async () => {
    const hub = createRedisNoticeHub(REDIS_URL, { channelPrefix: prefix });
    try {
      const inbox = new Inbox();
      hub.subscribe('gina', inbox.listener);
      await hub.settled();
      await outsider.connect();
      await outsider.publish(`${prefix}notices:gina`, 'not json');
      await outsider.publish(`${prefix}notices:gina`, JSON.stringify({ u: 'hank', r: 1, p: [], o: 'x' }));
      await outsider.publish(`${prefix}notices:gina`, JSON.stringify({ u: 'gina', r: -1, p: [], o: 'x' }));
      await outsider.publish(`${prefix}notices:gina`, JSON.stringify({ u: 'gina', r: 9, p: ['ok'], o: 'x' }));
      expect(await inbox.waitFor(1)).toEqual([{ rev: 9, paths: ['ok'] }]);
    } finally {
      await hub.close();
    }
  });
});
