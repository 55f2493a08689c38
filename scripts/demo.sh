#!/usr/bin/env bash
# Seeds a demo database with a realistic incident and serves it, for screenshots and
# trying the app: bash scripts/demo.sh [PORT]  (admin: mara / longenough1)
set -euo pipefail
port=${1:-18081}
dir=$(mktemp -d)
bin=${HINDSIGHT_BIN:-target/debug/hindsight}
export DATABASE_URL="sqlite://$dir/demo.db"
echo "longenough1" | "$bin" user create --username mara --role admin --display-name "Mara K" --password-stdin
token=$("$bin" token create --username mara --name demo)
HINDSIGHT_BIND=127.0.0.1:$port "$bin" >"$dir/server.log" 2>&1 &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
api() { curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@" >/dev/null; }
base="http://127.0.0.1:$port/api/v1"
api -d '{"title":"Payment gateway outage","severity":"SEV1","impact":"The online payment service was down; customers could not complete transactions.","users_affected_pct":25,"services":["payments","checkout"],"commander":"mara","started_at":"2023-06-07T10:00:00Z","detected_at":"2023-06-07T10:00:00Z"}' "$base/incidents"
while IFS= read -r entry; do api -d "$entry" "$base/incidents/INC-1/timeline"; done <<'JSON'
{"occurred_at":"2023-06-07T10:00:00Z","kind":"detection","body":"Monitoring alert: high volume of **failed payment transactions**."}
{"occurred_at":"2023-06-07T10:12:00Z","kind":"action","body":"Investigating payment processing infrastructure; suspect DB or network."}
{"occurred_at":"2023-06-07T10:40:00Z","kind":"misleading","body":"Database logs analysed: nothing conclusive."}
{"occurred_at":"2023-06-07T11:05:00Z","kind":"misleading","body":"Network connectivity tests pass between gateway and DB."}
{"occurred_at":"2023-06-07T11:30:00Z","kind":"escalation","body":"Escalated to DBA team and network engineering."}
{"occurred_at":"2023-06-07T13:20:00Z","kind":"investigation","body":"Diff of last release shows a changed `timeout_ms` parameter in the gateway config, see [release notes](https://example.com/rel/412)."}
{"occurred_at":"2023-06-07T13:50:00Z","kind":"mitigation","body":"Reverted the parameter on gw-1..gw-4; failures dropping."}
{"occurred_at":"2023-06-07T14:00:00Z","kind":"resolution","body":"Payment service restored; success rate back to 99.9%."}
JSON
curl -sf -X PATCH -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"version":1,"status":"resolved","acknowledged_at":"2023-06-07T10:12:00Z","mitigated_at":"2023-06-07T13:50:00Z","resolved_at":"2023-06-07T14:00:00Z"}' \
  "$base/incidents/INC-1" >/dev/null
echo "longenough1" | "$bin" user create --username dana --role responder --password-stdin >/dev/null 2>&1
echo "longenough1" | "$bin" user create --username omar --role responder --password-stdin >/dev/null 2>&1
api -d '{"targets":["DBA team","network engineering"],"reason":"Database failure or network connectivity suspected","escalated_at":"2023-06-07T11:30:00Z"}' "$base/incidents/INC-1/escalations"
curl -sf -X PATCH -H "Authorization: Bearer $token" -H 'content-type: application/json' -d '{"state":"acknowledged","acknowledged_at":"2023-06-07T11:42:00Z"}' "$base/escalations/1" >/dev/null
api -d '{"kind":"primary","category":"configuration","description":"A recent update introduced an **incorrect parameter** in the payment gateway software, causing transaction failures."}' "$base/incidents/INC-1/root-causes"
past=$(date -u -d '-9 days' +%F); soon=$(date -u -d '+12 days' +%F)
api -d "{\"title\":\"Review the change management process and add safeguards\",\"owner\":\"dana\",\"team\":\"platform\",\"due_on\":\"$past\",\"kind\":\"process\",\"priority\":\"high\"}" "$base/incidents/INC-1/tasks"
api -d "{\"title\":\"Real-time transaction volume tracking and alerts\",\"owner\":\"omar\",\"team\":\"observability\",\"due_on\":\"$past\",\"kind\":\"detect\",\"external_url\":\"https://tracker.example.com/OBS-7\"}" "$base/incidents/INC-1/tasks"
api -d "{\"title\":\"Review gateway software for hidden misconfigurations\",\"owner\":\"dana\",\"team\":\"payments\",\"due_on\":\"$soon\",\"kind\":\"prevent\"}" "$base/incidents/INC-1/tasks"
api -d "{\"title\":\"Regular configuration-management training for operations\",\"owner\":\"omar\",\"team\":\"ops\",\"due_on\":\"$soon\",\"kind\":\"process\",\"priority\":\"low\"}" "$base/incidents/INC-1/tasks"
api -d '{"title":"Search latency above SLO","severity":"SEV3","services":["search"]}' "$base/incidents"
api -d '{"title":"Login errors for SSO users","severity":"SEV2","services":["auth"]}' "$base/incidents"
api -d '{"kind":"action","body":"Rolled back identity-provider certificate rotation"}' "$base/incidents/INC-3/timeline"
# A year of resolved incidents for /insights: a few a month, detection and resolution times
# that vary, so the charts have something to show.
sevs=(SEV1 SEV2 SEV3 SEV3 SEV4 SEV2)
for m in $(seq 1 11); do
  for k in $(seq 0 $(( (m * 7) % 4 ))); do
    start=$(date -u -d "-$m months -$(( k * 5 + 2 )) days" +%FT10:00:00Z)
    det=$(date -u -d "$start +$(( (m * 13 + k * 7) % 40 + 3 )) minutes" +%FT%TZ)
    ack=$(date -u -d "$det +$(( (m * 5 + k) % 15 + 2 )) minutes" +%FT%TZ)
    res=$(date -u -d "$start +$(( (m * 37 + k * 53) % 300 + 45 )) minutes" +%FT%TZ)
    api -d "{\"title\":\"Past incident $m.$k\",\"severity\":\"${sevs[$(( (m + k) % 6 ))]}\",\"status\":\"resolved\",\"started_at\":\"$start\",\"detected_at\":\"$det\",\"acknowledged_at\":\"$ack\",\"resolved_at\":\"$res\"}" "$base/incidents"
  done
done
# A postmortem with a table, code and a link, reviewed by dana and published.
dana_token=$("$bin" token create --username dana --name demo)
summary='A configuration change in release 412 set the gateway'"'"'s `timeout_ms` to 50, so most calls to the card processor timed out.\n\n| gateway | failed calls | share |\n|---|---|---|\n| gw-1 | 12,044 | 31% |\n| gw-2 | 9,871 | 26% |\n\nRollback used the [gateway runbook](https://runbooks.example.com/payments/gateway):\n\n```sh\nkubectl -n payments rollout undo deploy/gateway\n```'
curl -sf -X PUT -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"version\":0,\"summary\":\"$summary\",\"resolution\":\"Reverted \`timeout_ms\` to 5000 on all four gateways.\",\"improvements\":\"- Validate gateway parameters in CI\\n- Alert on the payment success rate, not only on 5xx\"}" \
  "$base/incidents/INC-1/postmortem" >/dev/null
api -d '{"action":"request","reviewers":["dana"]}' "$base/incidents/INC-1/postmortem/review"
curl -sf -H "Authorization: Bearer $dana_token" -H 'content-type: application/json' -d '{"action":"approve","comment":"Clear, and the table helps."}' "$base/incidents/INC-1/postmortem/review" >/dev/null
api -d '{"action":"publish"}' "$base/incidents/INC-1/postmortem/review"
echo "serving http://127.0.0.1:$port (data in $dir; API token $token)"
