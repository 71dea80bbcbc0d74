/* target.c - see target.h. */
#include "deliver/target.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

void
target_name(const struct dns_target *t, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (t->sa.ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const void *)&t->sa;
		size_t off = offsetof(struct sockaddr_un, sun_path), max = 0;

		/* sun_path need not end in a NUL: its length is what sa_len leaves of it */
		if (t->sa_len > off)
			max = t->sa_len - off < sizeof(su->sun_path) ? t->sa_len - off :
			    sizeof(su->sun_path);
		snprintf(out, size, "unix:%.*s", (int)strnlen(su->sun_path, max), su->sun_path);
		return;
	}
	if (t->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&t->sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)&t->sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
	}
	snprintf(out, size, "%s[%s]:%u", t->host, ip, port);
}

int
target_bind_source(int fd, int family, const char *src)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (src == NULL || src[0] == '\0')
		return 0;
	if (family == AF_INET && inet_pton(AF_INET, src, &s4.sin_addr) == 1)
		return bind(fd, (struct sockaddr *)&s4, sizeof(s4));
	if (family == AF_INET6 && inet_pton(AF_INET6, src, &s6.sin6_addr) == 1)
		return bind(fd, (struct sockaddr *)&s6, sizeof(s6));
	return 0;	/* XXX: an IPv4 source says nothing about IPv6: the kernel chooses */
}
