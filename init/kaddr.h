/* init/kaddr.h: which IP addresses does the kernel hold on an interface?
 *
 * The kernel must never speak IP on the interface netd drives (lwIP is the
 * only IP stack there). init checks that at boot (netif_prepare) and answers
 * netd's IMSG_KADDR_REQ with the same query, so the API can show that the
 * kernel holds no address.
 *
 * One RTM_GETADDR dump over NETLINK_ROUTE (both families), filtered by
 * interface index. The reply is parsed defensively (lengths, sequence
 * numbers, sender, truncation, NLMSG_ERROR, interrupted dumps). No timeout:
 * the kernel always answers a dump.
 */
#ifndef DSHIELD_INIT_KADDR_H
#define DSHIELD_INIT_KADDR_H

#include <stddef.h>

#include "proto/init_netd.h"

/* Fills *out (zeroed first) with the IPv4 and IPv6 addresses of ifindex,
 * at most KADDR_MAX of them, and mirrors the result in out->error.
 * Returns 0; -E2BIG when the interface holds more than KADDR_MAX addresses
 * (the first KADDR_MAX are in *out); -EAGAIN when the dump kept being
 * interrupted by address changes; -EPROTO on a malformed kernel reply;
 * or the errno of socket/send/recv or of the kernel's NLMSG_ERROR. */
int kaddr_query(int ifindex, struct kaddr_reply_msg *out);

/* Formats entry e as "198.18.5.1/24" or "fe80::1/64" into buf (cap bytes,
 * at least 64). Returns buf. */
const char *kaddr_format(const struct kaddr_entry *e, char *buf, size_t cap);

#endif
