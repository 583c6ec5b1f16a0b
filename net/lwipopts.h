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
#define LWIP_DHCP_GET_NTP_SRV       0
#define LWIP_DHCP_MAX_DNS_SERVERS   DNS_MAX_SERVERS

/* Memory: lwIP's own heap for PBUF_RAM and pools for everything else. */
#define MEM_ALIGNMENT               8
#define MEM_SIZE                    (4 * 1024 * 1024)
#define MEMP_NUM_PBUF               512
#define MEMP_NUM_TCP_PCB            256
#define MEMP_NUM_TCP_PCB_LISTEN     8
#define MEMP_NUM_TCP_SEG            2048
#define MEMP_NUM_UDP_PCB            8
#define MEMP_NUM_SYS_TIMEOUT        16
#define MEMP_NUM_ARP_QUEUE          64
/* Received frames land in pool buffers, one frame per buffer (1514 bytes
 * fit). 4096 of them (6 MiB) leave room for the HTTP pool's held input
 * (net/http_lwip.c holds at most a window of full segments, 40 buffers,
 * per connection before it copies to the heap) and lwIP's out-of-order
 * queues, which are capped per connection below so a peer sending
 * scattered segments cannot drain the pool. */
#define PBUF_POOL_SIZE              4096
#define PBUF_POOL_BUFSIZE           1536

/* TCP: window and buffers sized for a LAN API server and HTTPS upstreams. */
#define TCP_MSS                     1460
#define TCP_WND                     (32 * TCP_MSS)
#define TCP_SND_BUF                 (32 * TCP_MSS)
#define TCP_SND_QUEUELEN            (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ             1
#define TCP_OOSEQ_MAX_PBUFS         8
#define TCP_OOSEQ_MAX_BYTES         (8 * TCP_MSS)
#define LWIP_WND_SCALE              1
#define TCP_RCV_SCALE               2
#define TCP_LISTEN_BACKLOG          1
#define TCP_DEFAULT_LISTEN_BACKLOG  128
#define LWIP_TCP_KEEPALIVE          1
#define SO_REUSE                    1

#define LWIP_CHECKSUM_ON_COPY       1
#define LWIP_STATS                  0
#define LWIP_STATS_DISPLAY          0
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
