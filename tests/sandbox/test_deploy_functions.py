"""Which of the template's functions the sandbox runs (sandbox/deploy.py template_functions)."""

from __future__ import annotations

from sandbox.deploy import template_functions


def _function(handler: str | None) -> dict:
    return {"Type": "AWS::Lambda::Function", "Properties": {"Handler": handler} if handler else {"Code": {}}}


def test_handlers_run_and_custom_resource_providers_and_inline_helpers_do_not() -> None:
    template = {
        "Resources": {
            "Validate": _function("lambdas.validate_order.handler.handler"),
            "Inline": _function(None),
            "DeployPage": _function("index.handler"),  # CDK's BucketDeployment handler
            "Page": {
                "Type": "Custom::CDKBucketDeployment",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["DeployPage", "Arn"]}},
            },
        }
    }
    assert set(template_functions(template)) == {"Validate"}
