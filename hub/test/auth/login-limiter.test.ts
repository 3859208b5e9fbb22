import { describe, expect, it } from 'vitest';
import { addressKey, LoginLimiter } from '../../src/auth/login-limiter.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { HubError } from '../../src/core/errors.ts';

function attempt(limiter: LoginLimiter, address: string): number | HubError {
  try {
    return limiter.begin(address);
  } catch (err) {
    return err as HubError;
  }
}

describe('LoginLimiter', () => {
  it('lets the first failures through, then delays growing up to a cap, then bans', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter(clock, {
      slowAfter: 3,
      banAfter: 8,
      banS: 60,
      baseDelayMs: 250,
      maxDelayMs: 2000,
    });
    const delays = Array.from({ length: 8 }, () => attempt(limiter, '10.0.0.1'));
    expect(delays).toEqual([0, 0, 0, 250, 500, 1000, 2000, 2000]);
    const refused = attempt(limiter, '10.0.0.1');
    expect(refused).toBeInstanceOf(HubError);
    expect((refused as HubError).code).toBe('too_many_requests');
    expect((refused as HubError).details).toEqual({ retryAfterS: 60 });
  });

  it('bans one address without affecting another', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter(clock, { slowAfter: 1, banAfter: 2, banS: 60 });
    attempt(limiter, '10.0.0.1');
    attempt(limiter, '10.0.0.1');
    expect((attempt(limiter, '10.0.0.1') as HubError).code).toBe('too_many_requests');
    expect(attempt(limiter, '10.0.0.2')).toBe(0);
  });

  it('lifts the ban after banS, with Retry-After counting down', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter(clock, { slowAfter: 5, banAfter: 1, banS: 60 });
    attempt(limiter, 'a');
    expect((attempt(limiter, 'a') as HubError).details).toEqual({ retryAfterS: 60 });
    clock.advance(45_000);
    expect((attempt(limiter, 'a') as HubError).details).toEqual({ retryAfterS: 15 });
    clock.advance(15_000);
    expect(attempt(limiter, 'a')).toBe(0);
  });

  it('forgets an address after a success', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter(clock, { slowAfter: 1, banAfter: 3, banS: 60 });
    attempt(limiter, 'a');
    expect(attempt(limiter, 'a')).toBeGreaterThan(0);
    limiter.succeeded('a');
    expect(attempt(limiter, 'a')).toBe(0);
  });

  it("forgives only the succeeding subject's failures under a key", () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter(clock, { slowAfter: 100, banAfter: 4, banS: 60 });
    for (let i = 0; i < 3; i++) limiter.begin('10.0.0.5', 'owner');
    limiter.begin('10.0.0.5', 'gus');
    limiter.succeeded('10.0.0.5', 'gus');
    // gus's own attempt is forgiven, the three at the owner are not: one more, then refused.
    expect(limiter.begin('10.0.0.5', 'owner')).toBe(0);
    expect(
      (() => {
        try {
          return limiter.begin('10.0.0.5', 'gus');
        } catch (err) {
          return (err as HubError).code;
        }
      })(),
    ).toBe('too_many_requests');
    // The owner getting their password right clears their own typos.
    const other = new LoginLimiter(clock, { slowAfter: 100, banAfter: 2, banS: 60 });
    other.begin('10.0.0.6', 'owner');
    other.begin('10.0.0.6', 'owner');
    other.succeeded('10.0.0.6', 'owner');
    expect(other.trackedAddresses).toBe(0);
  });

  it('tracks a bounded number of addresses, evicting the stalest', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter(clock, { slowAfter: 1, banAfter: 5, banS: 60, maxAddresses: 3 });
    for (const a of ['a', 'b', 'c', 'd']) attempt(limiter, a);
    expect(limiter.trackedAddresses).toBe(3);
    // 'a' was evicted: it starts over; 'd' is still counted.
    expect(attempt(limiter, 'a')).toBe(0);
    expect(attempt(limiter, 'd')).toBeGreaterThan(0);
  });

  it('groups IPv6 by /64 and unwraps IPv4-mapped addresses', () => {
    expect(addressKey('::ffff:192.168.1.5')).toBe('192.168.1.5');
    expect(addressKey('192.168.1.5')).toBe('192.168.1.5');
    expect(addressKey('2001:db8:1:2::1')).toBe(addressKey('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});
