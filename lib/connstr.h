/*
 * connstr.h — Azure Event Hubs (and Fabric Event Streams) connection
 * strings: `Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=K;
 * SharedAccessKey=S;EntityPath=HUB` parsed into what a Kafka client needs:
 * the bootstrap server (the endpoint's host, port 9093), the topic (the
 * entity path), and SASL PLAIN credentials (user `$ConnectionString`, the
 * whole string as password).  Owns the syntax checks and their messages.
 */
#ifndef ATFH_CONNSTR_H
#define ATFH_CONNSTR_H

#include "atfh.h"

struct atfh_connstr {
	char bootstrap[300]; /* host:9093 */
	char topic[300];     /* EntityPath, "" when absent */
	char keyname[300];   /* SharedAccessKeyName */
};

/* Parse S (N bytes, need not be NUL-terminated).  0, or -1 with a message
 * naming the missing or malformed part in ERR. */
int atfh_connstr_parse(struct atfh_connstr *c, const char *s, size_t n,
		       char *err, size_t errn);

#endif
