/*
 * wsblast — a websocket server for `make bench` (tests/bench/subscribe.sh):
 * accepts one client on 127.0.0.1, answers the upgrade whatever the path,
 * and sends every frame of a capture as one binary message, as fast as the
 * socket takes them (writev of many messages at a time), then waits for the
 * client to hang up.
 *
 *   wsblast CAPTURE [PORT]      prints "ready PORT" once listening
 *
 * Build: cc -O2 -o wsblast wsblast.c -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH 512

static void die(const char *what)
{
	fprintf(stderr, "wsblast: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *q = p;
	while (n) {
		ssize_t w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write");
		q += w;
		n -= (size_t)w;
	}
}

static void handshake(int fd)
{
	char req[16384];
	size_t n = 0;
	while (n < sizeof req - 1) {
		ssize_t r = read(fd, req + n, sizeof req - 1 - n);
		if (r <= 0)
			die("read request");
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	const char *k = strcasestr(req, "\nSec-WebSocket-Key:");
	if (!k) {
		fprintf(stderr, "wsblast: no Sec-WebSocket-Key\n");
		exit(2);
	}
	k += strlen("\nSec-WebSocket-Key:");
	while (*k == ' ')
		k++;
	size_t kl = strcspn(k, "\r\n ");
	char buf[256];
	snprintf(buf, sizeof buf, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)kl, k);
	unsigned char sha[EVP_MAX_MD_SIZE];
	unsigned int shalen = 0;
	EVP_Digest(buf, strlen(buf), sha, &shalen, EVP_sha1(), NULL);
	char acc[64];
	EVP_EncodeBlock((unsigned char *)acc, sha, (int)shalen);
	char resp[512];
	int rl = snprintf(resp, sizeof resp,
			  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
	write_all(fd, resp, (size_t)rl);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wsblast CAPTURE [PORT]\n");
		return 2;
	}
	int cf = open(argv[1], O_RDONLY);
	struct stat st;
	if (cf < 0 || fstat(cf, &st) < 0)
		die(argv[1]);
	size_t size = (size_t)st.st_size;
	const uint8_t *cap = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, cf, 0) : NULL;
	if (size && cap == MAP_FAILED)
		die("mmap");
	madvise((void *)cap, size, MADV_SEQUENTIAL);

	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(argc > 2 ? (uint16_t)atoi(argv[2]) : 0) };
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 4) < 0)
		die("listen");
	socklen_t sl = sizeof sa;
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	printf("ready %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	alarm(900);
	signal(SIGPIPE, SIG_IGN);

	int fd = accept(ls, NULL, NULL);
	if (fd < 0)
		die("accept");
	handshake(fd);

	struct iovec iov[BATCH * 2];
	uint8_t hdr[BATCH][10];
	size_t pos = 0;
	while (pos + 4 <= size) {
		int k = 0, f = 0;
		while (f < BATCH && pos + 4 <= size) {
			uint32_t n = (uint32_t)cap[pos] << 24 | (uint32_t)cap[pos + 1] << 16 |
				     (uint32_t)cap[pos + 2] << 8 | cap[pos + 3];
			if (pos + 4 + n > size)
				break;
			uint8_t *h = hdr[f];
			size_t hl;
			h[0] = 0x82;
			if (n < 126) {
				h[1] = (uint8_t)n;
				hl = 2;
			} else if (n < 65536) {
				h[1] = 126;
				h[2] = (uint8_t)(n >> 8);
				h[3] = (uint8_t)n;
				hl = 4;
			} else {
				h[1] = 127;
				for (int i = 0; i < 8; i++)
					h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
				hl = 10;
			}
			iov[k++] = (struct iovec){ h, hl };
			iov[k++] = (struct iovec){ (void *)(cap + pos + 4), n };
			pos += 4 + n;
			f++;
		}
		if (!f)
			break;
		struct iovec *v = iov;
		while (k) {
			ssize_t w = writev(fd, v, k);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) /* the client left early */
				return errno == EPIPE || errno == ECONNRESET ? 0 : 2;
			while (k && (size_t)w >= v->iov_len) {
				w -= (ssize_t)v->iov_len;
				v++;
				k--;
			}
			if (k) {
				v->iov_base = (char *)v->iov_base + w;
				v->iov_len -= (size_t)w;
			}
		}
	}
	/* wait for the client to hang up */
	char sink[4096];
	while (read(fd, sink, sizeof sink) > 0)
		;
	return 0;
}
