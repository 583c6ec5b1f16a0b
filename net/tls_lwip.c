/* net/tls_lwip.c: see tls_lwip.h. */
#include "net/tls_lwip.h"

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

bool tls_lwip_over(struct tls_conn *t)
{
	enum tls_status st = tls_status(t);

	return st == TLS_CLOSED || st == TLS_FAILED;
}

/* The engine's records to lwIP, bounded by its send room and queue. */
static bool send_side(struct tls_conn *t, struct tcp_pcb *pcb)
{
	const uint8_t *p;
	size_t n;
	bool moved = false;

	while (pcb != NULL && (p = tls_out(t, &n)) != NULL && n > 0 &&
	       tcp_sndqueuelen(pcb) < TCP_SND_QUEUELEN - 4) {
		size_t room = tcp_sndbuf(pcb), w = n < room ? n : room;
		if (w > 0xffff)
			w = 0xffff;
		if (w == 0 || tcp_write(pcb, p, (u16_t)w, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		tls_out_done(t, w);
		moved = true;
	}
	return moved;
}

bool tls_lwip_pump(struct tls_conn *t, struct tcp_pcb *pcb, struct pbuf **down, bool peer_eof,
		   bool *eof_told)
{
	bool moved = send_side(t, pcb);

	while (*down != NULL) {
		struct pbuf *q = *down;
		while (q != NULL && q->len == 0)
			q = q->next;
		if (q == NULL) {                /* only empty pbufs were left */
			pbuf_free(*down);
			*down = NULL;
			break;
		}
		long k = tls_lwip_over(t) ? (long)q->len : tls_feed(t, q->payload, q->len);
		if (k < 0)
			k = q->len;
		if (k == 0)
			break;
		*down = pbuf_free_header(*down, (u16_t)k);
		if (pcb != NULL)
			tcp_recved(pcb, (u16_t)k);
		moved = true;
	}
	if (*down == NULL && peer_eof && !*eof_told) {
		*eof_told = true;
		tls_eof(t);
		moved = true;
	}
	return moved;
}
