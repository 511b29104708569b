// SPDX-License-Identifier: GPL-2.0
/*
 * alg: AF_ALG AEAD client for rpcrypt's guest checks (tools/testing/guest/
 * crypto.sh). Built static on the host, run in the busybox guest.
 *
 *   alg [-u] bind NAME        bind an AEAD socket to NAME
 *   alg [-u] write PATH TEXT  write TEXT to PATH
 *   alg load KO PARAMS        finit_module() once (busybox's insmod tries
 *                             again with init_module() when it fails, and
 *                             tcrypt always fails, after running)
 *   alg [-u] del DRIVER       unregister the template instance DRIVER and
 *                             those built on it (crypto_user's
 *                             CRYPTO_MSG_DELALG; needs CAP_NET_ADMIN)
 *
 * -u first drops to uid and gid 65534 with no supplementary groups (and so
 * no capabilities). Exit status 0 on success; on failure the errno name is
 * printed ("bind: EPERM") and the status is 1.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/cryptouser.h>
#include <linux/if_alg.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case EBADMSG: return "EBADMSG";
	case ELIBBAD: return "ELIBBAD";
	case EAGAIN: return "EAGAIN";
	case EBUSY: return "EBUSY";
	default: return strerror(e);
	}
}

static int die(const char *what)
{
	printf("%s: %s\n", what, errname(errno));
	exit(1);
}

static int bind_aead(const char *name)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "aead" };
	int fd = socket(AF_ALG, SOCK_SEQPACKET, 0);

	if (fd < 0)
		die("socket");
	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", name);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind");
	return fd;
}

static void del_alg(const char *driver)
{
	struct {
		struct nlmsghdr h;
		struct crypto_user_alg alg;
	} req = {
		.h = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = CRYPTO_MSG_DELALG,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		},
	};
	struct {
		struct nlmsghdr h;
		struct nlmsgerr err;
	} ack;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_CRYPTO);

	if (fd < 0)
		die("socket");
	snprintf(req.alg.cru_driver_name, sizeof(req.alg.cru_driver_name), "%s", driver);
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("sendto");
	if (recv(fd, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack))
		die("recv");
	if (ack.h.nlmsg_type == NLMSG_ERROR && ack.err.error) {
		errno = -ack.err.error;
		die("del");
	}
}

int main(int argc, char **argv)
{
	int unpriv = argc > 1 && !strcmp(argv[1], "-u");
	int fd;

	setvbuf(stdout, NULL, _IONBF, 0);
	argv += unpriv;
	argc -= unpriv;
	if (argc < 3)
		return fprintf(stderr, "usage: see the source\n"), 2;
	if (unpriv && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
		die("drop privileges");

	if (!strcmp(argv[1], "bind")) {
		bind_aead(argv[2]);
		return 0;
	}
	if (!strcmp(argv[1], "del")) {
		del_alg(argv[2]);
		return 0;
	}
	if (!strcmp(argv[1], "load") && argc == 4) {
		fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			die("open");
		if (syscall(SYS_finit_module, fd, argv[3], 0))
			die("finit_module");
		return 0;
	}
	if (!strcmp(argv[1], "write") && argc == 4) {
		fd = open(argv[2], O_WRONLY);
		if (fd < 0)
			die("open");
		if (write(fd, argv[3], strlen(argv[3])) < 0)
			die("write");
		return 0;
	}
	return fprintf(stderr, "usage: see the source\n"), 2;
}
