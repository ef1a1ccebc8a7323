/*
 * mockcluster — a Kafka cluster for the tests: librdkafka's mock cluster
 * (rd_kafka_mock_cluster_new) with N brokers (default 3), reachable over
 * real TCP on 127.0.0.1.  Prints the bootstrap address on stdout, one line,
 * then runs until SIGTERM/SIGINT (or stdin closes, with -s).
 *
 *   mockcluster [-b BROKERS] [-t TOPIC:PARTITIONS]... [-s]
 *
 * -t creates topics up front (the mock cluster also auto-creates topics
 * with 4 partitions on first use).  Commands on stdin with -s, one a line,
 * for fault injection:
 *   down N / up N           broker N down (connections closed) / back up
 *   leader TOPIC P N        make broker N the leader of TOPIC partition P
 *   errors API CODE COUNT   the next COUNT requests of API (a Kafka ApiKey
 *                           number) fail with CODE (a Kafka error code)
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
	int brokers = 3, opt, cmds = 0;
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!rk) {
		fprintf(stderr, "mockcluster: %s\n", errstr);
		return 2;
	}
	char *topics[64];
	int ntopics = 0;
	while ((opt = getopt(argc, argv, "b:t:s")) != -1) {
		switch (opt) {
		case 'b': brokers = atoi(optarg); break;
		case 't':
			if (ntopics < 64)
				topics[ntopics++] = optarg;
			break;
		case 's': cmds = 1; break;
		default:
			fprintf(stderr, "usage: mockcluster [-b BROKERS] [-t TOPIC:PARTITIONS]... [-s]\n");
			return 2;
		}
	}
	if (brokers < 1 || brokers > 16) {
		fprintf(stderr, "mockcluster: -b: 1 to 16 brokers\n");
		return 2;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "mockcluster: cannot start the mock cluster\n");
		return 2;
	}
	for (int i = 0; i < ntopics; i++) {
		char *colon = strrchr(topics[i], ':');
		int parts = 4;
		if (colon) {
			*colon = 0;
			parts = atoi(colon + 1);
		}
		int repl = brokers < 3 ? brokers : 3;
		if (rd_kafka_mock_topic_create(mc, topics[i], parts, repl)) {
			fprintf(stderr, "mockcluster: cannot create topic %s\n", topics[i]);
			return 2;
		}
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	char line[512];
	while (!stop) {
		if (!cmds) {
			pause();
			continue;
		}
		if (!fgets(line, sizeof line, stdin))
			break;
		char topic[256];
		int a, b, c;
		if (sscanf(line, "down %d", &a) == 1)
			rd_kafka_mock_broker_set_down(mc, a);
		else if (sscanf(line, "up %d", &a) == 1)
			rd_kafka_mock_broker_set_up(mc, a);
		else if (sscanf(line, "leader %255s %d %d", topic, &a, &b) == 3)
			rd_kafka_mock_partition_set_leader(mc, topic, a, b);
		else if (sscanf(line, "errors %d %d %d", &a, &b, &c) == 3) {
			rd_kafka_resp_err_t errs[64];
			if (c > 64)
				c = 64;
			for (int i = 0; i < c; i++)
				errs[i] = (rd_kafka_resp_err_t)b;
			rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)c, errs);
		} else
			fprintf(stderr, "mockcluster: unknown command: %s", line);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
