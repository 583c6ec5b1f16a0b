/* net/netd.h: the network worker.
 *
 * init starts netd as its own process (the same binary, `dshield-init
 * netd`), already chrooted into an empty directory, in an empty network
 * namespace, as an unprivileged uid with no capabilities and no_new_privs.
 * netd's first act is to install its seccomp allow-list; only then does it
 * read anything. Its only way out is the AF_PACKET socket init hands it with
 * IMSG_NETD_CONFIG, and its only way to init is the imsg channel on fd 3.
 */
#ifndef DSHIELD_NET_NETD_H
#define DSHIELD_NET_NETD_H

#define NETD_IMSG_FD 3

/* Runs netd; returns only on a fatal error (init restarts it). */
int netd_main(int argc, char **argv);

#endif
