/**
 * The key a peer address is counted under by the connection and login limits. Pure.
 *
 * An IPv4 address counts as itself, also when it arrives IPv4-mapped (`::ffff:10.0.0.1`).
 * An IPv6 address counts by its /64 network: one machine usually holds a whole /64 and can
 * pick a fresh address from it for every connection, so per-address counting would not
 * limit it at all.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The limit key for `address` (an IPv4 address, an IPv6 `/64` prefix, or the text itself). */
export function ipKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(address)) return address;
  const zoneless = address.replace(/%.*$/, '');
  if (!isIPv6(zoneless)) return address;
  const groups = expandIPv6(zoneless);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  // An embedded IPv4 tail (::1.2.3.4) is two groups; the prefix is all that matters here.
  const withoutV4 = address.replace(/(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/, (_m, a: string, b: string, c: string, d: string) => {
    const hi = (Number(a) << 8) | Number(b);
    const lo = (Number(c) << 8) | Number(d);
    return `${hi.toString(16)}:${lo.toString(16)}`;
  });
  const [head = '', tail] = withoutV4.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array.from({ length: missing }, () => '0'), ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
