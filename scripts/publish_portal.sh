#!/usr/bin/env bash
# Publish the web portal (portal/) to a deployed stack, after `sam deploy`:
#   1. read the stack's Outputs (ApiUrl, AgencyUserPoolClientId, AgencySignInUrl, PortalBucketName,
#      PortalDistributionId, PortalUrl) with the AWS CLI;
#   2. write config.js for the cloud (API URL, Cognito hosted sign-in) next to a copy of portal/;
#   3. `aws s3 sync` that copy into the private PortalBucket with --delete;
#   4. invalidate the CloudFront distribution so the new files are served at once.
# Usage: scripts/publish_portal.sh [STACK_NAME]    (default: $STACK_NAME, else facetrace-dev)
# Region and credentials come from the usual AWS CLI settings (AWS_REGION / AWS_PROFILE / ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${1:-${STACK_NAME:-facetrace-dev}}"
AWS="${AWS_CLI:-aws}"

output() {
  local value
  value="$("$AWS" cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text)"
  if [[ -z "$value" || "$value" == "None" ]]; then
    echo "publish_portal: stack $STACK has no output $1 (deployed with this template?)" >&2
    exit 1
  fi
  printf '%s' "$value"
}

API_URL="$(output ApiUrl)"
CLIENT_ID="$(output AgencyUserPoolClientId)"
SIGN_IN_URL="$(output AgencySignInUrl)"
BUCKET="$(output PortalBucketName)"
DISTRIBUTION="$(output PortalDistributionId)"
PORTAL_URL="$(output PortalUrl)"
RETENTION_DAYS="$(output RetentionDays)"

# The values go into JavaScript unescaped: accept only what the template can produce.
[[ "$API_URL" =~ ^https://[A-Za-z0-9.-]+(/[A-Za-z0-9_-]+)*$ ]] || { echo "publish_portal: odd ApiUrl: $API_URL" >&2; exit 1; }
[[ "$RETENTION_DAYS" =~ ^[0-9]+$ ]] || { echo "publish_portal: odd RetentionDays: $RETENTION_DAYS" >&2; exit 1; }
[[ "$CLIENT_ID" =~ ^[A-Za-z0-9]+$ ]] || { echo "publish_portal: odd AgencyUserPoolClientId: $CLIENT_ID" >&2; exit 1; }
[[ "$SIGN_IN_URL" =~ ^https://[a-z0-9-]+\.auth\.[a-z0-9-]+\.amazoncognito\.com$ ]] \
  || { echo "publish_portal: odd AgencySignInUrl: $SIGN_IN_URL" >&2; exit 1; }

STAGING="$(mktemp -d)"
trap 'rm -rf "$STAGING"' EXIT
cp -R "$ROOT/portal/." "$STAGING/"
# Same shape as the local gateway's (devstack/portal.py), with Cognito's hosted sign-in (code + PKCE; the
# pool client sends the browser back to <PortalUrl>/signin.html).
printf 'window.FACETRACE_CONFIG = {"apiUrl": "%s", "auth": "cognito", "userPoolClientId": "%s", "signInUrl": "%s", "retentionDays": %s};\n' \
  "$API_URL" "$CLIENT_ID" "$SIGN_IN_URL" "$RETENTION_DAYS" > "$STAGING/config.js"

echo "== sync portal/ -> s3://$BUCKET/"
# no-cache: browsers revalidate (cheap, ETag) so a publish is seen at once; CloudFront still caches.
"$AWS" s3 sync "$STAGING/" "s3://$BUCKET/" --delete --cache-control "no-cache" --exclude ".*"

echo "== invalidate CloudFront distribution $DISTRIBUTION"
"$AWS" cloudfront create-invalidation --distribution-id "$DISTRIBUTION" --paths "/*" \
  --query "Invalidation.Id" --output text

echo "portal: $PORTAL_URL/ (set the stack parameter WebOrigin=$PORTAL_URL if not done yet)"
