"""Running FaceTrace as an agency (issue #11): onboarding without database access, erasure that runs on its own
and is watched, e-mails without photo links, a portal that signs in with Cognito and may call the API."""

from __future__ import annotations

from tests.unit.template.helpers import function_props, inline_statements


def test_the_purge_runs_daily_inside_the_vpc_and_may_delete_only_photos(template):
    admin = function_props(template, "AdminFunction")
    # GIVEN the admin function  THEN EventBridge runs the purge every day and the sighting archive every hour
    schedules = {e["Properties"]["Schedule"]: e["Properties"].get("Input") for e in admin["Events"].values()
                 if e["Type"] == "Schedule"}
    assert schedules == {"cron(30 2 * * ? *)": None, "cron(5 * * * ? *)": '{"command": "archive"}'}
    # AND it runs in the VPC (the database is only there) and may read the database secret
    assert admin["VpcConfig"]["SubnetIds"] and admin["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "admin"
    assert any("AWSSecretsManagerGetSecretValuePolicy" in p for p in admin["Policies"] if isinstance(p, dict))
    # AND in the bucket it may only delete the photos erasure deletes and the archive's expired segments, and write
    # new segments
    [erase, archive] = inline_statements(admin)
    assert erase["Action"] == "s3:DeleteObject"
    assert [r["Fn::Sub"].rsplit("}", 1)[1] for r in erase["Resource"]] == ["/sightings/*", "/references/*",
                                                                           "/footage/*", "/stills/*", "/archive/*"]
    assert archive["Action"] == "s3:PutObject" and archive["Resource"]["Fn::Sub"].endswith("/archive/*")


def test_a_day_without_a_purge_alarms(template):
    alarm = template["Resources"]["PurgeMissedAlarm"]["Properties"]
    # GIVEN the alarm  THEN it counts the purge's reports of the admin function's service, and no report is a breach
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("FaceTrace", "PhotosErased", "SampleCount")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"Kind": "sighting", "service": "admin"}
    assert alarm["Period"] == 86400 and alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [{"Ref": "OpsTopic"}]


def test_onboarding_reaches_cognito_and_the_admin_function_and_nothing_else(template):
    onboard = function_props(template, "OnboardFunction")
    # GIVEN the onboard function  THEN it runs outside the VPC (a pool with a domain has no VPC endpoint)
    assert "VpcConfig" not in onboard
    # AND it may create and read users of the agency pool only, and invoke the admin function only
    [invite] = inline_statements(onboard)
    assert sorted(invite["Action"]) == ["cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser"]
    assert invite["Resource"] == {"Fn::GetAtt": ["AgencyUserPool", "Arn"]}
    invokes = [p["LambdaInvokePolicy"] for p in onboard["Policies"] if "LambdaInvokePolicy" in p]
    assert invokes == [{"FunctionName": {"Ref": "AdminFunction"}}]
    assert not any("AWSSecretsManagerGetSecretValuePolicy" in p for p in onboard["Policies"])
    env = onboard["Environment"]["Variables"]
    assert env["FACETRACE_USER_POOL_ID"] == {"Ref": "AgencyUserPool"}
    assert env["FACETRACE_ADMIN_FUNCTION_NAME"] == {"Ref": "AdminFunction"}
    outputs = template["Outputs"]
    assert outputs["OnboardFunctionName"]["Value"] == {"Ref": "OnboardFunction"}
    assert outputs["AdminFunctionName"]["Value"] == {"Ref": "AdminFunction"}


def test_the_alert_email_links_the_portal_and_notify_cannot_read_photos(template):
    notify = function_props(template, "NotifyFunction")
    assert notify["Environment"]["Variables"]["FACETRACE_PORTAL_URL"] == {
        "Fn::Sub": "https://${PortalDistribution.DomainName}"}
    assert not any("S3ReadPolicy" in p for p in notify["Policies"] if isinstance(p, dict))
    assert not any(str(s.get("Action", "")).startswith("s3:") for s in inline_statements(notify))


def test_the_portal_signs_in_with_a_code_and_pkce_at_cognitos_hosted_pages(template):
    res = template["Resources"]
    client = res["AgencyUserPoolClient"]["Properties"]
    # GIVEN the portal's user pool client  THEN it is public (no secret) and only trades codes, for the portal only
    assert client["GenerateSecret"] is False and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"] and set(client["AllowedOAuthScopes"]) == {"openid", "email"}
    assert client["CallbackURLs"] == [{"Fn::Sub": "https://${PortalDistribution.DomainName}/signin.html"}]
    assert res["AgencyUserPoolDomain"]["Properties"]["UserPoolId"] == {"Ref": "AgencyUserPool"}
    # AND an invited officer's e-mail says where to sign in, with Cognito's user name and temporary password
    invite = res["AgencyUserPool"]["Properties"]["AdminCreateUserConfig"]["InviteMessageTemplate"]
    text = invite["EmailMessage"]["Fn::Sub"]
    assert "{username}" in text and "{####}" in text and "https://${PortalDistribution.DomainName}/agency.html" in text
    assert "amazoncognito.com" in template["Outputs"]["AgencySignInUrl"]["Value"]["Fn::Sub"]
    # AND the portal's content security policy lets the page trade the code at Cognito's token endpoint
    csp = res["PortalSecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"][
        "ContentSecurityPolicy"]["ContentSecurityPolicy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src"))
    assert "https://*.amazoncognito.com" in connect.split()


def test_the_portal_may_read_the_apis_answers_and_refusals(template):
    api = template["Resources"]["FaceTraceApi"]["Properties"]
    # GIVEN the API  THEN its preflight allows every method the portal uses (DELETE for recipients)
    assert set(api["Cors"]["AllowMethods"].strip("'").split(",")) >= {"GET", "POST", "PATCH", "DELETE", "OPTIONS"}
    # AND API Gateway's own 4xx/5xx (an expired token's 401) carry the origin, as the function's answers do
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = api["GatewayResponses"][kind]["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == {"Fn::Sub": "'${WebOrigin}'"}
    assert function_props(template, "ApiFunction")["Environment"]["Variables"]["FACETRACE_WEB_ORIGIN"] == {
        "Ref": "WebOrigin"}
