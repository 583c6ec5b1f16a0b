/* net/lwipopts.h: compile-time configuration of lwIP for netd.
 *
 * netd runs lwIP single-threaded (NO_SYS=1) in its epoll loop: no locks,
 * no OS threads, timers driven by a timerfd. Memory comes from fixed pools
 * sized here, so an overload runs out of pool entries (and refuses work)
 * instead of growing the heap.
 */
#ifndef DSHIELD_LWIPOPTS_H
#define DSHIELD_LWIPOPTS_H

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_NETCONN                0
#define LWIP_SOCKET                 0
#define LWIP_RAW                    0
#define LWIP_TIMERS                 1

/* Protocols: IPv4 with ARP, DHCP and DNS; TCP for the API and upstreams;
 * UDP for DHCP and DNS. IPv6 comes later. */
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_ICMP                   1
#define LWIP_DHCP                   1
#define LWIP_DHCP_DOES_ACD_CHECK    0
#define LWIP_ACD                    0
#define LWIP_AUTOIP                 0
#define LWIP_DNS                    1
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define LWIP_IGMP                   0
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_NETIF_HOSTNAME         1
#define DNS_MAX_SERVERS             2
/* the egress proxy resolves a name per connection (net/egress_proxy.c):
 * 16 lookups in flight, each on its own random source port (one UDP pcb) */
#define DNS_TABLE_SIZE              16
#define DNS_MAX_SOURCE_PORTS        DNS_TABLE_SIZE
/* Connections waiting for names: those asking for a name already being
 * asked for join its query (lwIP's LWIP_DNS_SECURE_NO_MULTIPLE_OUTSTANDING).
 * With 16 (lwIP's default, the table's size), 64 connections opening
 * at once to one host (a name answered with TTL 0 is asked again for each)
 * left 48 retrying every EGP_DNS_RETRY_MS in slot order, some for 0.5 s
 * (docs/EGRESS.md, "New connections' tails"). 255, the most lwIP takes (a
 * u8_t index), costs 4 KiB. */
#define DNS_MAX_REQUESTS            255
#define LWIP_DHCP_GET_NTP_SRV       0
#define LWIP_DHCP_MAX_DNS_SERVERS   DNS_MAX_SERVERS

/* Memory: lwIP's own heap for PBUF_RAM and pools for everything else.
 * The budget (docs/NETWORK.md, "Memory") holds with every HTTP slot used
 * by a hostile client, so ARP, DHCP and handshakes always find memory:
 *   heap: 128 connections x (16 KiB queued output + 32 pbuf headers),
 *         about 2.4 MiB; held input copies, 2 MiB for all; the rest
 *         (>= 1.5 MiB) for ARP queues, DHCP, SYN-ACKs, RSTs, ICMP. New
 *         connections are refused while less than 512 KiB is free.
 *   pool: 128 connections x (8 held + 8 out-of-order + 9 refused)
 *         = 3200 of 4096 buffers; new connections are refused while
 *         fewer than 256 are free.
 *   pcbs: 128 served + 64 half-open + the egress proxy's 1024
 *         upstreams (net/egress_proxy.h EGP_CONN_MAX) + closing ones
 *         (lwIP recycles the oldest TIME_WAIT/LAST_ACK/CLOSING pcb when
 *         out).
 *   segments: 128 x 32 queued + half-open SYN-ACKs + FINs, and about 4
 *         a proxied connection (handshakes, a request's records) when
 *         all 1024 talk at once; past them tcp_write waits for acks. */
#define MEM_ALIGNMENT               8
#define MEM_SIZE                    (6 * 1024 * 1024)
#define MEMP_NUM_PBUF               512
#define MEMP_NUM_TCP_PCB            2048
#define MEMP_NUM_TCP_PCB_LISTEN     8
#define MEMP_NUM_TCP_SEG            8192
#define MEMP_NUM_UDP_PCB            24
#define MEMP_NUM_SYS_TIMEOUT        16
#define MEMP_NUM_ARP_QUEUE          64
/* Received frames land in pool buffers, one frame per buffer (1514 bytes
 * fit; a super-frame taken whole is a chain, made only while half the
 * pool is free: net/netif_packet.c). net/http_lwip.c holds at most 8 per
 * connection before it copies to the heap; lwIP's out-of-order queues
 * are capped per connection below so a peer sending scattered segments
 * cannot drain the pool. */
#define PBUF_POOL_SIZE              4096
#define PBUF_POOL_BUFSIZE           1536
/* The listener's SYN hook (net/http_lwip.c: at most 64 half-open
 * connections, the oldest dropped first) is a per-pcb extension. */
#define LWIP_TCP_PCB_NUM_EXT_ARGS   1
/* DHCP renewal runs on this timer: 10 s instead of 60 makes lwIP honour
 * short renewal times (T1) within 10 s. */
#define DHCP_COARSE_TIMER_SECS      10

/* TCP: window and buffers sized for a LAN API server and HTTPS upstreams. */
#define TCP_MSS                     1460
#define TCP_WND                     (32 * TCP_MSS)
#define TCP_SND_BUF                 (32 * TCP_MSS)
#define TCP_SND_QUEUELEN            (4 * TCP_SND_BUF / TCP_MSS)
/* Loss recovery (docs/NETWORK.md, "Loss recovery"): SACK tells the
 * sender which segments arrived behind a lost one, so it resends the
 * missing ones at once. Without it, a loss in a full window left holes
 * (the out-of-order queue keeps 8 segments, below) that the sender found
 * one retransmission timeout at a time, its timer backing off: a 128 MiB
 * download through the egress proxy took 2.5-7.6 s instead of 0.65 s in
 * 7 of 180 runs, and in none of 149 with SACK. */
#define LWIP_TCP_SACK_OUT           1
#define TCP_QUEUE_OOSEQ             1
#define TCP_OOSEQ_MAX_PBUFS         8
#define TCP_OOSEQ_MAX_BYTES         (8 * TCP_MSS)
#define LWIP_WND_SCALE              1
#define TCP_RCV_SCALE               2
#define TCP_LISTEN_BACKLOG          1
#define LWIP_TCP_KEEPALIVE          1
#define SO_REUSE                    1

/* Off: netd's TCP frames leave with their checksum for the kernel to
 * finish (net/netif_gso.h), so summing the data as tcp_write copies it
 * would be for nothing; without the vnet socket lwIP sums at output. */
#define LWIP_CHECKSUM_ON_COPY       0
/* net/netif_packet.c turns the TCP/UDP checks off for one frame at a time,
 * the frames whose checksum the kernel vouches for. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
/* Only the memory counters: http_lwip.c keeps a reserve free with them,
 * and /v1/info shows them. netd keeps its own traffic counters. */
#define LWIP_STATS                  1
#define LWIP_STATS_DISPLAY          0
#define MEM_STATS                   1
#define MEMP_STATS                  1
#define LINK_STATS                  0
#define ETHARP_STATS                0
#define IP_STATS                    0
#define IPFRAG_STATS                0
#define ICMP_STATS                  0
#define UDP_STATS                   0
#define TCP_STATS                   0
#define SYS_STATS                   0
#define LWIP_RAND()                 ((u32_t)dshield_lwip_rand())
/* RFC 6528 TCP initial sequence numbers (net/lwip_hooks.h). */
#define LWIP_HOOK_FILENAME          "lwip_hooks.h"
#define LWIP_NETIF_TX_SINGLE_PBUF   1
#define ETH_PAD_SIZE                0

#ifndef LWIP_DEBUG
#define LWIP_DBG_TYPES_ON           0
#endif

/* Entropy for lwIP's ports and ISNs comes from getrandom (net/lwip_port.c). */
#include <stdint.h>
uint32_t dshield_lwip_rand(void);

#endif
