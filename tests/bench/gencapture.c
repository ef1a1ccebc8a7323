/*
 * gencapture -- synthetic, deterministic AT Protocol firehose capture for
 * atfh's benchmarks.
 *
 *   gencapture --frames N --seed S [--dids D] [--start-seq Q] > out.atfh
 *
 * Writes N records of the "frames" format (DESIGN.md): a 4-byte big-endian
 * length and one event-stream message, i.e. a DAG-CBOR header {t, op:1}
 * followed by a DAG-CBOR body, shaped like what the live relay sends:
 *
 *   - ~99% #commit, ~1% #identity / #account / #sync;
 *   - op mix: like 50%, follow 15%, post 12%, repost 10%, block 3%,
 *     profile update 2%, delete 8% (of likes/follows/posts/reposts);
 *     ~1% of commits carry several ops (starter-pack follows, bulk deletes);
 *   - D distinct did:plc DIDs (default 200000) with Zipf-like activity;
 *   - records with realistic texts (several languages, emoji, newlines,
 *     quotes), langs, createdAt, reply strongRefs, facets with UTF-8 byte
 *     offsets, embeds (images with blob refs, external cards, quotes,
 *     video, recordWithMedia);
 *   - a CAR per commit holding the signed commit block, 1-4 MST nodes
 *     (root .. leaf, each parent linking the next through l or an entry's t,
 *     keys prefix-compressed) and the record blocks; every CID is CIDv1
 *     dag-cbor sha2-256 of its block, the op CID is the record block's CID;
 *   - increasing seq (crossing 2^32) and time ("…T12:34:56.789Z"), a few
 *     hundred events per second of event time; per-DID increasing revs with
 *     since = the DID's previous rev and prevData = its previous data CID.
 *
 * Everything is canonical DAG-CBOR (map keys length-first, then bytewise);
 * the maps below are written with their keys already in that order.
 * Output depends only on the arguments.  Needs only libcrypto (sha256).
 *
 *   cc -O2 -o gencapture gencapture.c -lcrypto
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

static const char *prog = "gencapture";

static void die(const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
	exit(2);
}

/* ---- random numbers (xoshiro256**, seeded by splitmix64) ---------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rs[4];

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rnd(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
	rs[2] ^= rs[0]; rs[3] ^= rs[1]; rs[1] ^= rs[2]; rs[0] ^= rs[3];
	rs[2] ^= t; rs[3] = rotl(rs[3], 45);
	return r;
}

/* uniform in [0, n) */
static inline uint64_t below(uint64_t n)
{
	__extension__ typedef unsigned __int128 u128;
	return (uint64_t)(((u128)rnd() * n) >> 64);
}

/* uniform in [lo, hi] */
static inline int64_t range(int64_t lo, int64_t hi) { return lo + (int64_t)below((uint64_t)(hi - lo + 1)); }

static inline double unif(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0); }

/* true with probability p percent */
static inline int pct(double p) { return unif() * 100.0 < p; }

#define PICK(arr) (arr[below(sizeof(arr) / sizeof(arr[0]))])

/* ---- byte buffers ----------------------------------------------------- */

typedef struct {
	uint8_t *p;
	size_t n, cap;
} buf;

static void reserve(buf *b, size_t extra)
{
	if (b->n + extra <= b->cap)
		return;
	size_t c = b->cap ? b->cap : 4096;
	while (c < b->n + extra)
		c *= 2;
	b->p = realloc(b->p, c);
	if (!b->p)
		die("out of memory");
	b->cap = c;
}

static inline void put(buf *b, const void *d, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static inline void put1(buf *b, uint8_t c)
{
	reserve(b, 1);
	b->p[b->n++] = c;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* ---- DAG-CBOR encoder ------------------------------------------------- */

static void cb_head(buf *b, unsigned major, uint64_t v)
{
	uint8_t m = (uint8_t)(major << 5);
	reserve(b, 9);
	uint8_t *p = b->p + b->n;
	if (v < 24) {
		p[0] = m | (uint8_t)v;
		b->n += 1;
	} else if (v <= 0xff) {
		p[0] = m | 24; p[1] = (uint8_t)v;
		b->n += 2;
	} else if (v <= 0xffff) {
		p[0] = m | 25; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
		b->n += 3;
	} else if (v <= 0xffffffffULL) {
		p[0] = m | 26;
		for (int i = 0; i < 4; i++)
			p[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		b->n += 5;
	} else {
		p[0] = m | 27;
		for (int i = 0; i < 8; i++)
			p[1 + i] = (uint8_t)(v >> (56 - 8 * i));
		b->n += 9;
	}
}

static inline void cb_map(buf *b, unsigned n) { cb_head(b, 5, n); }
static inline void cb_arr(buf *b, unsigned n) { cb_head(b, 4, n); }
static inline void cb_null(buf *b) { put1(b, 0xf6); }
static inline void cb_bool(buf *b, int v) { put1(b, v ? 0xf5 : 0xf4); }

static void cb_int(buf *b, int64_t v)
{
	if (v >= 0)
		cb_head(b, 0, (uint64_t)v);
	else
		cb_head(b, 1, (uint64_t)(-1 - v));
}

static void cb_text(buf *b, const char *s, size_t n)
{
	cb_head(b, 3, n);
	put(b, s, n);
}

static void cb_str(buf *b, const char *s) { cb_text(b, s, strlen(s)); }

static void cb_bytes(buf *b, const void *d, size_t n)
{
	cb_head(b, 2, n);
	put(b, d, n);
}

/* key: a text string (callers keep canonical order) */
#define K(b, s) cb_text((b), (s), sizeof(s) - 1)

/* ---- CIDs --------------------------------------------------------------- */

enum { DAG_CBOR = 0x71, RAW = 0x55 };

typedef struct {
	uint8_t b[36]; /* 0x01 codec 0x12 0x20 digest[32] */
} cid_t;

/* SHA256() fetches the digest (taking a lock) on every call in OpenSSL 3;
 * fetch it once and reuse one context */
static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static void cid_of(cid_t *c, const uint8_t *data, size_t n, uint8_t codec)
{
	c->b[0] = 0x01; c->b[1] = codec; c->b[2] = 0x12; c->b[3] = 0x20;
	if (!sha256_md) {
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
		sha256_ctx = EVP_MD_CTX_new();
		if (!sha256_md || !sha256_ctx)
			die("cannot set up sha256");
	}
	if (!EVP_DigestInit_ex(sha256_ctx, sha256_md, NULL) ||
	    !EVP_DigestUpdate(sha256_ctx, data, n) ||
	    !EVP_DigestFinal_ex(sha256_ctx, c->b + 4, NULL))
		die("sha256 failed");
}

static void cid_rand(cid_t *c, uint8_t codec)
{
	c->b[0] = 0x01; c->b[1] = codec; c->b[2] = 0x12; c->b[3] = 0x20;
	for (int i = 0; i < 4; i++) {
		uint64_t r = rnd();
		memcpy(c->b + 4 + 8 * i, &r, 8);
	}
}

static void cb_link(buf *b, const cid_t *c)
{
	static const uint8_t tag[] = { 0xd8, 0x2a, 0x58, 0x25, 0x00 };
	put(b, tag, sizeof tag);
	put(b, c->b, 36);
}

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* "b" + base32 lower, no padding: 59 chars + NUL */
static void cid_str(char out[60], const cid_t *c)
{
	int o = 0;
	out[o++] = 'b';
	uint32_t acc = 0;
	int bits = 0;
	for (int i = 0; i < 36; i++) {
		acc = (acc << 8) | c->b[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = B32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		out[o++] = B32[(acc << (5 - bits)) & 31];
	out[o] = 0;
}

/* ---- TIDs and times ----------------------------------------------------- */

static const char S32[] = "234567abcdefghijklmnopqrstuvwxyz";

static uint64_t tid_val(int64_t us, unsigned clock)
{
	return (((uint64_t)us & ((1ULL << 53) - 1)) << 10) | (clock & 1023);
}

static void tid_str(char out[14], uint64_t v)
{
	for (int i = 12; i >= 0; i--) {
		out[i] = S32[v & 31];
		v >>= 5;
	}
	out[13] = 0;
}

static void civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

/* "2024-11-19T12:34:56.789Z" (24 chars + NUL); years 0..9999 */
static void fmt_time(char out[32], int64_t us)
{
	static int64_t cached_s = -1;
	static char cached[32];
	int64_t s = us / 1000000;
	unsigned ms = (unsigned)(us % 1000000) / 1000;
	if (s != cached_s) {
		int64_t days = s / 86400;
		unsigned sod = (unsigned)(s % 86400);
		int y;
		unsigned mo, d;
		civil(days, &y, &mo, &d);
		unsigned f[6] = { (unsigned)y, mo, d, sod / 3600, sod / 60 % 60, sod % 60 };
		char *p = cached;
		p[0] = (char)('0' + f[0] / 1000 % 10); p[1] = (char)('0' + f[0] / 100 % 10);
		p[2] = (char)('0' + f[0] / 10 % 10); p[3] = (char)('0' + f[0] % 10);
		p += 4;
		static const char sep[] = "--T::";
		for (int i = 1; i < 6; i++) {
			*p++ = sep[i - 1];
			*p++ = (char)('0' + f[i] / 10);
			*p++ = (char)('0' + f[i] % 10);
		}
		*p++ = '.';
		cached_s = s;
	}
	memcpy(out, cached, 20);
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = 0;
}

/* ---- vocabulary --------------------------------------------------------- */

static const char *en_w[] = {
	"the", "a", "and", "to", "of", "I", "you", "it", "is", "that", "this",
	"for", "on", "with", "was", "just", "so", "my", "but", "not", "have",
	"be", "are", "like", "what", "all", "me", "they", "we", "people", "if",
	"one", "can", "about", "out", "get", "your", "do", "when", "more", "no",
	"now", "time", "really", "think", "good", "love", "new", "know", "day",
	"today", "here", "want", "going", "lol", "still", "back", "great",
	"world", "always", "never", "year", "post", "thread", "bluesky",
	"feed", "art", "music", "book", "game", "coffee", "morning", "night",
	"weekend", "cat", "dog", "photo", "news", "vote", "election", "science",
	"climate", "weather", "rain", "sun", "city", "train", "work", "code",
	"bug", "release", "open", "source", "community", "friends", "family",
	"happy", "sad", "tired", "excited", "honestly", "literally", "maybe",
	"probably", "definitely", "wow", "yes", "thanks", "please", "sorry",
	"everyone", "someone", "nothing", "everything", "because", "why", "how",
	"first", "last", "best", "worst", "big", "small", "little", "old",
	"hot", "cold", "long", "short", "free", "live", "watch", "read",
	"write", "draw", "paint", "cook", "eat", "sleep", "run", "walk",
};
static const char *ja_w[] = {
	"今日は", "とても", "いい天気", "ですね", "ありがとう", "ございます",
	"おはよう", "こんばんは", "猫", "かわいい", "仕事", "疲れた", "ラーメン",
	"食べたい", "新しい", "絵を描きました", "ブルースカイ", "楽しい",
	"よろしく", "お願いします", "電車", "遅れてる", "雨", "週末", "映画",
	"見ました", "本当に", "すごい", "なるほど", "草", "。", "、", "！",
};
static const char *pt_w[] = {
	"bom", "dia", "gente", "hoje", "não", "muito", "é", "que", "eu", "você",
	"está", "amanhã", "obrigado", "obrigada", "coração", "saudade", "futebol",
	"então", "também", "pra", "mais", "isso", "aqui", "tá", "né", "kkkkk",
	"ação", "país", "governo", "música", "café", "trabalho", "vida",
};
static const char *de_w[] = {
	"ich", "und", "das", "ist", "nicht", "heute", "morgen", "schön",
	"größer", "Straße", "über", "für", "Mädchen", "danke", "gut", "Kaffee",
	"Wetter", "Zug", "Verspätung", "wirklich", "Grüße", "Bahn", "schon",
};
static const char *es_w[] = {
	"hola", "que", "muy", "bien", "gracias", "mañana", "año", "niño", "sí",
	"también", "porque", "corazón", "canción", "fútbol", "vida", "hoy",
	"jajaja", "amigos", "noche", "día", "qué", "está", "más", "señor",
};
static const char *fr_w[] = {
	"bonjour", "je", "tu", "il", "est", "très", "été", "ça", "où", "être",
	"français", "merci", "aujourd'hui", "déjà", "voilà", "café", "garçon",
	"enfin", "peut-être", "beaucoup", "avec", "pour", "fête", "élection",
};
static const char *ko_w[] = {
	"안녕하세요", "오늘", "정말", "감사합니다", "사랑해", "고양이", "커피",
	"날씨", "좋아요", "그림", "음악", "친구", "주말", "진짜", "ㅋㅋㅋ",
};
static const char *emoji[] = {
	"😂", "❤️", "🥺", "✨", "🙏", "😭", "🔥", "👀", "💙", "🦋", "🎉", "🤔",
	"😍", "👍", "🌈", "☕", "🐱", "🐶", "🏳️‍🌈", "💀", "🫠", "🇧🇷", "🇯🇵",
};
static const char *domains[] = {
	"www.nytimes.com", "www.theguardian.com", "github.com", "youtu.be",
	"www.youtube.com", "en.wikipedia.org", "bsky.app", "www.bbc.co.uk",
	"arxiv.org", "open.spotify.com", "www.reuters.com", "substack.com",
	"apnews.com", "www.tumblr.com", "www.twitch.tv", "g1.globo.com",
	"news.yahoo.co.jp", "www.spiegel.de", "elpais.com", "www.lemonde.fr",
};
static const char *path_w[] = {
	"2024", "11", "19", "world", "us-news", "article", "watch", "post",
	"status", "blog", "p", "politics", "science", "tech", "culture",
	"video", "abs", "2411.01234", "atproto", "firehose", "index.html",
};
static const char *tags[] = {
	"art", "photography", "bookstodon", "blacksky", "gamedev", "ttrpg",
	"dogsofbluesky", "catsofbluesky", "vtuber", "イラスト", "絵描きさんと繋がりたい",
	"buildinpublic", "science", "nfl", "f1", "anime", "music", "politics",
};
static const char *handle_w[] = {
	"alex", "sam", "kit", "moon", "star", "pixel", "river", "fox", "nova",
	"jules", "max", "luna", "sky", "blue", "sun", "ray", "mika", "yuki",
	"ana", "leo", "noor", "ivy", "zoe", "kai", "eli", "rin", "sora", "ren",
	"bee", "owl", "cloud", "maple", "ember", "echo", "atlas", "orbit",
};
static const char *handle_dom[] = {
	".bsky.social", ".bsky.social", ".bsky.social", ".bsky.social",
	".bsky.social", ".bsky.social", ".bsky.social", ".com", ".dev",
	".net", ".xyz", ".org", ".art", ".blue",
};
static const char *alts[] = {
	"", "", "", "A photo of a cat sleeping on a keyboard",
	"Screenshot of a news article", "Drawing of a girl with blue hair",
	"Sunset over the ocean", "A graph showing rising temperatures",
	"My dog in the snow", "写真", "Meme: \"this is fine\" dog in a burning room",
	"Two people at a concert", "Foto do meu almoço",
};
static const char *titles[] = {
	"Breaking: markets rally as rates fall", "How we built a real-time feed",
	"The 10 best albums of the year", "Why cities need more trains",
	"A guide to the AT Protocol", "Live updates: election results",
	"New study finds coffee drinkers live longer", "Release notes v2.3.0",
};
static const char *descs[] = {
	"", "Read the full story.", "An in-depth look at what happened and why it matters.",
	"Watch the video on YouTube.", "Open source, MIT licensed.",
	"Artist | she/her | commissions open ✨\nDMs open", "Just here for the posts.",
	"🇧🇷 | música, café e futebol", "絵を描いています。無断転載禁止",
	"Software engineer. Opinions my own.\nhttps://example.com",
};
static const char *langs_[] = { "en", "ja", "pt", "de", "es", "fr", "ko" };
static const char *statuses[] = { "deactivated", "takendown", "deleted", "suspended" };

/* ---- DIDs and handles ---------------------------------------------------- */

#define DID_LEN 32 /* "did:plc:" + 24 */

static uint64_t seed;
static size_t ndids = 200000;
static char *dids;        /* ndids * (DID_LEN + 1) */
static double *zipf_act;  /* CDF of who commits */
static double *zipf_pop;  /* CDF of who gets liked/followed */
static uint64_t *last_rev;        /* per DID, 0 = unknown */
static uint8_t (*last_data)[32];  /* per DID previous data CID digest */

static const char *did_of(size_t i) { return dids + i * (DID_LEN + 1); }

static void make_dids(void)
{
	dids = malloc(ndids * (DID_LEN + 1));
	last_rev = calloc(ndids, sizeof *last_rev);
	last_data = calloc(ndids, sizeof *last_data);
	zipf_act = malloc(ndids * sizeof *zipf_act);
	zipf_pop = malloc(ndids * sizeof *zipf_pop);
	if (!dids || !last_rev || !last_data || !zipf_act || !zipf_pop)
		die("out of memory");
	for (size_t i = 0; i < ndids; i++) {
		uint64_t x = seed * 0x2545F4914F6CDD1DULL + i;
		uint64_t h1 = splitmix64(&x), h2 = splitmix64(&x);
		char *d = dids + i * (DID_LEN + 1);
		memcpy(d, "did:plc:", 8);
		for (int k = 0; k < 12; k++)
			d[8 + k] = B32[(h1 >> (5 * k)) & 31];
		for (int k = 0; k < 12; k++)
			d[20 + k] = B32[(h2 >> (5 * k)) & 31];
		d[DID_LEN] = 0;
	}
	double a = 0, p = 0;
	for (size_t i = 0; i < ndids; i++) {
		a += pow((double)(i + 1), -0.8);
		p += pow((double)(i + 1), -1.0);
		zipf_act[i] = a;
		zipf_pop[i] = p;
	}
}

static size_t zipf(const double *cdf)
{
	double u = unif() * cdf[ndids - 1];
	size_t lo = 0, hi = ndids - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t actor(void) { return zipf(zipf_act); }
/* spread the ranks so that the busiest actors are not also the most
 * liked/followed accounts */
static size_t popular(void) { return (zipf(zipf_pop) * 7919 + 104729) % ndids; }

static void handle_of(buf *b, size_t i)
{
	uint64_t x = seed ^ (i * 0x9E3779B97F4A7C15ULL), h = splitmix64(&x);
	puts_(b, handle_w[h % (sizeof handle_w / sizeof *handle_w)]);
	h /= 64;
	if (h & 1)
		puts_(b, handle_w[(h >> 1) % (sizeof handle_w / sizeof *handle_w)]);
	char num[24];
	snprintf(num, sizeof num, "%u", (unsigned)((h >> 8) % 10000));
	if (h & 2)
		puts_(b, num);
	puts_(b, handle_dom[(h >> 24) % (sizeof handle_dom / sizeof *handle_dom)]);
}

/* ---- record pieces ------------------------------------------------------ */

static int64_t now_us; /* event time of the current frame */

static void cb_created(buf *b, int64_t us)
{
	char t[32];
	fmt_time(t, us);
	K(b, "createdAt");
	cb_text(b, t, 24);
}

/* at://DID/COLL/TID */
static void cb_uri(buf *b, size_t did, const char *coll, int64_t us)
{
	char s[128];
	size_t cl = strlen(coll), n = 0;
	memcpy(s, "at://", 5);
	n += 5;
	memcpy(s + n, did_of(did), DID_LEN);
	n += DID_LEN;
	s[n++] = '/';
	memcpy(s + n, coll, cl);
	n += cl;
	s[n++] = '/';
	tid_str(s + n, tid_val(us, (unsigned)below(1024)));
	cb_text(b, s, n + 13);
}

/* com.atproto.repo.strongRef {cid (string), uri} to a post by someone */
static void cb_strongref(buf *b, size_t did, const char *coll)
{
	cid_t c;
	char cs[60];
	cid_rand(&c, DAG_CBOR);
	cid_str(cs, &c);
	cb_map(b, 2);
	K(b, "cid");
	cb_text(b, cs, 59);
	K(b, "uri");
	cb_uri(b, did, coll, now_us - range(1000000, 86400LL * 1000000 * 3));
}

static void cb_blob(buf *b, const char *mime, int64_t size)
{
	cid_t c;
	cid_rand(&c, RAW);
	cb_map(b, 4);
	K(b, "ref");
	cb_link(b, &c);
	K(b, "size");
	cb_int(b, size);
	K(b, "$type");
	cb_str(b, "blob");
	K(b, "mimeType");
	cb_str(b, mime);
}

static void cb_aspect(buf *b)
{
	static const int64_t ar[][2] = { { 1000, 1000 }, { 1536, 2048 },
		{ 2048, 1536 }, { 1080, 1920 }, { 1920, 1080 }, { 828, 1792 },
		{ 1200, 630 }, { 3024, 4032 } };
	int i = (int)below(sizeof ar / sizeof *ar);
	cb_map(b, 2);
	K(b, "width");
	cb_int(b, ar[i][0]);
	K(b, "height");
	cb_int(b, ar[i][1]);
}

static void cb_images(buf *b)
{
	unsigned n = (unsigned)(pct(65) ? 1 : range(2, 4));
	cb_map(b, 2);
	K(b, "$type");
	cb_str(b, "app.bsky.embed.images");
	K(b, "images");
	cb_arr(b, n);
	for (unsigned i = 0; i < n; i++) {
		int asp = pct(85);
		cb_map(b, asp ? 3 : 2);
		K(b, "alt");
		cb_str(b, PICK(alts));
		K(b, "image");
		cb_blob(b, pct(90) ? "image/jpeg" : pct(50) ? "image/png" : "image/webp",
		    range(20000, 999000));
		if (asp) {
			K(b, "aspectRatio");
			cb_aspect(b);
		}
	}
}

static void cb_external(buf *b, const char *uri, size_t urilen)
{
	int thumb = pct(70);
	cb_map(b, 2);
	K(b, "$type");
	cb_str(b, "app.bsky.embed.external");
	K(b, "external");
	cb_map(b, thumb ? 4 : 3);
	K(b, "uri");
	cb_text(b, uri, urilen);
	if (thumb) {
		K(b, "thumb");
		cb_blob(b, "image/jpeg", range(8000, 400000));
	}
	K(b, "title");
	cb_str(b, PICK(titles));
	K(b, "description");
	cb_str(b, PICK(descs));
}

static void cb_quote(buf *b)
{
	cb_map(b, 2);
	K(b, "$type");
	cb_str(b, "app.bsky.embed.record");
	K(b, "record");
	cb_strongref(b, popular(), "app.bsky.feed.post");
}

/* ---- post text with facets ---------------------------------------------- */

enum { F_MENTION, F_LINK, F_TAG };

typedef struct {
	size_t start, end;
	int kind;
	size_t did;
	char val[160];
} facet;

static char text[4096];
static size_t tlen;
static facet facets[8];
static int nfacets;
static char link_uri[160];
static size_t link_len;

static void tput(const char *s)
{
	size_t n = strlen(s);
	if (tlen + n < sizeof text) {
		memcpy(text + tlen, s, n);
		tlen += n;
	}
}

static void gen_link(char *out, size_t cap)
{
	int n = snprintf(out, cap, "https://%s/%s/%s", PICK(domains), PICK(path_w), PICK(path_w));
	if (pct(30) && n > 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, "?utm_source=bsky&id=%u", (unsigned)below(100000));
}

static int gen_text(void)
{
	int li = 0;
	double r = unif();
	if (r < 0.55) li = 0;
	else if (r < 0.70) li = 1;
	else if (r < 0.80) li = 2;
	else if (r < 0.84) li = 3;
	else if (r < 0.89) li = 4;
	else if (r < 0.92) li = 5;
	else if (r < 0.95) li = 6;
	static const char **words[] = { en_w, ja_w, pt_w, de_w, es_w, fr_w, ko_w };
	static const size_t nwords[] = {
		sizeof en_w / sizeof *en_w, sizeof ja_w / sizeof *ja_w,
		sizeof pt_w / sizeof *pt_w, sizeof de_w / sizeof *de_w,
		sizeof es_w / sizeof *es_w, sizeof fr_w / sizeof *fr_w,
		sizeof ko_w / sizeof *ko_w,
	};
	size_t target;
	r = unif();
	if (r < 0.05) target = 0; /* media-only post */
	else if (r < 0.35) target = (size_t)range(5, 40);
	else if (r < 0.85) target = (size_t)range(40, 160);
	else target = (size_t)range(160, 300);

	tlen = 0;
	nfacets = 0;
	link_len = 0;
	int sep = li != 1; /* Japanese without spaces */
	int mention = pct(15), link = pct(10), tag = pct(8);
	size_t mention_at = target ? (size_t)below(target + 1) : 0;
	while (tlen < target) {
		if (mention && tlen >= mention_at && nfacets < 8) {
			facet *f = &facets[nfacets++];
			f->kind = F_MENTION;
			f->did = popular();
			if (tlen && sep) tput(" ");
			f->start = tlen;
			buf h = { 0 };
			handle_of(&h, f->did);
			put1(&h, 0);
			tput("@");
			tput((char *)h.p);
			free(h.p);
			f->end = tlen;
			tput(" ");
			mention = 0;
			continue;
		}
		const char *w = words[li][below(nwords[li])];
		if (tlen && sep) tput(" ");
		tput(w);
		double p = unif();
		if (p < 0.04) tput(".");
		else if (p < 0.06) tput(",");
		else if (p < 0.075) tput("!");
		else if (p < 0.085) tput("?");
		else if (p < 0.10) tput("\n\n");
		else if (p < 0.11) tput("\n");
		else if (p < 0.14) { tput(" "); tput(PICK(emoji)); }
		else if (p < 0.145) tput(" \"quoted\"");
		else if (p < 0.1455) tput(" C:\\Users\\path");
		else if (p < 0.1457) tput("\t");
		else if (p < 0.1458) tput("\xe2\x80\xa8"); /* U+2028 */
	}
	if (link && nfacets < 8) {
		facet *f = &facets[nfacets++];
		f->kind = F_LINK;
		gen_link(f->val, sizeof f->val);
		if (tlen) tput(" ");
		f->start = tlen;
		tput(f->val);
		f->end = tlen;
		memcpy(link_uri, f->val, strlen(f->val));
		link_len = strlen(f->val);
	}
	if (tag && nfacets < 8) {
		unsigned n = (unsigned)range(1, 3);
		for (unsigned i = 0; i < n && nfacets < 8; i++) {
			facet *f = &facets[nfacets++];
			f->kind = F_TAG;
			snprintf(f->val, sizeof f->val, "%s", PICK(tags));
			if (tlen) tput(" ");
			f->start = tlen;
			tput("#");
			tput(f->val);
			f->end = tlen;
		}
	}
	return li;
}

static void cb_facets(buf *b)
{
	cb_arr(b, (unsigned)nfacets);
	for (int i = 0; i < nfacets; i++) {
		facet *f = &facets[i];
		int typed = pct(30);
		cb_map(b, typed ? 3 : 2);
		if (typed) {
			K(b, "$type");
			cb_str(b, "app.bsky.richtext.facet");
		}
		K(b, "index");
		cb_map(b, 2);
		K(b, "byteEnd");
		cb_int(b, (int64_t)f->end);
		K(b, "byteStart");
		cb_int(b, (int64_t)f->start);
		K(b, "features");
		cb_arr(b, 1);
		cb_map(b, 2);
		switch (f->kind) {
		case F_MENTION:
			K(b, "did");
			cb_str(b, did_of(f->did));
			K(b, "$type");
			cb_str(b, "app.bsky.richtext.facet#mention");
			break;
		case F_LINK:
			K(b, "uri");
			cb_str(b, f->val);
			K(b, "$type");
			cb_str(b, "app.bsky.richtext.facet#link");
			break;
		default:
			K(b, "tag");
			cb_str(b, f->val);
			K(b, "$type");
			cb_str(b, "app.bsky.richtext.facet#tag");
		}
	}
}

/* ---- records ------------------------------------------------------------ */

enum { C_LIKE, C_FOLLOW, C_POST, C_REPOST, C_BLOCK, C_PROFILE, NCOLL };
static const char *coll_name[NCOLL] = {
	"app.bsky.feed.like", "app.bsky.graph.follow", "app.bsky.feed.post",
	"app.bsky.feed.repost", "app.bsky.graph.block", "app.bsky.actor.profile",
};

static void rec_post(buf *b, int64_t created)
{
	int li = gen_text();
	int reply = pct(40);
	int langs = pct(94);
	int emb = 0; /* 1 images 2 external 3 quote 4 video 5 recordWithMedia */
	double r = unif();
	if (link_len && r < 0.6) emb = 2;
	else if (r < 0.22) emb = 1;
	else if (r < 0.28) emb = 3;
	else if (r < 0.30) emb = 4;
	else if (r < 0.315) emb = 5;
	unsigned n = 3 + (emb != 0) + langs + reply + (nfacets > 0);
	cb_map(b, n);
	K(b, "text");
	cb_text(b, text, tlen);
	K(b, "$type");
	cb_str(b, "app.bsky.feed.post");
	if (emb) {
		K(b, "embed");
		switch (emb) {
		case 1:
			cb_images(b);
			break;
		case 2:
			cb_external(b, link_uri, link_len);
			break;
		case 3:
			cb_quote(b);
			break;
		case 4:
			cb_map(b, 3);
			K(b, "$type");
			cb_str(b, "app.bsky.embed.video");
			K(b, "video");
			cb_blob(b, "video/mp4", range(300000, 50000000));
			K(b, "aspectRatio");
			cb_aspect(b);
			break;
		default:
			cb_map(b, 3);
			K(b, "$type");
			cb_str(b, "app.bsky.embed.recordWithMedia");
			K(b, "media");
			cb_images(b);
			K(b, "record");
			cb_quote(b);
		}
	}
	if (langs) {
		K(b, "langs");
		if (pct(5)) {
			cb_arr(b, 2);
			cb_str(b, langs_[li]);
			cb_str(b, langs_[li ? 0 : 2]);
		} else {
			cb_arr(b, 1);
			cb_str(b, langs_[li]);
		}
	}
	if (reply) {
		size_t pd = popular();
		K(b, "reply");
		cb_map(b, 2);
		K(b, "root");
		cb_strongref(b, pct(30) ? pd : popular(), "app.bsky.feed.post");
		K(b, "parent");
		cb_strongref(b, pd, "app.bsky.feed.post");
	}
	if (nfacets) {
		K(b, "facets");
		cb_facets(b);
	}
	cb_created(b, created);
}

static void rec_subject_ref(buf *b, const char *type, int64_t created)
{
	int via = pct(6);
	cb_map(b, 3 + via);
	if (via) {
		K(b, "via");
		cb_strongref(b, popular(), "app.bsky.feed.repost");
	}
	K(b, "$type");
	cb_str(b, type);
	K(b, "subject");
	cb_strongref(b, popular(), "app.bsky.feed.post");
	cb_created(b, created);
}

static void rec_subject_did(buf *b, const char *type, int64_t created)
{
	cb_map(b, 3);
	K(b, "$type");
	cb_str(b, type);
	K(b, "subject");
	cb_str(b, did_of(popular()));
	cb_created(b, created);
}

static void rec_profile(buf *b, size_t did, int64_t created)
{
	int av = pct(85), ban = pct(55), cr = pct(70), pin = pct(15);
	int desc = pct(80);
	cb_map(b, 2u + av + ban + cr + pin + desc);
	K(b, "$type");
	cb_str(b, "app.bsky.actor.profile");
	if (av) {
		K(b, "avatar");
		cb_blob(b, "image/jpeg", range(10000, 900000));
	}
	if (ban) {
		K(b, "banner");
		cb_blob(b, "image/jpeg", range(30000, 900000));
	}
	if (cr)
		cb_created(b, created - range(86400LL * 1000000, 86400LL * 1000000 * 400));
	if (pin) {
		K(b, "pinnedPost");
		cb_strongref(b, did, "app.bsky.feed.post");
	}
	if (desc) {
		K(b, "description");
		cb_str(b, PICK(descs));
	}
	K(b, "displayName");
	buf h = { 0 };
	handle_of(&h, did);
	size_t dot = 0;
	while (dot < h.n && h.p[dot] != '.')
		dot++;
	if (pct(20)) {
		h.n = dot;
		put(&h, " ", 1);
		puts_(&h, PICK(emoji));
		cb_text(b, (char *)h.p, h.n);
	} else {
		cb_text(b, (char *)h.p, dot);
	}
	free(h.p);
}

/* ---- MST nodes ---------------------------------------------------------- */

#define MAXOPS 12
#define MAXENT 40

typedef struct {
	int action; /* 0 create, 1 update, 2 delete */
	int coll;
	uint64_t tv;  /* TID value of the rkey, 0 for "self" */
	char key[64]; /* collection/rkey */
	size_t keylen;
	cid_t cid, prev;
	size_t blk; /* index of the record block, when not a delete */
} op_t;

typedef struct {
	char key[64];
	size_t keylen;
	int is_op;
	cid_t v;
	int has_t;
	cid_t t;
} entry;

static int entry_cmp(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static size_t mkkey(char out[64], const char *coll, uint64_t tv)
{
	size_t n = strlen(coll);
	memcpy(out, coll, n);
	out[n++] = '/';
	tid_str(out + n, tv);
	return n + 13;
}

static void encode_node(buf *b, entry *e, int n, const cid_t *l)
{
	cb_map(b, 2);
	K(b, "e");
	cb_arr(b, (unsigned)n);
	const char *prev = "";
	size_t prevlen = 0;
	for (int i = 0; i < n; i++) {
		size_t p = 0;
		while (p < prevlen && p < e[i].keylen && prev[p] == e[i].key[p])
			p++;
		cb_map(b, 4);
		K(b, "k");
		cb_bytes(b, e[i].key + p, e[i].keylen - p);
		K(b, "p");
		cb_int(b, (int64_t)p);
		K(b, "t");
		if (e[i].has_t)
			cb_link(b, &e[i].t);
		else
			cb_null(b);
		K(b, "v");
		cb_link(b, &e[i].v);
		prev = e[i].key;
		prevlen = e[i].keylen;
	}
	K(b, "l");
	if (l)
		cb_link(b, l);
	else
		cb_null(b);
}

/* ---- frame assembly ------------------------------------------------------ */

#define MAXBLK (MAXOPS + 8)

static buf blk[MAXBLK];   /* block contents */
static cid_t blkcid[MAXBLK];
static int nblk;

static buf car, out;

static void cb_varint(buf *b, uint64_t v)
{
	while (v >= 0x80) {
		put1(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put1(b, (uint8_t)v);
}

/* CAR v1 with root = blocks[root], blocks in the given order */
static void make_car(int root, const int *order, int n)
{
	car.n = 0;
	/* header {roots: [cid], version: 1}: fixed size, build on the stack */
	uint8_t tmp[80];
	size_t k = 0;
	tmp[k++] = 0xa2;
	tmp[k++] = 0x65; memcpy(tmp + k, "roots", 5); k += 5;
	tmp[k++] = 0x81;
	tmp[k++] = 0xd8; tmp[k++] = 0x2a; tmp[k++] = 0x58; tmp[k++] = 0x25; tmp[k++] = 0x00;
	memcpy(tmp + k, blkcid[root].b, 36); k += 36;
	tmp[k++] = 0x67; memcpy(tmp + k, "version", 7); k += 7;
	tmp[k++] = 0x01;
	cb_varint(&car, k);
	put(&car, tmp, k);
	for (int i = 0; i < n; i++) {
		int j = order[i];
		cb_varint(&car, 36 + blk[j].n);
		put(&car, blkcid[j].b, 36);
		put(&car, blk[j].p, blk[j].n);
	}
}

static int new_block(void)
{
	if (nblk >= MAXBLK)
		die("internal: too many blocks");
	blk[nblk].n = 0;
	return nblk++;
}

static void seal_block(int i) { cid_of(&blkcid[i], blk[i].p, blk[i].n, DAG_CBOR); }

static void signed_commit(int i, size_t did, const char *rev, const cid_t *data)
{
	buf *b = &blk[i];
	uint8_t sig[64];
	for (int k = 0; k < 8; k++) {
		uint64_t r = rnd();
		memcpy(sig + 8 * k, &r, 8);
	}
	cb_map(b, 6);
	K(b, "did");
	cb_text(b, did_of(did), DID_LEN);
	K(b, "rev");
	cb_text(b, rev, 13);
	K(b, "sig");
	cb_bytes(b, sig, 64);
	K(b, "data");
	cb_link(b, data);
	K(b, "prev");
	cb_null(b);
	K(b, "version");
	cb_int(b, 3);
	seal_block(i);
}

static void begin_frame(const char *t)
{
	out.n = 0;
	put(&out, "\0\0\0\0", 4);
	cb_map(&out, 2);
	K(&out, "t");
	cb_str(&out, t);
	K(&out, "op");
	cb_int(&out, 1);
}

static void end_frame(FILE *f)
{
	uint32_t n = (uint32_t)(out.n - 4);
	out.p[0] = (uint8_t)(n >> 24); out.p[1] = (uint8_t)(n >> 16);
	out.p[2] = (uint8_t)(n >> 8); out.p[3] = (uint8_t)n;
	if (fwrite(out.p, 1, out.n, f) != out.n)
		die("write error");
}

static int64_t seq;
static uint64_t events;

static void time_field(buf *b)
{
	char t[32];
	fmt_time(t, now_us);
	K(b, "time");
	cb_text(b, t, 24);
}

/* a rev for DID at now, after its previous one */
static uint64_t next_rev(size_t did)
{
	int64_t us = now_us - range(5000, 400000);
	uint64_t v = tid_val(us, (unsigned)below(1024));
	if (last_rev[did] && v <= last_rev[did])
		v = last_rev[did] + 1024;
	return v;
}

static void gen_commit(FILE *f)
{
	size_t did = actor();
	op_t ops[MAXOPS];
	int nops = 1;

	/* which op */
	double r = unif() * 100;
	int coll, action = 0;
	if (r < 50) coll = C_LIKE;
	else if (r < 65) coll = C_FOLLOW;
	else if (r < 77) coll = C_POST;
	else if (r < 87) coll = C_REPOST;
	else if (r < 90) coll = C_BLOCK;
	else if (r < 92) { coll = C_PROFILE; action = 1; }
	else {
		action = 2;
		double d = unif() * 87;
		coll = d < 50 ? C_LIKE : d < 65 ? C_FOLLOW : d < 77 ? C_POST : C_REPOST;
	}
	if (coll == C_FOLLOW && action == 0 && pct(1))
		nops = (int)range(2, MAXOPS); /* starter pack "follow all" */
	else if (action == 2 && pct(6))
		nops = (int)range(2, 5); /* bulk delete */

	nblk = 0;
	int64_t created = now_us - range(20000, 2500000);
	int64_t base = action == 2 ? now_us - range(60LL * 1000000, 86400LL * 1000000 * 200) : created;
	for (int i = 0; i < nops; i++) {
		op_t *o = &ops[i];
		o->action = action;
		o->coll = coll;
		if (coll == C_PROFILE) {
			o->tv = 0;
			o->keylen = (size_t)snprintf(o->key, sizeof o->key, "%s/self", coll_name[coll]);
		} else {
			int64_t t = action == 2 ? base + i * range(1000, 900000000) : base + i * range(50, 3000);
			o->tv = tid_val(t, (unsigned)below(1024));
			o->keylen = mkkey(o->key, coll_name[coll], o->tv);
		}
		if (action != 2) {
			int bi = new_block();
			buf *b = &blk[bi];
			int64_t c = created + i * 3;
			switch (coll) {
			case C_LIKE: rec_subject_ref(b, "app.bsky.feed.like", c); break;
			case C_REPOST: rec_subject_ref(b, "app.bsky.feed.repost", c); break;
			case C_POST: rec_post(b, c); break;
			case C_FOLLOW: rec_subject_did(b, "app.bsky.graph.follow", c); break;
			case C_BLOCK: rec_subject_did(b, "app.bsky.graph.block", c); break;
			default: rec_profile(b, did, c);
			}
			seal_block(bi);
			o->cid = blkcid[bi];
			o->blk = (size_t)bi;
		}
		if (action != 0)
			cid_rand(&o->prev, DAG_CBOR);
		events++;
	}

	/* MST path: root .. leaf, keys bracketed so that each child lies
	 * between the two parent entries around the op's key */
	int depth;
	r = unif();
	depth = r < 0.10 ? 1 : r < 0.40 ? 2 : r < 0.80 ? 3 : 4;
	const char *ncoll = coll == C_PROFILE ? coll_name[C_LIKE] : coll_name[coll];
	uint64_t opv = ops[0].tv; /* 0: "self", below every neighbour */
	uint64_t center = coll == C_PROFILE ? tid_val(now_us, 0) : opv;
	uint64_t lo = 0, hi = UINT64_MAX >> 1;
	uint64_t win = (uint64_t)(86400ULL * 1000000 * 120) << 10;
	static entry ent[4][MAXENT + MAXOPS];
	int nent[4], link_at[4];
	for (int lv = 0; lv < depth; lv++) {
		int leaf = lv == depth - 1;
		int m = (int)range(1, leaf ? 8 : 6);
		uint64_t a = center > win ? center - win : 1, z = center + win;
		if (a <= lo) a = lo + 1;
		if (z >= hi) z = hi - 1;
		if (a >= z) { /* window outside the bracket: use the bracket */
			a = lo + 1;
			z = hi - 1;
		}
		int n = 0;
		for (int i = 0; i < m && a < z; i++) {
			uint64_t v = a + below(z - a + 1);
			if (v == opv)
				continue;
			entry *e = &ent[lv][n++];
			e->keylen = mkkey(e->key, ncoll, v);
			e->is_op = 0;
			cid_rand(&e->v, DAG_CBOR);
			e->has_t = !leaf && pct(70);
			if (e->has_t)
				cid_rand(&e->t, DAG_CBOR);
		}
		if (leaf) {
			for (int i = 0; i < nops; i++) {
				if (ops[i].action == 2)
					continue;
				entry *e = &ent[lv][n++];
				memcpy(e->key, ops[i].key, ops[i].keylen);
				e->keylen = ops[i].keylen;
				e->is_op = 1;
				e->v = ops[i].cid;
				e->has_t = 0;
			}
		}
		qsort(ent[lv], (size_t)n, sizeof(entry), entry_cmp);
		/* drop duplicate keys */
		int w = 0;
		for (int i = 0; i < n; i++)
			if (!w || entry_cmp(&ent[lv][w - 1], &ent[lv][i]))
				ent[lv][w++] = ent[lv][i];
		n = w;
		nent[lv] = n;
		/* where the op key falls: child pointer and bracket */
		entry probe;
		memcpy(probe.key, ops[0].key, ops[0].keylen);
		probe.keylen = ops[0].keylen;
		int j = 0;
		while (j < n && entry_cmp(&ent[lv][j], &probe) < 0)
			j++;
		link_at[lv] = j; /* 0: via l, else via e[j-1].t */
		if (!leaf) {
			if (j > 0) {
				uint64_t nl = 0;
				/* the entry before has a TID key in ncoll */
				const char *k = ent[lv][j - 1].key + strlen(ncoll) + 1;
				for (int c = 0; c < 13; c++)
					nl = (nl << 5) | (uint64_t)(strchr(S32, k[c]) - S32);
				if (nl > lo) lo = nl;
			}
			if (j < n) {
				uint64_t nh = 0;
				const char *k = ent[lv][j].key + strlen(ncoll) + 1;
				for (int c = 0; c < 13; c++)
					nh = (nh << 5) | (uint64_t)(strchr(S32, k[c]) - S32);
				if (nh < hi) hi = nh;
			}
			win /= 6;
			if (win < 4096) win = 4096;
		}
	}
	/* hash leaf first, then parents */
	int node_blk[4];
	cid_t child;
	for (int lv = depth - 1; lv >= 0; lv--) {
		int bi = new_block();
		int leaf = lv == depth - 1;
		cid_t l, *lp = NULL;
		if (!leaf) {
			int j = link_at[lv];
			if (j == 0) {
				l = child;
				lp = &l;
			} else {
				ent[lv][j - 1].has_t = 1;
				ent[lv][j - 1].t = child;
				if (pct(50)) {
					cid_rand(&l, DAG_CBOR);
					lp = &l;
				}
			}
		} else if (depth > 1 && pct(20)) {
			cid_rand(&l, DAG_CBOR);
			lp = &l;
		}
		encode_node(&blk[bi], ent[lv], nent[lv], lp);
		seal_block(bi);
		child = blkcid[bi];
		node_blk[lv] = bi;
	}

	char rev[14], since[14];
	uint64_t rv = next_rev(did);
	tid_str(rev, rv);
	int has_since = 1, has_prev_data = 1;
	if (last_rev[did]) {
		tid_str(since, last_rev[did]);
	} else if (pct(0.5)) {
		has_since = 0; /* a brand-new repo */
		has_prev_data = 0;
	} else {
		tid_str(since, rv - ((uint64_t)range(1000000, 86400LL * 1000000 * 30) << 10));
		cid_t c;
		cid_rand(&c, DAG_CBOR);
		memcpy(last_data[did], c.b + 4, 32);
	}
	cid_t prev_data = { { 0x01, DAG_CBOR, 0x12, 0x20 } };
	memcpy(prev_data.b + 4, last_data[did], 32);

	int cb = new_block();
	signed_commit(cb, did, rev, &blkcid[node_blk[0]]);
	last_rev[did] = rv;
	memcpy(last_data[did], blkcid[node_blk[0]].b + 4, 32);

	/* CAR: commit, MST root .. leaf, records */
	int order[MAXBLK], no = 0;
	order[no++] = cb;
	for (int lv = 0; lv < depth; lv++)
		order[no++] = node_blk[lv];
	for (int i = 0; i < nops; i++)
		if (ops[i].action != 2)
			order[no++] = (int)ops[i].blk;
	make_car(cb, order, no);

	begin_frame("#commit");
	buf *b = &out;
	cb_map(b, 11u + has_prev_data);
	K(b, "ops");
	cb_arr(b, (unsigned)nops);
	static const char *act[] = { "create", "update", "delete" };
	for (int i = 0; i < nops; i++) {
		op_t *o = &ops[i];
		cb_map(b, o->action ? 4 : 3);
		K(b, "cid");
		if (o->action == 2)
			cb_null(b);
		else
			cb_link(b, &o->cid);
		K(b, "path");
		cb_text(b, o->key, o->keylen);
		if (o->action) {
			K(b, "prev");
			cb_link(b, &o->prev);
		}
		K(b, "action");
		cb_str(b, act[o->action]);
	}
	K(b, "rev");
	cb_text(b, rev, 13);
	K(b, "seq");
	cb_int(b, seq);
	K(b, "repo");
	cb_text(b, did_of(did), DID_LEN);
	time_field(b);
	K(b, "blobs");
	cb_arr(b, 0);
	K(b, "since");
	if (has_since)
		cb_text(b, since, 13);
	else
		cb_null(b);
	K(b, "blocks");
	cb_bytes(b, car.p, car.n);
	K(b, "commit");
	cb_link(b, &blkcid[cb]);
	K(b, "rebase");
	cb_bool(b, 0);
	K(b, "tooBig");
	cb_bool(b, 0);
	if (has_prev_data) {
		K(b, "prevData");
		cb_link(b, &prev_data);
	}
	end_frame(f);
}

static void gen_identity(FILE *f)
{
	size_t did = actor();
	int h = pct(95);
	begin_frame("#identity");
	cb_map(&out, 3u + h);
	K(&out, "did");
	cb_text(&out, did_of(did), DID_LEN);
	K(&out, "seq");
	cb_int(&out, seq);
	time_field(&out);
	if (h) {
		buf hb = { 0 };
		handle_of(&hb, did);
		K(&out, "handle");
		cb_text(&out, (char *)hb.p, hb.n);
		free(hb.p);
	}
	end_frame(f);
	events++;
}

static void gen_account(FILE *f)
{
	size_t did = actor();
	int active = pct(60);
	begin_frame("#account");
	cb_map(&out, active ? 4 : 5);
	K(&out, "did");
	cb_text(&out, did_of(did), DID_LEN);
	K(&out, "seq");
	cb_int(&out, seq);
	time_field(&out);
	K(&out, "active");
	cb_bool(&out, active);
	if (!active) {
		K(&out, "status");
		cb_str(&out, PICK(statuses));
	}
	end_frame(f);
	events++;
}

static void gen_sync(FILE *f)
{
	size_t did = actor();
	char rev[14];
	uint64_t rv = next_rev(did);
	tid_str(rev, rv);
	cid_t data;
	cid_rand(&data, DAG_CBOR);
	nblk = 0;
	int cb = new_block();
	signed_commit(cb, did, rev, &data);
	last_rev[did] = rv;
	memcpy(last_data[did], data.b + 4, 32);
	make_car(cb, &cb, 1);
	begin_frame("#sync");
	cb_map(&out, 5);
	K(&out, "did");
	cb_text(&out, did_of(did), DID_LEN);
	K(&out, "rev");
	cb_text(&out, rev, 13);
	K(&out, "seq");
	cb_int(&out, seq);
	time_field(&out);
	K(&out, "blocks");
	cb_bytes(&out, car.p, car.n);
	end_frame(f);
	events++;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	    "Usage: %s --frames N --seed S [--dids D] [--start-seq Q] [--events-file F] > out.atfh\n"
	    "Write N synthetic firehose frames (deterministic by seed) to stdout.\n"
	    "  --dids D        number of distinct accounts (default 200000)\n"
	    "  --start-seq Q   first seq (default 4294500000, crosses 2^32)\n"
	    "  --events-file F write the number of events (jetstream lines) to F\n",
	    prog);
}

static uint64_t num(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "%s: %s: not a number: %s\n", prog, opt, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t nframes = 0;
	int have_frames = 0;
	const char *events_file = NULL;
	seq = 4294500000LL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char *eq = strchr(a, '=');
		char name[32];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		if (nl >= sizeof name) {
			usage(stderr);
			return 2;
		}
		memcpy(name, a, nl);
		name[nl] = 0;
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else {
			fprintf(stderr, "%s: %s needs a value\n", prog, a);
			return 2;
		}
		if (!strcmp(name, "--frames")) {
			nframes = num(name, v);
			have_frames = 1;
		} else if (!strcmp(name, "--seed"))
			seed = num(name, v);
		else if (!strcmp(name, "--dids"))
			ndids = (size_t)num(name, v);
		else if (!strcmp(name, "--start-seq"))
			seq = (int64_t)num(name, v);
		else if (!strcmp(name, "--events-file"))
			events_file = v;
		else {
			fprintf(stderr, "%s: unknown option %s\n", prog, a);
			usage(stderr);
			return 2;
		}
	}
	if (!have_frames || ndids < 10) {
		usage(stderr);
		return 2;
	}
	if (isatty(1)) {
		fprintf(stderr, "%s: refusing to write binary frames to a terminal\n", prog);
		return 2;
	}
	uint64_t x = seed ^ 0x6174666862656e63ULL; /* "atfhbenc" */
	for (int i = 0; i < 4; i++)
		rs[i] = splitmix64(&x);
	make_dids();

	static char obuf[1 << 20];
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	now_us = 1732017600LL * 1000000; /* 2024-11-19T12:00:00Z */
	for (uint64_t i = 0; i < nframes; i++) {
		/* ~350 events per second of event time */
		now_us += (int64_t)(-log(1.0 - unif()) * 2850.0);
		double r = unif() * 100;
		if (r < 0.5)
			gen_identity(stdout);
		else if (r < 0.8)
			gen_account(stdout);
		else if (r < 1.0)
			gen_sync(stdout);
		else
			gen_commit(stdout);
		seq += pct(0.2) ? range(2, 20) : 1; /* occasional gaps */
	}
	if (fflush(stdout) == EOF)
		die("write error");
	if (events_file) {
		FILE *ef = fopen(events_file, "w");
		if (!ef || fprintf(ef, "%llu\n", (unsigned long long)events) < 0 || fclose(ef))
			die("cannot write the events file");
	}
	return 0;
}
