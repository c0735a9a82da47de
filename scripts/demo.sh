#!/usr/bin/env bash
# The Stele demo: a store in ./demo-store, a user, a few events, a checkpoint, a proof
# checked offline, and tamper detection on a copy. Run through `make demo`.
set -euo pipefail
STELE="${STELE_BIN:-build/stele}"
STORE="${DEMO_STORE:-./demo-store}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export STELE_STORE="$STORE" STELE_USER=alice STELE_PASSWORD="correct horse battery staple"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ stele %s\n' "$*" >&2; "$STELE" "$@"; }

rm -rf "$STORE" "$STORE-tampered"
step "Create a store with user 'alice' (Argon2id m=256 MiB, t=3 derives her key)"
run init
step "Append events: each is encrypted, hash-chained and fsynced before its LSN prints"
run log append '{"type":"admission","patient":"p-1001","ward":"cardiology"}'
run log append '{"type":"prescription","patient":"p-1001","drug":"atenolol","mg":50}'
run log append --id order-7 '{"type":"lab-order","patient":"p-1001","test":"troponin"}'
step "Retry with the same idempotency id: nothing is written, the original LSN comes back"
run log append --id order-7 '{"type":"lab-order","patient":"p-1001","test":"troponin"}'
step "Malformed JSON is refused and nothing is written"
run log append '{"type": "oops",' || echo "(exit code $?)"
step "Read the log back (each record is authenticated before it is printed)"
run log list --from 1 --to 5
step "Write a signed checkpoint (Merkle root of all records, Ed25519)"
run checkpoint
step "Verify the whole database: tags, hash chain, payload hashes, checkpoints"
run verify
step "Prove that record 3 is in the signed checkpoint, disclosing its content"
run prove 3 --payload > "$STORE.proof.json"
head -c 300 "$STORE.proof.json"; echo " ..."
KEY=$("$STELE" stat | sed -n 's/.*"public_key": "\([0-9a-f]*\)".*/\1/p')
step "Anyone can check the proof offline, with only the database public key"
env -u STELE_PASSWORD -u STELE_STORE "$STELE" verify-proof "$STORE.proof.json" --key "$KEY"
step "A wrong password is refused"
STELE_PASSWORD=guess "$STELE" log list || echo "(exit code $?)"
step "Tamper with one byte of a data file (segments, manifest, key slots: they look alike) in a copy"
cp -a "$STORE" "$STORE-tampered"
SEG=$(ls "$STORE-tampered"/dbs/*/data/* | head -n 1)
printf '\x42' | dd of="$SEG" bs=1 seek=300 conv=notrunc status=none
STELE_STORE="$STORE-tampered" "$STELE" verify || echo "(exit code $?: tampering detected)"
step "No plaintext on disk: search the store for the patient id"
if grep -r -q "p-1001" "$STORE"; then echo "FOUND PLAINTEXT (bug)"; exit 1; else echo "not found: every byte is encrypted"; fi
step "Documents: a collection, inserts, a patch, a point-in-time read, history"
run collection create patients
run put patients '{"_id":"p-1001","name":"Ada","ward":"cardiology","allergies":["penicillin"]}'
run patch patients p-1001 '{"ward":"recovery","discharged":false}'
FIRST=$("$STELE" history patients p-1001 | head -n 1 | sed 's/.*"_lsn":\([0-9]*\).*/\1/')
run get patients p-1001
run get patients p-1001 --as-of "$FIRST"
step "A stale revision is refused (optimistic concurrency), and nothing is written"
run replace patients p-1001 '{"name":"Ada L."}' --rev 1 || echo "(exit code $?)"
step "A transaction is all or nothing: the second op fails, so neither is applied"
run txn '{"ops":[{"op":"insert","coll":"patients","doc":{"_id":"p-1002"}},{"op":"insert","coll":"nope","doc":{}}]}' || echo "(exit code $?)"
run history patients p-1001
step "Query through bitmap indices (built on first use) and explain the plan"
run put patients '{"_id":"p-1003","name":"Lin","ward":"recovery","allergies":["latex"]}'
run find patients '{"ward":"recovery"}'
run count patients '{"allergies":"penicillin"}'
run explain patients '{"ward":"recovery","allergies":"latex"}'
step "Import 2,000 visits at once (all or nothing), then ranges, sort, projection, table"
VISITS="$STORE.visits.ndjson"
awk 'BEGIN { for (i = 1; i <= 2000; i++)
  printf "{\"_id\":\"v%04d\",\"patient\":\"p-%d\",\"age\":%d,\"ward\":\"%s\",\"at\":\"2026-%02d-%02dT%02d:00:00Z\"}\n",
         i, 1000 + i % 97, 18 + (i * 13) % 67, (i % 5 ? "recovery" : "cardiology"),
         1 + i % 12, 1 + i % 28, i % 24 }' > "$VISITS"
run import visits "$VISITS"
printf '{"_id":"bad"\n' > "$VISITS.bad.ndjson"
run import visits "$VISITS.bad.ndjson" || echo "(exit code $?: nothing was imported)"
run count visits '{"ward":"cardiology","age":{"$gte":30,"$lt":40}}'
run find visits '{"at":{"$gte":"2026-06-01T00:00:00+02:00","$lt":"2026-07-01"},"ward":{"$ne":"recovery"}}' \
    --sort -age --limit 3 --fields patient,age,at --format table
run explain visits '{"$or":[{"age":{"$lt":20}},{"patient":{"$startsWith":"p-109"}}]}'
step "Full text: stemmed, accent-blind words ranked by BM25 (index built on first use)"
run collection create notes
run put notes '{"_id":"n1","text":"Patient was running a fever; café visit"}'
run put notes '{"_id":"n2","text":"Runs daily. Fever gone, fever charts attached"}'
run find notes '{"text":{"$text":"fever run* cafe"}}' --fields text
run find notes '{"text":{"$text":"fever"}}' --fields text --format table
step "Graph: edges are documents with _from/_to; adjacency in memory, answers in microseconds"
run collection create wards
run collection create moves
run txn '{"ops":[{"op":"insert","coll":"wards","doc":{"_id":"er"}},{"op":"insert","coll":"wards","doc":{"_id":"icu"}},
 {"op":"insert","coll":"wards","doc":{"_id":"cardiology"}},{"op":"insert","coll":"wards","doc":{"_id":"recovery"}},
 {"op":"insert","coll":"moves","doc":{"_from":"wards/er","_to":"wards/icu","_label":"TRANSFER","hours":2}},
 {"op":"insert","coll":"moves","doc":{"_from":"wards/er","_to":"wards/cardiology","_label":"TRANSFER","hours":9}},
 {"op":"insert","coll":"moves","doc":{"_from":"wards/icu","_to":"wards/cardiology","_label":"TRANSFER","hours":3}},
 {"op":"insert","coll":"moves","doc":{"_from":"wards/cardiology","_to":"wards/recovery","_label":"TRANSFER","hours":24}}]}'
run graph traverse wards/recovery --dir in --depth 3 --format table
run graph path wards/er wards/recovery --weight hours
run put moves '{"_from":"wards/er","_to":"wards/morgue"}' || echo "(exit code $?: an edge needs both ends)"
run graph query 'minus(out(nodes(wards/er), TRANSFER, 3), nodes(wards/recovery))'
step "Code intelligence: index Stele's own C source with libclang, then ask the graph"
run code index "$ROOT" 2>&1 | tail -n 1
run code callers util_grow --format table
run code impact madj_link --depth 3 --format table
run code path stele_txn madj_link
run code uses mstate --format table
run code def stele_graph_neighbors
step "Users and sharing: bob gets his own key pair and primary database; alice shares 'ward' read-only"
STELE_NEW_PASSWORD="bob's long passphrase" run user add bob
run db create ward
run collection create patients --db ward
run put patients '{"_id":"p-1002","name":"Grace","ward":"icu"}' --db ward
run db share ward bob --role reader
STELE_PASSWORD="bob's long passphrase" run get patients p-1002 --db alice/ward --user bob
STELE_PASSWORD="bob's long passphrase" run put patients '{"_id":"x"}' --db alice/ward --user bob ||
    echo "(exit code $?: a reader cannot write)"
step "Revoke: the database key rotates to a new epoch; bob can open nothing written after"
run db revoke ward bob
STELE_PASSWORD="bob's long passphrase" run get patients p-1002 --db alice/ward --user bob ||
    echo "(exit code $?: no access)"
run db list
step "Snapshot the state: the next open loads it and replays only the newer records"
run snapshot
run export visits --format csv --output "$STORE.visits.csv"
head -3 "$STORE.visits.csv"
rm -f "$VISITS" "$VISITS.bad.ndjson" "$STORE.visits.csv"
step "Statistics"
run stat
rm -rf "$STORE-tampered" "$STORE.proof.json"
printf '\nThe demo store is in %s (user alice, password: %s).\n' "$STORE" "$STELE_PASSWORD"
