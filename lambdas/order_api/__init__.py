"""The order API (API Gateway REST API, IAM-authorised): ``POST /orders`` starts an order's workflow,
``GET /orders/{orderId}`` shows where it is, with its timeline. ``handler.py`` routes the two methods
(lambdas/shared/http.py), ``logic.py`` holds the pure decisions, ``store.py`` what it reads from and starts in AWS.
"""
