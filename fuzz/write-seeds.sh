#!/usr/bin/env bash
# Writes the seed corpora in fuzz/seeds/<target>/ from the frames that real
# peers send: the golden frames of sio-proto/tests/codec_golden.rs and
# app-client/tests/session.rs, and the peer captures in docs/PROTOCOL.md
# (whose abbreviated sids and uuids are filled in as the golden tests do).
# The seeds are committed; rerun this after changing it. `cargo xtask fuzz`
# reads them and grows its corpora under fuzz/target/fuzz-corpus/ instead.
# seeds/server/ is written by `cargo test -p server --test whole_server --
# --ignored write_seeds` and left alone here.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p seeds
find seeds -mindepth 1 -maxdepth 1 ! -name server -exec rm -rf {} +

seed() { # seed TARGET NAME CONTENT: one file, exactly CONTENT (no newline added)
  mkdir -p "seeds/$1"
  printf '%s' "$3" > "seeds/$1/$2"
}

RS=$'\x1e'
ENGINE_SID=nBFVlJ6s3kQm0Aa1AAAB
NAMESPACE_SID=Pvy7Lr0cU9mXq2bTAAAD
UUID=b7fd3c2e-8a41-4f0e-9d62-5c1a7e9b0f34
TOKEN=5f0c3a9e1b7d2468ace013579bdf02468ace13579bdf02468ace13579bdf0246

# Engine.IO open packets: node, socketioxide, python-engineio (its key order),
# Flask (client_session.rs) and a pre-4.x server without maxPayload.
NODE_OPEN='0{"sid":"'$ENGINE_SID'","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
OXIDE_OPEN='0{"sid":"Zx3kQm0Aa1nBFVlJ6s3k","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100000}'
PYTHON_OPEN='0{"sid":"q2bT8xNkLr0cU9mX","upgrades":["websocket"],"pingTimeout":20000,"pingInterval":25000,"maxPayload":1000000}'
FLASK_OPEN='0{"sid":"Xq0ClmM6pYvNQ3a8AAAA","upgrades":[],"pingTimeout":20000,"pingInterval":25000,"maxPayload":1000000}'
OLD_OPEN='0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"extra":true}'

# Socket.IO packets (what follows the Engine.IO message digit `4`).
CONNECT='0/iss,'
CONNECT_AUTH='0/iss,{"resume":"'$TOKEN'"}'
CONNECT_ACK='0/iss,{"sid":"'$NAMESPACE_SID'"}'
CONNECTED='2/iss,["connected",{"uuid":"'$UUID'"}]'
CONNECTED_RESUME='2/iss,["connected",{"uuid":"'$UUID'","resume":"'$TOKEN'"}]'
CONNECTED_BARE='2/iss,["connected"]'
IDENTIFY='2/iss,["identify","Ada"]'
IDENTIFY_ACK_ID='2/iss,7["identify","Ada"]'
ACK_NODE='3/iss,7[{"ok":true,"uuid":"'$UUID'","username":"Ada"}]'
ACK_OXIDE='3/iss,7[{"ok":true,"username":"Ada","uuid":"'$UUID'"}]'
ACK_REFUSED='3/iss,7[{"ok":false,"code":"name_too_long","error":"Names can be at most 32 characters long (this one has 40)."}]'
SNAPSHOT='2/iss,["presence",{"kind":"snapshot","seq":0,"total":1,"users":[{"id":"'$UUID'","name":"Ada"}]}]'
DELTA='2/iss,["presence",{"kind":"delta","seq":1,"total":250,"changes":[{"op":"joined","id":"a","name":"Ada"},{"op":"renamed","id":"a","name":"Grace"},{"op":"left","id":"b"}]}]'
DISCONNECT='1/iss,'
ERROR_FLASK='4/random,"Unable to connect"'
ERROR_NODE='4/random,{"message":"Invalid namespace"}'
ERROR_OXIDE='4{"message":"Invalid namespace"}'
BINARY_EVENT='51-/iss,["upload",{"_placeholder":true,"num":0}]'
BINARY_ACK='61-/iss,7[{"_placeholder":true,"num":0}]'

packet() { # packet NAME CONTENT: a Socket.IO seed, and the same in an Engine.IO message
  seed socketio "$1" "$2"
  seed engineio "message-$1" "4$2"
}
packet connect "$CONNECT"
packet connect-auth "$CONNECT_AUTH"
packet connect-ack "$CONNECT_ACK"
packet connected "$CONNECTED"
packet connected-resume "$CONNECTED_RESUME"
packet connected-bare "$CONNECTED_BARE"
packet identify "$IDENTIFY"
packet identify-ack-id "$IDENTIFY_ACK_ID"
packet ack-node "$ACK_NODE"
packet ack-oxide "$ACK_OXIDE"
packet ack-refused "$ACK_REFUSED"
packet presence-snapshot "$SNAPSHOT"
packet presence-delta "$DELTA"
packet disconnect "$DISCONNECT"
packet connect-error-flask "$ERROR_FLASK"
packet connect-error-node "$ERROR_NODE"
packet connect-error-oxide "$ERROR_OXIDE"
packet binary-event "$BINARY_EVENT"
packet binary-ack "$BINARY_ACK"

seed engineio open-node "$NODE_OPEN"
seed engineio open-oxide "$OXIDE_OPEN"
seed engineio open-python "$PYTHON_OPEN"
seed engineio open-flask "$FLASK_OPEN"
seed engineio open-old "$OLD_OPEN"
seed engineio close 1
seed engineio ping 2
seed engineio pong 3
seed engineio ping-probe 2probe
seed engineio pong-probe 3probe
seed engineio upgrade 5
seed engineio noop 6
seed engineio binary bAQIDBA==
seed engineio polling-body "4$CONNECT_ACK${RS}4$CONNECTED${RS}2${RS}6"
seed engineio polling-body-bad "2${RS}9${RS}${RS}3"

# Typed events: the JSON payloads of the EVENT and ACK packets above, and
# the CONNECT auth.
seed events connected '["connected",{"uuid":"'$UUID'"}]'
seed events connected-resume '["connected",{"uuid":"'$UUID'","resume":"'$TOKEN'"}]'
seed events connected-bare '["connected"]'
seed events identify '["identify","Ada"]'
seed events ack-node '[{"ok":true,"uuid":"'$UUID'","username":"Ada"}]'
seed events ack-oxide '[{"ok":true,"username":"Ada","uuid":"'$UUID'"}]'
seed events ack-refused '[{"ok":false,"code":"name_too_long","error":"Names can be at most 32 characters long (this one has 40)."}]'
seed events presence-snapshot '["presence",{"kind":"snapshot","seq":0,"total":1,"users":[{"id":"'$UUID'","name":"Ada"}]}]'
seed events presence-delta '["presence",{"kind":"delta","seq":1,"total":250,"changes":[{"op":"joined","id":"a","name":"Ada"},{"op":"renamed","id":"a","name":"Grace"},{"op":"left","id":"b"}]}]'
seed events resume-auth '{"resume":"'$TOKEN'"}'

# Client sessions, one frame or command a line (see fuzz_targets/session.rs):
# the harness has joined /iss and has identify acks 0 and 1 pending.
lines() { local IFS=$'\n'; printf '%s' "$*"; }
seed session node "$(lines "4$CONNECTED" "4${ACK_NODE/,7/,0}" '~25000' 2 "4${ACK_REFUSED/,7/,1}" "4$DISCONNECT" 1)"
seed session oxide-ping-first "$(lines '~close' '~5000' "$OXIDE_OPEN" 2 "4$CONNECT_ACK" '~emit' "4${ACK_OXIDE/,7/,2}")"
seed session flask-event-before-ack "$(lines '~close' '~5000' "$FLASK_OPEN" "4$CONNECTED_RESUME" "4$CONNECT_ACK" '~emit')"
seed session connect-errors "$(lines '~close' '~5000' "$NODE_OPEN" "4${ERROR_FLASK/random/iss}" "4${ERROR_NODE/random/iss}")"
seed session presence "$(lines "4$SNAPSHOT" "4$DELTA" "4$DELTA" "4${CONNECTED/,\[/,5[}")"
seed session heartbeat-loss "$(lines '~45001' '~5000' "$NODE_OPEN" "4$CONNECT_ACK" '~6000')"
seed session odd-frames "$(lines 4x 9 "4${CONNECTED/\/iss/\/other}" "4$BINARY_EVENT" bAQIDBA== "$NODE_OPEN" 5 6 3probe)"

# Transports (see fuzz_targets/link.rs): the first line picks them (a = any,
# p = polling only, w = websocket only); binary framing writes the 0x00 byte
# as `|` and 0xFF as `~`, a length's digit bytes 1-9 as themselves and 0 as
# `|`. The seed backend's threading handshake (python-engineio 3),
# socketioxide's v4 polling and upgrade, node's refusal of EIO=4.
SEED_OPEN='0{"sid":"c9536a9a9eea4b9888a1a124287360f1","upgrades":[],"pingTimeout":60000,"pingInterval":25000}'
seed link seed-threading "$(lines p "R2|$(printf '\t\b')~$SEED_OPEN|$(printf '\002')~40" O "O|$(printf '\002')|~42/iss,[\"connected\"]|$(printf '\006')~40/iss" E T25001 Rok)"
seed link oxide-upgrade "$(lines a C "R2$PYTHON_OPEN" O O"40/iss,{\"sid\":\"$NAMESPACE_SID\"}" S3probe O6 E S2)"
seed link node-refuses-v4 "$(lines p 'R4{"code":5,"message":"Unsupported protocol version"}' "R2$SEED_OPEN" F T5000)"

echo "wrote $(find seeds -type f | wc -l) seeds under fuzz/seeds/"
