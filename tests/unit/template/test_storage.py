"""Buckets and the portal (infra/sections/storage.yaml, portal.yaml)."""

from __future__ import annotations

import json
import os
import subprocess

from tests.unit.template.helpers import (
    REPO,
    referenced_ids,
    resources,
)


def test_buckets_block_public_access_enforce_tls_and_encrypt(template):
    policies = resources(template, "AWS::S3::BucketPolicy").values()
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        # THEN all four public-access switches are on
        block = props["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                               "RestrictPublicBuckets")), lid
        # AND objects are encrypted by default
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert rule["SSEAlgorithm"] in ("aws:kms", "aws:kms:dsse", "AES256"), lid
        # AND a bucket policy denies any request not made over TLS
        mine = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": lid}]
        assert mine, f"{lid} has no bucket policy"
        denies_plain_http = [
            s for p in mine for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies_plain_http, lid


def test_portal_is_a_private_bucket_read_only_by_its_cloudfront_distribution(template):
    # GIVEN the portal's bucket, its policy and the distribution in front of it
    res = template["Resources"]
    bucket = res["PortalBucket"]["Properties"]
    distribution = res["PortalDistribution"]["Properties"]["DistributionConfig"]
    # THEN the bucket is named after the stack (the local stack recreates it) and is no website
    assert bucket["BucketName"] == {"Fn::Sub": "${AWS::StackName}-portal-${AWS::AccountId}-${AWS::Region}"}
    assert "WebsiteConfiguration" not in bucket
    # AND the only Allow is s3:GetObject for CloudFront, on behalf of this one distribution
    statements = res["PortalBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    allow = allows[0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == {"Fn::Sub": "${PortalBucket.Arn}/*"}
    source = allow["Condition"]["StringEquals"]["aws:SourceArn"]
    assert referenced_ids(source) >= {"PortalDistribution"}
    # AND CloudFront reads it through Origin Access Control, serves index.html at / and only over HTTPS
    (origin,) = distribution["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["PortalBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["PortalOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    oac = res["PortalOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    assert distribution["DefaultRootObject"] == "index.html"
    behaviour = distribution["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "PortalSecurityHeadersPolicy"}
    headers = res["PortalSecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert {"StrictTransportSecurity", "ContentTypeOptions", "FrameOptions", "ContentSecurityPolicy"} <= set(headers)
    # AND the outputs give the operator (and scripts/publish_portal.sh) what they need
    outputs = template["Outputs"]
    assert outputs["PortalBucketName"]["Value"] == {"Ref": "PortalBucket"}
    assert outputs["PortalDistributionId"]["Value"] == {"Ref": "PortalDistribution"}
    assert outputs["PortalUrl"]["Value"] == {"Fn::Sub": "https://${PortalDistribution.DomainName}"}
    assert outputs["RetentionDays"]["Value"] == {"Ref": "RetentionDays"}
    assert "portal" in template["Parameters"]["WebOrigin"]["Description"]


FAKE_AWS = """#!/usr/bin/env bash
# Stands in for the AWS CLI: answers describe-stacks from $FAKE_OUTPUTS and logs every call.
echo "$*" >> "$FAKE_LOG"
if [[ "$1 $2" == "cloudformation describe-stacks" ]]; then
  key=$(printf '%s' "$*" | sed -n "s/.*OutputKey=='\\([A-Za-z]*\\)'.*/\\1/p")
  python3 -c 'import json, os, sys; print(json.load(open(os.environ["FAKE_OUTPUTS"])).get(sys.argv[1], "None"))' "$key"
elif [[ "$1 $2" == "s3 sync" ]]; then
  cp -R "$3" "$FAKE_SYNCED"
elif [[ "$1 $2" == "cloudfront create-invalidation" ]]; then
  echo I123
fi
"""


def test_publish_portal_writes_config_syncs_and_invalidates(tmp_path):
    # GIVEN a fake AWS CLI on PATH answering a deployed stack's outputs
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    outputs = {"ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
               "AgencyUserPoolClientId": "4f1client9id", "PortalBucketName": "ft-prod-portal-1-eu-west-1",
               "AgencySignInUrl": "https://ft-prod-1234.auth.eu-west-1.amazoncognito.com",
               "PortalDistributionId": "E2DIST", "PortalUrl": "https://d1.cloudfront.net", "RetentionDays": "30"}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "log"),
           "FAKE_OUTPUTS": str(tmp_path / "outputs.json"), "FAKE_SYNCED": str(tmp_path / "synced")}
    env.pop("AWS_CLI", None)
    # WHEN the operator publishes the portal of stack ft-prod
    run = subprocess.run([str(REPO / "scripts" / "publish_portal.sh"), "ft-prod"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    calls = (tmp_path / "log").read_text().splitlines()
    # THEN it read the stack's outputs, synced portal/ plus a cloud config.js with --delete, and invalidated
    assert all("--stack-name ft-prod" in c for c in calls if c.startswith("cloudformation"))
    (sync,) = [c for c in calls if c.startswith("s3 sync")]
    assert sync.split()[3] == "s3://ft-prod-portal-1-eu-west-1/" and "--delete" in sync
    (invalidation,) = [c for c in calls if c.startswith("cloudfront create-invalidation")]
    assert "--distribution-id E2DIST" in invalidation and "--paths /*" in invalidation
    synced = tmp_path / "synced"
    assert {p.name for p in (REPO / "portal").iterdir()} <= {p.name for p in synced.iterdir()}
    config = (synced / "config.js").read_text()
    prefix = "window.FACETRACE_CONFIG = "
    assert config.startswith(prefix)
    values = json.loads(config[len(prefix):].strip().rstrip(";"))
    assert values["apiUrl"] == outputs["ApiUrl"] and values["auth"] == "cognito"
    assert values["userPoolClientId"] == outputs["AgencyUserPoolClientId"]
    assert values["signInUrl"] == outputs["AgencySignInUrl"]
    assert values["retentionDays"] == 30  # the citizen page's privacy notice states it
    # AND portal/ itself is left as it was (locally the gateway generates config.js)
    assert not (REPO / "portal" / "config.js").exists()
    assert "https://d1.cloudfront.net" in run.stdout


def test_publish_portal_refuses_a_stack_without_the_portal_outputs(tmp_path):
    # GIVEN a stack deployed before the portal existed (no PortalBucketName output)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    (tmp_path / "outputs.json").write_text(json.dumps({
        "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/dev", "AgencyUserPoolClientId": "abc",
        "AgencySignInUrl": "https://ft-dev-1.auth.us-east-1.amazoncognito.com"}))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "log"),
           "FAKE_OUTPUTS": str(tmp_path / "outputs.json"), "FAKE_SYNCED": str(tmp_path / "synced")}
    env.pop("AWS_CLI", None)
    # WHEN publishing  THEN it stops before touching S3 or CloudFront, naming the missing output
    run = subprocess.run([str(REPO / "scripts" / "publish_portal.sh"), "old"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "PortalBucketName" in run.stderr
    assert not any(c.startswith(("s3 ", "cloudfront ")) for c in (tmp_path / "log").read_text().splitlines())


def test_upload_bucket_expires_sightings_and_results(template):
    props = template["Resources"]["UploadBucket"]["Properties"]
    rules = {r.get("Prefix"): r for r in props["LifecycleConfiguration"]["Rules"]}
    for prefix in ("sightings/", "results/"):
        assert rules[prefix]["ExpirationInDays"] == {"Ref": "RetentionDays"}
    # AND a search photo never outlives a day (match deletes it once searched; this is the backstop)
    assert rules["searches/"]["ExpirationInDays"] == 1
    assert props["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"] == ["POST", "PUT"]  # PUT: a clip's parts
