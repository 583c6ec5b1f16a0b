/* net/netif_packet.h: an lwIP network interface over an AF_PACKET socket.
 *
 * init opens a SOCK_RAW AF_PACKET socket bound to eth0 (which the kernel
 * keeps address-less) and hands it to netd; this driver moves whole
 * Ethernet frames between that socket and lwIP. Frames are read without
 * blocking, at most `budget` per call, so one busy link cannot starve the
 * rest of the event loop.
 *
 * Error convention: 0 or a count on success, a negative errno on failure.
 */
#ifndef DSHIELD_NET_NETIF_PACKET_H
#define DSHIELD_NET_NETIF_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "lwip/err.h"
#include "lwip/netif.h"
#include "net/netif_gso.h"

#define NETIF_PACKET_MTU       1500
#define NETIF_PACKET_HDR       14                       /* dst, src, ethertype */
#define NETIF_PACKET_MAX_FRAME (NETIF_PACKET_MTU + NETIF_PACKET_HDR)
/* Largest frame the driver reads whole: an IPv4 datagram of 64 KiB. */
#define NETIF_PACKET_BIG_FRAME (65535 + NETIF_PACKET_HDR)

struct netif_packet_stats {
	uint64_t rx_frames;        /* handed to lwIP */
	uint64_t rx_bytes;
	uint64_t rx_runt;          /* shorter than an Ethernet header */
	uint64_t rx_oversize;      /* longer than MTU + header and not TCP: dropped */
	uint64_t rx_split;         /* oversized TCP frames cut into wire-sized ones */
	uint64_t rx_whole;         /* oversized TCP frames handed to lwIP whole */
	uint64_t rx_nomem;         /* no pbuf: frame dropped */
	uint64_t rx_input_err;     /* lwIP refused the frame */
	uint64_t rx_outgoing;      /* frames the kernel sent, looped to taps */
	uint64_t rx_csum_vouched;  /* TCP/UDP checksum left unchecked on the kernel's word */
	uint64_t tx_frames;        /* lwIP's frames sent (a GSO frame: its segments) */
	uint64_t tx_bytes;         /* bytes sent (a GSO frame's headers once) */
	uint64_t tx_gso;           /* GSO frames sent (each several of lwIP's) */
	uint64_t tx_drop;          /* lwIP's frames dropped: socket full or send error */
};

/* Per-interface driver state; lives as long as the netif (netif->state). */
struct netif_packet {
	int fd;                    /* AF_PACKET, SOCK_RAW, bound to the interface */
	int tx_fd;                 /* the same, PACKET_VNET_HDR, for sending; -1: none
				    * (or it refused a frame: tx_fall_back) */
	struct netif *netif;       /* the netif this drives (netif_packet_init) */
	uint8_t mac[6];
	u16_t csum_base;           /* lwIP's checksum flags for the netif */
	int auxdata;               /* we turned PACKET_AUXDATA on */
	int aux_checked;           /* first frame seen: auxdata presence logged */
	struct netif_packet_stats st;
	/* Oversized frames are read (and reassembled) here; so are frames
	 * dropped for lack of pbufs. */
	uint8_t big[NETIF_PACKET_BIG_FRAME];
	struct netif_gso gso;      /* the frame being merged for tx_fd */
};

/* Prepares np for netif_add(). Turns on PACKET_AUXDATA if it can (so frames
 * whose checksum the kernel left unfinished can be completed); without it,
 * such frames fail lwIP's checksum check and TCP retransmits. tx_fd: a
 * packet socket on the same interface with PACKET_VNET_HDR, receiving
 * nothing (init/netif.h), through which frames go, TCP segments merged
 * (net/netif_gso.h); -1: frames go one by one on fd, checksums by lwIP. */
void netif_packet_setup(struct netif_packet *np, int fd, int tx_fd, const uint8_t mac[6]);

/* Sends the frame merging holds, if any. The caller's loop calls it
 * before it waits: a staged frame waits for no event. */
void netif_packet_flush(struct netif *netif);

/* netif_add() init function; netif->state must point to a struct
 * netif_packet prepared by netif_packet_setup(). */
err_t netif_packet_init(struct netif *netif);

/* Reads up to budget frames and feeds them to lwIP. Returns the number of
 * frames read (dropped ones included), or a negative errno for a socket
 * error other than "nothing to read". */
int netif_packet_poll(struct netif *netif, unsigned budget);

/* Whether lwIP may leave the TCP or UDP checksum of a frame unchecked
 * because the kernel vouches for it: the caller asks only for a frame the
 * kernel marked CHECKSUM_PARTIAL (TP_STATUS_CSUMNOTREADY: looped from a
 * local sender or a virtio host, the field holds only the pseudo-header
 * sum, and lwIP's check would fail it) or verified (TP_STATUS_CSUM_VALID).
 * 1 for an unfragmented IPv4 TCP or UDP datagram whose headers hold
 * together; 0 for anything else, which lwIP checks as usual (a fragment
 * in particular: lwIP checks the datagram it reassembles, whatever its
 * pieces said). */
int netif_packet_csum_vouched(const uint8_t *frame, size_t len);

/* Cuts an oversized IPv4 TCP frame into frames of at most mtu (at most
 * NETIF_PACKET_MTU) bytes of IP datagram each, as the sender's TSO (or our receive GRO/LRO) would have
 * done on a real wire: same headers, sequence numbers advanced, FIN and
 * PSH only on the last piece, CWR only on the first, IP id incremented,
 * both checksums computed. Each piece goes to emit(arg, frame, len) in a
 * buffer valid during the call. A super-frame only appears when an offload
 * stayed on despite init (a veth peer's TSO, a virtio host's GSO); cutting
 * it keeps TCP working instead of stalling on retransmissions that arrive
 * just as large. Returns the number of pieces, or -EINVAL when the frame
 * is not an unfragmented IPv4 TCP frame with consistent lengths. */
typedef void (*netif_packet_emit_fn)(void *arg, const uint8_t *frame, size_t len);
int netif_packet_split(const uint8_t *frame, size_t len, size_t mtu,
		       netif_packet_emit_fn emit, void *arg);

#endif
