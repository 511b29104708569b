// SPDX-License-Identifier: GPL-2.0
/*
 * udpseq: numbered UDP datagrams, for the IPsec checks and benchmark
 * (tools/testing/guest/ipsec.sh). Built static on the host, run in the
 * busybox guest.
 *
 *   udpseq [-n NETNS] recv PORT SIZE
 *   udpseq [-n NETNS] send ADDR PORT SIZE COUNT|-t SECONDS
 *
 * ADDR is IPv4 or IPv6; the receiver takes both.
 * Each datagram carries its number and a payload derived from it. The
 * sender keeps at most WINDOW datagrams ahead of the receiver's last
 * acknowledgment (one every ACK_EVERY datagrams, sent back to it), so that
 * a link that does not drop loses nothing to a full socket buffer, then ends
 * with a final datagram holding the count sent. The receiver returns after
 * that one (or 10 s without traffic) and prints
 *
 *   received R lost L reordered O corrupt C duplicate D pps P Bps B late N
 *
 * where reordered counts datagrams numbered below one received before, late
 * is the most any of them trailed the highest number received before it (how
 * far reordering went by the socket; ESP's replay check, before decryption,
 * drops what trails by its window or more there), and pps/Bps are measured
 * from the first datagram to the last. Exit status 0 when nothing was lost,
 * reordered, corrupt or duplicated.
 * -n enters the network namespace bound at NETNS (ip netns add) first.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 128
#define ACK_EVERY 32
#define HDR 16
#define MAX_SIZE 65000
#define END UINT64_MAX

struct hdr {
	uint64_t seq;
	uint64_t count;		/* in the final datagram: how many were sent */
};

static void die(const char *what)
{
	fprintf(stderr, "udpseq: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char pattern(uint64_t seq, size_t i)
{
	return (unsigned char)(seq * 31 + i * 7);
}

static int udp_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM, 0);
	int buf = 4 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

static int recv_main(int port, size_t size)
{
	static unsigned char *seen;
	static unsigned char buf[MAX_SIZE];
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_storage peer;
	socklen_t plen;
	uint64_t received = 0, reordered = 0, corrupt = 0, dup = 0, sent = 0;
	uint64_t max_seq = 0, late = 0, cap = 1 << 24;
	double first = 0, last = 0;
	int fd = udp_socket(AF_INET6);
	int ended = 0, v6only = 0;

	seen = calloc(cap, 1);
	if (!seen)
		die("calloc");
	/* IPv6 and IPv4 on one socket; IPv4 alone on a kernel without IPv6. */
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
		if (bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)))
			die("bind");
	} else {
		fd = udp_socket(AF_INET);
		if (fd < 0)
			die("socket");
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("bind");
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct hdr h;
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		plen = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (n < (ssize_t)sizeof(h))
			continue;
		memcpy(&h, buf, sizeof(h));
		if (h.seq == END) {
			sent = h.count;
			ended = 1;
			sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&peer, plen);
			break;
		}
		last = now();
		if (!received)
			first = last;
		if (h.seq >= cap || seen[h.seq]) {
			dup += h.seq < cap;
			corrupt += h.seq >= cap;
			continue;
		}
		seen[h.seq] = 1;
		received++;
		if (received > 1 && h.seq < max_seq) {
			reordered++;
			if (max_seq - h.seq > late)
				late = max_seq - h.seq;
		}
		if (h.seq > max_seq)
			max_seq = h.seq;
		if ((size_t)n != size) {
			corrupt++;
		} else {
			for (size_t i = HDR; i < size; i++) {
				if (buf[i] != pattern(h.seq, i)) {
					corrupt++;
					break;
				}
			}
		}
		if (received % ACK_EVERY == 0) {
			h.count = received;
			sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&peer, plen);
		}
	}
	if (!ended)
		sent = max_seq + 1;
	{
		double t = last > first ? last - first : 0;
		uint64_t lost = sent > received ? sent - received : 0;

		printf("received %llu lost %llu reordered %llu corrupt %llu duplicate %llu",
		       (unsigned long long)received, (unsigned long long)lost,
		       (unsigned long long)reordered, (unsigned long long)corrupt,
		       (unsigned long long)dup);
		printf(" pps %.0f Bps %.0f late %llu\n", t ? (received - 1) / t : 0,
		       t ? (received - 1) * size / t : 0, (unsigned long long)late);
		return (lost || reordered || corrupt || dup || !ended) ? 1 : 0;
	}
}

static int send_main(const char *addr, int port, size_t size, uint64_t count, double secs)
{
	static unsigned char buf[MAX_SIZE];
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint64_t seq = 0, acked = 0;
	double end = now() + secs;
	struct hdr h;
	int fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) == 1) {
		fd = udp_socket(AF_INET);
		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("connect");
	} else if (inet_pton(AF_INET6, addr, &sa6.sin6_addr) == 1) {
		fd = udp_socket(AF_INET6);
		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sa6, sizeof(sa6)))
			die("connect");
	} else {
		fprintf(stderr, "udpseq: bad address '%s'\n", addr);
		return 2;
	}
	for (size_t i = HDR; i < size; i++)
		buf[i] = 0;
	while (secs ? now() < end : seq < count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* Wait for the receiver when a window is out (10 s at most). */
		while (seq - acked >= WINDOW) {
			if (poll(&p, 1, 10000) <= 0) {
				fprintf(stderr, "udpseq: no acknowledgment after %llu\n",
					(unsigned long long)seq);
				return 1;
			}
			if (recv(fd, &h, sizeof(h), 0) == sizeof(h) && h.count > acked)
				acked = h.count;
		}
		h.seq = seq;
		h.count = 0;
		memcpy(buf, &h, sizeof(h));
		for (size_t i = HDR; i < size; i++)
			buf[i] = pattern(seq, i);
		if (send(fd, buf, size, 0) != (ssize_t)size) {
			if (errno == ENOBUFS || errno == EAGAIN)
				continue;
			die("send");
		}
		seq++;
	}
	/* The end marker, repeated until the receiver echoes it. */
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		h.seq = END;
		h.count = seq;
		send(fd, &h, sizeof(h), 0);
		while (poll(&p, 1, 200) > 0) {
			if (recv(fd, &h, sizeof(h), 0) == sizeof(h) && h.seq == END) {
				printf("sent %llu\n", (unsigned long long)seq);
				return 0;
			}
		}
	}
	fprintf(stderr, "udpseq: the receiver did not acknowledge the end\n");
	return 1;
}

static int bad_usage(void)
{
	fputs("usage: udpseq [-n NETNS] recv PORT SIZE\n"
	      "       udpseq [-n NETNS] send ADDR PORT SIZE COUNT|-t SECONDS\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	size_t size;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0 || setns(fd, CLONE_NEWNET))
			die(argv[2]);
		close(fd);
		argc -= 2;
		argv += 2;
	}
	if (argc == 4 && !strcmp(argv[1], "recv")) {
		size = strtoul(argv[3], NULL, 0);
		if (size < HDR || size > MAX_SIZE)
			return bad_usage();
		return recv_main(atoi(argv[2]), size);
	}
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "send")) {
		size = strtoul(argv[4], NULL, 0);
		if (size < HDR || size > MAX_SIZE)
			return bad_usage();
		if (argc == 7 && !strcmp(argv[5], "-t"))
			return send_main(argv[2], atoi(argv[3]), size, 0, atof(argv[6]));
		if (argc == 6)
			return send_main(argv[2], atoi(argv[3]), size,
					 strtoull(argv[5], NULL, 0), 0);
	}
	return bad_usage();
}
