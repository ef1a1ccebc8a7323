#!/bin/sh
# make demo: a real pipeline over the bundled sample capture (a recording
# of the reference PDS), so a new user sees atfh work in seconds.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/tools:$PATH"
sample="$top/tests/data/sample.atfh.zst"
[ -f "$sample" ] || { echo "demo: $sample is missing" >&2; exit 2; }

if [ -t 1 ]; then
	say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
	say() { printf '\n$ %s\n' "$*"; }
fi

say "atfh-decode tests/data/sample.atfh.zst | head -3"
atfh-decode "$sample" | head -3

say "atfh-decode --stats -q tests/data/sample.atfh.zst > /dev/null"
atfh-decode --stats -q "$sample" >/dev/null

say "atfh-decode sample | jq -r '.commit.collection // .kind' | sort | uniq -c | sort -rn"
atfh-decode "$sample" | jq -r '.commit.collection // .kind' | sort | uniq -c | sort -rn

say "atfh-decode -f cloudevents sample | jq -c 'select(.type==\"Bluesky.Feed.Post\") | {type, subject, text: .data.text}' | head -3"
atfh-decode -f cloudevents "$sample" |
	jq -c 'select(.type=="Bluesky.Feed.Post") | {type, subject, text: .data.text}' | head -3

did=$(atfh-decode "$sample" | jq -r 'select(.kind=="commit") | .did' | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
say "atfh-grep -d $did -c 'app.bsky.feed.*' sample | atfh-decode | jq -c '{collection: .commit.collection, text: .commit.record.text}' | head -3"
atfh-grep -d "$did" -c 'app.bsky.feed.*' "$sample" | atfh-decode |
	jq -c '{collection: .commit.collection, text: .commit.record.text}' | head -3

say "atfh-grep -k identity --count tests/data/sample.atfh.zst"
atfh-grep -k identity --count "$sample"

say "atfh-decode --verify -q tests/data/sample.atfh.zst | wc -l"
atfh-decode --verify -q "$sample" | wc -l
