// SPDX-License-Identifier: GPL-2.0
/*
 * tlsseq: numbered records over kernel TLS (TLS 1.2, AES-GCM-128, fixed
 * keys, no handshake) on a loopback TCP connection, for the kTLS checks
 * (tools/testing/guest/tls.sh). Built static on the host, run in the
 * busybox guest.
 *
 *   tlsseq SIZE COUNT
 *
 * A child process sends COUNT records of SIZE bytes through TLS_TX; the
 * parent reads them back through TLS_RX and checks every byte: each record
 * starts with its number, and the rest is derived from it. Prints
 *
 *   records R bytes B
 *
 * and exits 0 when the whole stream arrived intact and in order; 1 with a
 * line saying where it did not (a record the kernel refused to decrypt is
 * EBADMSG); 2 on bad arguments or a failed setup (no kernel TLS, say).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* TLS records carry at most 16 KiB of data. */
#define MAX_SIZE 16384

static void die(const char *what)
{
	fprintf(stderr, "tlsseq: %s: %s\n", what, strerror(errno));
	exit(2);
}

static unsigned char pattern(uint64_t rec, size_t i)
{
	return (unsigned char)(rec * 31 + i * 7);
}

/* The byte at offset i of record rec. */
static unsigned char byte_of(uint64_t rec, size_t i)
{
	return i < sizeof(rec) ? (unsigned char)(rec >> (8 * i)) : pattern(rec, i);
}

/* Both directions share one key: only one is used. */
static void set_tls(int fd, int dir)
{
	struct tls12_crypto_info_aes_gcm_128 ci = {
		.info.version = TLS_1_2_VERSION,
		.info.cipher_type = TLS_CIPHER_AES_GCM_128,
	};

	memset(ci.key, 0x42, sizeof(ci.key));
	memset(ci.iv, 0x17, sizeof(ci.iv));
	memset(ci.salt, 0x5a, sizeof(ci.salt));
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")))
		die("TCP_ULP tls");
	if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci)))
		die(dir == TLS_TX ? "TLS_TX" : "TLS_RX");
}

static int send_records(int fd, size_t size, uint64_t count)
{
	static unsigned char buf[MAX_SIZE];

	set_tls(fd, TLS_TX);
	for (uint64_t rec = 0; rec < count; rec++) {
		size_t off = 0;

		for (size_t i = 0; i < size; i++)
			buf[i] = byte_of(rec, i);
		while (off < size) {
			ssize_t n = send(fd, buf + off, size - off, 0);

			if (n < 0)
				die("send");
			off += n;
		}
	}
	return 0;
}

static int recv_records(int fd, size_t size, uint64_t count)
{
	static unsigned char buf[MAX_SIZE];
	uint64_t total = size * count, got = 0;

	while (got < total) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			printf("record %llu: recv: %s\n", (unsigned long long)(got / size),
			       errno == EBADMSG ? "EBADMSG" : strerror(errno));
			return 1;
		}
		if (n == 0) {
			printf("record %llu: the stream ended early\n",
			       (unsigned long long)(got / size));
			return 1;
		}
		for (ssize_t i = 0; i < n; i++, got++) {
			if (buf[i] != byte_of(got / size, got % size)) {
				printf("record %llu: byte %llu differs\n",
				       (unsigned long long)(got / size),
				       (unsigned long long)(got % size));
				return 1;
			}
		}
	}
	printf("records %llu bytes %llu\n", (unsigned long long)count,
	       (unsigned long long)total);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, cfd, sfd, status, rc, go[2];
	uint64_t count;
	size_t size;
	pid_t pid;
	char c;

	if (argc != 3) {
		fputs("usage: tlsseq SIZE COUNT\n", stderr);
		return 2;
	}
	size = strtoul(argv[1], NULL, 0);
	count = strtoull(argv[2], NULL, 0);
	if (size < sizeof(uint64_t) || size > MAX_SIZE || !count) {
		fputs("tlsseq: SIZE must be 8 to 16384, COUNT at least 1\n", stderr);
		return 2;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len))
		die("listen");
	if (pipe(go))
		die("pipe");
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	sfd = accept(lfd, NULL, NULL);
	if (sfd < 0)
		die("accept");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		/* Send only once the receiver has TLS_RX: no plaintext reaches it. */
		close(go[1]);
		close(sfd);
		close(lfd);
		if (read(go[0], &c, 1) != 1)
			exit(2);	/* the receiver failed to set up */
		exit(send_records(cfd, size, count));
	}
	close(go[0]);
	close(cfd);
	set_tls(sfd, TLS_RX);
	if (write(go[1], "g", 1) != 1)
		die("write");
	rc = recv_records(sfd, size, count);
	if (rc)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = rc ?: 1;
	return rc;
}
