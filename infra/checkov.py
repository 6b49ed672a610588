"""checkov, the second scanner (run on every synthesized template by tests/infra/test_checkov.py): the
findings we accept, each with its reason, written on the resource itself (``Metadata.checkov.skip``).

A reason is attached by what a resource *is*, read from the template's own facts, never by name and
never stack-wide. A function's role is how the template invokes it:

- task: a state machine invokes it synchronously (``lambda:invoke``), and nothing else does but,
  perhaps, a scheduled function of the stack (the sweeper re-runs a compensation step);
- subscriber: event-pattern rules whose targets have a dead-letter queue invoke it, and its own
  retries end in an on-failure destination; nothing else invokes it;
- scheduled: schedules (EventBridge rules or Scheduler) invoke it, and nothing else does;
- operator: nothing in the template invokes it but, perhaps, roles that only people assume (a trust
  policy naming AWS accounts, users or roles, no service): people call it through the Lambda API, under
  IAM, with their own credentials or such a role's (the payment reviewers' role, infra/workflow.py);
- api: API Gateway invokes it (its only Lambda permission is for apigateway.amazonaws.com), nothing else.

A function that is none of these (a queue consumer, a subscriber without a dead-letter queue...) gets
no skip at all, so checkov fails on it until someone writes its reasons
here. Queues and tables get a skip only while the fact its reason states holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import jsii
from aws_cdk import Aspects, CfnResource, IAspect, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

METADATA_KEY = "checkov"


class Role(Enum):
    TASK = "task"
    SUBSCRIBER = "subscriber"
    BUFFERED_SUBSCRIBER = "buffered subscriber"  # its rule targets a queue; Lambda reads the queue
    SCHEDULED = "scheduled"
    OPERATOR = "operator"
    API = "api"


# -- the reasons -------------------------------------------------------------------------------------

NO_VPC = (
    "Calls only AWS service APIs (DynamoDB, EventBridge, SQS, SES, Step Functions, CloudWatch, X-Ray) over "
    "TLS with IAM-signed requests; there is no private resource to reach. A VPC would need NAT gateways or "
    "one interface endpoint per service in every AZ (hourly cost) and ENIs, and would not narrow what the "
    "function may do: its IAM role does, granted per resource and per action."
)
NO_RESERVED_CONCURRENCY = {
    Role.TASK: (
        "Invoked by the order workflow, once per step of a running execution (and by the sweeper's repair, "
        "one order at a time), so its concurrency follows the rate at which orders start. A reservation would "
        "throttle steps mid-order (each retried, delaying orders) and carve a slice out of the account's "
        "shared pool for each function (Lambda keeps 100 unreserved; new accounts' quotas allow no "
        "reservation). Bound orders where they enter."
    ),
    Role.SUBSCRIBER: (
        "Invoked only asynchronously by its EventBridge rule: a burst waits in Lambda's async queue, throttled "
        "deliveries are retried by EventBridge and Lambda up to the event's maximum age and then land in its "
        "dead-letter queue, so nothing is lost without a cap, while a reservation would carve a slice out of "
        "the account's shared concurrency pool for every subscriber."
    ),
    Role.BUFFERED_SUBSCRIBER: (
        "Invoked only by its SQS event source mapping, whose ScalingConfig.MaximumConcurrency bounds how many "
        "copies run (infra/subscribers.py, QueueBuffer): a burst waits in the queue instead, without a "
        "reservation carving a slice out of the account's shared pool."
    ),
    Role.SCHEDULED: (
        "Invoked only by its schedule, one run per interval: its concurrency is one in practice (a retry "
        "or a slow run may overlap the next), and a reservation would only withhold capacity from the "
        "account's shared pool."
    ),
    Role.OPERATOR: (
        "Invoked only by people through the Lambda API (reviewers, via the console or orderctl, with their own "
        "credentials or a role only people assume), a few calls an hour; IAM decides who may call it. A "
        "reservation would withhold capacity from the account's shared pool and bound nothing that happens."
    ),
    Role.API: (
        "Invoked only by API Gateway, synchronously, once per request: the stage's throttling (rate and burst, "
        "infra/api.py) bounds its concurrency where requests enter, with a 429 the caller retries. A reservation "
        "would carve a slice out of the account's shared pool and turn a burst into 5xx errors instead."
    ),
}
NO_FUNCTION_DLQ = {
    Role.TASK: (
        "Invoked synchronously by the order workflow (Step Functions lambda:invoke, RequestResponse), and a "
        "compensation step also by the sweeper's repair (Invoke, RequestResponse): errors return to the caller, "
        "which retries, compensates or stops at the state for a redrive, or tries again on its next run. A "
        "Lambda dead-letter queue receives only asynchronous invocations, so it would never receive anything."
    ),
    Role.SUBSCRIBER: (
        "Failures already end in this subscriber's SQS dead-letter queue, twice over: the async invoke "
        "config's on-failure destination (which keeps the error with the event) after Lambda's retries, and "
        "the rule target's dead-letter queue after EventBridge's. A DeadLetterConfig would be a third path "
        "to the same place, without the error."
    ),
    Role.BUFFERED_SUBSCRIBER: (
        "Invoked synchronously by its SQS event source mapping: a failed message returns to the queue, whose "
        "redrive policy moves it to the subscriber's dead-letter queue after maxReceiveCount receives. A "
        "Lambda dead-letter queue receives only asynchronous invocations, so it would never receive anything."
    ),
    Role.SCHEDULED: (
        "Invoked only by its schedule: a failed run is superseded by the next run one interval later, which "
        "starts again from what the tables and executions hold, and its errors show in its Errors metric. A "
        "dead-letter queue would only collect stale schedule events, which carry no data to replay."
    ),
    Role.OPERATOR: (
        "Invoked synchronously by people (console, orderctl): the caller sees the error and decides again. "
        "A decision that never arrives leaves the review waiting, which the review monitor reports (count "
        "and oldest wait) and its timeout ends."
    ),
    Role.API: (
        "Invoked synchronously by API Gateway (Lambda proxy integration): an error returns to the caller as "
        "the HTTP answer, and the caller retries (POST /orders is idempotent on the order id). A Lambda "
        "dead-letter queue receives only asynchronous invocations, so it would never receive anything."
    ),
}
ENVIRONMENT_WITHOUT_SECRETS = (
    "Its environment holds resource names, ARNs, queue URLs and tunables only, no secret (the skip is "
    "written only when no variable name suggests one). The values are in the CloudFormation template in "
    "plain text anyway, and Lambda encrypts them at rest with its AWS managed key; a customer key would "
    "protect nothing. Secrets belong in Secrets Manager, read at run time."
)
SQS_MANAGED_ENCRYPTION = (
    "Encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled: true, asserted by test_security); this "
    "checkov rule reads only KmsMasterKeyId and does not see it. Only this stack's own roles may send or "
    "receive (grants per queue), and the queue policy refuses requests without TLS."
)
TABLE_AWS_MANAGED_KEY = (
    "Encrypted at rest with KMS under the AWS managed key aws/dynamodb (each use logged in CloudTrail). The "
    "table has no resource policy: only this stack's functions reach it, granted per table and per action, "
    "so a customer key's policy would repeat those IAM grants, add a key grant to every reader (functions "
    "and operators) and cost a key per table. Revisit if another account or stack is ever given access."
)

FUNCTION_SKIPS: dict[str, dict[Role, str]] = {
    "CKV_AWS_117": dict.fromkeys(Role, NO_VPC),  # inside a VPC
    "CKV_AWS_115": NO_RESERVED_CONCURRENCY,  # function-level concurrency limit
    "CKV_AWS_116": NO_FUNCTION_DLQ,  # DeadLetterConfig
}
API_GATEWAY = "apigateway.amazonaws.com"
STAGE_CACHE_CHECK = "CKV_AWS_120"
STAGE_WITHOUT_CACHE = (
    "No API Gateway cache: the order API answers what an order is now (a running order moves on within "
    "seconds, a review may end at any moment), so a cached GET would show a stale status, and POST is never "
    "cached. A cache cluster is also billed by the hour whether used or not."
)
ENVIRONMENT_CHECK = "CKV_AWS_173"  # environment variables under a customer key
QUEUE_ENCRYPTION_CHECK = "CKV_AWS_27"
TABLE_CMK_CHECK = "CKV_AWS_119"
# A variable whose name says it holds one of these must not live in the environment at all.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY", re.IGNORECASE)


# -- the facts -------------------------------------------------------------------------------------


@dataclass
class Invocations:
    """How the template invokes one function."""

    sync_tasks: int = 0  # lambda:invoke tasks of a state machine (RequestResponse)
    other_state_machine_uses: int = 0  # any other mention in a definition (async invoke, unknown use)
    pattern_rules: list[bool] = field(default_factory=list)  # one per target: has a dead-letter queue
    schedule_rules: int = 0
    on_failure_destination: bool = False
    service_permissions: set[str] = field(default_factory=set)  # principals of AWS::Lambda::Permission
    other_triggers: int = 0  # event source mappings (but a buffered subscriber's), function URLs, custom resources
    queue_sources: list[bool] = field(default_factory=list)  # SQS event source mappings: the queue has a redrive
    iam_invokers: set[str] = field(default_factory=set)  # roles granted lambda:InvokeFunction on it

    def role(
        self,
        state_machine_roles: set[str],
        scheduler_roles: set[str],
        job_roles: set[str],
        person_roles: frozenset[str] = frozenset(),
    ) -> Role | None:
        rules = bool(self.pattern_rules) or self.schedule_rules > 0
        only_events = self.service_permissions <= {"events.amazonaws.com"}
        if self.other_triggers or self.other_state_machine_uses:
            return None
        if self.queue_sources:
            alone = not (rules or self.service_permissions or self.sync_tasks or self.iam_invokers)
            return Role.BUFFERED_SUBSCRIBER if alone and all(self.queue_sources) else None
        if self.sync_tasks and not rules and not self.service_permissions:
            return Role.TASK if self.iam_invokers <= state_machine_roles | job_roles else None
        if self.schedule_rules and not self.pattern_rules and not self.sync_tasks and only_events:
            return Role.SCHEDULED if self.iam_invokers <= scheduler_roles else None
        if self.service_permissions == {API_GATEWAY} and not (rules or self.sync_tasks or self.iam_invokers):
            return Role.API
        if not rules and not self.service_permissions and not self.sync_tasks and self.iam_invokers <= person_roles:
            return Role.OPERATOR
        if self.sync_tasks or self.iam_invokers or not only_events:
            return None
        if self.pattern_rules and not self.schedule_rules:
            has_dlq = all(self.pattern_rules)
            return Role.SUBSCRIBER if has_dlq and self.on_failure_destination else None
        return None


def properties(stack: Stack, resource: CfnResource) -> dict[str, Any]:
    """A resource's properties as written by its construct, resolved (CDK's camelCase names).

    Property overrides (``add_property_override``) are not seen: the scanner still reads the template.
    """
    resolved = stack.resolve(resource._cfn_properties)
    return resolved if isinstance(resolved, dict) else {}


def _refs(value: Any) -> set[str]:
    """Logical ids that a resolved CloudFormation value points at (Ref, Fn::GetAtt)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and isinstance(get_att[0], str):
            found.add(get_att[0])
        for item in value.values():
            found |= _refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _task_states(node: Any) -> Iterator[dict[str, Any]]:
    """Every Task state of an ASL document, in branches and iterators too."""
    if isinstance(node, dict):
        if node.get("Type") == "Task":
            yield node
        for child in node.values():
            yield from _task_states(child)
    elif isinstance(node, list):
        for child in node:
            yield from _task_states(child)


def _assumed_only_by_people(role: dict[str, Any]) -> bool:
    """A role whose every trust statement allows sts:AssumeRole to AWS principals (accounts, users, roles)
    only: no service, no federation, no other action (tags, web identity, SAML)."""
    statements = _as_list((role.get("assumeRolePolicyDocument") or {}).get("Statement"))
    for statement in statements:
        principal = statement.get("Principal")
        if (
            statement.get("Effect") != "Allow"
            or _as_list(statement.get("Action")) != ["sts:AssumeRole"]
            or not isinstance(principal, dict)
            or set(principal) != {"AWS"}
        ):
            return False
    return bool(statements)


def _placeholder_keys(text: str) -> set[str]:
    return set(re.findall(r"\$\{([^}]+)\}", text))


class _Facts:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.functions: dict[str, lambda_.CfnFunction] = {}
        self.invocations: dict[str, Invocations] = {}
        self.state_machine_roles: set[str] = set()
        self.scheduler_roles: set[str] = set()
        self.person_roles: set[str] = set()  # roles whose trust policy names only AWS principals, no service
        nodes = stack.node.find_all()
        for node in nodes:
            if isinstance(node, lambda_.CfnFunction) and Stack.of(node) is stack:
                logical_id = stack.get_logical_id(node)
                self.functions[logical_id] = node
                self.invocations[logical_id] = Invocations()
        for node in nodes:
            if not isinstance(node, CfnResource) or Stack.of(node) is not stack:
                continue
            if isinstance(node, sfn.CfnStateMachine):
                self._state_machine(node)
            elif isinstance(node, iam.CfnRole):
                if _assumed_only_by_people(self.props(node)):
                    self.person_roles.add(stack.get_logical_id(node))
            elif isinstance(node, events.CfnRule):
                self._rule(node)
            elif isinstance(node, lambda_.CfnEventInvokeConfig):
                for fn in self._functions_in(node.function_name):
                    destination = self.props(node).get("destinationConfig") or {}
                    if (destination.get("onFailure") or {}).get("destination"):
                        fn.on_failure_destination = True
            elif isinstance(node, lambda_.CfnPermission):
                for fn in self._functions_in(node.function_name):
                    fn.service_permissions.add(json.dumps(self._resolve(node.principal)).strip('"'))
            elif isinstance(node, scheduler.CfnSchedule):
                target = self.props(node).get("target") or {}
                self.scheduler_roles |= _refs(target.get("roleArn"))
                for fn in self._functions_in(target.get("arn")):
                    fn.schedule_rules += 1
            elif isinstance(node, lambda_.CfnEventSourceMapping) and self._queue_source(node) is not None:
                for fn in self._functions_in(node.function_name):
                    fn.queue_sources.append(bool(self._queue_source(node)))
            elif isinstance(node, lambda_.CfnEventSourceMapping | lambda_.CfnUrl) or node.cfn_resource_type.startswith(
                ("Custom::", "AWS::CloudFormation::CustomResource")
            ):
                for fn in self._functions_in(self.props(node)):
                    fn.other_triggers += 1
        for node in nodes:  # after the state machines: their roles are known by now
            if isinstance(node, iam.CfnPolicy) and Stack.of(node) is stack:
                self._policy(node)

    def _resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)

    def _queue_source(self, mapping: lambda_.CfnEventSourceMapping) -> bool | None:
        """None when the mapping does not read a queue of this stack; else whether that queue has a redrive policy."""
        queues = {
            self.stack.get_logical_id(node): node
            for node in self.stack.node.find_all()
            if isinstance(node, sqs.CfnQueue) and Stack.of(node) is self.stack
        }
        (source, *others) = [*(_refs(self._resolve(mapping.event_source_arn)) & set(queues)), None]
        if source is None or others != [None]:
            return None
        return bool(self.props(queues[source]).get("redrivePolicy"))

    def props(self, resource: CfnResource) -> dict[str, Any]:
        return properties(self.stack, resource)

    def _functions_in(self, value: Any) -> list[Invocations]:
        return [self.invocations[ref] for ref in _refs(self._resolve(value)) if ref in self.invocations]

    def _state_machine(self, machine: sfn.CfnStateMachine) -> None:
        props = self.props(machine)
        self.state_machine_roles |= _refs(props.get("roleArn"))
        substitutions = props.get("definitionSubstitutions") or {}
        definition_text = props.get("definitionString") or props.get("definition") or ""
        # A definition built with tokens in it (Fn::Join) has no Task states to read: every function in it
        # then counts as an unknown use below, and gets no skip.
        definition = json.loads(definition_text) if isinstance(definition_text, str) else {}
        sync_keys: set[str] = set()
        for state in _task_states(definition):
            parameters = state.get("Parameters") or state.get("Arguments") or {}
            # The ASL's integrations are substitutions in the stack's partition (infra/workflow.py).
            resource = substitutions.get(str(state.get("Resource", "")).removeprefix("${").removesuffix("}"))
            resource_text = json.dumps(self._resolve(resource)) if resource is not None else str(state.get("Resource"))
            if ":states:::lambda:invoke" in resource_text and parameters.get("InvocationType") in (
                None,
                "RequestResponse",
            ):
                sync_keys |= _placeholder_keys(json.dumps(parameters.get("FunctionName", "")))
        for key, value in substitutions.items():
            for fn in self._functions_in(value):
                if key in sync_keys:
                    fn.sync_tasks += 1
                else:
                    fn.other_state_machine_uses += 1
        # A function named in the definition itself, not through a substitution: unknown use.
        for ref in _refs(props.get("definitionString")) | _refs(props.get("definition")):
            if ref in self.invocations:
                self.invocations[ref].other_state_machine_uses += 1

    def _rule(self, rule: events.CfnRule) -> None:
        props = self.props(rule)
        scheduled = bool(props.get("scheduleExpression"))
        for target in _as_list(props.get("targets")):
            for ref in _refs(target.get("arn")):
                if ref not in self.invocations:
                    continue
                if scheduled:
                    self.invocations[ref].schedule_rules += 1
                else:
                    self.invocations[ref].pattern_rules.append(bool((target.get("deadLetterConfig") or {}).get("arn")))

    def _policy(self, policy: iam.CfnPolicy) -> None:
        props = self.props(policy)
        roles = _refs(props.get("roles"))
        document = props.get("policyDocument") or {}
        for statement in _as_list(document.get("Statement")):
            actions = set(_as_list(statement.get("Action")))
            if statement.get("Effect") != "Allow" or not actions & {"lambda:InvokeFunction", "lambda:*", "*"}:
                continue
            for ref in _refs(statement.get("Resource")):
                if ref in self.invocations:
                    self.invocations[ref].iam_invokers |= roles

    def role_of(self, logical_id: str) -> Role | None:
        return self.invocations[logical_id].role(
            self.state_machine_roles, self.scheduler_roles, self._job_roles(), frozenset(self.person_roles)
        )

    def _job_roles(self) -> set[str]:
        """Execution roles of the scheduled functions (a sweeper may re-run a workflow's step)."""
        roles: set[str] = set()
        for logical_id, function in self.functions.items():
            if (
                self.invocations[logical_id].role(self.state_machine_roles, self.scheduler_roles, set())
                is Role.SCHEDULED
            ):
                roles |= _refs(self.props(function).get("role"))
        return roles


# -- the skips -------------------------------------------------------------------------------------


def function_skips(facts: _Facts, logical_id: str) -> dict[str, str]:
    role = facts.role_of(logical_id)
    if role is None:
        return {}
    skips = {check: reasons[role] for check, reasons in FUNCTION_SKIPS.items()}
    environment = facts.props(facts.functions[logical_id]).get("environment") or {}
    names = list((environment.get("variables") or {}).keys())
    if not any(SECRET_NAME.search(name) for name in names):
        skips[ENVIRONMENT_CHECK] = ENVIRONMENT_WITHOUT_SECRETS
    return skips


def queue_skips(stack: Stack, queue: sqs.CfnQueue) -> dict[str, str]:
    props = properties(stack, queue)
    if props.get("sqsManagedSseEnabled") is True and not props.get("kmsMasterKeyId"):
        return {QUEUE_ENCRYPTION_CHECK: SQS_MANAGED_ENCRYPTION}
    return {}


def table_skips(stack: Stack, table: dynamodb.CfnTable) -> dict[str, str]:
    props = properties(stack, table)
    sse = props.get("sseSpecification") or {}
    aws_managed = sse.get("sseEnabled") is True and not sse.get("kmsMasterKeyId")
    if aws_managed and not props.get("resourcePolicy"):
        return {TABLE_CMK_CHECK: TABLE_AWS_MANAGED_KEY}
    return {}


def stage_skips(stack: Stack, stage: apigw.CfnStage) -> dict[str, str]:
    if not properties(stack, stage).get("cacheClusterEnabled"):
        return {STAGE_CACHE_CHECK: STAGE_WITHOUT_CACHE}
    return {}


def _write(resource: CfnResource, skips: dict[str, str]) -> None:
    if skips:
        resource.add_metadata(METADATA_KEY, {"skip": [{"id": k, "comment": v} for k, v in sorted(skips.items())]})


@jsii.implements(IAspect)
class CheckovSkips:
    """Writes the accepted findings on the resources of each stack it visits (see the module doc)."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, Stack):
            return
        facts = _Facts(node)
        for logical_id, function in facts.functions.items():
            _write(function, function_skips(facts, logical_id))
        for child in node.node.find_all():
            if Stack.of(child) is not node:
                continue
            if isinstance(child, sqs.CfnQueue):
                _write(child, queue_skips(node, child))
            elif isinstance(child, dynamodb.CfnTable):
                _write(child, table_skips(node, child))
            elif isinstance(child, apigw.CfnStage):
                _write(child, stage_skips(node, child))


def add_checkov_skips(stack: Stack) -> None:
    """Every instance of the stack, in whatever stage, carries its reasons."""
    Aspects.of(stack).add(CheckovSkips())
