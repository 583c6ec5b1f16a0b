/* init/kaddr.c: see kaddr.h. */
#include "init/kaddr.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KADDR_TRIES 3

static int dump_request(int fd, uint32_t seq)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifa);
	req.nh.nlmsg_type = RTM_GETADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.ifa.ifa_family = AF_UNSPEC;
	ssize_t r = sendto(fd, &req, req.nh.nlmsg_len, 0,
			   (struct sockaddr *)&kernel, sizeof kernel);
	if (r < 0)
		return -errno;
	return r == (ssize_t)req.nh.nlmsg_len ? 0 : -EPROTO;
}

/* One RTM_NEWADDR message: keep it when it belongs to ifindex. */
static int take_addr(const struct nlmsghdr *nh, int ifindex, struct kaddr_reply_msg *out,
		     unsigned *seen)
{
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		return -EPROTO;
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	if ((int)ifa->ifa_index != ifindex)
		return 0;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;
	const void *addr = NULL, *local = NULL;
	int rlen = (int)IFA_PAYLOAD(nh);
	for (const struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		if (RTA_PAYLOAD(rta) != alen)
			continue;
		if (rta->rta_type == IFA_ADDRESS)
			addr = RTA_DATA(rta);
		else if (rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
	}
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer
	 * on point-to-point links and the address itself otherwise. */
	if (local)
		addr = local;
	if (!addr)
		return -EPROTO;
	(*seen)++;
	if (out->count >= KADDR_MAX)
		return 0;
	struct kaddr_entry *e = &out->addr[out->count++];
	e->family = ifa->ifa_family;
	e->prefixlen = ifa->ifa_prefixlen;
	memcpy(e->addr, addr, alen);
	return 0;
}

/* Reads the dump for seq. Returns 0, -EINTR for an interrupted dump, or an
 * error. */
static int dump_read(int fd, uint32_t seq, int ifindex, struct kaddr_reply_msg *out,
		     unsigned *seen)
{
	union {
		struct nlmsghdr nh;
		char buf[32768];
	} u;
	bool interrupted = false;

	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = u.buf, .iov_len = sizeof u.buf };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from,
				      .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen != sizeof from || from.nl_pid != 0)
			continue;  /* not from the kernel */
		size_t off = 0, len = (size_t)n;
		while (len - off >= sizeof(struct nlmsghdr)) {
			const struct nlmsghdr *nh = (const struct nlmsghdr *)(u.buf + off);
			if (nh->nlmsg_len < sizeof *nh || nh->nlmsg_len > len - off)
				return -EPROTO;
			size_t step = NLMSG_ALIGN(nh->nlmsg_len);
			off = step < len - off ? off + step : len;
			if (nh->nlmsg_seq != seq)
				continue;  /* a late answer to an earlier try */
			if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
				interrupted = true;
			if (nh->nlmsg_type == NLMSG_DONE)
				return interrupted ? -EINTR : 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
					return -EPROTO;
				const struct nlmsgerr *err = NLMSG_DATA(nh);
				return err->error < 0 ? err->error : -EPROTO;
			}
			if (nh->nlmsg_type != RTM_NEWADDR)
				continue;
			int r = take_addr(nh, ifindex, out, seen);
			if (r != 0)
				return r;
		}
		if (off != len)
			return -EPROTO;  /* trailing bytes that are not a message */
	}
}

static int query(int ifindex, struct kaddr_reply_msg *out)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int r = 0;
	if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0)
		r = -errno;
	for (uint32_t seq = 1; r == 0 || (r == -EINTR && seq <= KADDR_TRIES); seq++) {
		unsigned seen = 0;
		out->count = 0;
		memset(out->addr, 0, sizeof out->addr);
		if ((r = dump_request(fd, seq)) != 0)
			break;
		r = dump_read(fd, seq, ifindex, out, &seen);
		if (r == 0 && seen > KADDR_MAX)
			r = -E2BIG;
		if (r != -EINTR)
			break;
	}
	close(fd);
	return r == -EINTR ? -EAGAIN : r;
}

int kaddr_query(int ifindex, struct kaddr_reply_msg *out)
{
	memset(out, 0, sizeof *out);
	int r = query(ifindex, out);
	if (r != 0 && r != -E2BIG)
		dlog("kaddr: address dump for ifindex %d: %s", ifindex, strerror(-r));
	out->error = r;
	return r;
}

const char *kaddr_format(const struct kaddr_entry *e, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	int family = e->family == AF_INET6 ? AF_INET6 : AF_INET;
	if (!inet_ntop(family, e->addr, a, sizeof a))
		snprintf(a, sizeof a, "?");
	snprintf(buf, cap, "%s/%u", a, e->prefixlen);
	return buf;
}
