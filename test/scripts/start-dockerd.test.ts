// scripts/ci/start-dockerd.sh is what CI runs before the tests: with a daemon answering it must
// change nothing; with a daemon it cannot start it must say why and fail.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireDockerd } from '../docker-image.js';
import { ROOT } from '../helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'ci', 'start-dockerd.sh');

describe('start-dockerd.sh', () => {
  it('does nothing when dockerd already answers', () => {
    requireDockerd();
    const before = spawnSync('pgrep', ['-x', 'dockerd'], { encoding: 'utf8' }).stdout;
    const r = spawnSync('bash', [SCRIPT], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: '' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/already answers on \/var\/run\/docker\.sock/);
    expect(spawnSync('pgrep', ['-x', 'dockerd'], { encoding: 'utf8' }).stdout).toBe(before);
  });

  it('fails with the end of the log when dockerd cannot start', () => {
    // A storage driver that does not exist: dockerd exits at once, the script reports it.
    const r = spawnSync('bash', [SCRIPT], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        DOCKER_HOST: '',
        DOCKER_SOCKET: '/tmp/wf-start-dockerd-test.sock',
        DOCKERD_DRIVER: 'no-such-driver',
        DOCKERD_ROOT: '/tmp/wf-start-dockerd-test-root',
        DOCKERD_EXEC_ROOT: '/tmp/wf-start-dockerd-test-exec',
        DOCKERD_PIDFILE: '/tmp/wf-start-dockerd-test.pid',
        DOCKERD_LOG: '/tmp/wf-start-dockerd-test.log',
        DOCKERD_WAIT: '20',
      },
    });
    spawnSync('rm', ['-rf', '/tmp/wf-start-dockerd-test-root', '/tmp/wf-start-dockerd-test-exec', '/tmp/wf-start-dockerd-test.log', '/tmp/wf-start-dockerd-test.pid', '/tmp/wf-start-dockerd-test.sock']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/start-dockerd: dockerd exited; the end of/);
    expect(r.stderr).toMatch(/no-such-driver/);
  });
});
