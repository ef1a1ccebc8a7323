/*
 * connstr.c — Event Hubs connection strings → Kafka settings (connstr.h).
 */
#include "connstr.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool key_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && strncasecmp(k, name, kn) == 0;
}

static int copy(char *dst, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, p, n);
	dst[n] = 0;
	return 0;
}

int atfh_connstr_parse(struct atfh_connstr *c, const char *s, size_t n,
		       char *err, size_t errn)
{
	memset(c, 0, sizeof *c);
	const char *ep = NULL, *key = NULL, *kname = NULL, *entity = NULL;
	size_t epn = 0, keyn = 0, knamen = 0, entityn = 0;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ';')
			j++;
		const char *part = s + i;
		size_t pn = j - i;
		i = j + 1;
		while (pn && (*part == ' ' || *part == '\t'))
			part++, pn--;
		while (pn && (part[pn - 1] == ' ' || part[pn - 1] == '\t' ||
			      part[pn - 1] == '\n' || part[pn - 1] == '\r'))
			pn--;
		if (!pn)
			continue;
		const char *eq = memchr(part, '=', pn);
		if (!eq) {
			snprintf(err, errn, "connection string: part %.*s%s has no '='",
				 (int)(pn > 40 ? 40 : pn), part, pn > 40 ? "..." : "");
			return -1;
		}
		size_t kn = (size_t)(eq - part);
		const char *v = eq + 1;
		size_t vn = pn - kn - 1;
		if (key_is(part, kn, "Endpoint"))
			ep = v, epn = vn;
		else if (key_is(part, kn, "SharedAccessKey"))
			key = v, keyn = vn;
		else if (key_is(part, kn, "SharedAccessKeyName"))
			kname = v, knamen = vn;
		else if (key_is(part, kn, "EntityPath"))
			entity = v, entityn = vn;
		/* other keys (SharedAccessSignature …) are passed on as part of
		 * the password and not interpreted here */
	}
	if (!ep) {
		snprintf(err, errn, "connection string: no Endpoint=sb://NAMESPACE.servicebus.windows.net/");
		return -1;
	}
	if (epn < 5 || strncasecmp(ep, "sb://", 5) != 0) {
		snprintf(err, errn, "connection string: Endpoint must start with sb:// (got %.*s)",
			 (int)(epn > 60 ? 60 : epn), ep);
		return -1;
	}
	const char *host = ep + 5;
	size_t hn = epn - 5;
	for (size_t k = 0; k < hn; k++)
		if (host[k] == '/' || host[k] == ':') {
			hn = k;
			break;
		}
	if (!hn) {
		snprintf(err, errn, "connection string: Endpoint has no host name");
		return -1;
	}
	for (size_t k = 0; k < hn; k++) {
		unsigned char ch = (unsigned char)host[k];
		if (!(ch == '.' || ch == '-' || (ch >= '0' && ch <= '9') ||
		      ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'))) {
			snprintf(err, errn, "connection string: Endpoint host has a bad character at %zu",
				 k + 1);
			return -1;
		}
	}
	if (hn + 6 >= sizeof c->bootstrap) {
		snprintf(err, errn, "connection string: Endpoint host is too long");
		return -1;
	}
	snprintf(c->bootstrap, sizeof c->bootstrap, "%.*s:9093", (int)hn, host);
	if (!kname || !knamen) {
		snprintf(err, errn, "connection string: no SharedAccessKeyName");
		return -1;
	}
	if (!key || !keyn) {
		snprintf(err, errn, "connection string: no SharedAccessKey");
		return -1;
	}
	if (copy(c->keyname, sizeof c->keyname, kname, knamen)) {
		snprintf(err, errn, "connection string: SharedAccessKeyName is too long");
		return -1;
	}
	if (entity && copy(c->topic, sizeof c->topic, entity, entityn)) {
		snprintf(err, errn, "connection string: EntityPath is too long");
		return -1;
	}
	return 0;
}
