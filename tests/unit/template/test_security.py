"""IAM, the database and its credentials, the agency claim (functions, database, api sections)."""

from __future__ import annotations

import pytest

from tests.unit.template.helpers import (
    FUNCTIONS,
    referenced_ids,
    resources,
    unjustified_wildcards,
)


def test_iam_wildcards_need_a_justification(template):
    # GIVEN every Allow statement of the template  WHEN checked  THEN no wildcard is unexplained
    assert unjustified_wildcards(template) == []
    # AND the check does catch one: GIVEN a role granting Action "*" on Resource "*"
    rogue = {"Resources": {"Rogue": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {
        "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
                      {"Sid": "Svc", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"}]}}]}}}}
    assert unjustified_wildcards(rogue) == ["Rogue:All", "Rogue:Svc"]
    # WHEN the owner justifies one by Sid  THEN only the other is reported
    rogue["Resources"]["Rogue"]["Metadata"] = {"FaceTrace": {"IamWildcardJustifications": {"All": "break-glass"}}}
    assert unjustified_wildcards(rogue) == ["Rogue:Svc"]


def test_worker_task_role_is_limited_to_its_queues_and_bucket(template):
    role = template["Resources"]["WorkerTaskRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    # THEN it never names the database secret, the database or KMS
    assert not referenced_ids(statements) & {"Database", "DatabaseProxy"}
    assert role.get("ManagedPolicyArns") is None
    # AND its actions are exactly the worker's needs, each on its own resource
    granted = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        for action in actions:
            granted.setdefault(action, []).append(s["Resource"])
    assert set(granted) == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                            "sqs:SendMessage", "s3:GetObject", "s3:PutObject"}
    assert granted["sqs:ReceiveMessage"] == [{"Fn::GetAtt": ["JobsQueue", "Arn"]}]
    assert granted["sqs:SendMessage"] == [{"Fn::GetAtt": ["FacesQueue", "Arn"]}, {"Fn::GetAtt": ["FootageQueue", "Arn"]}]
    assert granted["s3:PutObject"] == [{"Fn::Sub": "${UploadBucket.Arn}/results/*"},
                                       {"Fn::Sub": "${UploadBucket.Arn}/stills/*"}]


def test_database_is_private_encrypted_and_backed_up(template):
    db = template["Resources"]["Database"]
    props = db["Properties"]
    assert props["Engine"] == "mysql" and str(props["EngineVersion"]).startswith("8.")
    assert props["StorageEncrypted"] is True and props["PubliclyAccessible"] is False
    assert props["DeletionProtection"] == {"Fn::If": ["IsProd", True, False]}
    assert db["DeletionPolicy"] == "Snapshot"
    assert props["BackupRetentionPeriod"]
    assert template["Resources"]["DatabaseProxy"]["Properties"]["RequireTLS"] is True


MANAGED_SECRET = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}


def test_database_credentials_are_managed_and_rotated_by_rds(template):
    res = template["Resources"]
    db = res["Database"]["Properties"]
    # GIVEN the database  WHEN its credentials are read  THEN RDS owns (and rotates) the password
    assert db["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in db and "resolve:" not in str(db["MasterUsername"])
    # AND no hand-made, never-rotated secret is left in the stack
    assert resources(template, "AWS::SecretsManager::Secret") == {}
    # AND the proxy, its role, every function and the settings all use the RDS-managed secret
    assert [a["SecretArn"] for a in res["DatabaseProxy"]["Properties"]["Auth"]] == [MANAGED_SECRET]
    proxy_reads = res["DatabaseProxyRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert [s["Resource"] for s in proxy_reads] == [MANAGED_SECRET]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["FACETRACE_DB_SECRET_ARN"] == MANAGED_SECRET
    readers = {lid: p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]
               for lid in FUNCTIONS for p in res[lid]["Properties"].get("Policies", [])
               if isinstance(p, dict) and "AWSSecretsManagerGetSecretValuePolicy" in p}
    assert set(readers) == set(FUNCTIONS) - {"NotifyFunction", "OnboardFunction", "ArchiveSearchFunction"}  # outside the VPC
    assert all(arn == MANAGED_SECRET for arn in readers.values())


def test_managed_secret_gives_a_proxy_url():
    from facetrace.adapters.aws import db_url_from_secret

    # GIVEN an RDS-managed secret: username and password only, no host or port
    class Secrets:
        def get_secret_value(self, SecretId):
            return {"SecretString": '{"username": "facetrace_admin", "password": "p@ss/w:rd"}'}

    # WHEN a URL is built with the proxy endpoint as host
    url = db_url_from_secret(Secrets(), "arn:secret", "proxy.example", "facetrace")
    # THEN it targets the proxy on 3306 over TLS, with the password escaped
    assert url == "mysql://facetrace_admin:p%40ss%2Fw%3Ard@proxy.example:3306/facetrace?ssl=true"


def test_unreachable_secrets_manager_is_an_unavailable_store():
    from botocore.exceptions import EndpointConnectionError
    from facetrace.adapters.aws import db_url_from_secret
    from facetrace.errors import StoreUnavailable

    # GIVEN Secrets Manager cannot be reached (its VPC endpoint is down, say)
    class Secrets:
        def get_secret_value(self, SecretId):
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")

    # WHEN the database URL is built THEN the store is unavailable (answered 503), not a crash (500)
    with pytest.raises(StoreUnavailable, match="credentials unavailable"):
        db_url_from_secret(Secrets(), "arn:secret", "proxy.example", "facetrace")


def test_agency_claim_is_declared_and_immutable(template):
    # GIVEN the user pool  WHEN its schema is read  THEN custom:agency_id exists and users cannot change it
    schema = {a["Name"]: a for a in template["Resources"]["AgencyUserPool"]["Properties"]["Schema"]}
    assert schema["agency_id"]["AttributeDataType"] == "String"
    assert schema["agency_id"]["Mutable"] is False
