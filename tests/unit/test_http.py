"""The kernel's API Gateway proxy helpers (lambdas/shared/http.py), shared by the order and back-office APIs."""

from __future__ import annotations

import base64
import json

from lambdas.shared import http


def test_an_answer_is_compact_json_without_nulls_at_any_depth_with_its_headers() -> None:
    response = http.answer(202, {"a": 1, "b": None, "c": [{"d": None, "e": "x"}]}, {"Location": "/orders/o-1"})
    assert response == {
        "statusCode": 202,
        "headers": {"Content-Type": "application/json", "Location": "/orders/o-1"},
        "body": '{"a":1,"c":[{"e":"x"}]}',
        "isBase64Encoded": False,
    }


def test_a_problem_names_its_field_only_when_there_is_one() -> None:
    assert json.loads(http.problem(400, "bad", "orderId")["body"]) == {"message": "bad", "field": "orderId"}
    assert json.loads(http.problem(409, "taken")["body"]) == {"message": "taken"}


def test_the_body_is_decoded_when_api_gateway_sent_it_base64() -> None:
    encoded = base64.b64encode(b'{"x":1}').decode()
    assert http.request_body({"body": encoded, "isBase64Encoded": True}) == b'{"x":1}'
    assert http.request_body({"body": encoded, "isBase64Encoded": False}) == encoded
    assert http.request_body({"body": None, "isBase64Encoded": True}) is None


def test_routes_are_named_by_method_and_resource_and_an_unknown_one_is_a_404_naming_them() -> None:
    event = {"httpMethod": "GET", "resource": "/orders/{orderId}", "path": "/v1/orders/o-1"}
    assert http.route_key(event) == ("GET", "/orders/{orderId}")
    response = http.no_route(event)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"message": "no route GET /orders/{orderId}"}


def test_parameters_are_read_from_what_api_gateway_parsed() -> None:
    event = {"pathParameters": {"orderId": "o 1"}, "queryStringParameters": None}
    assert http.path_parameter(event, "orderId") == "o 1"
    assert http.query_parameter(event, "status") is None
    assert http.path_parameter({"pathParameters": None}, "orderId") is None


def test_headers_are_added_to_an_answer_without_changing_the_rest() -> None:
    response = http.answer(200, {"ok": True})
    added = http.with_headers(response, {"Access-Control-Allow-Origin": "https://page.example"})
    assert added["headers"] == {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": "https://page.example",
    }
    assert {k: v for k, v in added.items() if k != "headers"} == {k: v for k, v in response.items() if k != "headers"}
