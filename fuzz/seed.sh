#!/usr/bin/env bash
# Writes the starting corpus of every fuzz target into fuzz/corpus/<target>/
# from the repository's own files (RDBs in tests/data/rdb, the shipped
# scenarios) and a few hand-written inputs. RDBs made by `rdb::encode` are
# added by the `seeds` binary (see README.md). Safe to run again: it only
# adds files.
set -euo pipefail
cd "$(dirname "$0")"
root=..
c=corpus
mkdir -p $c/resp_parser $c/rdb_loader $c/replica_stream $c/scenario_loader $c/redis_conf

# resp_parser: flags byte, 2-byte split point, stream.
resp() { printf '\x00\x05\x00'"$2" > "$c/resp_parser/$1"; }
resp multibulk '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'
resp inline 'SET key "quoted \\x41 value\\n"\r\nGET key\nPING\r\n\r\nECHO '"'"'single'"'"'\r\n'
resp empty '*0\r\n*-1\r\n\r\n*1\r\n$4\r\nPING\r\n'
resp partial '*2\r\n$3\r\nGET\r\n$10\r\nabc'
resp bad '*2\r\n$3\r\nGET\r\n+x\r\n'
printf '\x01\x02\x00*20\r\n' > $c/resp_parser/unauth

# replica_stream: 2-byte split point, stream.
stream() { printf '\x07\x00'"$2" > "$c/replica_stream/$1"; }
stream writes '*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n'
stream multi '*1\r\n$5\r\nMULTI\r\n*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nm\r\n*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\n1.5\r\n$1\r\nm\r\n*1\r\n$4\r\nEXEC\r\n'
stream getack '*1\r\n$4\r\nPING\r\n*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n'
stream expire '*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n1700000001000\r\n*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n'
stream inline 'SET a 1\r\nINCRBYFLOAT a 2.5\r\nAPPEND a xyz\r\nLPUSH q 1 2 3\r\nLTRIM q 0 1\r\nFLUSHALL\r\n'

# rdb_loader: the repository's RDB files.
cp $root/tests/data/rdb/*.rdb $c/rdb_loader/

# scenario_loader: the shipped scenarios.
cp $root/scenarios/*.json $c/scenario_loader/

# redis_conf: directives.
printf 'port 6380\nbind 127.0.0.1\nrequirepass "se cret"\nrepl-backlog-size 1mb\n' > $c/redis_conf/basic
printf 'client-output-buffer-limit replica 256mb 64mb 60\nmaxmemory 2gb\nsave "900 1 300 10"\n' > $c/redis_conf/limits
printf '# comment\nhz 10\nrepl-timeout 60\nreplica-read-only no\nproto-max-bulk-len 1k\nreplicaof 10.0.0.1 6379\n' > $c/redis_conf/misc
printf 'enable-debug-command local\nappendonly no\nmaxclients 100\nclient-query-buffer-limit 4mb\n' > $c/redis_conf/other
printf 'databases 16\ndbfilename dump.rdb\ndir /tmp\nmasterauth pw\nmasteruser u\nmin-replicas-max-lag 10\nmin-replicas-to-write 1\nprotected-mode yes\nrepl-backlog-ttl 3600\nrepl-diskless-load on-empty-db\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 5\nrepl-ping-replica-period 10\nreplica-announce-ip 1.2.3.4\nreplica-serve-stale-data yes\nslaveof h 1\nenable-protected-configs yes\nclient-output-buffer-limit normal 0 0 0 pubsub 32mb 8mb 60\n' > $c/redis_conf/all
