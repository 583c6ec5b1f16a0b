/* net/netd.h: the network worker.
 *
 * init starts netd as its own process (the same binary, `dshield-init
 * netd`), already chrooted into an empty directory, in an empty network
 * namespace, as an unprivileged uid with no capabilities and no_new_privs.
 * netd's first act is to install its seccomp allow-list; only then does it
 * read anything (role_enter, with netd_seccomp_rules). Its only way out is
 * the AF_PACKET socket init hands it with IMSG_NETD_CONFIG; its channels are
 * the one to init on ROLE_INIT_FD (proto/init_netd.h) and the one to keyd
 * that init hands over (proto/netd_keyd.h).
 */
#ifndef DSHIELD_NET_NETD_H
#define DSHIELD_NET_NETD_H

#include <stddef.h>

#include "lib/seccomp.h"

/* netd's RLIMIT_NOFILE, set by init before the exec (init/role.h
 * nofile): 256 functions' 17 listeners, 1024 proxied connections, the
 * channels (net/netd.c checks the sum). */
#define NETD_NOFILE 6144

/* Runs netd; returns only on a fatal error (init restarts it). */
int netd_main(void);

extern const struct seccomp_rule netd_seccomp_rules[];
extern const size_t netd_seccomp_nrules;

/* Stacks a filter refusing sendmsg on the packet sockets, the receiving
 * one and the one for sending (-1: none), whose numbers are known only
 * once init sent them. 0 or -errno. */
int netd_seccomp_pin_packet(int pkt_fd, int tx_fd);

#endif
