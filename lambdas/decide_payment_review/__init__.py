"""The reviewer's function: approves or rejects a payment waiting for review and resumes the order."""
