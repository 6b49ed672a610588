"""The CDK app's constructs. One construct per runtime concern; `config` parses the tunables."""
