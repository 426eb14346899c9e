import { describe, expect, it } from 'vitest';
import { cidrContains, ipFamilyOf, isIPv4, isIPv6, parseCIDR, parseIP } from '../../src/core/address.ts';

describe('parseIP', () => {
  it.each([
    { name: 'IPv4', text: '10.244.2.7', family: 'IPv4' },
    { name: 'IPv4 zero', text: '0.0.0.0', family: 'IPv4' },
    { name: 'IPv6 full', text: '2001:0db8:0000:0000:0000:ff00:0042:8329', family: 'IPv6' },
    { name: 'IPv6 compressed', text: '2001:db8::ff00:42:8329', family: 'IPv6' },
    { name: 'IPv6 any', text: '::', family: 'IPv6' },
    { name: 'IPv6 loopback', text: '::1', family: 'IPv6' },
    { name: 'IPv6 ULA pod', text: 'fd00:10:244:1::5', family: 'IPv6' },
    { name: 'IPv4-mapped', text: '::ffff:10.0.0.1', family: 'IPv6' },
    { name: 'upper case hex', text: 'FD00::A', family: 'IPv6' },
  ])('reads $name', ({ text, family }) => {
    expect(parseIP(text)?.family).toBe(family);
    expect(ipFamilyOf(text)).toBe(family);
  });

  it.each([
    '256.1.1.1', '10.1.1', '10.1.1.1.1', '01.2.3.4', '1.2.3.-4', '', 'web.shop', '::1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'fe80::1%eth0', '12345::', 'g::1', '1:2:3:4:5:6:7::8:9',
  ])('refuses %j', (text) => {
    expect(parseIP(text)).toBeNull();
    expect(isIPv4(text) || isIPv6(text)).toBe(false);
  });

  it('expands :: to the right number of zero groups', () => {
    expect([...(parseIP('1::8')?.bytes ?? [])]).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]);
    expect([...(parseIP('::ffff:1.2.3.4')?.bytes ?? [])].slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
  });
});

describe('cidrContains', () => {
  it.each([
    { cidr: '10.244.0.0/16', ip: '10.244.2.7', inside: true },
    { cidr: '10.244.2.0/24', ip: '10.244.3.1', inside: false },
    { cidr: '10.244.2.0/23', ip: '10.244.3.1', inside: true },
    { cidr: '0.0.0.0/0', ip: '8.8.8.8', inside: true },
    { cidr: '10.0.0.1', ip: '10.0.0.1', inside: true },
    { cidr: '10.0.0.1/32', ip: '10.0.0.2', inside: false },
    { cidr: '192.168.1.0/26', ip: '192.168.1.63', inside: true },
    { cidr: '192.168.1.0/26', ip: '192.168.1.64', inside: false },
    { cidr: 'fd00:10:244:1::/64', ip: 'fd00:10:244:1::5', inside: true },
    { cidr: 'fd00:10:244:1::/64', ip: 'fd00:10:244:2::5', inside: false },
    { cidr: 'fd00::/8', ip: 'fdff::1', inside: true },
    { cidr: '2001:db8::/33', ip: '2001:db8:8000::1', inside: false },
    { cidr: '::/0', ip: '2001:db8::1', inside: true },
    { cidr: '::/0', ip: '10.0.0.1', inside: false },
    { cidr: '0.0.0.0/0', ip: '::1', inside: false },
    { cidr: '10.0.0.0/33', ip: '10.0.0.1', inside: false },
    { cidr: 'nonsense', ip: '10.0.0.1', inside: false },
  ])('$cidr contains $ip: $inside', ({ cidr, ip, inside }) => {
    expect(cidrContains(cidr, ip)).toBe(inside);
  });

  it('parses prefixes up to the family’s width', () => {
    expect(parseCIDR('fd00::/128')?.prefix).toBe(128);
    expect(parseCIDR('fd00::/129')).toBeNull();
    expect(parseCIDR('10.0.0.0/24/1')).toBeNull();
  });
});
