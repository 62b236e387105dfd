import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildChecksum, configChecksum, formatValue } from '../../src/generator/index.js';
import { list } from './helpers.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('configChecksum', () => {
  const A = list('A', [1, 2]);
  const B = list('B', ['x', 'y']);

  it("equals md5sum of printf 'A=1\\nB=x\\n' (worked out in a shell)", () => {
    // printf 'A=1\nB=x\n' | md5sum
    expect(configChecksum([A, B], { A: 1, B: 'x' })).toBe('5bdbb703209eee8b1c2aabfd7dcd7ba5');
  });

  it('follows declaration order, not the order of the configuration object', () => {
    expect(configChecksum([A, B], { B: 'x', A: 1 })).toBe('5bdbb703209eee8b1c2aabfd7dcd7ba5');
    expect(configChecksum([B, A], { A: 1, B: 'x' })).toBe(md5('B=x\nA=1\n'));
  });

  it('writes booleans as true/false and integers in decimal', () => {
    const C = list('C', [false, true]);
    // printf 'A=1\nC=true\n' | md5sum
    expect(configChecksum([A, C], { A: 1, C: true })).toBe('d99ee7ce931d1f2136743404301aade2');
    const N = list('N', [-5, 2 ** 53 - 1]);
    expect(configChecksum([N], { N: -5 })).toBe(md5('N=-5\n'));
    expect(configChecksum([N], { N: 2 ** 53 - 1 })).toBe(md5('N=9007199254740991\n'));
  });

  it('keeps text exactly, including =, spaces and non-ASCII', () => {
    const S = list('S', ['a=b c', 'naïve']);
    expect(configChecksum([S], { S: 'a=b c' })).toBe(md5('S=a=b c\n'));
    expect(configChecksum([S], { S: 'naïve' })).toBe(md5('S=naïve\n'));
  });

  it('matches checksums Wayfinder published with its Unikraft NGINX results', () => {
    // lancs-net/wayfinder examples/unikraft-nginx/results/tasks.json (commit 8861aeb): the job of that
    // run had LWIP_HEAP where job.yaml now has LWIP_POOLS.
    const params = [
      list('LWIP_NUM_TCPCON', [8, 16, 32, 64]),
      list('LWIP_NUM_TCPLISTENERS', [8, 16, 32, 64]),
      list('LWIP_UKNETDEV_POLLONLY', ['y', 'n']),
      list('LWIP_HEAP', ['y', 'n']),
      list('ACCESS_LOG', ['y', 'n']),
      list('KEEPALIVE_TIMEOUT', [0, 60]),
      list('OPEN_FILE_CACHE', ['caching', 'nocaching']),
      list('WORKER_CONNECTIONS', [63]),
      list('PAYLOAD_SIZE', [612]),
      list('NUM_PARALLEL_CONNS', [30]),
    ];
    const fixed = { LWIP_HEAP: 'y', WORKER_CONNECTIONS: 63, PAYLOAD_SIZE: 612, NUM_PARALLEL_CONNS: 30 };
    expect(
      configChecksum(params, {
        ...fixed,
        LWIP_NUM_TCPCON: 8,
        LWIP_NUM_TCPLISTENERS: 64,
        LWIP_UKNETDEV_POLLONLY: 'y',
        ACCESS_LOG: 'y',
        KEEPALIVE_TIMEOUT: 0,
        OPEN_FILE_CACHE: 'nocaching',
      }),
    ).toBe('0091ab6fc852ad420abd48b5d5bb99e0');
    expect(
      configChecksum(params, {
        ...fixed,
        LWIP_NUM_TCPCON: 32,
        LWIP_NUM_TCPLISTENERS: 16,
        LWIP_UKNETDEV_POLLONLY: 'y',
        ACCESS_LOG: 'n',
        KEEPALIVE_TIMEOUT: 60,
        OPEN_FILE_CACHE: 'caching',
      }),
    ).toBe('015a603a97de08fff3e3779ab5b50e7a');
  });

  it('names a parameter the configuration lacks', () => {
    expect(() => configChecksum([A, B], { A: 1 })).toThrow(/no value for parameter 'B'/);
  });
});

describe('buildChecksum', () => {
  it('covers the build parameters only', () => {
    const params = [list('A', [1], { when: 'build' }), list('T', [5, 6], { when: 'test' }), list('B', ['x'], { when: 'build' })];
    expect(buildChecksum(params, { A: 1, T: 5, B: 'x' })).toBe('5bdbb703209eee8b1c2aabfd7dcd7ba5');
    expect(buildChecksum(params, { A: 1, T: 6, B: 'x' })).toBe('5bdbb703209eee8b1c2aabfd7dcd7ba5');
    expect(configChecksum(params, { A: 1, T: 6, B: 'x' })).toBe(md5('A=1\nT=6\nB=x\n'));
  });

  it("equals md5sum of printf 'A=1\\n' for one build parameter", () => {
    // printf 'A=1\n' | md5sum
    expect(buildChecksum([list('A', [1]), list('T', ['q'], { when: 'test' })], { A: 1, T: 'q' })).toBe(
      '7b9ee9647aa60af266c790de3f659403',
    );
  });

  it('is the md5 of nothing when no parameter is a build parameter', () => {
    expect(buildChecksum([list('T', [1], { when: 'test' })], { T: 1 })).toBe(md5(''));
  });
});

describe('formatValue', () => {
  it('writes integers in decimal, strings as they are, booleans as true/false', () => {
    expect(formatValue(42)).toBe('42');
    expect(formatValue(-7)).toBe('-7');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(1e21)).toBe('1000000000000000000000');
    expect(formatValue('y')).toBe('y');
    expect(formatValue(' padded ')).toBe(' padded ');
    expect(formatValue(true)).toBe('true');
    expect(formatValue(false)).toBe('false');
  });
});
