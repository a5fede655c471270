"""The short-tag loader and the intrinsic-function resolver the local stack is built on."""

from __future__ import annotations

import pytest

from devstack.template import UnresolvedReference, load_template, resolve


def test_load_template_turns_short_tags_into_long_form(tmp_path):
    # GIVEN a template using every common short tag, and a date-looking version string
    path = tmp_path / "t.yaml"
    path.write_text(
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Conditions:\n  IsProd: !Equals [!Ref Stage, prod]\n  NotProd: !Not [!Condition IsProd]\n"
        "Resources:\n  R:\n    Properties:\n"
        "      A: !Ref Bucket\n      B: !GetAtt Queue.Arn\n      C: !GetAtt Proxy.Endpoint.Address\n"
        "      D: !Sub '${AWS::StackName}-x'\n      E: !Sub ['${N}-y', {N: !Ref Stage}]\n"
        "      F: !If [IsProd, 1, !Ref AWS::NoValue]\n      G: !Join ['-', [a, !Select [0, !GetAZs '']]]\n"
        "      H: !GetAtt [Queue, QueueName]\n      I: !FindInMap [M, !Ref Stage, K]\n"
        "      J: !Base64 {'Fn::Sub': 'x'}\n"
    )
    # WHEN it is loaded
    loaded = load_template(path)
    # THEN each tag is the long form CloudFormation sees, and the version stays a string
    props = loaded["Resources"]["R"]["Properties"]
    assert loaded["AWSTemplateFormatVersion"] == "2010-09-09"
    assert loaded["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert loaded["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert props["A"] == {"Ref": "Bucket"}
    assert props["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert props["C"] == {"Fn::GetAtt": ["Proxy", "Endpoint.Address"]}
    assert props["D"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert props["E"] == {"Fn::Sub": ["${N}-y", {"N": {"Ref": "Stage"}}]}
    assert props["F"] == {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}
    assert props["G"] == {"Fn::Join": ["-", ["a", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}]]}
    assert props["H"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert props["I"] == {"Fn::FindInMap": ["M", {"Ref": "Stage"}, "K"]}
    assert props["J"] == {"Fn::Base64": {"Fn::Sub": "x"}}


CONTEXT = {
    "AWS::StackName": "ft", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
    "Stage": "dev", "Bucket": "ft-bucket", "Queue": "https://q/ft-jobs", "Queue.Arn": "arn:aws:sqs:eu-west-1:1:ft-jobs",
    "Export:shared-vpc": "vpc-1",
}
CONDITIONS = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}, "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]}}


def test_resolve_references_and_strings():
    # GIVEN long-form values referring to pseudo-parameters, parameters, resources and attributes
    value = {
        "ref": {"Ref": "Bucket"},
        "att": {"Fn::GetAtt": ["Queue", "Arn"]},
        "sub": {"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue.Arn}-${!Literal}"},
        "sub_vars": {"Fn::Sub": ["${Name}.${AWS::Region}", {"Name": {"Ref": "Bucket"}}]},
        "join": {"Fn::Join": ["/", [{"Ref": "Stage"}, "x", 3]]},
        "select": {"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]},
        "azs": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "cidr": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
        "b64": {"Fn::Base64": "hi"},
        "import": {"Fn::ImportValue": "shared-vpc"},
        "json": {"Fn::ToJsonString": {"a": {"Ref": "Stage"}}},
    }
    # WHEN resolved against the caller's context
    out = resolve(value, CONTEXT)
    # THEN every intrinsic is evaluated like CloudFormation would
    assert out == {
        "ref": "ft-bucket",
        "att": "arn:aws:sqs:eu-west-1:1:ft-jobs",
        "sub": "ft-dev-arn:aws:sqs:eu-west-1:1:ft-jobs-${Literal}",
        "sub_vars": "ft-bucket.eu-west-1",
        "join": "dev/x/3",
        "select": "b",
        "azs": "eu-west-1a",
        "cidr": ["10.0.0.0/24", "10.0.1.0/24"],
        "b64": "aGk=",
        "import": "vpc-1",
        "json": '{"a":"dev"}',
    }


def test_resolve_conditions_and_no_value():
    # GIVEN conditional values, some of which resolve to AWS::NoValue
    value = {
        "level": {"Fn::If": ["IsProd", "INFO", "DEBUG"]},
        "dropped": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
        "items": ["a", {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "b"]}, "c"],
        "both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Or": [{"Fn::Equals": ["x", "y"]}, {"Condition": "IsDev"}]}]},
        "size": {"Fn::FindInMap": ["StageConfig", {"Ref": "Stage"}, "Size"]},
    }
    # WHEN resolved with the template's conditions and mappings
    out = resolve(value, CONTEXT, CONDITIONS, {"StageConfig": {"dev": {"Size": 1}, "prod": {"Size": 4}}})
    # THEN conditions are evaluated from the parameters and NoValue removes the key / item
    assert out == {"level": "DEBUG", "items": ["a", "c"], "both": True, "size": 1}
    # AND ready-made booleans are accepted as conditions too
    assert resolve({"Fn::If": ["IsProd", "p", "d"]}, CONTEXT, {"IsProd": True}) == "p"


@pytest.mark.parametrize(
    "value",
    [{"Ref": "DatabaseProxy"}, {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}, {"Fn::Sub": "${Missing}"},
     {"Fn::If": ["Unknown", 1, 2]}, {"Fn::FindInMap": ["M", "a", "b"]}],
)


def test_resolve_unknown_names_raise_key_error(value):
    # GIVEN a value naming something the context does not know (a cloud-only resource)
    # WHEN it is resolved  THEN a KeyError says which, so the caller can skip it
    with pytest.raises(KeyError):
        resolve(value, CONTEXT)
    with pytest.raises(UnresolvedReference):
        resolve(value, CONTEXT)


def test_local_stack_can_resolve_the_real_function_environment(template):
    # GIVEN the real template and what a local stack knows (no RDS Proxy / secret locally)
    params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    params["SenderEmail"] = "alerts@example.org"
    context = {
        "AWS::StackName": "facetrace-local", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
        **params, "JobsQueue": "http://moto/jobs", "FacesQueue": "http://moto/faces", "FootageQueue": "http://moto/footage",
        "AlertsTopic": "arn:aws:sns:us-east-1:123456789012:facetrace-local-alerts",
        "SmsTopic": "arn:aws:sns:us-east-1:123456789012:facetrace-local-sms",
        "DeliveriesQueue": "http://moto/deliveries", "IdempotencyTable": "facetrace-local-idempotency",
    }
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    resolved, skipped = {}, set()
    # WHEN each variable is resolved
    for name, raw in variables.items():
        try:
            resolved[name] = resolve(raw, context, template["Conditions"], template["Mappings"])
        except KeyError:
            skipped.add(name)
    # THEN everything but the cloud-only database values resolves, bucket name included
    assert skipped == {"FACETRACE_DB_SECRET_ARN", "FACETRACE_DB_HOST"}
    assert resolved["FACETRACE_UPLOAD_BUCKET"] == "facetrace-local-uploads-123456789012-us-east-1"
    assert resolved["FACETRACE_JOBS_QUEUE_URL"] == "http://moto/jobs"
    assert resolved["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    # AND the queue names resolve from the stack name
    assert resolve(template["Resources"]["JobsDeadLetterQueue"]["Properties"]["QueueName"], context) == "facetrace-local-jobs-dlq"
