/**
 * The IPv6 twins of the node checks' commands: the path MTU script over `ip -6` with IPv6's header bytes, and the
 * address check for the commands that take either family (ping, ip neigh). Pure; parse.ts builds the argv.
 */
import { isIPv4, isIPv6 } from './address.ts';

/** IPv6 and ICMPv6 header bytes (40 + 8): a ping fills an IPv6 MTU with a payload this much smaller. */
export const IPV6_ICMP_HEADERS = 48;

/**
 * PATH_MTU_SCRIPT's IPv6 twin, run as `sh -c PATH_MTU6_SCRIPT sh ADDRESS WAIT_SECONDS`: the MTU of the interface the
 * IPv6 route to ADDRESS uses (`ip -6 route get`), then a don't-fragment ping of exactly that size (payload MTU - 48)
 * and a 56-byte one, each followed by a `path-mtu:` line with its exit code, in the IPv4 script's format.
 */
export const PATH_MTU6_SCRIPT = [
  'exec 2>&1',
  'r=$(ip -6 -o route get "$1") || exit 2',
  'dev=${r#* dev }; dev=${dev%% *}',
  'l=$(ip -o link show dev "$dev") || exit 2',
  'mtu=${l#* mtu }; mtu=${mtu%% *}',
  'case $mtu in ""|*[!0-9]*) echo "path-mtu: no MTU for dev $dev"; exit 2;; esac',
  'echo "path-mtu: dev $dev mtu $mtu"',
  // The two pings at once, the small one's output held in the pipe until the full one's is printed (as in IPv4).
  `{ ping -6 -M do -s 56 -c 1 -W "$2" "$1" 2>&1; echo "path-mtu: small exit $?"; } | { ping -6 -M do -s $((mtu - ${IPV6_ICMP_HEADERS})) -c 1 -W "$2" "$1" </dev/null; echo "path-mtu: full exit $?"; cat; }`,
  // The largest MTU the node's pods send with (their host-side veths, not the veth a node may have as its own uplink,
  // the default route's device): a path that carries that much serves them all.
  'u=$(ip -o route show default 2>/dev/null | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p" | head -n 1)',
  'p=$(ip -o link show type veth 2>/dev/null | grep -v "^[0-9]*: ${u:-/}[@:]" | sed -n "s/.* mtu \\([0-9]*\\) .*/\\1/p" | sort -n | tail -n 1)',
  '[ -n "$p" ] && echo "path-mtu: pods mtu $p"',
].join('; ');

/** An address of either family for a probe argument (a literal never starts with `-`); throws on anything else. */
export function safeAddress(address: string): string {
  if (!isIPv4(address) && !isIPv6(address)) throw new Error(`not an IP address for a probe: ${JSON.stringify(address)}`);
  return address;
}
