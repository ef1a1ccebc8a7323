/*
 * atfh-decode — firehose frames (or jetstream NDJSON) to NDJSON events.
 */
#include "cli.h"
#include "event.h"
#include "format.h"
#include "idcheck.h"
#include "jsonscan.h"
#include "loop.h"
#include "outfile.h"
#include "util.h"

#include <stdlib.h>
#include <time.h>

enum {
	OPT_BLOCKS = ATFH_OPT_TOOL_FIRST,
	OPT_VERIFY,
	OPT_NO_RECORD,
	OPT_CE_ALL,
	OPT_CE_SOURCE,
	OPT_ATKAFKA_ALL,
	OPT_SORT_KEYS,
	OPT_VERIFY_SIG,
	OPT_EVENT_METADATA,
	OPT_APPVIEW,
	OPT_HANDLE_RESOLVER,
	OPT_DNS_SERVER,
};

static const char *const block_modes[] = { "bytes", "expand", NULL };

static const struct atfh_option options[] = {
	{ 'f', "format", "NAME", ATFH_ARG_CHOICE, atfh_format_names,
	  "output shape: jetstream (default), frame, atkafka, osprey, cloudevents" },
	{ OPT_BLOCKS, "blocks", "MODE", ATFH_ARG_CHOICE, block_modes,
	  "frame format: blocks as $bytes (default) or expand into {cid: record}" },
	{ OPT_VERIFY, "verify", NULL, ATFH_ARG_NONE, NULL,
	  "check every block's sha256 against its CID; a mismatch is malformed" },
	{ OPT_NO_RECORD, "no-record", NULL, ATFH_ARG_NONE, NULL,
	  "leave records out (faster; no CAR decoding)" },
	{ OPT_CE_ALL, "ce-all", NULL, ATFH_ARG_NONE, NULL,
	  "cloudevents: every event, not only the producer's six types" },
	{ OPT_CE_SOURCE, "ce-source", "URL", ATFH_ARG_STRING, NULL,
	  "cloudevents: the source attribute (default the bsky.network firehose)" },
	{ OPT_ATKAFKA_ALL, "atkafka-all", NULL, ATFH_ARG_NONE, NULL,
	  "atkafka, osprey: keep the sync and error events at-kafka drops" },
	{ OPT_SORT_KEYS, "sort-keys", NULL, ATFH_ARG_NONE, NULL,
	  "records and bodies with sorted keys, as Go's JSON encoder writes maps" },
	{ OPT_VERIFY_SIG, "verify-sig", NULL, ATFH_ARG_NONE, NULL,
	  "check each commit's signature with its account's key; a failure is malformed" },
	{ OPT_EVENT_METADATA, "event-metadata", NULL, ATFH_ARG_NONE, NULL,
	  "atkafka, osprey: fill eventMetadata from the account's DID document" },
	{ OPT_APPVIEW, "appview", "URL", ATFH_ARG_STRING, NULL,
	  "--event-metadata: the profile from this AppView (getProfile)" },
	{ OPT_HANDLE_RESOLVER, "handle-resolver", "URL", ATFH_ARG_STRING, NULL,
	  "--event-metadata: check handles with resolveHandle there, not DNS/HTTPS" },
	{ OPT_DNS_SERVER, "dns-server", "ADDR:PORT", ATFH_ARG_STRING, NULL,
	  "--event-metadata: DNS server(s) for handle TXT records (comma list)" },
	ATFH_OPTS_IDENTITY,
	ATFH_OPTS_OUTPUT_FILE,
	ATFH_OPTS_THREADS,
	ATFH_OPTS_COMMON_INPUT,
	ATFH_OPTS_COMMON_STATS,
	ATFH_OPTS_COMMON_END,
};

static const struct atfh_program program = {
	.name = "atfh-decode",
	.args = "[FILE]...",
	.summary = "Decode firehose frames into NDJSON events, one line per record op.\n"
		   "FILE may be frames, jetstream NDJSON or either zstd-compressed;\n"
		   "none or - reads stdin.",
	.options = options,
	.epilog = "Examples:\n"
		  "  atfh-decode capture.atfh.zst | head\n"
		  "  atfh-subscribe | atfh-decode -f cloudevents | atfh-emit -t bsky\n"
		  "Exit status: 0 ok, 2 usage or I/O error, 3 malformed records skipped,\n"
		  "130/143 a finite input interrupted by SIGINT/SIGTERM.\n",
};

struct decode {
	struct atfh_loop loop;
	struct atfh_format_opts fmt;
	struct atfh_msg msg;
	struct atfh_out out;
	const char *output;
	struct atfh_idcheck id; /* --verify-sig, --event-metadata */
	struct atfh_out meta;   /* the eventMetadata being written */
};

static int on_option(int id, const char *arg, void *ctx)
{
	struct decode *d = ctx;
	int r = atfh_loop_option(&d->loop, id, arg);
	if (!r)
		r = atfh_idcheck_option(&d->id, id, arg);
	if (r)
		return r < 0 ? -1 : 0;
	switch (id) {
	case OPT_VERIFY_SIG:
		d->id.verify_sig = true;
		return 0;
	case OPT_EVENT_METADATA:
		d->id.metadata = true;
		return 0;
	case OPT_APPVIEW:
		d->id.cfg.appview = arg;
		return 0;
	case OPT_HANDLE_RESOLVER:
		d->id.cfg.handle_resolver = arg;
		return 0;
	case OPT_DNS_SERVER:
		d->id.cfg.dns_servers = arg;
		return 0;
	case 'f':
		if ((r = atfh_format_lookup(arg)) < 0) {
			atfh_err("unknown format '%s' (jetstream, frame, atkafka, osprey, cloudevents)",
				 arg);
			return -1;
		}
		d->fmt.format = (enum atfh_format)r;
		return 0;
	case OPT_BLOCKS:
		if (strcmp(arg, "bytes") && strcmp(arg, "expand")) {
			atfh_err("--blocks: '%s' is neither bytes nor expand", arg);
			return -1;
		}
		d->fmt.expand_blocks = strcmp(arg, "expand") == 0;
		return 0;
	case OPT_VERIFY:
		d->fmt.verify = true;
		return 0;
	case OPT_NO_RECORD:
		d->fmt.no_record = true;
		return 0;
	case OPT_CE_ALL:
		d->fmt.ce_all = true;
		return 0;
	case OPT_CE_SOURCE:
		d->fmt.ce_source = arg;
		return 0;
	case OPT_ATKAFKA_ALL:
		d->fmt.atkafka_all = true;
		return 0;
	case OPT_SORT_KEYS:
		d->fmt.sort_keys = true;
		return 0;
	case 'o':
		d->output = arg;
		return 0;
	}
	return -1;
}

/* D->msg holds the frame: write its lines. */
static int write_frame(struct decode *d, const char **err)
{
	size_t mark = d->out.len;
	if (atfh_format_msg(&d->out, &d->msg, &d->fmt, err)) {
		d->out.len = mark; /* no partial lines */
		return ATFH_REC_BAD;
	}
	d->loop.stats.events += d->msg.kind == ATFH_K_COMMIT && d->fmt.format != ATFH_FMT_FRAME
					? d->msg.nops : 1;
	atfh_out_event_done(&d->out);
	return ATFH_REC_OK;
}

static int write_line(struct decode *d, const char *p, size_t n, const char **err)
{
	size_t mark = d->out.len;
	if (atfh_format_json(&d->out, p, n, &d->fmt, err)) {
		d->out.len = mark;
		return ATFH_REC_BAD;
	}
	d->loop.stats.events++;
	atfh_out_event_done(&d->out);
	return ATFH_REC_OK;
}

/* The eventMetadata of a resolved account E for the next event. */
static void set_metadata(struct decode *d, struct atfh_identity *e)
{
	d->fmt.event_metadata = NULL;
	if (!d->id.metadata || !e || e->state != ATFH_ID_OK || !e->doc || !e->doc->indigo)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	d->meta.len = 0;
	atfh_idcheck_metadata(&d->meta, e, (double)ts.tv_sec);
	d->fmt.event_metadata = d->meta.buf;
	d->fmt.event_metadata_len = d->meta.len;
}

/* A record whose account is known (lib/idqueue). */
static int settle(void *ctx, const struct atfh_idq_item *it, struct atfh_identity *e,
		  bool queued, const char **err)
{
	struct decode *d = ctx;
	set_metadata(d, e);
	if (it->line)
		return write_line(d, (const char *)it->data, it->n, err);
	if (queued && atfh_msg_parse(&d->msg, it->data, it->n)) {
		*err = d->msg.err;
		return ATFH_REC_BAD;
	}
	int r = atfh_idcheck_msg(&d->id, &d->msg, e, it->retried, err);
	if (r == ATFH_IDC_DROP)
		return ATFH_REC_OK;
	return r ? r : write_frame(d, err);
}

static int on_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct decode *d = l->ctx;
	if (atfh_msg_parse(&d->msg, p, n)) {
		*err = d->msg.err;
		return ATFH_REC_BAD;
	}
	if (!d->id.on)
		return write_frame(d, err);
	size_t dn = 0;
	const char *did = atfh_idcheck_did(&d->id, &d->msg, &dn);
	return atfh_idq_submit(&d->id.q, p, n, false, did, dn, err);
}

static int on_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct decode *d = l->ctx;
	if (d->fmt.format == ATFH_FMT_FRAME || d->id.verify_sig) {
		/* a usage problem, not bad input: say it once and stop */
		atfh_err(d->id.verify_sig ? "%s: --verify-sig needs frames; NDJSON carries no signatures"
					  : "%s: -f frame needs frame input; this is NDJSON", l->in.name);
		l->io_failed = true;
		return ATFH_REC_STOP;
	}
	if (!d->id.on)
		return write_line(d, p, n, err);
	const char *did;
	size_t dn;
	if (atfh_idcheck_line_did(&d->id, p, n, &did, &dn, err))
		return ATFH_REC_BAD;
	return atfh_idq_submit(&d->id.q, p, n, true, did, dn, err);
}

/* A worker of -T: the same options, a parser and an output of its own. */
static struct atfh_loop *worker_new(struct atfh_loop *l)
{
	struct decode *d = l->ctx, *w = atfh_xcalloc(1, sizeof *w);
	atfh_loop_worker_init(&w->loop, l, w, &w->out);
	w->fmt = d->fmt;
	atfh_msg_init(&w->msg);
	return &w->loop;
}

static void worker_free(struct atfh_loop *l)
{
	struct decode *w = l->ctx;
	atfh_msg_free(&w->msg);
	atfh_out_free(&w->out);
	free(w);
}

int main(int argc, char **argv)
{
	static struct decode d;
	atfh_cli_signals();
	atfh_loop_init(&d.loop, "atfh_decode");
	atfh_idcheck_init(&d.id);
	int first = atfh_cli_parse(&program, argc, argv, on_option, &d);

	if (d.id.metadata && d.fmt.format != ATFH_FMT_ATKAFKA && d.fmt.format != ATFH_FMT_OSPREY)
		atfh_usage_error("--event-metadata goes with -f atkafka or -f osprey");
	if (d.id.cfg.appview && !d.id.metadata)
		atfh_usage_error("--appview goes with --event-metadata");
	if (d.id.cfg.handle_resolver && !d.id.metadata)
		atfh_usage_error("--handle-resolver goes with --event-metadata");
	if (d.id.cfg.dns_servers && !d.id.metadata)
		atfh_usage_error("--dns-server goes with --event-metadata");
	if (d.id.cfg.handle_resolver && d.id.cfg.dns_servers)
		atfh_usage_error("--handle-resolver and --dns-server exclude each other");
	if (atfh_idcheck_start(&d.id, &d.loop, settle, &d))
		return ATFH_EXIT_FAIL;
	d.meta.fd = -1;
	struct atfh_outfile of;
	if (atfh_outfile_open(&of, &d.out, d.output))
		return ATFH_EXIT_FAIL;
	atfh_msg_init(&d.msg);
	d.fmt.json_op_index = SIZE_MAX; /* no commit line seen yet */
	d.loop.out = &d.out;
	d.loop.ctx = &d;
	d.loop.on_frame = on_frame;
	d.loop.on_line = on_line;
	/* osprey's action ids run on from event to event, the identity checks
	 * keep one resolver and reorder queue: one thread; NDJSON is
	 * reformatted with each op's index counted over the lines before */
	if (d.fmt.format != ATFH_FMT_OSPREY && !d.id.on) {
		d.loop.worker_new = worker_new;
		d.loop.worker_free = worker_free;
	}
	d.loop.serial_lines = d.fmt.format != ATFH_FMT_JETSTREAM || d.fmt.no_record ||
			      d.fmt.sort_keys;
	int status = atfh_loop_run(&d.loop, argv + first, (size_t)(argc - first));
	status = atfh_outfile_finish(&of, &d.out, status);
	status = atfh_idcheck_finish(&d.id, status);
	atfh_out_free(&d.meta);
	atfh_msg_free(&d.msg);
	atfh_out_free(&d.out);
	return status;
}
