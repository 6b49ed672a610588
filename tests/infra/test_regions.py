"""Every region and partition (issue 14): the stack synthesized for a region of each kind, and the
environment-agnostic one, pass cfn-lint there; the stack's own dependency layer serves every region, AWS's public
Powertools layer (when chosen) comes from the partition's publisher, Step Functions' integrations are in the
stack's partition, the schema registry and the SES identity are left out where the region has no such service,
and a region without the public layer fails the synth that asks for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra import names, regions
from infra.workflow import ASL_INTEGRATION, load_definition
from tests.infra.synth_support import own_functions, synthesize_for
from tests.synth import Synthesized, cfn_lint

COPIED_LAYER = "arn:aws:lambda:eu-west-1:111122223333:layer:powertools-python313-arm64:1"
PUBLIC_LAYER_VERSION = 27  # any version: the ARN's shape is what is checked

# region, partition, public layer account (None: the stack's own layer), has the schema registry, has SES
KINDS = [
    ("eu-west-1", "aws", "017000801446", True, True),
    ("ca-west-1", "aws", None, False, True),  # no schema registry, no public layer: the default, our own, serves
    ("cn-north-1", "aws-cn", "498634801083", True, False),
    ("us-gov-west-1", "aws-us-gov", "165093116878", True, True),
]


def layers_of(synthesized: Synthesized) -> set[str]:
    return {json.dumps(f["Properties"]["Layers"]) for f in own_functions(synthesized).values()}


@pytest.mark.parametrize(("region", "partition", "account", "has_registry", "has_ses"), KINDS)
def test_a_stack_for_a_region_of_each_kind(
    tmp_path: Path, region: str, partition: str, account: str | None, has_registry: bool, has_ses: bool
) -> None:
    context = {"powertoolsLayerVersion": PUBLIC_LAYER_VERSION} if account else {}
    synthesized = synthesize_for(tmp_path, context, region=region)
    result = cfn_lint(synthesized.template_path, region)
    assert result.returncode == 0, result.stdout + result.stderr
    text = json.dumps(synthesized.template)

    layers = layers_of(synthesized)
    expected = (
        f"arn:{partition}:lambda:{region}:{account}:layer:{regions.POWERTOOLS_LAYER_NAME}:{PUBLIC_LAYER_VERSION}"
        if account
        else '[{"Ref": "DependencyLayer'
    )
    assert len(layers) == 1 and expected in layers.pop()

    assert set(re.findall(r"arn:[a-z-]+:states:::", text)) == {f"arn:{partition}:states:::"}
    assert bool(synthesized.resources("AWS::EventSchemas::Registry")) == has_registry
    assert (names.OUTPUT_SCHEMA_REGISTRY in synthesized.template["Outputs"]) == has_registry
    assert bool(synthesized.resources("AWS::SES::EmailIdentity")) == has_ses
    # No Cognito user pools in China, no CloudFront in GovCloud: no back-office there, and no route to it.
    has_back_office = region not in regions.NO_BACK_OFFICE
    assert bool(synthesized.resources("AWS::Cognito::UserPool")) == has_back_office
    assert bool(synthesized.resources("AWS::CloudFront::Distribution")) == has_back_office
    paths = {r["Properties"]["PathPart"] for r in synthesized.resources("AWS::ApiGateway::Resource").values()}
    assert ("backoffice" in paths) == has_back_office
    assert (names_of_back_office_outputs() <= set(synthesized.template["Outputs"])) == has_back_office
    assert "Conditions" not in synthesized.template  # the region is known: decided at synth time


def test_a_copy_of_the_layer_is_used_as_named(tmp_path: Path) -> None:
    synthesized = synthesize_for(tmp_path, {"powertoolsLayerArn": COPIED_LAYER}, region="eu-west-1")
    assert layers_of(synthesized) == {json.dumps([COPIED_LAYER])}
    assert not any(
        "DependencyLayer" in name for name in synthesized.resources("AWS::Lambda::LayerVersion")
    )  # not built when unused


@pytest.mark.parametrize("region", regions.POWERTOOLS_LAYER_MISSING)
def test_a_region_without_the_public_layer_fails_the_synth_naming_the_regions(tmp_path: Path, region: str) -> None:
    with pytest.raises(regions.LayerNotPublished) as refused:
        synthesize_for(tmp_path, {"powertoolsLayerVersion": PUBLIC_LAYER_VERSION}, region=region)
    for missing in regions.POWERTOOLS_LAYER_MISSING:
        assert missing in str(refused.value)
    assert "powertoolsLayerArn" in str(refused.value)


def test_the_agnostic_template_lints_in_every_region(synthesized: Synthesized) -> None:
    result = cfn_lint(synthesized.template_path, "ALL_REGIONS")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_agnostic_template_decides_at_deploy_time(synthesized: Synthesized) -> None:
    template = synthesized.template
    conditions = template["Conditions"]
    for resource in (
        *synthesized.resources("AWS::EventSchemas::Registry").values(),
        *synthesized.resources("AWS::EventSchemas::Schema").values(),
    ):
        assert resource["Condition"] == "SchemaRegistryAvailable"
    missing = json.dumps(conditions["SchemaRegistryAvailable"])
    assert all(f'"{r}"' in missing for r in regions.NO_SCHEMA_REGISTRY)
    assert synthesized.one("AWS::SES::EmailIdentity")["Condition"] == "SesAvailable"
    assert template["Outputs"][names.OUTPUT_SCHEMA_REGISTRY]["Condition"] == "SchemaRegistryAvailable"
    # The back-office (Cognito, CloudFront) where the region has both; its routes' deployment waits for them.
    assert all(f'"{r}"' in json.dumps(conditions["BackOfficeAvailable"]) for r in regions.NO_BACK_OFFICE)
    for kind in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolGroup", "AWS::CloudFront::Distribution"):
        assert {r.get("Condition") for r in synthesized.resources(kind).values()} == {"BackOfficeAvailable"}, kind
    for output in names_of_back_office_outputs():
        assert template["Outputs"][output]["Condition"] == "BackOfficeAvailable"
    unconditioned = {k for k, r in template["Resources"].items() if "Condition" not in r}
    for name, resource in template["Resources"].items():
        if name in unconditioned:
            assert set(resource.get("DependsOn", [])) <= unconditioned, name
    # The stack's own layer: one for every region, and no rule refusing any.
    assert len(layers_of(synthesized)) == 1 and "DependencyLayer" in layers_of(synthesized).pop()
    assert "PowertoolsLayerPublished" not in template.get("Rules", {})


def test_the_agnostic_template_on_the_public_layer_picks_its_account_at_deploy_time(tmp_path: Path) -> None:
    synthesized = synthesize_for(tmp_path, {"powertoolsLayerVersion": PUBLIC_LAYER_VERSION})
    result = cfn_lint(synthesized.template_path, "ALL_REGIONS")
    assert result.returncode == 0, result.stdout + result.stderr
    # The layer's account by partition and GovCloud region; a rule refuses the regions without it.
    layers = layers_of(synthesized)
    assert len(layers) == 2  # the back office's function exists only in the aws partition: its account only
    for account in ("017000801446", "498634801083", "165087284144", "165093116878"):
        assert any(account in layer for layer in layers)
    rule = json.dumps(synthesized.template["Rules"]["PowertoolsLayerPublished"])
    assert all(r in rule for r in regions.POWERTOOLS_LAYER_MISSING)


def names_of_back_office_outputs() -> set[str]:
    from lambdas.shared import constants

    return {constants.OUTPUT_BACK_OFFICE_URL, constants.OUTPUT_USER_POOL_ID, constants.OUTPUT_USER_POOL_CLIENT_ID}


def test_the_asl_integrations_are_each_one_substitution_in_the_stacks_partition(synthesized: Synthesized) -> None:
    machine = synthesized.one("AWS::StepFunctions::StateMachine")["Properties"]
    definition = json.dumps(machine["DefinitionString"])
    assert "arn:aws:states:::" not in definition
    integrations = set(ASL_INTEGRATION.findall(load_definition()))
    assert integrations >= {"lambda:invoke", "sqs:sendMessage", "events:putEvents"}
    deployed = {k: v for k, v in machine["DefinitionSubstitutions"].items() if k.startswith("Integration")}
    assert len(deployed) == len(integrations)
    for value in deployed.values():
        assert value["Fn::Join"][1][:2] == ["arn:", {"Ref": "AWS::Partition"}]
